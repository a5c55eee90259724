"""The runtime's side of skills: the skills block of the context and the ``/name`` command of a user message.

A user message that starts with ``/name`` activates that skill, ``/skill off`` ends the active one. The
message is stored as typed; the command becomes a ``skill.activated`` / ``skill.deactivated`` event
written with it (the loop's ``prelude``), whose ``prompt`` is what the model reads for that message: the
text after the command, or a default sentence when there is none. Because the event carries the skill's
body and allowed tools, the session's fold (and a replay) knows what is active from the journal alone.
"""

from __future__ import annotations

from pathlib import Path

from life_tui.errors import InvalidInput, NotFound
from life_tui.kernel import kinds as k
from life_tui.runtime.projection import ActiveSkill
from life_tui.tools.skills import SkillSet, default_prompt, discover_for, parse_command

SKILLS_BLOCK_BUDGET = 12_000
"""Tokens for the skills block: the catalogue plus the active skill's body (a SKILL.md may be long)."""


def skills_block(catalogue: str | None, active: ActiveSkill | None) -> str | None:
    """The active skill's instructions (first, so a long catalogue is what a tight budget cuts), then the
    catalogue."""
    parts: list[str] = []
    if active is not None:
        allowed = ", ".join(active.allowed_tools) if active.allowed_tools is not None else "all tools"
        parts.append(
            f'<active-skill name="{active.name}" allowed-tools="{allowed}">\n{active.body}\n</active-skill>\n'
            f"The skill {active.name!r} is active: follow its instructions."
        )
    if catalogue:
        parts.append(catalogue)
    return "\n\n".join(parts) or None


class SkillCommands:
    """The skills of one workspace (discovered again when a command needs the current files)."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.skills = discover_for(workspace)

    def refresh(self) -> SkillSet:
        self.skills = discover_for(self.workspace)
        return self.skills

    def catalogue(self) -> str | None:
        return self.skills.catalogue()

    def prelude(self, prompt: str, active: ActiveSkill | None) -> tuple[k.Payload, ...]:
        """The events a typed ``/name`` or ``/skill off`` adds before its message; () for any other text."""
        if not prompt.startswith("/"):
            return ()
        command = parse_command(prompt)
        if command is None:
            return ()
        if command.name is None:
            if active is None:
                raise InvalidInput("no skill is active", hint="/skill off ends an active skill")
            said = command.rest or f"The user turned the '{active.name}' skill off."
            return (k.SkillDeactivated(name=active.name, reason="the user typed /skill off", prompt=said),)
        skills = self.refresh()
        skill = skills.skills.get(command.name)
        if skill is None:
            available = ", ".join(sorted(skills.skills)) or "none"
            raise NotFound(
                f"no skill named {command.name!r}",
                hint=f"available skills: {available}; begin the message with a space to send it as plain text",
            )
        if not skill.user_invocable:
            raise InvalidInput(f"the skill {skill.name!r} is not user-invocable", hint="the model may activate it")
        return (skill.activation("command", command.rest or default_prompt(skill.name)),)
