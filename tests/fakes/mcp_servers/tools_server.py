"""A normal MCP server over stdio for the bridge's tests.

Tools: ``add`` (structured result), ``lookup`` (claims readOnlyHint), ``fail`` (an error result),
``sleep`` (for timeouts), ``whoami`` (reports its environment variable ``FAKE_TOKEN``'s length and its
working directory), ``grow`` (adds the tool ``late_tool`` and announces tools/list_changed).
Resource: ``notes://readme``.
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations

server = MCPServer("fake-tools", version="1.0.0")


@server.tool(description="Add two integers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Look a word up.", annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True))
def lookup(word: str) -> str:
    return f"{word}: a word"


@server.tool(description="Always fails.")
def fail(reason: str = "no reason") -> str:
    raise ValueError(f"failed on purpose: {reason}")


@server.tool(description="Sleep for a while.")
async def sleep(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


@server.tool(description="Where and with what the server runs.")
def whoami() -> str:
    return f"cwd={os.getcwd()} token_len={len(os.environ.get('FAKE_TOKEN', ''))}"


def late_tool(x: int) -> str:
    return f"late {x}"


@server.tool(description="Add a tool named late_tool and tell the client the tool list changed.")
async def grow(ctx: Context) -> str:
    server.add_tool(late_tool, description="A tool added mid-session.")
    await ctx.request_context.session.send_tool_list_changed()
    return "grown"


@server.resource("notes://readme", mime_type="text/plain")
def readme() -> str:
    return "read me first"


if __name__ == "__main__":
    print("fake-tools starting", file=sys.stderr)
    server.run()
