"""Real MCP servers written with the SDK, run as subprocesses by the MCP client bridge's tests.

``tools_server.py`` is a well-behaved stdio server (tools with schemas and hints, a resource, a tool that
adds another tool mid-session); ``crashing_server.py`` dies mid-call on a chosen call, or at start-up.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS_SERVER = HERE / "tools_server.py"
CRASHING_SERVER = HERE / "crashing_server.py"
