"""The first real tools: ``read_file`` and ``list_dir``, read-only and confined to the workspace.

Paths are resolved (symlinks followed) and must stay inside the workspace; this is the minimal
confinement. The full :class:`FsPolicy` (protected paths, hardlinks, races) and the rest of the tool set
arrive with the tools issue and replace this module's checks.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from life_tui.errors import InvalidInput, NotFound
from life_tui.tools.registry import ToolAnnotations, ToolContext, ToolOutput, ToolRegistry, ToolSpec

MAX_READ_BYTES = 256 * 1024
MAX_ENTRIES = 500


def confine(workspace: Path, relative: str) -> Path:
    if "\x00" in relative:
        raise InvalidInput("a path may not contain a NUL byte")
    root = workspace.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise InvalidInput(f"{relative!r} is outside the workspace")
    return target


async def _read_file(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    path = confine(ctx.workspace, str(args["path"]))
    if not path.is_file():
        raise NotFound(f"no file {args['path']!r} in the workspace")
    data = await asyncio.to_thread(path.read_bytes)
    if b"\x00" in data[:8192]:
        return ToolOutput(f"{args['path']} is a binary file ({len(data)} bytes)", is_error=True)
    text = data[:MAX_READ_BYTES].decode("utf-8", errors="replace")
    lines = text.splitlines()
    start = max(int(args.get("offset", 1)), 1)
    limit = int(args.get("limit", 2000))
    chosen = lines[start - 1 : start - 1 + limit]
    body = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(chosen, start))
    more = len(lines) - (start - 1 + len(chosen))
    if more > 0:
        body += f"\n… {more} more lines (use offset={start + len(chosen)})"
    return ToolOutput(body, data={"path": str(args["path"]), "lines": len(chosen)})


async def _list_dir(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    path = confine(ctx.workspace, str(args.get("path", ".")))
    if not path.is_dir():
        raise NotFound(f"no directory {args.get('path', '.')!r} in the workspace")
    entries = sorted(path.iterdir(), key=lambda p: (not p.is_dir(), p.name))
    shown = [f"{p.name}/" if p.is_dir() else p.name for p in entries[:MAX_ENTRIES]]
    if len(entries) > MAX_ENTRIES:
        shown.append(f"… {len(entries) - MAX_ENTRIES} more entries")
    return ToolOutput("\n".join(shown) or "(empty directory)", data={"count": len(entries)})


READ_FILE = ToolSpec(
    name="read_file",
    description="Read a text file in the workspace. Lines are numbered; use offset/limit for long files.",
    input_schema={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "Path relative to the workspace."},
            "offset": {"type": "integer", "description": "First line to read (1-based)."},
            "limit": {"type": "integer", "description": "Maximum number of lines."},
        },
        "required": ["path"],
        "additionalProperties": False,
    },
    run=_read_file,
    annotations=ToolAnnotations(read_only=True, idempotent=True),
    timeout_s=30.0,
    capabilities=lambda a: [f"fs:read:{a.get('path', '')}"],
)
LIST_DIR = ToolSpec(
    name="list_dir",
    description="List the entries of a directory in the workspace (directories end with '/').",
    input_schema={
        "type": "object",
        "properties": {"path": {"type": "string", "description": "Directory relative to the workspace."}},
        "additionalProperties": False,
    },
    run=_list_dir,
    annotations=ToolAnnotations(read_only=True, idempotent=True),
    timeout_s=30.0,
    capabilities=lambda a: [f"fs:read:{a.get('path', '.')}"],
)


def default_registry() -> ToolRegistry:
    return ToolRegistry([READ_FILE, LIST_DIR])
