"""The ``[mcp_servers.NAME]`` tables of the config file, validated into :class:`McpServerConfig`.

Settings keep these tables raw (``dict[str, dict]``) so that the runtime does not need to know MCP; this
module is where they are checked, with one error naming the server and the field. It imports no MCP SDK,
so the CLI can list and edit servers without paying the SDK's import cost. A table looks like::

    [mcp_servers.files]                 # stdio: a command the bridge starts
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-filesystem", "."]
    env = { API_TOKEN = "..." }         # merged over a minimal environment (PATH, HOME...); never printed
    cwd = "."                           # relative to the workspace (default: the workspace)
    timeout = 60                        # seconds per call
    approved_tools = ["late_tool"]      # tools the server added mid-session that the user approved

    [mcp_servers.remote]                # streamable HTTP
    url = "https://example.com/mcp"
    headers = { Authorization = "Bearer ..." }
    enabled = false
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

from life_tui.errors import InvalidInput

SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
REDACTED = "***"


class McpServerConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """One MCP server: a stdio command (``command``, ``args``, ``env``, ``cwd``) or a URL (``url``, ``headers``)."""

    name: str = ""
    command: str | None = None
    args: list[str] = []
    env: dict[str, str] = {}
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    enabled: bool = True
    timeout: float = 60.0
    """Seconds a call may take before it is abandoned with an error."""
    startup_timeout: float = 20.0
    """Seconds the server may take to start and answer the handshake."""
    approved_tools: list[str] = []

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "http" if self.url else "stdio"

    def target(self) -> str:
        """What the server is, for display: the URL or the command line (never env or header values)."""
        if self.url:
            return self.url
        return " ".join([self.command or "", *self.args]).strip()

    def redacted_env(self) -> dict[str, str]:
        return dict.fromkeys(self.env, REDACTED)

    def redacted_headers(self) -> dict[str, str]:
        return dict.fromkeys(self.headers, REDACTED)

    def to_table(self) -> dict[str, Any]:
        """The config-file table for this server (defaults left out, the name is the table's key)."""
        table: dict[str, Any] = {}
        if self.url:
            table["url"] = self.url
            if self.headers:
                table["headers"] = dict(self.headers)
        else:
            table["command"] = self.command
            if self.args:
                table["args"] = list(self.args)
            if self.env:
                table["env"] = dict(self.env)
            if self.cwd:
                table["cwd"] = self.cwd
        defaults = McpServerConfig()
        for key in ("enabled", "timeout", "startup_timeout"):
            if getattr(self, key) != getattr(defaults, key):
                table[key] = getattr(self, key)
        if self.approved_tools:
            table["approved_tools"] = list(self.approved_tools)
        return table


def check_name(name: str) -> str:
    if not SERVER_NAME.match(name) or "__" in name:
        raise InvalidInput(
            f"bad MCP server name {name!r}",
            hint="use 1-32 letters, digits, '-' or '_' (no '__'), starting with a letter or digit",
        )
    return name


def parse_server(name: str, table: dict[str, Any]) -> McpServerConfig:
    """Validate one ``[mcp_servers.NAME]`` table; the error names the server and what is wrong."""
    check_name(name)
    where = f"[mcp_servers.{name}]"
    if not isinstance(table, dict):
        raise InvalidInput(f"{where} must be a table", hint="see the README's MCP section")
    if "name" in table:
        raise InvalidInput(f"{where} has an unknown field 'name'", hint="the table's key is the server's name")
    try:
        config = msgspec.convert({**table, "name": name}, McpServerConfig)
    except msgspec.ValidationError as exc:
        raise InvalidInput(
            f"{where}: {exc}",
            hint="fields: command, args, env, cwd, url, headers, enabled, timeout, startup_timeout, approved_tools",
        ) from None
    if bool(config.command) == bool(config.url):
        raise InvalidInput(f"{where} needs exactly one of 'command' (stdio) or 'url' (streamable HTTP)")
    if config.url:
        if not config.url.startswith(("http://", "https://")):
            raise InvalidInput(f"{where}: url must start with http:// or https://, not {config.url!r}")
        if config.args or config.env or config.cwd:
            raise InvalidInput(f"{where}: args, env and cwd are for stdio servers", hint="remove them or the url")
    elif config.headers:
        raise InvalidInput(f"{where}: headers are for HTTP servers", hint="use env for a stdio server")
    if config.timeout <= 0 or config.startup_timeout <= 0:
        raise InvalidInput(f"{where}: timeout and startup_timeout must be positive")
    return config


def parse_servers(tables: dict[str, Any]) -> dict[str, McpServerConfig]:
    return {name: parse_server(name, table) for name, table in sorted(tables.items())}


def read_tables(config_file: Path) -> dict[str, Any]:
    """The raw ``mcp_servers`` tables of a config file (empty when the file does not exist)."""
    if not config_file.is_file():
        return {}
    try:
        raw = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{config_file} is not valid TOML: {exc}", hint="fix or move the file") from None
    servers = raw.get("mcp_servers", {})
    if not isinstance(servers, dict):
        raise InvalidInput(f"{config_file}: mcp_servers must be a table of tables")
    return servers
