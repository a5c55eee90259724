"""Editing the ``[mcp_servers.NAME]`` tables of the user's config file without disturbing anything else.

The standard library reads TOML but cannot write it, and rewriting the whole file from a parsed dict would
drop the user's comments and layout. So this module edits text: it removes the lines of one server's tables
(``[mcp_servers.NAME]`` and its sub-tables such as ``[mcp_servers.NAME.env]``) and appends freshly written
ones. Every edit is checked before it is saved: the new text is parsed and must equal the old content with
only that server changed; otherwise nothing is written and the error says to edit the file by hand (servers
written as inline tables, for example). Writes are atomic (temp file + rename) and keep the file private.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from life_tui.errors import InvalidInput

_HEADER = re.compile(r"^\s*\[\[?\s*(?P<key>[^\]]+?)\s*\]\]?\s*(#.*)?$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _escape(text: str) -> str:
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _escape(name)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise InvalidInput(f"cannot write {type(value).__name__} values to TOML")


def render_table(name: str, table: dict[str, Any]) -> str:
    lines = [f"[mcp_servers.{_key(name)}]"]
    lines += [f"{_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _header_path(key: str) -> list[str]:
    """``mcp_servers."a b".env`` -> ``["mcp_servers", "a b", "env"]`` (parsed by TOML itself)."""
    try:
        parsed = tomllib.loads(f"[{key}]\n")
    except tomllib.TOMLDecodeError:
        return []
    path: list[str] = []
    node: Any = parsed
    while isinstance(node, dict) and len(node) == 1:
        ((name, node),) = node.items()
        path.append(name)
    return path


def _without_server(text: str, name: str) -> str:
    """The text with the tables of server ``name`` (its header and sub-tables, through the next header) removed."""
    kept: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        match = _HEADER.match(line)
        if match:
            path = _header_path(match.group("key"))
            skipping = path[:2] == ["mcp_servers", name]
        if not skipping:
            kept.append(line)
    return "".join(kept)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, temp = tempfile.mkstemp(prefix=".config.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _load(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}", hint="fix the file first") from None


def set_server(path: Path, name: str, table: dict[str, Any] | None) -> None:
    """Write (``table``) or remove (``None``) the tables of server ``name``, keeping the rest of the file."""
    old_text = path.read_text(encoding="utf-8") if path.exists() else ""
    before = _load(old_text, path)
    new_text = _without_server(old_text, name)
    if table is not None:
        if new_text and not new_text.endswith("\n"):
            new_text += "\n"
        new_text += ("\n" if new_text.strip() else "") + render_table(name, table)
    try:
        after: dict[str, Any] | None = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        after = None
    expected = dict(before)
    servers = dict(expected.get("mcp_servers", {}))
    if table is None:
        servers.pop(name, None)
    else:
        servers[name] = table
    if servers:
        expected["mcp_servers"] = servers
    else:
        expected.pop("mcp_servers", None)
    if after is not None and after.get("mcp_servers") == {}:
        after.pop("mcp_servers")
    if after != expected:
        raise InvalidInput(
            f"could not edit the mcp_servers.{name} table of {path} safely (it is written in a form this "
            "command does not rewrite, such as an inline table)",
            hint=f"edit {path} by hand",
        )
    _write_atomic(path, new_text)
