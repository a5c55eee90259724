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
        await ws.pilot.pause()
        bar = ws.app.query_one(f"#{REPLAY_BAR_ID}", ReplayBar)
        assert ws.app.live_paused and ws.app.focused is bar
        rows = ws.app.query_one(EventLogPane).rows
        assert rows.window.head == 1
        await ws.pilot.press("right", "right")
        assert bar.cursor.seq == 3 and rows.window.head == 3 and rows.selected_seq == 3
        await ws.pilot.press("g", *"8", "enter")
        await ws.pilot.pause()
        assert rows.window.head == 8
        await ws.pilot.press("escape")
        await ws.pilot.pause()
        await ws.settle()
        assert not ws.app.query(f"#{REPLAY_BAR_ID}") and not ws.app.live_paused
        assert ws.app.query_one(EventLogPane).rows.window.head == head


async def test_continue_live_from_the_replay_point(tmp_path: Path) -> None:
    async with workstation(tmp_path, *two_turns(), approval_mode=ApprovalMode.AUTO) as ws:
        ws.app.start_turn("turn 1")
        await ws.settle()
        events = ws.rig.events(ws.session)
        end_of_turn = next(e.seq for e in events if e.kind == "run.finished")
        await ws.app.run_action("replay")
        await ws.pilot.pause()
        await ws.pilot.press("g", *str(end_of_turn), "enter", "c")
        await ws.pilot.pause()
        await ws.settle()
        session = ws.app.session
        assert session is not None and session.branch != "main"
        info = ws.rig.journal.branch(session.session_id, session.branch)
        assert (info.parent, info.fork_seq) == ("main", end_of_turn)
        assert not ws.app.query(f"#{REPLAY_BAR_ID}") and not ws.app.live_paused
        ws.app.start_turn("turn 2 on the fork")
        await ws.settle()
        own = ws.rig.journal.read(session.session_id, session.branch, after=end_of_turn)
        assert any(e.kind == "user.message" and e.payload_dict()["content"] == "turn 2 on the fork" for e in own)
        assert ws.rig.journal.head(session.session_id, "main") < ws.rig.journal.head(session.session_id, session.branch)
