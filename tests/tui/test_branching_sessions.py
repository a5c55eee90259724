"""The session picker: every session, most recent first; search by name, id and workspace narrows the list;
Up/Down move from the search box; Enter opens (SessionOpenRequested to the app, dismissed with the id)."""

from __future__ import annotations

from pathlib import Path

from fakes.rig import RuntimeRig, open_rig
from history_support import Host
from textual.widgets import Input
from waits import until

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

            def shows(*ids: str) -> bool:
                return [s.session_id for s in screen.shown] == list(ids)

            # Each search runs when the input's Changed message reaches the screen (a hop after the key).
            await pilot.press(*"project")
            await until(pilot, lambda: shows(beta, alpha), "the search 'project'")
            await pilot.press(*" -a")
            await until(pilot, lambda: shows(alpha), "the search 'project -a'")

            screen.query_one(Input).value = ""
            await until(pilot, lambda: shows(gamma, beta, alpha), "the cleared search")
            await pilot.press(*gamma[-6:].lower())  # part of the id, any case
            await until(pilot, lambda: shows(gamma), "the search by part of the id")

            screen.query_one(Input).value = "docs"
            await until(pilot, lambda: shows(beta), "the search 'docs'")
            screen.query_one(Input).value = ""
            await until(pilot, lambda: shows(gamma, beta, alpha), "the cleared search")
            await pilot.press("down")
            assert screen.highlighted == beta
            await pilot.press("enter")
            await until(pilot, lambda: results == [beta], "the picker to close with beta")
            assert [m.session_id for m in host.seen_of(SessionOpenRequested)] == [beta]


async def test_picker_with_no_match_opens_nothing(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {}) as rig:
        rig.journal.create_session("only", workspace="/w")
        host = Host(EventLogPane())
        async with host.run_test(size=(120, 24), message_hook=host.seen.append) as pilot:
            screen = SessionPickerScreen(rig.journal)
            await host.push_screen(screen)
            await pilot.press(*"nothing-like-this")
            await until(pilot, lambda: screen.shown == [], "the search to match nothing")
            await pilot.press("enter")
            await pilot.pause()
            assert host.screen is screen
            assert host.seen_of(SessionOpenRequested) == []
            await pilot.press("escape")
            await until(pilot, lambda: host.screen is not screen, "Esc to close the picker")
