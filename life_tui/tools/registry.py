"""The tool registry: tool specs (name, description, JSON schema, annotations, timeout) and their runs.

A tool is a :class:`ToolSpec` plus an async ``run(arguments, context) -> ToolOutput``. The registry
validates arguments against the schema before a tool runs (a small JSON-Schema subset: types, required,
enums, additionalProperties), maps each call to the capabilities it needs (``fs:read:<path>``,
``exec:cmd:<binary>``...) for the approval policy, and enforces the timeout. The runtime turns every call
into ``tool.call_*`` events; tools themselves never touch the journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from life_tui.errors import InvalidInput, NotFound

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


@dataclass(frozen=True)
class ToolAnnotations:
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False


@dataclass(frozen=True)
class ToolContext:
    """What a tool run may know: the workspace, the session and the call, and the services it may use.

    ``blobs`` stores content (file versions, large outputs) by hash; ``protected`` are paths inside the
    workspace that no tool may write (the journal, the keystore, config, ``.git`` internals);
    ``state`` reads the session's folded state (memory, for instance) and ``journal`` reads other
    sessions' events (for memory scopes wider than the session). Tools never write the journal: what
    they change is returned as ``ToolOutput.effects`` and the runtime records it.
    """

    workspace: Path
    session_id: str
    call_id: str
    blobs: Any = None
    protected: tuple[Path, ...] = ()
    state: Callable[[], Any] | None = None
    journal: Any = None
    allow_unsandboxed: bool = False


@dataclass(frozen=True)
class ToolOutput:
    """A tool's answer. ``content`` is what the model reads; ``effects`` are payloads (``file.written``,
    ``memory.committed``...) the runtime appends as events after the call's ``tool.call_completed``."""

    content: str
    is_error: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    effects: tuple[Any, ...] = ()


ToolRun = Callable[[dict[str, Any], ToolContext], Awaitable[ToolOutput]]
CapabilityMap = Callable[[dict[str, Any]], list[str]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]
    run: ToolRun
    annotations: ToolAnnotations = ToolAnnotations()
    timeout_s: float = 60.0
    capabilities: CapabilityMap | None = None

    def capabilities_for(self, arguments: dict[str, Any]) -> list[str]:
        return self.capabilities(arguments) if self.capabilities else []


def _check(value: Any, schema: dict[str, Any], where: str) -> None:
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        allowed = tuple(t for n in names for t in _JSON_TYPES.get(n, ()))
        ok = isinstance(value, allowed) and not (isinstance(value, bool) and "boolean" not in names)
        if not ok:
            raise InvalidInput(f"{where} must be {' or '.join(names)}, not {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise InvalidInput(f"{where} must be one of {schema['enum']}")
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise InvalidInput(f"{where} is missing the required field {name!r}")
        for name, item in value.items():
            if name in props:
                _check(item, props[name], f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                raise InvalidInput(f"{where} has an unknown field {name!r}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{i}]")


class ToolRegistry:
    def __init__(self, tools: list[ToolSpec] | None = None) -> None:
        self._tools: dict[str, ToolSpec] = {}
        for tool in tools or []:
            self.register(tool)

    def register(self, tool: ToolSpec) -> None:
        """Add (or replace) a tool."""
        self._tools[tool.name] = tool

    def get(self, name: str) -> ToolSpec:
        tool = self._tools.get(name)
        if tool is None:
            raise NotFound(f"no tool named {name!r}", hint=f"available: {', '.join(sorted(self._tools))}")
        return tool

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def specs(self) -> list[ToolSpec]:
        return [self._tools[name] for name in sorted(self._tools)]

    def validate(self, name: str, arguments: dict[str, Any]) -> ToolSpec:
        tool = self.get(name)
        _check(arguments, tool.input_schema, "arguments")
        return tool

    async def run(self, name: str, arguments: dict[str, Any], context: ToolContext) -> ToolOutput:
        """Validate and run one call; errors become an error output the model can read."""
        try:
            tool = self.validate(name, arguments)
        except (InvalidInput, NotFound) as exc:
            return ToolOutput(str(exc), is_error=True)
        try:
            return await asyncio.wait_for(tool.run(arguments, context), timeout=tool.timeout_s)
        except TimeoutError:
            return ToolOutput(f"{name} timed out after {tool.timeout_s:g} s", is_error=True)
        except (InvalidInput, NotFound, OSError) as exc:
            return ToolOutput(str(exc), is_error=True)
