"""Helpers of the SVG snapshot suite: a workstation whose scripted session is made inside the app, and
waits that end when the screen has caught up (see ``conftest.py`` for what is pinned and why).

Kept apart from ``conftest.py`` so test modules import them by a name no other test directory uses.
"""

from __future__ import annotations

import asyncio
import difflib
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual.pilot import Pilot

from life_tui.journal import Journal, JournalOptions
from life_tui.kernel.clock import FakeClock
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.config import Settings
from life_tui.runtime.providers.scripted import Script, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session, SessionOptions
from life_tui.tools.basic import default_registry
from life_tui.tui.app import Launch, LifeApp
from life_tui.tui.widgets.event_log import EventRows

DEADLINE_S = 20.0
"""How long a state the tests wait for may take to come (normally milliseconds; seconds on a loaded machine)."""
WORKSPACE = Path(tempfile.gettempdir()) / "life-tui-snapshots" / "workspace"
"""One fixed path: the chat and the event log may show the workspace, and a tmp_path differs per run."""


@dataclass
class Scripted:
    """A workstation whose session is made inside the app, on a journal with a fake clock."""

    root: Path
    turns: list[ScriptedTurn]
    files: dict[str, str]
    theme: str = "life-dark"
    approval_mode: ApprovalMode | None = None
    """None: the settings' default (a write asks); AUTO for flows that should not stop at a prompt."""
    earlier_sessions: list[str] = field(default_factory=list)
    """Names of sessions created (and closed) before the shown one, for the session picker."""
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
            options = SessionOptions(settings=Settings(), tools=default_registry(), approval_mode=self.approval_mode)
            for name in self.earlier_sessions:
                earlier = await Session.create(
                    journal,
                    name=name,
                    workspace=WORKSPACE,
                    provider=ScriptedProvider(Script(model="demo")),
                    options=options,
                )
                await earlier.close()
            provider = ScriptedProvider(Script(model="demo", turns=self.turns))
            session = await Session.create(
                journal, name="snapshot", workspace=WORKSPACE, provider=provider, options=options
            )
            self.sessions.append(session)
            return session

        return LifeApp(Launch(opener=opener, settings=Settings(tui={"theme": self.theme})))

    def close(self) -> None:
        for journal in self.journals:
            journal.close()


FIRST_RUN_HINT = "no provider: ANTHROPIC_API_KEY and OPENAI_API_KEY are unset and no --provider was given"


def first_run_app() -> LifeApp:
    """The workstation with no provider configured: it opens on the first-run screen."""
    return LifeApp(Launch(opener=None, settings=Settings(), not_configured_hint=FIRST_RUN_HINT))


async def quiesce(pilot: Pilot[None], *, tries: int = 60, still: int = 3) -> None:
    """Stop the cursors blinking, take the toasts away, then wait until ``still`` screenshots in a row, 50 ms
    apart, are the same.

    Panes catch up on their own schedule (a scroll to the end, a virtualised block loaded, a card that
    learns its output's size), so a fixed number of pauses would sometimes photograph the screen half way;
    two equal screenshots were once not enough on a loaded machine (a tool card caught before its output's
    size). Toasts leave after a few seconds of wall time, so a slow run would photograph fewer of them.
    """
    app = pilot.app
    before, previous, same = "", "", 0
    for _ in range(tries):
        for widget in app.screen.query("Input, TextArea"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
        app.clear_notifications()
        await pilot.pause(0.05)
        await pilot.wait_for_scheduled_animations()
        shot = app.export_screenshot()
        if shot == previous:
            same += 1
            if same + 1 >= still:
                return
            continue
        before, previous, same = previous, shot, 0
    raise AssertionError(f"the screen never settled; its last change:\n{screen_change(before, previous)}")


def screen_change(before: str, after: str, *, limit: int = 12) -> str:
    """The lines of two SVG screenshots that differ, as text (tags stripped), for a failure message."""
    as_text = [
        [re.sub(r"<[^>]+>", "", line).strip() for line in re.sub(r"terminal-\d+", "t", shot).splitlines()]
        for shot in (before, after)
    ]
    diff = difflib.unified_diff(as_text[0], as_text[1], lineterm="", n=0)
    changed = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")) and line[1:]]
    return "\n".join(changed[:limit]) or "(only markup changed: styles or positions)"


async def settle(pilot: Pilot[None]) -> None:
    """Wait until the session is open, its turn is over, every stored event is delivered, and the screen rests."""
    app = pilot.app
    assert isinstance(app, LifeApp)
    await until(pilot, lambda: app.session is not None, "the session to open")
    session = app.session
    assert session is not None
    if app.turn is not None:
        await app.turn
    head = session.journal.head(session.session_id, session.branch)
    assert await app.bridge.wait_until(head, timeout=DEADLINE_S), f"the bridge never delivered event {head}"
    await _finish_background_reads(app)
    await quiesce(pilot)
    # An event log that was hidden (display: none, as at 80×24 until F2) while events arrived keeps its
    # cursor on the last row but shows its top once it is shown. Until event_log.py scrolls to the cursor
    # when it is shown again, take it to the tail the way the End key does.
    for rows in app.screen.query("EventRows"):
        await rows.run_action("last")
    await quiesce(pilot)


BACKGROUND_READS = frozenset({"wallet", "event-log-prefetch", "event-log-filter", "rewind"})


async def _finish_background_reads(app: LifeApp) -> None:
    """Wait for the workers that read off the UI thread and then redraw a pane (the global wallet view,
    the event log's blocks, a rewind's plan): on a loaded machine they can land after the screen first looks still."""
    for _ in range(3):  # a finished read may start the next one (a finance event refreshes the wallet)
        pending = [w for w in app.workers if w.group in BACKGROUND_READS and not w.is_finished]
        if not pending:
            return
        await app.workers.wait_for_complete(pending)


async def converse(pilot: Pilot[None], prompt: str) -> None:
    await settle(pilot)
    await pilot.press(*prompt, "enter")
    await settle(pilot)


async def until(pilot: Pilot[None], ready: Callable[[], bool], what: str, *, timeout: float = DEADLINE_S) -> None:
    """Pause until ``ready()`` holds (a state the test needs before it photographs the screen); a deadline,
    not a number of tries: on a loaded machine the session's opening alone can take seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not ready():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        await pilot.pause(0.02)


async def ask_for_approval(pilot: Pilot[None], prompt: str) -> None:
    """Send ``prompt`` and wait until its tool call waits for the user's answer, delivered and drawn."""
    await settle(pilot)
    await pilot.press(*prompt, "enter")
    app = pilot.app
    assert isinstance(app, LifeApp) and app.session is not None
    session = app.session
    await until(pilot, lambda: bool(session.pending_approvals()), "the approval request")
    head = session.journal.head(session.session_id, session.branch)
    assert await app.bridge.wait_until(head, timeout=DEADLINE_S), f"the bridge never delivered event {head}"
    await quiesce(pilot)


async def type_command(pilot: Pilot[None], command: str) -> None:
    """Type a slash command into the prompt and send it (the input has the focus after ``settle``)."""
    await pilot.press(*command, "enter")
    await settle(pilot)


def shown_session(pilot: Pilot[None]) -> Session:
    app = pilot.app
    assert isinstance(app, LifeApp) and app.session is not None
    return app.session


def seq_of(pilot: Pilot[None], kind: str, *, nth: int = 0) -> int:
    """The seq of the ``nth`` event of ``kind`` on the shown branch."""
    session = shown_session(pilot)
    seqs = [e.seq for e in session.journal.read(session.session_id, session.branch) if e.kind == kind]
    return seqs[nth]


async def select_event(pilot: Pilot[None], seq: int) -> None:
    """Put the event log's cursor on ``seq`` (the pane must be shown) and give the rows the focus."""
    rows = pilot.app.screen.query_one(EventRows)
    row = rows.window.row_of(seq)
    assert row is not None, f"event {seq} is not in the event log's window"
    rows.focus()
    rows.move_to(row)
    await quiesce(pilot)
