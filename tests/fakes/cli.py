"""Run the installed ``life-tui`` command as a user would (a real subprocess, no stdin, no provider keys
from the developer's environment), and check its exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXE = Path(sys.executable).with_name("life-tui")
PROVIDER_ENV = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LIFE_PROVIDER", "LIFE_MODEL", "LIFE_DEBUG")
"""Variables that would make the command reach a real provider or change its logging: removed."""


def life(*args: str, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    """``life-tui ARGS`` in ``cwd``; fails the test (showing both streams) unless it exits ``expect``."""
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    proc = subprocess.run(  # noqa: PLW1510 - checked below
        [str(EXE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    return proc
