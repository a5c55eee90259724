"""Tools (Life's Praxis): what the agent can do, each under policy.

The registry (``registry``) validates arguments and maps calls to capabilities; ``files`` are the file
tools under ``fs_policy`` (confinement to the workspace, protected paths, an openat walk against
symlink races) with ``hashline`` edits; ``shell`` runs commands under ``sandbox`` (bubblewrap; fails
closed without it); ``skills`` discovers SKILL.md folders; ``memory`` holds the memory tools and fold.
Tools never write the journal: they return effects and the runtime records them.
"""
