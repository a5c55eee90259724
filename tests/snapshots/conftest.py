"""Fixtures of the SVG snapshot suite: fixed ids, a fake clock, a fixed workspace path, scripted sessions.

A snapshot must come out byte for byte the same on every run and machine, so everything the screen could
show that varies is pinned here: ULIDs (their random part and, for ids made without a clock, their time
part) come from a seeded generator, the journal runs on a :class:`FakeClock`, the loop's tool and run
timers read a stepping counter, the status bar's spinner stands still, and the workspace is at the same
path each time. ``snap_compare`` runs the app in its own event loop, so the session is created inside the
app (the :class:`Launch` opener) rather than by an async fixture.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from snapshot_support import Scripted

from life_tui.kernel import ids
from life_tui.runtime import loop
from life_tui.tui.widgets.status_bar import PROGRESS_AFTER_S, StatusBar

FIXED_NS = 1_763_683_200_000_000_000
"""The frozen wall clock's start (2025-11-21 00:00 UTC) for ids made without the journal's clock."""


@pytest.fixture(autouse=True)
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """ULIDs from a seeded generator and a frozen wall clock (ids made without the journal's clock)."""
    seeded = random.Random(20251121)
    ticks = iter(range(FIXED_NS, FIXED_NS + 10**15, 1_000_000))
    monkeypatch.setattr(ids, "os", SimpleNamespace(urandom=seeded.randbytes))
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: next(ticks)))
    monkeypatch.setattr(ids, "_last_ms", -1)
    monkeypatch.setattr(ids, "_last_rand", 0)
    monkeypatch.setattr(ids, "_prefix", "")


@pytest.fixture(autouse=True)
def fixed_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop times tool calls and runs with ``perf_counter``; here every reading is 5 ms after the last."""
    readings = iter(range(1, 10**9))
    monkeypatch.setattr(loop, "time", SimpleNamespace(perf_counter=lambda: next(readings) * 0.005))


@pytest.fixture(autouse=True)
def still_spinner(monkeypatch: pytest.MonkeyPatch) -> None:
    """The status bar's spinner turns with wall time; here it shows at the next tick once a turn runs (a
    turn waiting for an approval, a replay point inside a run), always on its first frame."""

    def tick(self: StatusBar) -> None:
        shown = self._busy_for >= PROGRESS_AFTER_S
        if self.facts.running != shown:
            self._busy_for = PROGRESS_AFTER_S if self.facts.running else 0.0
            self.refresh()

    monkeypatch.setattr(StatusBar, "_tick", tick)


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[Scripted]:
    """Set ``turns`` (and ``files``, ``theme``) on it, then pass ``scripted.app()`` to ``snap_compare``."""
    holder = Scripted(tmp_path, [], {"README.md": "# demo\n"})
    yield holder
    holder.close()
