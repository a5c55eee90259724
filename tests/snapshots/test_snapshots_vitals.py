"""Snapshots of the vitals panes on their own (gauges, wallet, traces) at 80×24 and 160×48, and of the
vitals tabs inside the workstation after a conversation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from snapshot_support import Scripted, converse, settle
from textual.pilot import Pilot
from textual.widgets import TabbedContent
from vitals_apps import gauges_app, traces_app, wallet_app

from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedTurn

SnapCompare = Callable[..., bool]
SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@SIZES
def test_gauges_pane(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(gauges_app(), terminal_size=size)


@SIZES
def test_wallet_pane(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(wallet_app(), terminal_size=size)


@SIZES
def test_traces_pane(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(traces_app(), terminal_size=size)


def test_traces_pane_earlier_turn_without_phases(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        pilot.app.query_one("#traces").focus()

    assert snap_compare(
        traces_app(), press=["left_square_bracket", "p"], terminal_size=(100, 30), run_before=run_before
    )


@SIZES
@pytest.mark.parametrize("tab", ["tab-gauges", "tab-wallet", "tab-traces"])
def test_vitals_tabs_after_a_conversation(
    snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int], tab: str
) -> None:
    scripted.turns = [
        ScriptedTurn(
            text="Let me look.",
            tool_calls=[ScriptedCall(name="list_dir", arguments={"path": "."}, id="call_1")],
            cost_usd=0.0123,
        ),
        ScriptedTurn(text="There is one README.", cost_usd=0.0042),
    ]

    async def run_before(pilot: Pilot[None]) -> None:
        await converse(pilot, "what files are here?")
        if pilot.app.size.width < 100:
            await pilot.press("f3")  # narrow: the vitals start hidden
        pilot.app.query_one(TabbedContent).active = tab
        await settle(pilot)

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)
