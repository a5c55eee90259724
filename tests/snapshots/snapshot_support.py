"""Helpers of the SVG snapshot suite: a workstation whose scripted session is made inside the app, and
waits that end when the screen has caught up (see ``conftest.py`` for what is pinned and why).

Kept apart from ``conftest.py`` so test modules import them by a name no other test directory uses.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from textual.pilot import Pilot

from life_tui.journal import Journal, JournalOptions
from life_tui.kernel.clock import FakeClock
from life_tui.runtime.config import Settings
from life_tui.runtime.providers.scripted import Script, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session, SessionOptions
from life_tui.tools.basic import default_registry
from life_tui.tui.app import Launch, LifeApp

WORKSPACE = Path(tempfile.gettempdir()) / "life-tui-snapshots" / "workspace"
"""One fixed path: the chat and the event log may show the workspace, and a tmp_path differs per run."""


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
