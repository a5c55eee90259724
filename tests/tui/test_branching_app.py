"""The history flows inside the whole workstation (LifeApp over a scripted session): branch at the event
selected in the event log and continue there, switch branch from the tree, compare, open another session
from the picker, and rewind workspace files to an event with confirmation; asserted on the app's session
and on the journal."""

from __future__ import annotations

from pathlib import Path

from app_support import call, workstation
from history_support import two_turns

from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.providers.scripted import ScriptedTurn
from life_tui.tui.screens.branch_tree import BranchTreeScreen
from life_tui.tui.screens.compare import CompareScreen
from life_tui.tui.screens.rewind import RewindScreen
from life_tui.tui.screens.sessions import SessionPickerScreen
from life_tui.tui.widgets.event_log import EventLogPane


async def test_b_in_the_event_log_branches_there_and_continues_on_the_fork(tmp_path: Path) -> None:
    async with workstation(tmp_path, *two_turns(), approval_mode=ApprovalMode.AUTO) as ws:
        ws.app.start_turn("turn 1")
        await ws.settle()
        rows = ws.app.query_one(EventLogPane).rows
        rows.focus()
        await ws.pilot.press("home", "down", "down")
        assert rows.selected_seq == 3
        await ws.pilot.press("b")
        await ws.until(lambda: ws.app.session is not None and ws.app.session.branch != "main", "the fork to be shown")
        await ws.settle()
        session = ws.app.session
        assert session is not None
        info = ws.rig.journal.branch(session.session_id, session.branch)
        assert (info.parent, info.fork_seq) == ("main", 3)
        assert ws.app.query_one(EventLogPane).rows.inherited_through == 3


async def test_branch_tree_switches_and_compare_opens(tmp_path: Path) -> None:
    async with workstation(tmp_path, *two_turns(), approval_mode=ApprovalMode.AUTO) as ws:
        ws.app.start_turn("turn 1")
        await ws.settle()
        ws.rig.journal.fork(ws.session.session_id, "main", 2, "side")
        await ws.app.run_action("branch_tree")
        await ws.pilot.pause()
        assert isinstance(ws.app.screen, BranchTreeScreen)
        await ws.pilot.press("down", "enter")
        await ws.until(lambda: ws.app.session is not None and ws.app.session.branch == "side", "the switch to side")
        await ws.settle()
        await ws.app.run_action("compare")
        await ws.pilot.pause()
        screen = ws.app.screen
        assert isinstance(screen, CompareScreen)
        assert (screen.comparison.left.branch, screen.comparison.right.branch) == ("side", "main")
        assert screen.comparison.common_seq == 2


async def test_sessions_picker_opens_another_session(tmp_path: Path) -> None:
    async with workstation(tmp_path, ScriptedTurn(text="hi")) as ws:
        other = ws.rig.journal.create_session("elsewhere", workspace=str(ws.rig.workspace)).session_id
        await ws.app.run_action("sessions")
        await ws.pilot.pause()
        assert isinstance(ws.app.screen, SessionPickerScreen)
        await ws.pilot.press(*"elsewhere", "enter")
        await ws.until(lambda: ws.app.session is not None and ws.app.session.session_id == other, "the other session")
        await ws.settle()


async def test_rewind_from_the_event_log_with_confirmation(tmp_path: Path) -> None:
    turns = [
        ScriptedTurn(tool_calls=[call("write_file", path="README.md", content="changed\n")]),
        ScriptedTurn(text="done"),
    ]
    async with workstation(tmp_path, *turns, approval_mode=ApprovalMode.AUTO) as ws:
        ws.app.start_turn("change the readme")
        await ws.settle()
        assert (ws.rig.workspace / "README.md").read_text() == "changed\n"
        rows = ws.app.query_one(EventLogPane).rows
        rows.focus()
        await ws.pilot.press("home", "down")  # seq 2, the user message: before the write
        await ws.pilot.press("R")
        await ws.pilot.pause()
        screen = ws.app.screen
        assert isinstance(screen, RewindScreen)
        # The plan is worked out in a worker (not waited for as a group: the bridge's worker never completes).
        await ws.until(lambda: screen.plan is not None, "the rewind plan")
        assert screen.plan is not None and [c.path for c in screen.plan.changes] == ["README.md"]
        assert (ws.rig.workspace / "README.md").read_text() == "changed\n"  # nothing before confirming
        await ws.pilot.press("y")
        await ws.settle()
        assert (ws.rig.workspace / "README.md").read_text() == "hello\n"
        assert ws.kinds()[-1] == "workspace.rewound"
