"""An MCP server over streamable HTTP for the bridge's tests, served by uvicorn on 127.0.0.1.

Run as ``python http_server.py --fd N`` with a listening socket inherited from the test (``pass_fds``),
so the port is known before the process starts and no other process can take it; ``--port P`` binds
127.0.0.1:P itself instead (0 picks a free port, printed on stdout), for running it by hand.

Every request to ``/mcp`` must carry ``Authorization: Bearer $HTTP_TOKEN`` (when ``HTTP_TOKEN`` is set),
or it is refused with 401 before the MCP layer sees it; ``GET /health`` answers 200 without a header
(uvicorn serves nothing before the app's start-up, which starts the MCP session manager, has finished).

Tools: ``add`` (structured result), ``whoami`` (annotated: read-only, idempotent, closed-world, with a
title; echoes the ``X-Life-Client`` header the request carried), ``fail`` (an error result), ``sleep``
(for calls in flight when the server is killed; writes ``sleeping N s`` to stderr when it starts).
Resource: ``notes://http-readme``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

server = MCPServer("fake-http", version="1.0.0")


@server.tool(description="Add two integers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(
    description="Say which client header this request carried.",
    annotations=ToolAnnotations(title="Who am I", read_only_hint=True, idempotent_hint=True, open_world_hint=False),
)
def whoami(ctx: Context) -> str:
    headers = ctx.headers or {}
    return f"x-life-client={headers.get('x-life-client', '<missing>')}"


@server.tool(description="Always fails.")
def fail(reason: str = "no reason") -> str:
    raise ToolError(f"failed on purpose: {reason}")


@server.tool(description="Sleep for a while (says so on stderr first, so a test knows the call arrived).")
async def sleep(seconds: float) -> str:
    print(f"sleeping {seconds:g} s", file=sys.stderr, flush=True)
    await asyncio.sleep(seconds)
    return "slept"


@server.resource("notes://http-readme", mime_type="text/plain")
def readme() -> str:
    return "served over HTTP"


class Gate:
    """In front of the MCP app: ``GET /health`` answers 200, and ``/mcp`` requests whose ``Authorization``
    is not ``Bearer <token>`` are refused with 401 (when there is a token)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/health":
            await PlainTextResponse("ok")(scope, receive, send)
            return
        refused = self.expected is not None and dict(scope.get("headers", [])).get(b"authorization") != self.expected
        if scope["type"] == "http" and scope["path"].startswith("/mcp") and refused:
            await PlainTextResponse("missing or wrong bearer token", status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--fd", type=int, help="an inherited listening socket")
    where.add_argument("--port", type=int, help="bind 127.0.0.1:PORT (0: a free port, printed)")
    options = parser.parse_args()
    if options.fd is not None:
        sock = socket.socket(fileno=options.fd)
    else:
        sock = socket.create_server(("127.0.0.1", options.port))
        print(sock.getsockname()[1], flush=True)
    app = Gate(server.streamable_http_app(host="127.0.0.1"), os.environ.get("HTTP_TOKEN"))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    print(f"fake-http serving on 127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main()
