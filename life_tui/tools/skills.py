"""Skills: ``SKILL.md`` folders that give the agent instructions and a narrower tool set for a task.

**Format.** A ``SKILL.md`` (the name is matched case-insensitively) starts with a YAML frontmatter block
between two ``---`` lines; the markdown after it is the body. ``name`` and ``description`` are required
(non-empty; a name is letters, digits, ``.``, ``_`` and ``-``, and ``skill`` is reserved for the
``/skill off`` command). Optional: ``allowed_tools`` (a list, or a comma-separated string; ``allowed-tools``
is accepted too), ``mcp_servers`` (``[{name, command, args}]``), ``tags``, ``license``, ``compatibility``,
``user_invocable`` (default true: the user may type ``/name``), ``disable_model_invocation`` (default false:
the model may call ``activate_skill``); any other key is kept in ``metadata``.

**Discovery.** :func:`skill_dirs` lists, from lowest to highest precedence, the user's config dir
(``paths.resolve().user_skills``), the workspace's ``skills/`` and its ``.life/skills/``. Each is walked
(hidden and vendored dirs skipped, bounded depth); a skill found in a later dir replaces one of the same
name from an earlier dir (the workspace overrides the user). A file that does not parse is skipped and
listed in :attr:`SkillSet.skipped` with the reason, for the UI to show.

**Activation** is an event (``skill.activated``) that carries the skill's body and allowed tools, so the
session's fold, and a replay, know exactly what was active without reading the files again. The model
activates with the ``activate_skill`` tool (an effect the runtime records); the user by typing ``/name``
(parsed by :func:`parse_command`, applied by the runtime).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from life_tui import paths
from life_tui.errors import InvalidInput, NotFound
from life_tui.kernel import kinds as k
from life_tui.tools.registry import ToolAnnotations, ToolContext, ToolOutput, ToolSpec

SKILL_FILE = "skill.md"
SKILL_TOOL = "activate_skill"
RESERVED = frozenset({"skill"})
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_SKILL_BYTES = 256 * 1024
MAX_DEPTH = 4
SKIP_DIRS = frozenset({"node_modules", "__pycache__", ".git", ".venv", "venv"})
KNOWN_KEYS = frozenset(
    {
        "name",
        "description",
        "allowed_tools",
        "allowed-tools",
        "mcp_servers",
        "mcp-servers",
        "tags",
        "license",
        "compatibility",
        "user_invocable",
        "user-invocable",
        "disable_model_invocation",
        "disable-model-invocation",
    }
)


@dataclass(frozen=True)
class McpServer:
    name: str
    command: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    body: str
    path: Path
    allowed_tools: tuple[str, ...] | None = None
    """None: the skill does not narrow the tools."""
    mcp_servers: tuple[McpServer, ...] = ()
    tags: tuple[str, ...] = ()
    license: str | None = None
    compatibility: str | None = None
    user_invocable: bool = True
    disable_model_invocation: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    def activation(self, source: str, prompt: str | None = None) -> k.SkillActivated:
        return k.SkillActivated(
            name=self.name,
            body=self.body,
            allowed_tools=list(self.allowed_tools) if self.allowed_tools is not None else None,
            source=source,
            path=str(self.path),
            prompt=prompt,
        )


@dataclass(frozen=True)
class SkippedSkill:
    path: Path
    reason: str


@dataclass
class SkillSet:
    skills: dict[str, Skill] = field(default_factory=dict)
    skipped: list[SkippedSkill] = field(default_factory=list)
    overridden: list[Skill] = field(default_factory=list)
    """Skills replaced by one of the same name from a later (higher-precedence) dir."""

    def get(self, name: str) -> Skill:
        skill = self.skills.get(name)
        if skill is None:
            available = ", ".join(sorted(self.skills)) or "none"
            raise NotFound(f"no skill named {name!r}", hint=f"available skills: {available}")
        return skill

    def catalogue(self) -> str | None:
        """The system block's catalogue: one ``- name: description`` line per skill the model may activate."""
        lines = [
            f"- {s.name}: {' '.join(s.description.split())}"
            for s in sorted(self.skills.values(), key=lambda s: s.name)
            if not s.disable_model_invocation
        ]
        if not lines:
            return None
        head = f"Available skills (activate one with the {SKILL_TOOL} tool when the task matches its description):"
        return "\n".join([head, *lines])


# ------------------------------------------------------------------------------------------ parsing
def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [v.strip() for v in value.replace(",", " ").split()]
        return tuple(v for v in items if v)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise InvalidInput(f"{key} must be a list of strings")


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{key} must be true or false")
    return value


def _servers(value: Any) -> tuple[McpServer, ...]:
    if not isinstance(value, list):
        raise InvalidInput("mcp_servers must be a list of {name, command, args}")
    out = []
    for i, item in enumerate(value):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("command"), str)
        ):
            raise InvalidInput(f"mcp_servers[{i}] needs a name and a command (strings)")
        args = item.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise InvalidInput(f"mcp_servers[{i}].args must be a list of strings")
        out.append(McpServer(name=item["name"], command=item["command"], args=tuple(args)))
    return tuple(out)


def _get(meta: dict[str, Any], key: str) -> Any:
    """A key in snake_case or kebab-case."""
    return meta.get(key, meta.get(key.replace("_", "-")))


def parse_skill(text: str, path: Path) -> Skill:
    """Parse one SKILL.md; :class:`InvalidInput` says why a malformed one is rejected."""
    import yaml

    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise InvalidInput("it does not start with a '---' frontmatter line")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise InvalidInput("its frontmatter is not closed by a '---' line")
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"its frontmatter is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(meta, dict):
        raise InvalidInput("its frontmatter is not a mapping of keys to values")
    name, description = meta.get("name"), meta.get("description")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("the frontmatter has no name")
    name = name.strip()
    if not NAME.match(name):
        raise InvalidInput(f"the name {name!r} is not letters, digits, '.', '_' and '-' (at most 64)")
    if name.lower() in RESERVED:
        raise InvalidInput(f"the name {name!r} is reserved (/skill off ends the active skill)")
    if not isinstance(description, str) or not description.strip():
        raise InvalidInput("the frontmatter has no description")
    allowed = _get(meta, "allowed_tools")
    servers = _get(meta, "mcp_servers")
    tags = meta.get("tags")
    user_invocable = _get(meta, "user_invocable")
    disable_model = _get(meta, "disable_model_invocation")
    license_, compatibility = meta.get("license"), meta.get("compatibility")
    return Skill(
        name=name,
        description=description.strip(),
        body="\n".join(lines[end + 1 :]).strip("\n"),
        path=path,
        allowed_tools=_strings(allowed, "allowed_tools") if allowed is not None else None,
        mcp_servers=_servers(servers) if servers is not None else (),
        tags=_strings(tags, "tags") if tags is not None else (),
        license=str(license_) if license_ is not None else None,
        compatibility=str(compatibility) if compatibility is not None else None,
        user_invocable=_flag(user_invocable, "user_invocable") if user_invocable is not None else True,
        disable_model_invocation=_flag(disable_model, "disable_model_invocation")
        if disable_model is not None
        else False,
        metadata={key: v for key, v in meta.items() if key not in KNOWN_KEYS},
    )


def load_skill(path: Path) -> Skill:
    try:
        size = path.stat().st_size
        if size > MAX_SKILL_BYTES:
            raise InvalidInput(f"it is {size} bytes (at most {MAX_SKILL_BYTES})")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("it is not UTF-8 text") from None
    except OSError as exc:
        raise InvalidInput(f"it cannot be read: {exc.strerror or exc}") from None
    return parse_skill(text, path)


# ---------------------------------------------------------------------------------------- discovery
def skill_dirs(workspace: Path) -> list[Path]:
    """Where skills are looked for, lowest precedence first."""
    return [paths.resolve().user_skills, workspace / "skills", workspace / ".life" / "skills"]


def _skill_files(root: Path) -> list[Path]:
    found: list[Path] = []
    if not root.is_dir():
        return found
    base = len(root.parts)
    for here, dirs, files in os.walk(root):
        depth = len(Path(here).parts) - base
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS and depth < MAX_DEPTH)
        found += [Path(here) / f for f in sorted(files) if f.lower() == SKILL_FILE]
    return found


def discover(dirs: list[Path]) -> SkillSet:
    """Every skill in ``dirs``; a later dir's skill replaces an earlier one of the same name."""
    result = SkillSet()
    for root in dirs:
        seen_here: dict[str, Path] = {}
        for path in _skill_files(root):
            try:
                skill = load_skill(path)
            except InvalidInput as exc:
                result.skipped.append(SkippedSkill(path, exc.message))
                continue
            if skill.name in seen_here:
                reason = f"another skill named {skill.name!r} in the same place comes first ({seen_here[skill.name]})"
                result.skipped.append(SkippedSkill(path, reason))
                continue
            seen_here[skill.name] = path
            previous = result.skills.get(skill.name)
            if previous is not None:
                result.overridden.append(previous)
            result.skills[skill.name] = skill
    result.skills = dict(sorted(result.skills.items()))
    return result


def discover_for(workspace: Path) -> SkillSet:
    return discover(skill_dirs(workspace))


# -------------------------------------------------------------------------------- the /name command
@dataclass(frozen=True)
class SkillCommand:
    """A user message that starts with ``/name`` (activate) or ``/skill off`` (deactivate)."""

    name: str | None
    """The skill to activate; None for ``/skill off``."""
    rest: str
    """What follows the command: the prompt the model reads."""


def parse_command(text: str) -> SkillCommand | None:
    """``/name rest`` or ``/skill off rest``; None when the message is not a skill command.

    ``/skill NAME rest`` is accepted as a spelled-out ``/NAME rest``. A word that is not a valid skill name
    (``/usr/bin ...``) is ordinary text. Whether the skill exists is for the caller to check.
    """
    stripped = text.lstrip()
    if not stripped.startswith("/"):
        return None
    head, _, rest = stripped[1:].partition(" ")
    head, _, more = head.partition("\n")
    rest = (more + " " + rest).strip() if more else rest.strip()
    if head.lower() == "skill":
        word, _, tail = rest.partition(" ")
        if word.lower() == "off":
            return SkillCommand(None, tail.strip())
        if NAME.match(word):
            return SkillCommand(word, tail.strip())
        return None
    if not NAME.match(head):
        return None
    return SkillCommand(head, rest)


def default_prompt(name: str) -> str:
    return f"The user activated the '{name}' skill. Follow its instructions."


# ------------------------------------------------------------------------------------------- the tool
async def _activate(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    name = str(args["name"]).strip()
    skills = discover_for(ctx.workspace)
    skill = skills.get(name)
    if skill.disable_model_invocation:
        raise InvalidInput(f"the skill {name!r} can only be activated by the user (/{name})")
    tools = ", ".join(skill.allowed_tools) if skill.allowed_tools is not None else "all tools"
    text = (
        f"Activated the skill {name!r}: its instructions are now in your context. "
        f"Tools available while it is active: {tools}."
    )
    return ToolOutput(text, data={"name": name}, effects=(skill.activation("tool"),))


ACTIVATE_SKILL = ToolSpec(
    name=SKILL_TOOL,
    description=(
        "Activate a skill from the catalogue of available skills: its instructions join your context and the "
        "tools narrow to the ones it allows, until another skill is activated or the user turns it off."
    ),
    input_schema={
        "type": "object",
        "properties": {"name": {"type": "string", "description": "The skill's name, as in the catalogue."}},
        "required": ["name"],
        "additionalProperties": False,
    },
    run=_activate,
    annotations=ToolAnnotations(read_only=True, idempotent=True),
    timeout_s=10.0,
    capabilities=lambda a: [f"skill:activate:{a.get('name', '')}"],
)
