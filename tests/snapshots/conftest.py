"""Fixtures of the SVG snapshot suite: fixed ids, a fake clock, a fixed workspace path, scripted sessions.

A snapshot must come out byte for byte the same on every run and machine, so everything the screen could
show that varies is pinned here: ULIDs (their random part and, for ids made without a clock, their time
part) come from a seeded generator, the journal runs on a :class:`FakeClock`, the loop's tool and run
timers read a stepping counter, and the workspace is at the same path each time. ``snap_compare`` runs
the app in its own event loop, so the session is created inside the app (the :class:`Launch` opener)
rather than by an async fixture.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.pilot import Pilot

from life_tui.journal import Journal, JournalOptions
from life_tui.kernel import ids
from life_tui.kernel.clock import FakeClock
from life_tui.runtime import loop
from life_tui.runtime.config import Settings
from life_tui.runtime.providers.scripted import Script, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session, SessionOptions
from life_tui.tools.basic import default_registry
from life_tui.tui.app import Launch, LifeApp

WORKSPACE = Path(tempfile.gettempdir()) / "life-tui-snapshots" / "workspace"
"""One fixed path: the chat and the event log may show the workspace, and a tmp_path differs per run."""
FIXED_NS = 1_763_683_200_000_000_000


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


@dataclass
class Scripted:
    """A workstation whose session is made inside the app, on a journal with a fake clock."""

    root: Path
    turns: list[ScriptedTurn]
    files: dict[str, str]
    theme: str = "life-dark"
    journals: list[Journal] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)

    def app(self) -> LifeApp:
        if WORKSPACE.exists():
            shutil.rmtree(WORKSPACE)
        WORKSPACE.mkdir(parents=True)
        for name, text in self.files.items():
            (WORKSPACE / name).write_text(text)

        async def opener() -> Session:
            clock = FakeClock(tick_us=1_000)
            journal = Journal.open(self.root / "journal", options=JournalOptions(background=False), clock=clock)
            self.journals.append(journal)
            provider = ScriptedProvider(Script(model="demo", turns=self.turns))
            options = SessionOptions(settings=Settings(), tools=default_registry())
            session = await Session.create(
                journal, name="snapshot", workspace=WORKSPACE, provider=provider, options=options
            )
            self.sessions.append(session)
            return session

        return LifeApp(Launch(opener=opener, settings=Settings(tui={"theme": self.theme})))

    def close(self) -> None:
        for journal in self.journals:
            journal.close()


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[Scripted]:
    """Set ``turns`` (and ``files``, ``theme``) on it, then pass ``scripted.app()`` to ``snap_compare``."""
    holder = Scripted(tmp_path, [], {"README.md": "# demo\n"})
    yield holder
    holder.close()


async def quiesce(pilot: Pilot[None], *, tries: int = 60) -> None:
    """Stop the cursors blinking, then wait until two screenshots in a row are the same.

    Panes catch up on their own schedule (a scroll to the end, a virtualised block loaded, a card that
    learns its output's size), so a fixed number of pauses would sometimes photograph the screen half way.
    """
    app = pilot.app
    previous = ""
    for _ in range(tries):
        for widget in app.screen.query("Input, TextArea"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause(0.05)
        await pilot.wait_for_scheduled_animations()
        shot = app.export_screenshot()
        if shot == previous:
            return
        previous = shot
    raise AssertionError("the screen never settled")


async def settle(pilot: Pilot[None]) -> None:
    """Wait until the session is open, its turn is over, every stored event is delivered, and the screen rests."""
    app = pilot.app
    assert isinstance(app, LifeApp)
    for _ in range(200):
        if app.session is not None:
            break
        await pilot.pause()
    session = app.session
    assert session is not None, "the session never opened"
    if app.turn is not None:
        await app.turn
    head = session.journal.head(session.session_id, session.branch)
    assert await app.bridge.wait_until(head), f"the bridge never delivered event {head}"
    await quiesce(pilot)
    # The event log sometimes keeps its cursor on the last row without scrolling there (its scroll_to runs
    # before the new virtual size is laid out), so the same session snapshots at the top or at the tail.
    # Until that is fixed in event_log.py, take it to the tail the way the End key does.
    for rows in app.screen.query("EventRows"):
        await rows.run_action("last")
    await quiesce(pilot)


async def converse(pilot: Pilot[None], prompt: str) -> None:
    await settle(pilot)
    await pilot.press(*prompt, "enter")
    await settle(pilot)
