"""One live connection to one MCP server: the only tools module that imports the MCP SDK.

Everything SDK-shaped stays here (the architecture test enforces it), and the SDK is imported inside
functions, so a session without MCP servers never pays its ~1 s import. :class:`McpConnection` starts a
server (a stdio child process, or a streamable HTTP endpoint), lists its tools and resources, calls tools
and reads resources, and turns the SDK's answers into plain values (:class:`RemoteTool`, ``ToolOutput``).

The SDK's client is a set of anyio task groups that must be entered and left by the same task, while
tool calls arrive from whichever task runs the agent loop; so each connection has an *owner task* that
enters the client, waits until it is asked to stop, and leaves it. Stopping closes the child's stdin, then
terminates and kills its process group (the SDK's shutdown), so no child outlives a closed connection.

Connections use the initialize handshake (``mode="legacy"``): every server generation accepts it, and on
it change notifications such as ``notifications/tools/list_changed`` arrive through the message handler
(2026-07-28's ``subscriptions/listen`` would need a second code path for the same event).

A stdio server's stderr goes to a private temporary file so a crash can be reported with its last lines
(with the configured env and header values masked); the file is removed with the connection.

A streamable HTTP server is reached through the SDK's transport with the configured headers on every
request (POST, the GET event stream, the closing DELETE). The SDK turns an HTTP error into a bare JSON-RPC
error ("Server returned an error response"), so a response hook keeps the status of the last failed POST:
a refused handshake is reported as, say, ``HTTP 401 Unauthorized``. A server that no longer knows our
session (it restarted, or expired the session: HTTP 404 to a request carrying ``Mcp-Session-Id``) leaves
the connection unusable, so that marks it broken like a dead process, and the next use reconnects.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from life_tui.errors import ExitCode, LifeError
from life_tui.tools.mcp_config import REDACTED, McpServerConfig
from life_tui.tools.registry import ToolOutput

if TYPE_CHECKING:
    from mcp import Client

STDERR_TAIL_LINES = 6
STDERR_TAIL_CHARS = 600
STOP_TIMEOUT_S = 10.0
CAUSE_WAIT_S = 0.2
"""How long a broken HTTP connection's report waits for the transport to end with its own error."""


class McpServerError(LifeError):
    """An MCP server could not be started, or it died, or it broke the protocol."""

    exit_code = ExitCode.MCP_SERVER


@dataclass(frozen=True)
class RemoteHints:
    """A server's tool annotations as it sent them (hints, never trusted for approval)."""

    read_only: bool | None = None
    destructive: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None
    title: str | None = None


@dataclass(frozen=True)
class RemoteTool:
    name: str
    description: str
    input_schema: dict[str, Any]
    hints: RemoteHints


@dataclass(frozen=True)
class RemoteResource:
    uri: str
    name: str
    description: str
    mime_type: str | None


def _tail(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-STDERR_TAIL_LINES:])[-STDERR_TAIL_CHARS:]


def tool_output(result: Any) -> ToolOutput:
    """A ``CallToolResult`` as the model reads it: text parts joined; structured content kept in ``data``
    (and as JSON text when the server sent no text), ``is_error`` kept."""
    parts: list[str] = []
    for item in result.content:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind == "resource":
            inner = item.resource
            parts.append(getattr(inner, "text", None) or f"[resource {inner.uri}: binary content]")
        elif kind == "resource_link":
            parts.append(f"[resource link {item.uri}]")
        else:
            parts.append(f"[{kind} content ({getattr(item, 'mime_type', 'unknown type')}) not shown]")
    structured = result.structured_content
    data: dict[str, Any] = {}
    if structured is not None:
        data["structured_content"] = structured
        if not parts:  # servers SHOULD also send it as text (the spec); when one does not, the model reads JSON
            parts.append(json.dumps(structured, ensure_ascii=False, sort_keys=True))
    return ToolOutput("\n".join(parts), is_error=bool(result.is_error), data=data)


class McpConnection:
    """A started MCP server. Create with :meth:`start`; end with :meth:`close` (idempotent)."""

    def __init__(self, config: McpServerConfig, workspace: Path, on_tools_changed: Callable[[], None]) -> None:
        self.config = config
        self.workspace = workspace
        self._on_tools_changed = on_tools_changed
        self._client: Client | None = None
        self._stderr: TextIO | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._owner: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._http_error: str | None = None
        """The last failed POST's status (``HTTP 401 Unauthorized``); HTTP servers only."""
        self._session_lost = False
        """An HTTP server answered 404 to our session id: it forgot the session, every request will fail."""
        self.broken = False

    # ------------------------------------------------------------------------------ lifecycle
    @classmethod
    async def start(
        cls, config: McpServerConfig, workspace: Path, on_tools_changed: Callable[[], None]
    ) -> McpConnection:
        """Start the server and finish the handshake within ``startup_timeout``, or raise McpServerError."""
        connection = cls(config, workspace, on_tools_changed)
        await connection._start()
        return connection

    async def _start(self) -> None:
        if self.config.transport == "stdio":
            self._stderr = cast(TextIO, tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace"))  # noqa: SIM115
        self._owner = asyncio.get_running_loop().create_task(self._own(), name=f"mcp:{self.config.name}")
        ready = asyncio.ensure_future(self._ready.wait())
        try:
            await asyncio.wait({ready, self._owner}, timeout=self.config.startup_timeout, return_when="FIRST_COMPLETED")
        finally:
            ready.cancel()
        if self._client is not None:
            return
        hint = f"check it with `life-tui mcp test {self.config.name}`"
        if self._owner.done():
            why = self._http_error or (self._describe(self._failure) if self._failure else "")
            reason = "exited during start-up" if self.config.transport == "stdio" else f"failed at {self.config.url}"
            reason += f": {why}" if why else ""
            if self._http_error and self._http_error.startswith(("HTTP 401", "HTTP 403")):
                hint = f"check its url and headers (`life-tui mcp list`), then `life-tui mcp test {self.config.name}`"
        else:
            reason = f"did not finish its handshake within {self.config.startup_timeout:g} s"
        report = self._report(reason)  # before close() removes the stderr file
        await self.close()
        raise McpServerError(report, hint=hint)

    async def _own(self) -> None:
        from mcp import Client

        try:
            async with Client(
                self._transport(), mode="legacy", message_handler=self._on_message, client_info=_client_info()
            ) as client:
                self._client = client
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # the SDK's and the transport's errors; reported by whoever waits on us
            self._failure = exc
        finally:
            self._client = None
            self.broken = True

    def _transport(self) -> Any:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        config = self.config
        if config.url:
            return _http_transport(config.url, dict(config.headers), self._on_http_response)
        cwd = (self.workspace / config.cwd) if config.cwd else self.workspace
        params = StdioServerParameters(
            command=config.command or "", args=list(config.args), env=dict(config.env) or None, cwd=cwd
        )
        return stdio_client(params, errlog=self._stderr or sys.stderr)

    async def _on_http_response(self, response: Any) -> None:
        """Keep what the SDK's error messages drop: a failed POST's status, and a forgotten session."""
        request = response.request
        if request.method != "POST" or response.status_code < 400:
            return
        self._http_error = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        if response.status_code == 404 and "mcp-session-id" in request.headers:
            self._session_lost = True

    async def _on_message(self, message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if method == "notifications/tools/list_changed":
            self._on_tools_changed()

    async def close(self) -> None:
        """Leave the client (the SDK stops the child and its process group); bounded, never hangs.

        A connection still in its handshake is cancelled at once (the SDK's shutdown of a stdio child is
        shielded from the cancellation): it is not waiting for the stop signal, so waiting for it to see
        one would only spend the whole stop timeout.
        """
        self._stop.set()
        owner = self._owner
        if owner is not None and not owner.done() and not self._ready.is_set():
            owner.cancel()
            await asyncio.wait({owner}, timeout=STOP_TIMEOUT_S)
        elif owner is not None and not owner.done():
            try:
                await asyncio.wait_for(asyncio.shield(owner), STOP_TIMEOUT_S)
            except TimeoutError:
                owner.cancel()
                await asyncio.wait({owner}, timeout=STOP_TIMEOUT_S)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    # ------------------------------------------------------------------------------ reporting
    def stderr_tail(self) -> str:
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        text = self._stderr.read()
        self._stderr.seek(0, 2)
        return _tail(text, [*self.config.env.values(), *self.config.headers.values()])

    def _report(self, what: str) -> str:
        tail = self.stderr_tail()
        return f"MCP server {self.config.name!r} {what}" + (f"; its stderr ends with:\n{tail}" if tail else "")

    @staticmethod
    def _describe(exc: BaseException | None) -> str:
        if exc is None:
            return "no error"
        if isinstance(exc, BaseExceptionGroup):
            return "; ".join(McpConnection._describe(e) for e in exc.exceptions)
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def crash_report(self, cause: str | None = None) -> str:
        """Why the connection is unusable: the stdio child's stderr tail, or what the HTTP transport saw."""
        if self.config.transport == "stdio":
            return self._report("stopped answering (the process exited or the connection closed)")
        owner = self._owner
        if owner is not None and owner.done() and self._failure is not None:
            cause = self._describe(self._failure)  # the transport's own error (say, the connection refused)
        if self._session_lost:
            cause = f"it no longer knows this session ({self._http_error}; the server restarted or expired it)"
        return self._report(f"at {self.config.url} stopped answering" + (f": {cause}" if cause else ""))

    # ------------------------------------------------------------------------------ requests
    def _live(self) -> Client:
        if self._client is None or self.broken:
            raise McpServerError(self.crash_report())
        return self._client

    async def _request(self, call: Callable[[Client], Awaitable[Any]]) -> Any:
        """One request; a closed connection marks this connection broken and raises McpServerError."""
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED, METHOD_NOT_FOUND

        client = self._live()
        try:
            return await call(client)
        except MCPError as exc:
            if self._session_lost and exc.code == METHOD_NOT_FOUND:  # some servers say that with a 404 too
                self._session_lost = False
            if exc.code == CONNECTION_CLOSED or self._session_lost:
                self.broken = True
                if self.config.transport == "http" and self._owner is not None:
                    await asyncio.wait({self._owner}, timeout=CAUSE_WAIT_S)  # its error says more, if it ends
                raise McpServerError(self.crash_report(exc.error.message)) from None
            raise McpServerError(f"MCP server {self.config.name!r} refused the request: {exc.error.message}") from None
        except (OSError, EOFError) as exc:
            self.broken = True
            raise McpServerError(self._report(f"failed: {self._describe(exc)}")) from None
        except Exception as exc:  # anyio stream errors and the like: the connection is not usable
            if type(exc).__module__.startswith("anyio"):
                self.broken = True
                raise McpServerError(self.crash_report()) from None
            raise

    async def list_tools(self) -> list[RemoteTool]:
        tools: list[RemoteTool] = []
        cursor: str | None = None
        for _ in range(100):  # a paginator that never ends cannot hang us
            page = await self._request(functools.partial(_list_tools_page, cursor=cursor))
            for tool in page.tools:
                a = tool.annotations
                hints = RemoteHints(
                    read_only=a.read_only_hint if a else None,
                    destructive=a.destructive_hint if a else None,
                    idempotent=a.idempotent_hint if a else None,
                    open_world=a.open_world_hint if a else None,
                    title=(a.title if a else None) or tool.title,
                )
                schema = dict(tool.input_schema or {"type": "object"})
                tools.append(RemoteTool(tool.name, tool.description or "", schema, hints))
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools

    async def list_resources(self) -> list[RemoteResource]:
        if self._live().server_capabilities.resources is None:
            return []
        page = await self._request(lambda c: c.list_resources())
        return [RemoteResource(str(r.uri), r.name, r.description or "", r.mime_type) for r in page.resources]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutput:
        result = await self._request(lambda c: c.call_tool(name, arguments))
        return tool_output(result)

    async def read_resource(self, uri: str) -> ToolOutput:
        result = await self._request(lambda c: c.read_resource(uri))
        parts: list[str] = []
        for item in result.contents:
            text = getattr(item, "text", None)
            parts.append(text if text is not None else f"[{item.uri}: binary content ({item.mime_type or 'unknown'})]")
        return ToolOutput("\n".join(parts), data={"uri": uri})


async def _list_tools_page(client: Client, *, cursor: str | None) -> Any:
    return await client.list_tools(cursor=cursor, cache_mode="refresh")


def _client_info() -> Any:
    from mcp_types import Implementation

    from life_tui import __version__

    return Implementation(name="life-tui", version=__version__)


@asynccontextmanager
async def _http_transport(
    url: str, headers: dict[str, str], on_response: Callable[[Any], Awaitable[None]]
) -> AsyncIterator[Any]:
    """Streamable HTTP with the configured headers on every request (the SDK's httpx2 client, with its
    default timeouts), and ``on_response`` called with every response before the SDK reads it."""
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    http = create_mcp_http_client(headers=headers)
    http.event_hooks["response"].append(on_response)
    async with http, streamable_http_client(url, http_client=http) as streams:
        yield streams
