"""The app's history actions: branch tree, compare, session picker, replay mode and rewind.

``app.py`` stays thin: its ``action_branch_tree``/``action_compare``/``action_sessions``/``action_replay``/
``action_rewind`` call these. Switching and forking go through the messages the app already handles
(``BranchSwitchRequested``, ``SessionOpenRequested``, ``BranchAtRequested``), which the screens post.

Replay mode pauses live delivery (``app.live_paused``: stored events wait instead of reaching the panes),
mounts a :class:`ReplayBar` over every pane of the main screen, labels the status bar "REPLAY n/N" at every
move (so nobody takes the past for the live session, even with the bar scrolled out of a small terminal),
and on leaving clears the label and shows the live session again (a fresh bridge reset, so what was held
arrives too).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from life_tui.tui.replay_mode import ReplayCursor
from life_tui.tui.widgets.event_log import EventLogPane
from life_tui.tui.widgets.replay_bar import ReplayBar
from life_tui.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from life_tui.tui.app import LifeApp

REPLAY_BAR_ID = "replay-bar"


def open_branch_tree(app: LifeApp) -> None:
    from life_tui.tui.screens.branch_tree import BranchTreeScreen

    session = app.session
    if session is not None:
        app.push_screen(BranchTreeScreen(session.journal, session.session_id, session.branch))


def compare_partner(app: LifeApp) -> str | None:
    """What the shown branch is compared with: its parent, else the newest other branch."""
    session = app.session
    if session is None:
        return None
    info = session.journal.branch(session.session_id, session.branch)
    if info.parent:
        return info.parent
    others = [b.name for b in session.journal.branches(session.session_id) if b.name != session.branch]
    return others[-1] if others else None


def open_compare(app: LifeApp, other: str | None = None) -> None:
    from life_tui.tui.screens.compare import CompareScreen

    session = app.session
    if session is None:
        return
    partner = other or compare_partner(app)
    if partner is None:
        app.notify(
            "this session has one branch: branch at an event (b in the event log) to compare", severity="warning"
        )
        return
    app.push_screen(CompareScreen(session.journal, session.session_id, session.branch, partner))


def open_sessions(app: LifeApp) -> None:
    from life_tui.tui.screens.sessions import SessionPickerScreen

    session = app.session
    if session is not None:
        app.push_screen(SessionPickerScreen(session.journal, current=session.session_id))


async def start_replay(app: LifeApp) -> None:
    """Replay the shown branch from its first event, every pane following the replay point."""
    session = app.session
    main = app.screen_stack[0]
    if session is None or main.query(f"#{REPLAY_BAR_ID}"):
        return
    context = app.pane_context()
    head = await asyncio.to_thread(session.journal.head, session.session_id, session.branch)
    if not app.is_running or app.session is not session:  # the app shut down or switched session meanwhile
        return
    if context.read_range is None or not head:
        app.notify("nothing to replay yet", severity="warning")
        return
    app.live_paused = True
    cursor = ReplayCursor(context.read_range, head, app.panes(), context)
    status = main.query_one(StatusBar)
    cursor.listeners.append(lambda position, total: label_status(status, replay_label(position, total)))
    await main.mount(ReplayBar(cursor, id=REPLAY_BAR_ID))
    app.notify(f"replay of {session.branch}: {head} events (Esc leaves, c continues live from here)")


def replay_label(position: int, total: int) -> str:
    """The status bar's mark while replaying: the replay point out of the branch's events."""
    return f"REPLAY {position}/{total}"


def label_status(status: StatusBar, label: str) -> None:
    if status.replay_label != label:
        status.replay_label = label
        status.refresh()


async def leave_replay(app: LifeApp) -> None:
    """Remove the replay bar, clear the status bar's replay mark, and show the live branch again."""
    main = app.screen_stack[0]
    for bar in main.query(f"#{REPLAY_BAR_ID}"):
        await bar.remove()
    if not app.is_running:  # shutting down while the bar was removed: the panes are going too
        return
    label_status(main.query_one(StatusBar), "")
    if app.session is not None:
        app.show_session(app.session)
    else:
        app.live_paused = False


def ask_rewind(app: LifeApp, seq: int | None = None) -> None:
    """Confirm and rewind the workspace files to ``seq`` (default: the event selected in the event log)."""
    from life_tui.tui.screens.rewind import RewindScreen

    session = app.session
    if session is None:
        return
    if seq is None:
        seq = app.screen_stack[0].query_one(EventLogPane).rows.selected_seq
    if seq is None:
        app.notify("select an event in the event log first", severity="warning")
        return
    if session.running:
        app.notify("a turn is running: wait for it or cancel it before rewinding files", severity="warning")
        return
    app.push_screen(RewindScreen(session, seq))
