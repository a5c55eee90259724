"""Branching from the keyboard: fork at an event and go on there, the branch tree (fork point, length, cost;
Enter switches), and comparing two branches (messages, file changes, cost); asserted on the screens' state,
the messages they post and the journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from history_support import Host, recorded_session
from textual.widgets import Static, Tree
from waits import until

from life_tui.kernel.event import Event
from life_tui.runtime.providers.scripted import Script, ScriptedProvider, ScriptedTurn
from life_tui.tui.branch_summary import common_seq, compare_branches, summarise_branches
from life_tui.tui.branching import branch_at, branch_context, next_branch_name
from life_tui.tui.messages import BranchSwitchRequested
from life_tui.tui.screens.branch_tree import BranchTreeScreen
from life_tui.tui.screens.compare import CompareScreen
from life_tui.tui.widgets.event_log import EventLogPane


def first_turn_end(events: list[Event]) -> int:
    return next(e.seq for e in events if e.kind == "run.finished")


async def test_branch_at_forks_and_continues_on_the_new_branch(tmp_path: Path) -> None:
    async with recorded_session(tmp_path) as (rig, session):
        events = rig.events(session)
        end_of_turn_1 = first_turn_end(events)
        assert next_branch_name(rig.journal, session.session_id) == "branch-1"
        fork = await branch_at(session, end_of_turn_1)
        rig.sessions.append(fork)
        assert fork.branch == "branch-1"
        info = rig.journal.branch(session.session_id, "branch-1")
        assert (info.parent, info.fork_seq) == ("main", end_of_turn_1)
        # Continue there: a new turn lands on the fork only.
        await fork.switch_provider(ScriptedProvider(Script(turns=[ScriptedTurn(text="a different answer")])))
        await fork.submit("try something else")
        on_fork = rig.journal.read(session.session_id, "branch-1", after=end_of_turn_1)
        assert on_fork[0].kind == "branch.created"
        assert any(e.kind == "assistant.message" and "different" in e.payload_dict()["content"] for e in on_fork)
        main_tail = rig.journal.read(session.session_id, "main")[-1]
        assert main_tail.seq == events[-1].seq  # main is untouched
        assert next_branch_name(rig.journal, session.session_id) == "branch-2"


async def test_summaries_give_fork_point_length_and_cost(tmp_path: Path) -> None:
    async with recorded_session(tmp_path) as (rig, session):
        end_of_turn_1 = first_turn_end(rig.events(session))
        fork = await branch_at(session, end_of_turn_1, "alt")
        rig.sessions.append(fork)
        by_name = {s.name: s for s in summarise_branches(rig.journal, session.session_id)}
        main, alt = by_name["main"], by_name["alt"]
        assert main.parent is None and main.cost_usd == pytest.approx(0.10)
        assert (alt.parent, alt.fork_seq, alt.own_events) == ("main", end_of_turn_1, 1)  # branch.created
        assert alt.head == end_of_turn_1 + 1
        assert alt.cost_usd == pytest.approx(0.03) and alt.own_cost_usd == 0.0
        assert common_seq(rig.journal, session.session_id, "main", "alt") == end_of_turn_1


async def test_branch_tree_lists_branches_and_enter_switches(tmp_path: Path) -> None:
    async with recorded_session(tmp_path) as (rig, session):
        end_of_turn_1 = first_turn_end(rig.events(session))
        rig.sessions.append(await branch_at(session, end_of_turn_1, "alt"))
        rig.sessions.append(await branch_at(session, 3, "early"))
        host = Host(EventLogPane())
        results: list[str | None] = []
        async with host.run_test(size=(140, 30), message_hook=host.seen.append) as pilot:
            screen = BranchTreeScreen(rig.journal, session.session_id, "main")
            await host.push_screen(screen, results.append)
            await pilot.pause()
            tree = screen.query_one(Tree)
            labels = [str(n.label) for n in tree.root.children[0].children]
            assert tree.root.children[0].data == "main" and "● shown" in str(tree.root.children[0].label)
            assert any(label.startswith(f"alt  from main at {end_of_turn_1}") for label in labels)
            assert any(label.startswith("early  from main at 3") for label in labels)
            assert screen.highlighted == "main"
            await pilot.press("down")
            chosen = screen.highlighted
            assert chosen in ("alt", "early")
            await pilot.press("enter")
            await until(pilot, lambda: results == [chosen], "the tree to close with the chosen branch")
            assert [m.branch for m in host.seen_of(BranchSwitchRequested)] == [chosen]


async def test_switching_the_event_log_to_a_fork_marks_inherited_events(tmp_path: Path) -> None:
    async with recorded_session(tmp_path) as (rig, session):
        end_of_turn_1 = first_turn_end(rig.events(session))
        rig.sessions.append(await branch_at(session, end_of_turn_1, "alt"))
        pane = EventLogPane()
        async with Host(pane).run_test(size=(120, 40)) as pilot:
            pane.reset([], branch_context(rig.journal, session.session_id, "main"))
            pane.reset([], branch_context(rig.journal, session.session_id, "alt"))
            await pilot.pause()
            assert pane.rows.window.head == end_of_turn_1 + 1
            assert pane.rows.selected_event() is not None
            assert pane.rows.selected_event().kind == "branch.created"  # type: ignore[union-attr]
            assert pane.rows.inherited_through == end_of_turn_1


async def test_compare_shows_messages_files_and_cost_of_each_side(tmp_path: Path) -> None:
    async with recorded_session(tmp_path, turns=1) as (rig, session):
        end_of_turn_1 = rig.journal.head(session.session_id, "main")
        fork = await branch_at(session, end_of_turn_1, "alt")
        rig.sessions.append(fork)
        await session.submit("turn 2 on main")  # main writes notes.md v2 and answers "wrote v2"
        comparison = compare_branches(rig.journal, session.session_id, "main", "alt")
        assert comparison.common_seq == end_of_turn_1
        left, right = comparison.left, comparison.right
        assert left.files == {"notes.md": "written"} and right.files == {}
        assert ("user", "turn 2 on main") in left.messages and ("assistant", "wrote v2") in left.messages
        assert right.messages == [] and right.events == 1
        assert left.cost_usd == pytest.approx(0.07) and right.cost_usd == 0.0

        host = Host(EventLogPane())
        async with host.run_test(size=(140, 40)) as pilot:
            screen = CompareScreen(rig.journal, session.session_id, "main", "alt")
            await host.push_screen(screen)
            await pilot.pause()
            title = str(screen.query_one("#compare-title", Static).render())
            assert f"main vs alt · shared through event {end_of_turn_1}" in title
            left_text = str(screen.query_one("#compare-left-text", Static).render())
            assert "notes.md" in left_text and "turn 2 on main" in left_text and "$0.0700" in left_text
            await pilot.press("s")
            assert screen.comparison.left.branch == "alt"
            assert "notes.md" not in str(screen.query_one("#compare-left-text", Static).render())


async def test_compare_from_the_branch_tree(tmp_path: Path) -> None:
    async with recorded_session(tmp_path) as (rig, session):
        rig.sessions.append(await branch_at(session, 3, "early"))
        host = Host(EventLogPane())
        async with host.run_test(size=(140, 40)) as pilot:
            await host.push_screen(BranchTreeScreen(rig.journal, session.session_id, "main"))
            await pilot.pause()
            await pilot.press("down", "c")
            await pilot.pause()
            assert isinstance(host.screen, CompareScreen)
            assert host.screen.comparison.common_seq == 3
            assert {host.screen.comparison.left.branch, host.screen.comparison.right.branch} == {"main", "early"}
