"""``life-tui mcp`` must never import Textual, and must not pay for provider SDKs it does not use.

A fresh interpreter imports what the ``mcp`` command imports when it serves (the CLI entry, the command
group, and the server package with the MCP SDK) and reports which heavy libraries ended up loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("textual", "anthropic", "openai", "duckdb", "pyarrow")

PROBE = f"""
import json, sys
import life_tui.cli.main, life_tui.cli.mcp_cmds
import life_tui.mcp_server.main, life_tui.mcp_server.server, life_tui.mcp_server.transport
import life_tui.mcp_server.workstation, life_tui.mcp_server.session_ops, life_tui.mcp_server.resources
heavy = {FORBIDDEN!r}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0] in heavy}})))
print(json.dumps("mcp" in sys.modules))
"""


def test_the_mcp_server_imports_no_textual_and_no_unused_sdk() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    *_, loaded_line, mcp_line = result.stdout.strip().splitlines()
    assert json.loads(loaded_line) == [], f"life-tui mcp loaded {loaded_line}; import them lazily, where used"
    assert json.loads(mcp_line) is True  # the probe really imported the server


def test_the_cli_without_the_mcp_command_does_not_load_the_sdk() -> None:
    probe = "import sys, life_tui.cli.main; print('mcp' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
