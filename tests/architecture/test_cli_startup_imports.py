"""Starting the CLI must not pay for heavy libraries it does not need (stack-notes: anthropic alone ~2 s).

Textual belongs to the TUI; the provider and MCP SDKs are imported lazily by their adapters; duckdb and
pyarrow only when a command queries or seals. A fresh interpreter imports the CLI's entry module and
reports which of them ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI_MAIN = ROOT / "life_tui" / "cli" / "main.py"
HEAVY = ("textual", "anthropic", "openai", "mcp", "duckdb", "pyarrow")

PROBE = f"""
import json, sys
import life_tui.cli.main
heavy = {HEAVY!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def test_importing_the_cli_loads_no_heavy_library() -> None:
    if not CLI_MAIN.exists():
        pytest.skip("life_tui/cli/main.py does not exist yet")
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"importing life_tui.cli.main failed:\n{result.stderr}"
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing life_tui.cli.main loaded {loaded}; import them lazily, where used"
