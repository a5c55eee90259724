"""An MCP server over stdio that dies: at start-up when ``CRASH_AT_START`` is set, or on the call number
``CRASH_ON_CALL`` (default 1) of its ``work`` tool, after writing a last word to stderr (exit code 3).
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("fake-crashing", version="1.0.0")
_calls = 0


@server.tool(description="Do some work; the server dies on a chosen call.")
def work(n: int) -> str:
    global _calls
    _calls += 1
    if _calls >= int(os.environ.get("CRASH_ON_CALL", "1")):
        print(f"fatal: crashing on call {_calls}", file=sys.stderr, flush=True)
        os._exit(3)
    return f"worked {n}"


if __name__ == "__main__":
    if os.environ.get("CRASH_AT_START"):
        print("fatal: cannot start (CRASH_AT_START)", file=sys.stderr, flush=True)
        sys.exit(2)
    server.run()
