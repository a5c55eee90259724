"""Work that lands while the app shuts down, or after the widget it was for has gone, is dropped quietly.

Each test forces the moment that was once a rare race: a screen closed before its widgets were mounted, a
session that finishes opening while the app's panes are being removed, a follow of another branch that a
waiter must not mistake for the branch before, an answer's stream whose widget was removed mid-stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from app_support import workstation
from fakes.rig import RuntimeRig, open_rig
from history_support import Host, recorded_session, two_turns
from textual.screen import Screen

from life_tui.journal.view import JournalView
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.config import Settings
from life_tui.runtime.providers.scripted import ScriptedTurn
from life_tui.runtime.session import Session
from life_tui.tui.app import Launch, LifeApp
from life_tui.tui.screens.branch_tree import BranchTreeScreen
from life_tui.tui.screens.first_run import FirstRunScreen
from life_tui.tui.screens.sessions import SessionPickerScreen
from life_tui.tui.widgets.chat import ChatPane
from life_tui.tui.widgets.event_log import EventLogPane
from life_tui.tui.widgets.prompt_input import PromptInput

SCREENS: dict[str, Callable[[JournalView, str], Screen[object]]] = {
    "branch tree": lambda journal, sid: BranchTreeScreen(journal, sid, "main"),
    "session picker": lambda journal, sid: SessionPickerScreen(journal),
    "first run": lambda journal, sid: FirstRunScreen("no provider is configured"),
}


@pytest.mark.parametrize("close", ["popped at once", "app shuts down"])
@pytest.mark.parametrize("name", list(SCREENS))
async def test_a_screen_closed_before_its_widgets_were_mounted(tmp_path: Path, name: str, close: str) -> None:
    # A closing screen's compose mounts nothing, so an on_mount that looked its widgets up failed (NoMatches),
    # and run_test re-raises what failed inside the app.
    async with recorded_session(tmp_path, turns=1) as (rig, session):
        host = Host(EventLogPane())
        async with host.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            screen = SCREENS[name](rig.journal, session.session_id)
            host.push_screen(screen)
            if close == "popped at once":
                host.pop_screen()
                await pilot.pause()
                assert host.screen is not screen


async def test_a_session_that_opens_while_the_app_shuts_down_is_not_shown(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"README.md": "hello\n"}) as rig:
        session, _ = await rig.session(ScriptedTurn(text="hi"))
        prompts: list[PromptInput] = []

        async def opener() -> Session:  # finishes once the app shuts down and its prompt has been removed
            while app.is_running or not prompts or prompts[0].is_attached:
                await asyncio.sleep(0)
            return session

        app = LifeApp(Launch(opener=opener, settings=Settings()))
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            prompts.append(app.query_one(PromptInput))
        # Showing it looked the prompt up (NoMatches, re-raised by run_test) and started a bridge on a closed
        # app; now it is only recorded, so whoever shuts down can close it.
        assert app.session is session


async def test_a_wait_after_a_switch_waits_for_the_new_branch(tmp_path: Path) -> None:
    async with workstation(tmp_path, *two_turns(), approval_mode=ApprovalMode.AUTO) as ws:
        ws.app.start_turn("turn 1")
        await ws.settle()
        journal, sid = ws.rig.journal, ws.session.session_id
        journal.fork(sid, "main", 2, "side")
        main = ws.session
        side = await Session.open(
            journal,
            sid,
            branch="side",
            provider=main.provider,
            workspace=main.workspace,
            options=main.options,
            shares=main,
        )
        ws.app.show_session(side)  # the follow of side is asked for; its worker has not run yet
        side_head = journal.head(sid, "side")
        assert side_head < journal.head(sid, "main")
        assert await ws.app.bridge.wait_until(side_head)
        assert ws.app.bridge.delivered_through == side_head  # side's reset, not main's count from before
        await ws.app.leave(main)


async def test_a_text_block_removed_mid_stream_stops_its_stream(tmp_path: Path) -> None:
    def streams() -> list[asyncio.Task[object]]:
        return [t for t in asyncio.all_tasks() if "MarkdownStream._run" in repr(t.get_coro())]

    slow = ScriptedTurn(text="streaming " * 200, chunk_chars=4, delay_ms=5)
    async with workstation(tmp_path, slow) as ws:
        ws.app.start_turn("go")
        await ws.until(streams, "the answer to start streaming")
        removed = streams()
        ws.app.query_one(ChatPane).reset([], ws.app.pane_context())  # what a branch switch does mid-stream
        # Nothing else stopped it: it waited for fragments forever ("Task was destroyed but it is pending").
        await ws.until(lambda: all(task.done() for task in removed), "the removed block's stream to stop")
        await ws.settle()
