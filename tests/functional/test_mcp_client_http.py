"""The MCP client bridge against a real streamable HTTP server (written with the SDK, served by uvicorn
in a subprocess on 127.0.0.1): tools listed as ``mcp__<server>__<tool>`` with their schemas and hints,
calls, a tool error, a resource, the configured headers reaching the server (it refuses requests without
the bearer token and echoes another header; a wrong token is reported as HTTP 401), ``life-tui mcp test``
run as a user runs it, a port that never answers given up after the start-up timeout, a server killed
mid-call or between calls reported as an error in bounded time, and a server restarted behind the same URL
(it forgot our session) reconnected on the next call.

Each server gets a listening socket the test bound itself (``pass_fds``), so its port is known up front and
cannot be taken by another process; readiness is polled on ``GET /health``.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.mcp_servers import HTTP_SERVER

from life_tui import paths
from life_tui.tools import mcp_bridge
from life_tui.tools.mcp_bridge import READ_RESOURCE, McpBridge, attach
from life_tui.tools.mcp_client import McpConnection, McpServerError
from life_tui.tools.mcp_config import parse_server
from life_tui.tools.registry import ToolContext, ToolOutput, ToolRegistry

TOKEN = "http-token-very-secret"
CLIENT = "life-test-client-7"
WAIT = 20.0  # every wait in this module is bounded by this
READY_S = 30.0  # a server's start (its ~1 s import of the SDK) on a loaded machine
EXE = Path(sys.executable).with_name("life-tui")


@dataclass
class HttpServer:
    """A running fake HTTP MCP server: its process, port and stderr log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WAIT)

    def wait_for_log(self, text: str) -> None:
        deadline = time.monotonic() + WAIT
        while text not in self.stderr():
            assert time.monotonic() < deadline, f"server never logged {text!r}:\n{self.stderr()}"
            time.sleep(0.01)


def bind() -> socket.socket:
    return socket.create_server(("127.0.0.1", 0), backlog=64)


def spawn(sock: socket.socket, log: Path) -> HttpServer:
    """Start a server on an already listening socket and wait (polling, bounded) until it answers."""
    fd = sock.fileno()
    with log.open("ab") as err:
        process = subprocess.Popen(
            [sys.executable, str(HTTP_SERVER), "--fd", str(fd)],
            pass_fds=[fd],
            env={**os.environ, "HTTP_TOKEN": TOKEN},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    server = HttpServer(process, sock.getsockname()[1], log)
    try:
        wait_ready(server)
    except BaseException:
        server.kill()
        raise
    return server


def wait_ready(server: HttpServer) -> None:
    """Poll ``GET /health`` until it answers 200; fail with the server's stderr if it exits or never does.

    The socket listens before the process starts, so a connection made early waits in the backlog until
    uvicorn serves it; each try is bounded by its own timeout, the whole wait by READY_S.
    """
    deadline = time.monotonic() + READY_S
    while True:
        assert server.process.poll() is None, f"the server exited ({server.process.returncode}):\n{server.stderr()}"
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2.0)  # no proxy, unlike urllib
        try:
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            connection.close()
        assert time.monotonic() < deadline, f"the server did not answer within {READY_S:g} s:\n{server.stderr()}"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """One server for the tests that do not stop it; its port is freed (our socket closed) once it runs."""
    sock = bind()
    try:
        server = spawn(sock, tmp_path_factory.mktemp("http-mcp") / "server.log")
    finally:
        sock.close()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def own(tmp_path: Path) -> Iterator[HttpServer]:
    """A server of this test's own, which the test may kill; killed in teardown whatever happened."""
    sock = bind()
    try:
        server = spawn(sock, tmp_path / "server.log")
    finally:
        sock.close()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(autouse=True)
def quick_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bridge's pauses between restarts: 0.05, 0.1, 0.2 s instead of 0.25, 0.5, 1 s (time, not logic)."""
    monkeypatch.setattr(mcp_bridge, "BACKOFF_BASE_S", 0.05)


def table(server: HttpServer, **overrides: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Life-Client": CLIENT}
    return {"url": server.url, "headers": headers, "timeout": WAIT, "startup_timeout": WAIT, **overrides}


async def start_bridge(server: HttpServer, workspace: Path, **overrides: Any) -> tuple[McpBridge, ToolRegistry]:
    registry = ToolRegistry()
    bridge = await asyncio.wait_for(attach(registry, {"web": table(server, **overrides)}, workspace=workspace), WAIT)
    assert bridge is not None
    return bridge, registry


@pytest.fixture
async def web(shared: HttpServer, tmp_path: Path) -> AsyncIterator[tuple[McpBridge, ToolRegistry]]:
    bridge, registry = await start_bridge(shared, tmp_path)
    try:
        yield bridge, registry
    finally:
        await asyncio.wait_for(bridge.aclose(), WAIT)


async def run(registry: ToolRegistry, name: str, **arguments: Any) -> ToolOutput:
    context = ToolContext(workspace=Path.cwd(), session_id="s", call_id="c")
    return await asyncio.wait_for(registry.run(name, arguments, context), WAIT)


async def test_tools_are_listed_with_schemas_and_hints(web: tuple[McpBridge, ToolRegistry]) -> None:
    bridge, registry = web
    names = {s.name for s in registry.specs()}
    assert names == {"mcp__web__add", "mcp__web__whoami", "mcp__web__fail", "mcp__web__sleep", READ_RESOURCE}
    assert bridge.status()["web"] == {
        "running": True,
        "tools": ["mcp__web__add", "mcp__web__fail", "mcp__web__sleep", "mcp__web__whoami"],
        "disabled": [],
        "crashes": 0,
        "last_error": None,
    }
    add = registry.get("mcp__web__add")
    assert add.input_schema["properties"] == {
        "a": {"title": "A", "type": "integer"},
        "b": {"title": "B", "type": "integer"},
    }
    assert add.input_schema["required"] == ["a", "b"]
    assert add.description.startswith("Add two integers.")
    assert add.annotations.destructive is True  # MCP's default when the server says nothing
    whoami = registry.get("mcp__web__whoami")
    assert whoami.annotations.read_only is False  # the server's readOnlyHint is only a claim
    assert (whoami.annotations.idempotent, whoami.annotations.open_world) == (True, False)
    assert "server hints: read-only, idempotent, closed-world" in whoami.description
    assert whoami.capabilities_for({}) == ["mcp:call:web/whoami"]


async def test_calls_an_error_a_resource_and_the_headers(web: tuple[McpBridge, ToolRegistry]) -> None:
    _, registry = web
    added = await run(registry, "mcp__web__add", a=2, b=40)
    assert (added.content, added.is_error, added.data) == ("42", False, {"structured_content": {"result": 42}})
    failed = await run(registry, "mcp__web__fail", reason="on cue")
    assert (failed.content, failed.is_error) == ("Error executing tool fail: failed on purpose: on cue", True)
    who = await run(registry, "mcp__web__whoami")
    assert (who.content, who.is_error) == (f"x-life-client={CLIENT}", False)  # a configured header, as sent
    assert "notes://http-readme" in registry.get(READ_RESOURCE).description
    note = await run(registry, READ_RESOURCE, server="web", uri="notes://http-readme")
    assert (note.content, note.is_error) == ("served over HTTP", False)
    missing = await run(registry, READ_RESOURCE, server="web", uri="notes://nothing")
    assert missing.is_error and "'web'" in missing.content


async def test_a_server_refusing_the_headers_is_reported_with_its_status(shared: HttpServer, tmp_path: Path) -> None:
    config = parse_server("web", table(shared, headers={"Authorization": "Bearer wrong-token"}))
    with pytest.raises(McpServerError) as caught:
        await asyncio.wait_for(McpConnection.start(config, tmp_path, lambda: None), WAIT)
    assert caught.value.message == f"MCP server 'web' failed at {shared.url}: HTTP 401 Unauthorized"
    assert "headers" in (caught.value.hint or "")
    assert "wrong-token" not in str(caught.value)


async def test_a_server_that_never_answers_the_handshake_is_given_up_in_time(tmp_path: Path) -> None:
    """A port that accepts connections but never answers: start-up fails after its timeout, not later."""
    with bind() as silent:
        config = parse_server("web", {"url": f"http://127.0.0.1:{silent.getsockname()[1]}/mcp", "startup_timeout": 1})
        started = time.monotonic()
        with pytest.raises(McpServerError, match="did not finish its handshake within 1 s"):
            await asyncio.wait_for(McpConnection.start(config, tmp_path, lambda: None), WAIT)
        assert time.monotonic() - started < 4  # the 1 s start-up timeout, not that plus the 10 s stop timeout


def test_the_cli_tests_an_http_server(shared: HttpServer) -> None:
    config = paths.resolve().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[mcp_servers.web]\nurl = "{shared.url}"\nheaders = {{ Authorization = "Bearer {TOKEN}" }}\n')
    command = [str(EXE), "mcp", "test", "web"]  # LIFE_HOME (set for every test) is inherited
    ok = subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0] == "web: ok, 4 tool(s), 1 resource(s)"
    hints = "read_only=True, idempotent=True, open_world=False, title=Who am I"
    assert f"  mcp__web__whoami  (server hints: {hints})" in lines
    schemas = [json.loads(line.removeprefix("    input: ")) for line in lines if line.startswith("    input: ")]
    assert {"a": {"title": "A", "type": "integer"}, "b": {"title": "B", "type": "integer"}} in [
        s.get("properties") for s in schemas
    ]
    assert "  resource notes://http-readme" in lines
    assert TOKEN not in ok.stdout + ok.stderr


async def test_a_server_killed_mid_call_is_an_error_in_bounded_time(own: HttpServer, tmp_path: Path) -> None:
    bridge, registry = await start_bridge(own, tmp_path)
    call: asyncio.Future[ToolOutput] | None = None
    try:
        assert (await run(registry, "mcp__web__add", a=1, b=2)).content == "3"
        call = asyncio.ensure_future(run(registry, "mcp__web__sleep", seconds=60))
        await asyncio.to_thread(own.wait_for_log, "sleeping 60 s")  # the call reached the server
        own.kill()
        started = time.monotonic()
        crashed = await call
        assert time.monotonic() - started < 5  # not the call's 20 s timeout, nor the 60 s sleep
        assert crashed.is_error
        assert crashed.content.startswith(f"MCP server 'web' at {own.url} stopped answering")
        assert "restarted on the next call" in crashed.content
        assert bridge.status()["web"]["crashes"] == 1 and bridge.status()["web"]["running"] is False
        started = time.monotonic()
        gone = await run(registry, "mcp__web__add", a=1, b=2)  # restarts, each refused at once
        assert time.monotonic() - started < 5
        assert gone.is_error and "ConnectError" in gone.content and "tried 3 restarts" in gone.content
        started = time.monotonic()
        await asyncio.wait_for(bridge.aclose(), WAIT)
        assert time.monotonic() - started < 5
    finally:
        if call is not None:
            call.cancel()
        await asyncio.wait_for(bridge.aclose(), WAIT)  # idempotent; here for a test that failed early


async def test_a_server_restarted_behind_its_url_is_reconnected_and_one_gone_is_an_error(tmp_path: Path) -> None:
    """A new process does not know our session (HTTP 404): that call fails, the next one reconnects. Then
    the server goes away for good between calls (its port refuses): the call fails at once, as does close."""
    sock = bind()  # kept open across the restart: the port stays ours and connections wait in its backlog
    first = spawn(sock, tmp_path / "first.log")
    second: HttpServer | None = None
    try:
        bridge, registry = await start_bridge(first, tmp_path)
        try:
            assert (await run(registry, "mcp__web__add", a=1, b=2)).content == "3"
            first.kill()
            second = await asyncio.to_thread(spawn, sock, tmp_path / "second.log")
            lost = await run(registry, "mcp__web__add", a=2, b=2)
            assert lost.is_error
            assert "it no longer knows this session (HTTP 404 Not Found" in lost.content
            assert "restarted on the next call" in lost.content
            again = await run(registry, "mcp__web__add", a=3, b=3)
            assert (again.content, again.is_error) == ("6", False)
            assert bridge.status()["web"] == {**bridge.status()["web"], "running": True, "crashes": 1}

            sock.close()  # the second server holds the only listening socket now
            second.kill()
            started = time.monotonic()
            gone = await run(registry, "mcp__web__add", a=4, b=4)
            assert time.monotonic() - started < 5
            assert gone.is_error and gone.content.startswith(f"MCP server 'web' at {second.url} stopped answering")
            assert bridge.status()["web"]["crashes"] == 2
            started = time.monotonic()
            await asyncio.wait_for(bridge.aclose(), WAIT)
            assert time.monotonic() - started < 5
        finally:
            await asyncio.wait_for(bridge.aclose(), WAIT)  # idempotent; here for a test that failed early
    finally:
        sock.close()
        first.kill()
        if second is not None:
            second.kill()
