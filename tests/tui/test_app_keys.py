"""Keys and timing a person meets first: F5-F8 work while typing in the prompt, the branch tree opens on
the branch being shown, and a message typed before the session has opened is sent once it has."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app_support import workstation
from fakes.rig import RuntimeRig, open_rig
from history_support import two_turns

from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.config import Settings
from life_tui.runtime.providers.scripted import ScriptedTurn
from life_tui.runtime.session import Session
from life_tui.tui.app import Launch, LifeApp
from life_tui.tui.screens.branch_tree import BranchTreeScreen
from life_tui.tui.screens.sessions import SessionPickerScreen
from life_tui.tui.widgets.prompt_input import PromptInput


async def test_history_keys_work_with_the_prompt_focused(tmp_path: Path) -> None:
    async with workstation(tmp_path, ScriptedTurn(text="hi")) as ws:
        ws.app.query_one(PromptInput).focus_input()
        await ws.pilot.pause()
        await ws.pilot.press("f6")
        await ws.until(lambda: isinstance(ws.app.screen, BranchTreeScreen), "F6 to open the branch tree")
        await ws.pilot.press("escape")
        await ws.until(lambda: not isinstance(ws.app.screen, BranchTreeScreen), "the branch tree to close")
        await ws.pilot.press("f7")
        await ws.until(lambda: isinstance(ws.app.screen, SessionPickerScreen), "F7 to open the session picker")


async def test_the_branch_tree_opens_on_the_branch_being_shown(tmp_path: Path) -> None:
    async with workstation(tmp_path, *two_turns(), approval_mode=ApprovalMode.AUTO) as ws:
        ws.app.start_turn("turn 1")
        await ws.settle()
        ws.rig.journal.fork(ws.session.session_id, "main", 2, "side")
        await ws.app.open_session(ws.session.session_id, "side")
        await ws.settle()
        await ws.app.run_action("branch_tree")
        screen = ws.app.screen
        assert isinstance(screen, BranchTreeScreen)
        # The cursor moves to the shown branch once the tree has laid out its lines (after a refresh).
        await ws.until(lambda: screen.highlighted == "side", "the tree's cursor on the shown branch")


async def test_a_message_typed_while_the_session_opens_is_sent_when_it_is_open(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"README.md": "hello\n"}) as rig:
        session, _ = await rig.session(ScriptedTurn(text="hello back"))
        release = asyncio.Event()

        async def slow_opener() -> Session:
            await release.wait()
            return session

        app = LifeApp(Launch(opener=slow_opener, settings=Settings()))
        async with app.run_test(size=(140, 40)) as pilot:
            assert app.session is None
            app.start_turn("are you there?")
            release.set()
            async with asyncio.timeout(20):
                while app.turn is None:
                    await pilot.pause()
                await app.turn
            kinds = [e.kind for e in rig.journal.read(session.session_id)]
            assert "user.message" in kinds and kinds[-1] == "run.finished"
