"""Snapshots of the workstation's flows at 80×24 and 160×48: a tool call waiting at the inline approval
prompt, the event log filtered by kind (and an event opened from the filtered rows), replay mode at a mid
point (the replay bar over the panes, the status bar marked "REPLAY n/N"), and the narrow 80×24 layout
with panes toggled and full screen."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from snapshot_support import Scripted, ask_for_approval, converse, quiesce, seq_of, settle, shown_session
from textual.pilot import Pilot

from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedTurn
from life_tui.tui.history import REPLAY_BAR_ID
from life_tui.tui.screens.event_detail import EventDetailScreen
from life_tui.tui.widgets.event_log import EventLogPane, EventRows
from life_tui.tui.widgets.replay_bar import ReplayBar
from life_tui.tui.widgets.status_bar import StatusBar

SnapCompare = Callable[..., bool]
SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


def reads_then_writes() -> list[ScriptedTurn]:
    return [
        ScriptedTurn(
            text="Let me read the README first.",
            tool_calls=[ScriptedCall(name="read_file", arguments={"path": "README.md"}, id="r1")],
            cost_usd=0.0110,
        ),
        ScriptedTurn(
            text="Now the notes.",
            tool_calls=[
                ScriptedCall(name="write_file", arguments={"path": "notes.md", "content": "# notes\n- demo\n"}, id="w1")
            ],
            cost_usd=0.0120,
        ),
        ScriptedTurn(text="Wrote notes.md from the README.", cost_usd=0.0040),
    ]


async def show_event_log(pilot: Pilot[None]) -> None:
    if pilot.app.size.width < 100:
        await pilot.press("f2")  # narrow: the chat starts alone
        await quiesce(pilot)


async def filter_events(pilot: Pilot[None], query: str) -> EventLogPane:
    """Type ``query`` into the event log's filter and wait for its index to be built."""
    await show_event_log(pilot)
    pane = pilot.app.screen.query_one(EventLogPane)
    pane.rows.focus()
    await pilot.press("slash", *query, "enter")
    for _ in range(200):
        if not pane.indexing:
            break
        await pilot.pause(0.02)
    await quiesce(pilot)
    assert pane.filter.active and not pane.indexing
    return pane


@SIZES
def test_inline_approval_prompt(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    scripted.turns = reads_then_writes()[1:]  # the write asks (the settings' default approval mode)

    async def run_before(pilot: Pilot[None]) -> None:
        await ask_for_approval(pilot, "write the notes")

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


@SIZES
def test_event_log_filtered_by_kind(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    scripted.turns = reads_then_writes()
    scripted.approval_mode = ApprovalMode.AUTO

    async def run_before(pilot: Pilot[None]) -> None:
        await converse(pilot, "read the README and write notes")
        pane = await filter_events(pilot, "kind:tool.")
        window = pane.rows.window
        shown = [window.event(window.seq_at(row)) for row in range(window.rows)]
        kinds = [event.kind for event in shown if event is not None]
        assert len(kinds) == len(shown) > 0 and all(kind.startswith("tool.") for kind in kinds), kinds

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


@SIZES
def test_event_detail_from_the_filtered_log(
    snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]
) -> None:
    scripted.turns = reads_then_writes()
    scripted.approval_mode = ApprovalMode.AUTO

    async def run_before(pilot: Pilot[None]) -> None:
        await converse(pilot, "read the README and write notes")
        await filter_events(pilot, "kind:file.written")
        await pilot.press("enter")
        await quiesce(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, EventDetailScreen) and screen.event.kind == "file.written"

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


@SIZES
def test_replay_mode_at_a_mid_point(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    scripted.turns = reads_then_writes()
    scripted.approval_mode = ApprovalMode.AUTO

    async def run_before(pilot: Pilot[None]) -> None:
        await converse(pilot, "read the README and write notes")
        session = shown_session(pilot)
        total = session.journal.head(session.session_id, session.branch)
        mid = seq_of(pilot, "tool.call_completed")  # the README was read; the notes are not written yet
        await show_event_log(pilot)
        await pilot.press("f5")
        await quiesce(pilot)
        await pilot.press("g", *str(mid), "enter", "right", "left")  # jump there, step on, step back
        await quiesce(pilot)
        bar = pilot.app.query_one(f"#{REPLAY_BAR_ID}", ReplayBar)
        assert bar.cursor.seq == mid and pilot.app.query_one(EventRows).window.head == mid
        assert pilot.app.query_one(StatusBar).replay_label == f"REPLAY {mid}/{total}"

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


NARROW_LAYOUTS = {
    "event-log": ["f2"],
    "event-log-and-vitals": ["f2", "f3"],
    "chat-hidden": ["f2", "f4"],
    "chat-full-screen": ["f2", "f11"],
}


@pytest.mark.parametrize("layout", list(NARROW_LAYOUTS))
def test_narrow_layouts(snap_compare: SnapCompare, scripted: Scripted, layout: str) -> None:
    scripted.turns = reads_then_writes()
    scripted.approval_mode = ApprovalMode.AUTO

    async def run_before(pilot: Pilot[None]) -> None:
        await converse(pilot, "read the README and write notes")
        await pilot.press(*NARROW_LAYOUTS[layout])
        await settle(pilot)

    assert snap_compare(scripted.app(), terminal_size=(80, 24), run_before=run_before)


def test_narrow_event_log_full_screen(snap_compare: SnapCompare, scripted: Scripted) -> None:
    scripted.turns = reads_then_writes()
    scripted.approval_mode = ApprovalMode.AUTO

    async def run_before(pilot: Pilot[None]) -> None:
        await converse(pilot, "read the README and write notes")
        await pilot.press("f2")
        await quiesce(pilot)
        pilot.app.query_one(EventRows).focus()
        await pilot.press("f11")
        await settle(pilot)
        assert pilot.app.screen.maximized is pilot.app.query_one("#events")

    assert snap_compare(scripted.app(), terminal_size=(80, 24), run_before=run_before)
