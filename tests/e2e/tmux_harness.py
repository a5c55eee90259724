"""Drive the real ``life-tui`` in a tmux pane as a person would: keys in with ``send-keys``, the screen out
with ``capture-pane``. Every wait polls the screen for a marker (never a fixed sleep) and fails with the
last screen when the marker does not come. Used by the tmux end-to-end test and by ``bench/tui.py``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

EXIT_MARK = "LIFE-TUI-EXITED"


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


class TmuxApp:
    """One detached tmux session running ``command`` in ``cwd``; the pane stays open after it exits."""

    def __init__(self, command: list[str], *, cwd: Path, env: Mapping[str, str], width: int = 120, height: int = 40):
        self.name = f"life-e2e-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        shell = f"cd {shlex.quote(str(cwd))} && env {exports} {shlex.join(command)}; echo {EXIT_MARK} $?; sleep 600"
        self.started = time.perf_counter()
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell],
            check=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )

    def screen(self) -> str:
        done = subprocess.run(
            ["tmux", "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True, check=False
        )
        return done.stdout

    def wait_for(self, *markers: str, timeout: float = 20.0) -> str:
        """Poll until one of ``markers`` is on screen; returns the marker found."""
        deadline = time.perf_counter() + timeout
        shown = ""
        while time.perf_counter() < deadline:
            shown = self.screen()
            for marker in markers:
                if marker in shown:
                    return marker
            time.sleep(0.02)
        raise AssertionError(f"none of {markers} appeared within {timeout} s; the screen was:\n{shown}")

    def wait_gone(self, marker: str, timeout: float = 20.0) -> str:
        """Poll until ``marker`` is no longer on screen; returns that screen."""
        deadline = time.perf_counter() + timeout
        shown = ""
        while time.perf_counter() < deadline:
            shown = self.screen()
            if marker not in shown:
                return shown
            time.sleep(0.02)
        raise AssertionError(f"{marker!r} stayed on screen for {timeout} s; the screen was:\n{shown}")

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def exit_code(self, timeout: float = 20.0) -> int:
        self.wait_for(EXIT_MARK, timeout=timeout)
        for line in self.screen().splitlines():
            if line.startswith(EXIT_MARK):
                return int(line.split()[1])
        raise AssertionError("the exit line vanished")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False, capture_output=True)
