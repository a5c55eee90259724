"""The MCP client bridge (Praxis's MCP bridge): configured servers' tools in the session's ToolRegistry.

:func:`attach` validates the ``[mcp_servers.*]`` tables, starts every enabled server concurrently (their
tool lists are what the model is offered, so the session's start is their first use), and registers each
tool as ``mcp__<server>__<tool>`` with the server's input schema. The rules this module keeps:

- **Approval.** MCP tools are registered as *not* read-only, whatever the server's ``readOnlyHint`` says:
  a remote server's hints are claims, and the approval policy must not auto-approve on a claim. The hints
  stay visible in the tool's description ("server hints: read-only, idempotent").
- **Tools added mid-session.** When a server announces ``tools/list_changed``, the bridge re-lists its
  tools. A tool that was not in the server's first listing is registered *disabled*: calling it returns an
  error naming the approval command, ``life-tui mcp enable SERVER TOOL`` (which adds it to the server's
  ``approved_tools`` in the config file; the bridge re-reads that list when a disabled tool is called), or
  a front end calls :meth:`McpBridge.enable`. Tools the server removes answer with an error saying so.
- **Crashes.** A server that dies (mid-call or between calls) turns the call into an error naming the
  server and its stderr tail; the next call restarts it, with up to ``RESTART_ATTEMPTS`` tries and a growing
  pause between them. Every wait is bounded (call timeout, start-up timeout), so the loop never hangs.
- **Resources.** One tool, ``mcp_read_resource`` (``server``, ``uri``), reads any server's resource; its
  description lists the resources the servers announced at start. Front ends use :meth:`McpBridge.read_resource`.
- **Shutdown.** :meth:`McpBridge.aclose` closes every connection (the child processes and their process
  groups end with them).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from life_tui import paths
from life_tui.errors import LifeError
from life_tui.tools.mcp_client import McpConnection, McpServerError, RemoteResource, RemoteTool
from life_tui.tools.mcp_config import McpServerConfig, parse_servers, read_tables
from life_tui.tools.registry import ToolAnnotations, ToolContext, ToolOutput, ToolRegistry, ToolSpec

PREFIX = "mcp__"
READ_RESOURCE = "mcp_read_resource"
RESTART_ATTEMPTS = 3
BACKOFF_BASE_S = 0.25
BACKOFF_MAX_S = 2.0
RESOURCES_LISTED = 20
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_MAX_NAME = 64


def registered_name(server: str, tool: str) -> str:
    """``mcp__<server>__<tool>``, made safe for providers (letters, digits, ``_``, ``-``; at most 64 chars)."""
    name = f"{PREFIX}{server}__{_NAME_UNSAFE.sub('_', tool)}"
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.blake2s(tool.encode()).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9]}_{digest}"


def _hint_words(tool: RemoteTool) -> list[str]:
    h = tool.hints
    words = []
    for flag, word in ((h.read_only, "read-only"), (h.destructive, "destructive"), (h.idempotent, "idempotent")):
        if flag is True:
            words.append(word)
    if h.open_world is False:
        words.append("closed-world")
    return words


@dataclass
class _Server:
    config: McpServerConfig
    connection: McpConnection | None = None
    tools: dict[str, RemoteTool] = field(default_factory=dict)
    """The server's tools by their server-side name, as last listed."""
    first_listing: set[str] | None = None
    disabled: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    resources: list[RemoteResource] = field(default_factory=list)
    crashes: int = 0
    last_error: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class McpBridge:
    """The configured MCP servers' tools, registered into one ToolRegistry. Use from one asyncio loop."""

    def __init__(
        self,
        configs: list[McpServerConfig],
        registry: ToolRegistry,
        *,
        workspace: Path,
        config_file: Path | None = None,
    ) -> None:
        self.registry = registry
        self.workspace = workspace
        self.config_file = config_file
        self._servers = {c.name: _Server(c) for c in configs}
        self._refreshes: set[asyncio.Task[None]] = set()
        self._closed = False

    # ------------------------------------------------------------------------------- lifecycle
    async def start(self) -> dict[str, str]:
        """Start every server concurrently and register its tools; returns ``{server: error}`` for failures.

        A server that fails to start is not fatal: its error is kept (``status()``) and it is tried again
        when one of its tools (none yet) or ``mcp_read_resource`` is called.
        """
        names = list(self._servers)
        results = await asyncio.gather(*(self._connect(self._servers[n]) for n in names), return_exceptions=True)
        failures: dict[str, str] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, LifeError):
                failures[name] = str(result)
            elif isinstance(result, BaseException):
                raise result
        self._register_resource_tool()
        return failures

    async def aclose(self) -> None:
        """Stop every server (and wait for pending tool-list refreshes); safe to call twice."""
        self._closed = True
        for task in list(self._refreshes):
            task.cancel()
        await asyncio.gather(*self._refreshes, return_exceptions=True)
        connections = [s.connection for s in self._servers.values() if s.connection is not None]
        for server in self._servers.values():
            server.connection = None
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)

    def status(self) -> dict[str, dict[str, Any]]:
        """Per server: running or not, its tools (and which are disabled), crash count and last error."""
        return {
            name: {
                "running": s.connection is not None and not s.connection.broken,
                "tools": sorted(registered_name(name, t) for t in s.tools),
                "disabled": sorted(registered_name(name, t) for t in s.disabled),
                "crashes": s.crashes,
                "last_error": s.last_error,
            }
            for name, s in self._servers.items()
        }

    async def settled(self, timeout: float = 10.0) -> None:
        """Wait (bounded) until the tool-list refreshes that notifications started have finished."""
        if self._refreshes:
            await asyncio.wait(set(self._refreshes), timeout=timeout)

    # ------------------------------------------------------------------------------- connections
    async def _connect(self, server: _Server) -> McpConnection:
        """Start the server (if it is not running) and (re)register its tools. Caller need not hold the lock."""
        async with server.lock:
            if server.connection is not None and not server.connection.broken:
                return server.connection
            if server.connection is not None:
                await server.connection.close()
                server.connection = None
            name = server.config.name
            try:
                connection = await McpConnection.start(server.config, self.workspace, lambda: self._tools_changed(name))
            except McpServerError as exc:
                server.last_error = str(exc)
                raise
            try:
                tools = await asyncio.wait_for(connection.list_tools(), server.config.startup_timeout)
                resources = await asyncio.wait_for(connection.list_resources(), server.config.startup_timeout)
            except (McpServerError, TimeoutError) as exc:
                await connection.close()
                server.last_error = str(exc) or f"MCP server {name!r} did not list its tools in time"
                raise McpServerError(server.last_error) from None
            server.connection = connection
            server.resources = resources
            server.last_error = None
            self._apply_listing(server, tools)
            return connection

    async def _ensure(self, server: _Server) -> McpConnection:
        """A live connection, restarting a crashed server with bounded retries and a growing pause."""
        if server.connection is not None and not server.connection.broken:
            return server.connection
        error: McpServerError | None = None
        for attempt in range(RESTART_ATTEMPTS):
            if attempt or server.crashes:
                await asyncio.sleep(min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempt + min(server.crashes, 3) - 1)))
            try:
                return await self._connect(server)
            except McpServerError as exc:
                error = exc
        assert error is not None
        raise McpServerError(
            f"{error.message} (tried {RESTART_ATTEMPTS} restarts)",
            hint=f"check it with `life-tui mcp test {server.config.name}`",
        )

    def _tools_changed(self, name: str) -> None:
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._refresh(name), name=f"mcp-refresh:{name}")
        self._refreshes.add(task)
        task.add_done_callback(self._refreshes.discard)

    async def _refresh(self, name: str) -> None:
        server = self._servers[name]
        connection = server.connection
        if connection is None or connection.broken:
            return
        try:
            tools = await asyncio.wait_for(connection.list_tools(), server.config.timeout)
        except (McpServerError, TimeoutError) as exc:
            server.last_error = str(exc)
            return
        self._apply_listing(server, tools)

    # ------------------------------------------------------------------------------- registration
    def _apply_listing(self, server: _Server, tools: list[RemoteTool]) -> None:
        listed = {t.name: t for t in tools}
        if server.first_listing is None:
            server.first_listing = set(listed)
        approved = set(server.config.approved_tools)
        for name, tool in listed.items():
            if name not in server.first_listing and name not in approved and name not in server.tools:
                server.disabled.add(name)
            server.removed.discard(name)
            server.tools[name] = tool
            self.registry.register(self._spec(server, tool))
        for name in set(server.tools) - set(listed):
            server.removed.add(name)
            self.registry.register(self._spec(server, server.tools[name]))

    def _spec(self, server: _Server, tool: RemoteTool) -> ToolSpec:
        config = server.config
        words = _hint_words(tool)
        notes = [f"MCP server {config.name}"]
        if words:
            notes.append(f"server hints: {', '.join(words)} (not trusted for approval)")
        if tool.name in server.disabled:
            notes.append(f"DISABLED until approved: `life-tui mcp enable {config.name} {tool.name}`")
        if tool.name in server.removed:
            notes.append("REMOVED by the server")
        schema = tool.input_schema if tool.input_schema.get("type") == "object" else {"type": "object"}
        remote = tool.name
        capability = f"mcp:call:{config.name}/{tool.name}"

        async def run(arguments: dict[str, Any], context: ToolContext) -> ToolOutput:
            return await self.call(config.name, remote, arguments)

        return ToolSpec(
            name=registered_name(config.name, tool.name),
            description=f"{tool.description.strip()} [{'; '.join(notes)}]".strip(),
            input_schema=schema,
            run=run,
            annotations=ToolAnnotations(
                read_only=False,  # a server's readOnlyHint never skips approval
                destructive=tool.hints.destructive is not False,
                idempotent=tool.hints.idempotent is True,
                open_world=tool.hints.open_world is not False,
            ),
            timeout_s=config.timeout + config.startup_timeout * RESTART_ATTEMPTS + BACKOFF_MAX_S * RESTART_ATTEMPTS,
            capabilities=lambda _arguments: [capability],
        )

    def _register_resource_tool(self) -> None:
        lines = []
        for name, server in self._servers.items():
            for r in server.resources[:RESOURCES_LISTED]:
                lines.append(f"- {name}: {r.uri} ({r.name}{': ' + r.description if r.description else ''})")
        listing = ("\nKnown resources:\n" + "\n".join(lines)) if lines else ""
        self.registry.register(
            ToolSpec(
                name=READ_RESOURCE,
                description="Read a resource (a document, a record) that a configured MCP server offers." + listing,
                input_schema={
                    "type": "object",
                    "properties": {
                        "server": {"type": "string", "enum": sorted(self._servers)},
                        "uri": {"type": "string"},
                    },
                    "required": ["server", "uri"],
                    "additionalProperties": False,
                },
                run=self._read_resource_tool,
                annotations=ToolAnnotations(read_only=False, open_world=True),
                timeout_s=max((s.config.timeout for s in self._servers.values()), default=60.0) + 30.0,
                capabilities=lambda arguments: [f"mcp:read:{arguments.get('server', '')}/{arguments.get('uri', '')}"],
            )
        )

    async def _read_resource_tool(self, arguments: dict[str, Any], context: ToolContext) -> ToolOutput:
        return await self.read_resource(str(arguments["server"]), str(arguments["uri"]))

    def _approved_in_config(self, server: str, tool: str) -> bool:
        path = self.config_file or paths.resolve().config_file
        try:
            table = read_tables(path).get(server, {})
        except LifeError:
            return False
        approved = table.get("approved_tools", []) if isinstance(table, dict) else []
        return isinstance(approved, list) and tool in approved

    def enable(self, tool_name: str) -> None:
        """Approve a tool a server added mid-session (by its registered ``mcp__server__tool`` name)."""
        for server in self._servers.values():
            for remote in list(server.disabled):
                if registered_name(server.config.name, remote) == tool_name:
                    server.disabled.discard(remote)
                    self.registry.register(self._spec(server, server.tools[remote]))
                    return
        raise McpServerError(f"no disabled MCP tool named {tool_name!r}")

    # ------------------------------------------------------------------------------- calls
    async def call(self, server_name: str, tool: str, arguments: dict[str, Any]) -> ToolOutput:
        """Call a server's tool; every failure is an error output naming the server, never an exception."""
        server = self._servers[server_name]
        shown = registered_name(server_name, tool)
        if tool in server.disabled:
            if not self._approved_in_config(server_name, tool):
                return ToolOutput(
                    f"{shown} was added by MCP server {server_name!r} during this session and is disabled "
                    f"until the user approves it (`life-tui mcp enable {server_name} {tool}`)",
                    is_error=True,
                )
            self.enable(shown)
        if tool in server.removed:
            return ToolOutput(f"MCP server {server_name!r} no longer offers {tool!r}", is_error=True)
        return await self._with_connection(server, lambda c: c.call_tool(tool, arguments))

    async def read_resource(self, server_name: str, uri: str) -> ToolOutput:
        server = self._servers.get(server_name)
        if server is None:
            return ToolOutput(f"no MCP server named {server_name!r}", is_error=True)
        return await self._with_connection(server, lambda c: c.read_resource(uri))

    async def _with_connection(self, server: _Server, request: Any) -> ToolOutput:
        name = server.config.name
        try:
            connection = await self._ensure(server)
        except McpServerError as exc:
            server.last_error = str(exc)
            return ToolOutput(str(exc), is_error=True)
        try:
            output: ToolOutput = await asyncio.wait_for(request(connection), server.config.timeout)
            return output
        except TimeoutError:
            return ToolOutput(f"MCP server {name!r} did not answer within {server.config.timeout:g} s", is_error=True)
        except McpServerError as exc:
            if connection.broken:
                server.crashes += 1
                server.last_error = str(exc)
                server.connection = None
                await connection.close()
                return ToolOutput(f"{exc.message} (it is restarted on the next call)", is_error=True)
            return ToolOutput(str(exc), is_error=True)


async def attach(
    registry: ToolRegistry,
    servers: dict[str, dict[str, Any]],
    *,
    workspace: Path,
    config_file: Path | None = None,
) -> McpBridge | None:
    """Register the enabled MCP servers' tools into ``registry``; None when no server is enabled.

    Raises InvalidInput for a malformed ``[mcp_servers.*]`` table. A server that fails to start does not
    raise: the bridge keeps its error (``bridge.status()``) and retries it on use. Close with ``aclose()``.
    """
    configs = [c for c in parse_servers(servers).values() if c.enabled]
    if not configs:
        return None
    bridge = McpBridge(configs, registry, workspace=workspace, config_file=config_file)
    try:
        await bridge.start()
    except BaseException:
        await bridge.aclose()
        raise
    return bridge
