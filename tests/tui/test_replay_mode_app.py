"""Replay mode inside the whole workstation: /replay mounts the replay bar, every pane (the event log's
rows, the chat) follows the replay point, live events wait meanwhile, Escape shows the live branch again,
and "continue live" forks at the replay point and continues on the fork."""

from __future__ import annotations

from pathlib import Path

from app_support import workstation
from history_support import two_turns

from life_tui.runtime.approvals import ApprovalMode
from life_tui.tui.history import REPLAY_BAR_ID
from life_tui.tui.widgets.event_log import EventLogPane
from life_tui.tui.widgets.replay_bar import ReplayBar


async def test_replay_steps_every_pane_and_escape_returns_live(tmp_path: Path) -> None:
    async with workstation(tmp_path, *two_turns(), approval_mode=ApprovalMode.AUTO) as ws:
        ws.app.start_turn("turn 1")
        await ws.settle()
        head = ws.rig.journal.head(ws.session.session_id, "main")
        await ws.app.run_action("replay")
        bar = ws.app.query_one(f"#{REPLAY_BAR_ID}", ReplayBar)
        await ws.until(lambda: ws.app.focused is bar, "the replay bar to take the focus")
        assert ws.app.live_paused
        rows = ws.app.query_one(EventLogPane).rows
        assert rows.window.head == 1
        await ws.pilot.press("right", "right")
        assert bar.cursor.seq == 3 and rows.window.head == 3 and rows.selected_seq == 3
        await ws.pilot.press("g", *"8", "enter")
        await ws.until(lambda: rows.window.head == 8, "the jump to event 8")
        await ws.pilot.press("escape")
        await ws.until(lambda: not ws.app.query(f"#{REPLAY_BAR_ID}") and not ws.app.live_paused, "replay to end")
        await ws.settle()
        assert ws.app.query_one(EventLogPane).rows.window.head == head


async def test_continue_live_from_the_replay_point(tmp_path: Path) -> None:
    async with workstation(tmp_path, *two_turns(), approval_mode=ApprovalMode.AUTO) as ws:
        ws.app.start_turn("turn 1")
        await ws.settle()
        events = ws.rig.events(ws.session)
        end_of_turn = next(e.seq for e in events if e.kind == "run.finished")
        await ws.app.run_action("replay")
        bar = ws.app.query_one(f"#{REPLAY_BAR_ID}", ReplayBar)
        await ws.until(lambda: ws.app.focused is bar, "the replay bar to take the focus")
        await ws.pilot.press("g", *str(end_of_turn), "enter")
        await ws.until(lambda: bar.cursor.seq == end_of_turn, f"the jump to event {end_of_turn}")
        await ws.pilot.press("c")
        await ws.until(lambda: ws.app.session is not None and ws.app.session.branch != "main", "the fork to be shown")
        await ws.settle()
        session = ws.app.session
        assert session is not None
        info = ws.rig.journal.branch(session.session_id, session.branch)
        assert (info.parent, info.fork_seq) == ("main", end_of_turn)
        assert not ws.app.query(f"#{REPLAY_BAR_ID}") and not ws.app.live_paused
        ws.app.start_turn("turn 2 on the fork")
        await ws.settle()
        own = ws.rig.journal.read(session.session_id, session.branch, after=end_of_turn)
        assert any(e.kind == "user.message" and e.payload_dict()["content"] == "turn 2 on the fork" for e in own)
        assert ws.rig.journal.head(session.session_id, "main") < ws.rig.journal.head(session.session_id, session.branch)
