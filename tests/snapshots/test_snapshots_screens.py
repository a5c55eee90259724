"""Snapshots of the workstation's screens at 80×24 and 160×48: help, first run, event detail, branch tree,
compare, session picker and the rewind confirmation, each over a scripted session that gives it something
real to show (a tool call, a branch with its own turn, earlier sessions, a file written twice)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from snapshot_support import (
    Scripted,
    converse,
    first_run_app,
    quiesce,
    select_event,
    seq_of,
    settle,
    shown_session,
    type_command,
)
from textual.pilot import Pilot

from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedTurn
from life_tui.tui.screens.branch_tree import BranchTreeScreen
from life_tui.tui.screens.compare import CompareScreen
from life_tui.tui.screens.event_detail import EventDetailScreen
from life_tui.tui.screens.first_run import FirstRunScreen
from life_tui.tui.screens.help import HelpScreen
from life_tui.tui.screens.rewind import RewindScreen
from life_tui.tui.screens.sessions import SessionPickerScreen

SnapCompare = Callable[..., bool]
SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


def writes_twice() -> list[ScriptedTurn]:
    """Turn 1 writes notes.md (v1) and answers; turn 2 rewrites it (v2) and answers."""
    return [
        ScriptedTurn(
            text="Writing the notes.",
            tool_calls=[ScriptedCall(name="write_file", arguments={"path": "notes.md", "content": "v1\n"}, id="w1")],
            cost_usd=0.0120,
        ),
        ScriptedTurn(text="Wrote notes.md (v1).", cost_usd=0.0040),
        ScriptedTurn(
            text="Rewriting the notes.",
            tool_calls=[ScriptedCall(name="write_file", arguments={"path": "notes.md", "content": "v2\n"}, id="w2")],
            cost_usd=0.0130,
        ),
        ScriptedTurn(text="Wrote notes.md (v2).", cost_usd=0.0050),
    ]


async def show_event_log(pilot: Pilot[None]) -> None:
    """Narrow terminals start with the chat alone: F2 shows the event log."""
    if pilot.app.size.width < 100:
        await pilot.press("f2")
        await quiesce(pilot)


async def branch_with_its_own_turn(pilot: Pilot[None]) -> None:
    """Turn 1 on main, /branch at its end, turn 2 on the branch (fork-1 is then the shown branch)."""
    await converse(pilot, "write the notes")
    await type_command(pilot, f"/branch {seq_of(pilot, 'run.finished')}")
    await converse(pilot, "now rewrite them")
    assert shown_session(pilot).branch == "fork-1"


async def open_from_the_prompt(pilot: Pilot[None], action: str) -> None:
    """Run an app action as its key would with the prompt focused. F6 and F7 cannot be pressed for this:
    the prompt's TextArea binds them itself (select line, select all), which shadows the app's keys."""
    await pilot.app.run_action(action)
    await quiesce(pilot)


def on_screen(pilot: Pilot[None], kind: type) -> None:
    assert isinstance(pilot.app.screen, kind), f"expected {kind.__name__}, the screen is {pilot.app.screen!r}"


@SIZES
def test_help_screen(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f1")
        await quiesce(pilot)
        on_screen(pilot, HelpScreen)

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


@SIZES
def test_first_run_screen(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await quiesce(pilot)
        on_screen(pilot, FirstRunScreen)

    assert snap_compare(first_run_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_event_detail_screen(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    scripted.turns = writes_twice()[:2]
    scripted.approval_mode = ApprovalMode.AUTO

    async def run_before(pilot: Pilot[None]) -> None:
        await converse(pilot, "write the notes")
        await show_event_log(pilot)
        await select_event(pilot, seq_of(pilot, "tool.call_started"))
        await pilot.press("enter")
        await quiesce(pilot)
        on_screen(pilot, EventDetailScreen)

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


@SIZES
def test_branch_tree(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    scripted.turns = writes_twice()
    scripted.approval_mode = ApprovalMode.AUTO

    async def run_before(pilot: Pilot[None]) -> None:
        await branch_with_its_own_turn(pilot)
        await open_from_the_prompt(pilot, "branch_tree")  # F6
        on_screen(pilot, BranchTreeScreen)

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


@SIZES
def test_compare_screen(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    scripted.turns = writes_twice()
    scripted.approval_mode = ApprovalMode.AUTO

    async def run_before(pilot: Pilot[None]) -> None:
        await branch_with_its_own_turn(pilot)
        await pilot.press("f8")  # the shown branch (fork-1) beside its parent
        await quiesce(pilot)
        on_screen(pilot, CompareScreen)

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


@SIZES
def test_session_picker(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    scripted.earlier_sessions = ["first try", "refactor the parser"]

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await open_from_the_prompt(pilot, "sessions")  # F7
        on_screen(pilot, SessionPickerScreen)

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


@SIZES
def test_session_picker_searching(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    scripted.earlier_sessions = ["first try", "refactor the parser"]

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await open_from_the_prompt(pilot, "sessions")  # F7
        await pilot.press(*"parser")
        await quiesce(pilot)
        on_screen(pilot, SessionPickerScreen)

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


@SIZES
def test_rewind_confirmation(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    scripted.turns = writes_twice()
    scripted.approval_mode = ApprovalMode.AUTO

    async def run_before(pilot: Pilot[None]) -> None:
        await converse(pilot, "write the notes")
        await converse(pilot, "rewrite them")
        await show_event_log(pilot)
        await select_event(pilot, seq_of(pilot, "run.finished"))  # the end of turn 1: notes.md was v1
        await pilot.press("R")
        await quiesce(pilot)
        on_screen(pilot, RewindScreen)
        screen = pilot.app.screen
        assert isinstance(screen, RewindScreen) and screen.plan is not None and not screen.plan.empty

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)
