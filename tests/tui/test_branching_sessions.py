"""The session picker: every session, most recent first; search by name, id and workspace narrows the list;
Up/Down move from the search box; Enter opens (SessionOpenRequested to the app, dismissed with the id)."""

from __future__ import annotations

from pathlib import Path

from fakes.rig import RuntimeRig, open_rig
from history_support import Host
from textual.widgets import Input

from life_tui.tui.messages import SessionOpenRequested
from life_tui.tui.screens.sessions import SessionPickerScreen
from life_tui.tui.widgets.event_log import EventLogPane


async def test_picker_searches_by_name_id_and_workspace_and_opens(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {}) as rig:
        alpha = rig.journal.create_session("alpha refactor", workspace="/home/me/project-a").session_id
        beta = rig.journal.create_session("beta docs", workspace="/home/me/project-b").session_id
        gamma = rig.journal.create_session("gamma", workspace="/srv/other").session_id
        host = Host(EventLogPane())
        results: list[str | None] = []
        async with host.run_test(size=(160, 30), message_hook=host.seen.append) as pilot:
            screen = SessionPickerScreen(rig.journal)
            await host.push_screen(screen, results.append)
            await pilot.pause()
            assert [s.session_id for s in screen.shown] == [gamma, beta, alpha]  # most recent first
            assert isinstance(host.focused, Input)

            await pilot.press(*"project")
            assert [s.session_id for s in screen.shown] == [beta, alpha]
            await pilot.press(*" -a")
            assert [s.session_id for s in screen.shown] == [alpha]

            screen.query_one(Input).value = ""
            await pilot.press(*gamma[-6:].lower())  # part of the id, any case
            assert [s.session_id for s in screen.shown] == [gamma]

            screen.query_one(Input).value = "docs"
            await pilot.pause()
            assert [s.session_id for s in screen.shown] == [beta]
            screen.query_one(Input).value = ""
            await pilot.pause()
            await pilot.press("down")
            assert screen.highlighted == beta
            await pilot.press("enter")
            await pilot.pause()
            assert results == [beta]
            assert [m.session_id for m in host.seen_of(SessionOpenRequested)] == [beta]


async def test_picker_with_no_match_opens_nothing(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {}) as rig:
        rig.journal.create_session("only", workspace="/w")
        host = Host(EventLogPane())
        async with host.run_test(size=(120, 24), message_hook=host.seen.append) as pilot:
            screen = SessionPickerScreen(rig.journal)
            await host.push_screen(screen)
            await pilot.press(*"nothing-like-this", "enter")
            await pilot.pause()
            assert screen.shown == [] and host.screen is screen
            assert host.seen_of(SessionOpenRequested) == []
            await pilot.press("escape")
            await pilot.pause()
            assert host.screen is not screen
