"""Tools (Life's Praxis): what the agent can do, each under policy.

This release has the registry and the first real tools (``read_file``, ``list_dir``); the full set with the
filesystem and sandbox policies, hashline edits, skills and memory arrives with the tools issue.
"""
