"""Snapshots of the main screen and its flows at 80×24 and 160×48, and of the main screen in each theme."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from snapshot_support import Scripted, converse, settle
from textual.pilot import Pilot

from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedTurn

SnapCompare = Callable[..., bool]
SMALL, LARGE = (80, 24), (160, 48)
THEMES = ("life-dark", "life-light", "life-high-contrast")


def reads_then_answers() -> list[ScriptedTurn]:
    return [
        ScriptedTurn(
            text="Let me read the README.",
            tool_calls=[ScriptedCall(name="read_file", arguments={"path": "README.md"}, id="call_1")],
            cost_usd=0.0123,
        ),
        ScriptedTurn(text="The README is a **demo** heading.", cost_usd=0.0042),
    ]


@pytest.mark.parametrize("theme", THEMES)
def test_main_screen_in_each_theme(snap_compare: SnapCompare, scripted: Scripted, theme: str) -> None:
    scripted.theme = theme
    scripted.turns = reads_then_answers()

    async def run_before(pilot: Pilot[None]) -> None:
        await converse(pilot, "what is in the README?")

    assert snap_compare(scripted.app(), terminal_size=LARGE, run_before=run_before)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_main_screen_on_open(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_a_conversation_with_a_tool_call(snap_compare: SnapCompare, scripted: Scripted, size: tuple[int, int]) -> None:
    scripted.turns = reads_then_answers()

    async def run_before(pilot: Pilot[None]) -> None:
        await converse(pilot, "what is in the README?")

    assert snap_compare(scripted.app(), terminal_size=size, run_before=run_before)
