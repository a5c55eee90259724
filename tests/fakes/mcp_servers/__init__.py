"""Real MCP servers written with the SDK, run as subprocesses by the MCP client bridge's tests.

``tools_server.py`` is a well-behaved stdio server (tools with schemas and hints, a resource, a tool that
adds another tool mid-session); ``crashing_server.py`` dies mid-call on a chosen call, or at start-up;
``http_server.py`` serves over streamable HTTP (uvicorn on 127.0.0.1) and requires a bearer token.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS_SERVER = HERE / "tools_server.py"
CRASHING_SERVER = HERE / "crashing_server.py"
HTTP_SERVER = HERE / "http_server.py"
