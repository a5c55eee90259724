"""The event log pane over a real journal: rows by range, cursor and tail following, EventSelected, filters
(kind and text, the index built in a worker), inherited rows on a fork, the detail screen, branch requests;
and the windowed row source on its own (reads stay bounded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from history_support import Host, recorded_session
from textual.widgets import Input
from waits import until

from life_tui.kernel.event import Event, encode_payload
from life_tui.tui.branching import branch_context
from life_tui.tui.messages import BranchAtRequested, EventSelected
from life_tui.tui.panes import PaneContext
from life_tui.tui.screens.event_detail import EventDetailScreen, event_document
from life_tui.tui.widgets import event_log
from life_tui.tui.widgets.event_log import EventLogPane, EventRows
from life_tui.tui.widgets.event_source import BLOCK, EventFilter, EventWindow, HeldEvents, scan_index
from life_tui.tui.widgets.event_summary import summary


def made(seq: int, kind: str = "user.message", **payload: object) -> Event:
    return Event(f"E{seq:025d}", "S", "main", seq, kind, 1_763_683_200_000_000 + seq, payload=encode_payload(payload))


# ------------------------------------------------------------------------------------- the row source
def test_window_reads_only_the_blocks_it_shows() -> None:
    held = HeldEvents(made(i, content=f"m{i}") for i in range(1, 10_001))
    calls: list[tuple[int, int]] = []

    def read(after: int, through: int) -> list[Event]:
        calls.append((after, through))
        return held.read(after, through)

    window = EventWindow(read, held.head)
    assert window.rows == 10_000
    assert [e.seq for e in window.events(9_990, 20)] == list(range(9_991, 10_001))
    assert calls == [(8_192, 10_000)]  # one aligned block
    assert window.event(5_000) is not None and len(calls) == 2  # the block 4_096..8_192
    assert window.event(5_001) is not None and len(calls) == 2  # same block, cached


def test_window_grows_and_rereads_the_partial_last_block() -> None:
    held = HeldEvents(made(i) for i in range(1, 11))
    window = EventWindow(held.read, held.head)
    assert window.event(10) is not None
    held.extend([made(11)])
    window.grow([made(11)])
    assert window.rows == 11 and window.event(11) is not None and window.event(11).seq == 11  # type: ignore[union-attr]


def test_filter_parse_and_match() -> None:
    wanted = EventFilter.parse("kind:tool. notes.md")
    assert wanted.kinds == ("tool.",) and wanted.text == "notes.md"
    assert wanted.matches(made(1, "tool.call_requested", tool_name="write_file", arguments={"path": "notes.md"}))
    assert not wanted.matches(made(2, "tool.call_requested", tool_name="read_file", arguments={"path": "x"}))
    assert not wanted.matches(made(3, "user.message", content="notes.md"))
    assert EventFilter.parse("kind:user.message").matches(made(4, content="hi"))
    assert not EventFilter.parse("kind:user").matches(made(5, content="hi"))  # exact unless it ends with '.'


def test_scan_index_and_filtered_rows() -> None:
    held = HeldEvents(made(i, content="even" if i % 2 == 0 else "odd") for i in range(1, 20_001))
    seqs = scan_index(held.read, held.head, EventFilter(text="even"))
    assert seqs is not None and len(seqs) == 10_000 and seqs[:3] == [2, 4, 6]
    window = EventWindow(held.read, held.head)
    window.set_index(seqs)
    assert window.rows == 10_000 and window.seq_at(1) == 4 and window.row_of(5) == 1
    assert scan_index(held.read, held.head, EventFilter(text="x"), cancelled=lambda: True) is None


def test_summaries_are_one_line_and_cut() -> None:
    event = made(1, "tool.call_requested", tool_name="write_file", arguments={"path": "a.md", "content": "x\ny"})
    assert summary(event) == "write_file(content=x y, path=a.md)"  # stored payloads have sorted keys
    assert summary(made(2, "custom.thing", note="n" * 300), width=20).endswith("…")
    assert len(summary(made(3, content="z" * 500), width=50)) == 50
    assert BLOCK > 0


# ------------------------------------------------------------------------------------- the pane
async def test_pane_shows_the_branch_follows_the_tail_and_posts_selection(tmp_path: Path) -> None:
    async with recorded_session(tmp_path, turns=1) as (rig, session):
        pane = EventLogPane()
        host = Host(pane)
        async with host.run_test(size=(120, 30), message_hook=host.seen.append) as pilot:
            head = rig.journal.head(session.session_id, "main")
            pane.reset([], branch_context(rig.journal, session.session_id, "main"))
            await pilot.pause()
            rows = pane.rows
            assert rows.selected_seq == head and rows.follow
            rows.focus()
            await pilot.press("up", "up")
            assert rows.selected_seq == head - 2 and not rows.follow

            def selections() -> list[int]:
                return [m.seq for m in host.seen_of(EventSelected)][-2:]

            await until(pilot, lambda: selections() == [head - 1, head - 2], "both moves' EventSelected")
            # New events while not following: the cursor stays where the user put it.
            await session.submit("turn 2")
            pane.apply(rig.journal.read(session.session_id, "main", after=head))
            await pilot.pause()
            assert rows.selected_seq == head - 2
            await pilot.press("end")
            new_head = rig.journal.head(session.session_id, "main")
            assert rows.selected_seq == new_head and rows.follow
            await pilot.press("home")
            assert rows.selected_seq == 1
            screen_text = "\n".join(rows.render_line(y).text for y in range(3))
            assert "session.created" in screen_text


async def test_pane_follows_new_events_while_on_the_tail(tmp_path: Path) -> None:
    async with recorded_session(tmp_path, turns=1) as (rig, session):
        pane = EventLogPane()
        async with Host(pane).run_test(size=(100, 20)) as pilot:
            head = rig.journal.head(session.session_id, "main")
            pane.reset([], branch_context(rig.journal, session.session_id, "main"))
            await session.submit("turn 2")
            pane.apply(rig.journal.read(session.session_id, "main", after=head))
            assert pane.rows.selected_seq == rig.journal.head(session.session_id, "main")

            def last() -> str:
                return pane.rows.render_line(pane.rows.scrollable_content_region.height - 1).text

            # The view settles on the tail once the grown scroll range is laid out.
            await until(pilot, lambda: "run.finished" in last(), "the last row to show run.finished")


async def test_filter_by_kind_and_text_through_the_input(tmp_path: Path) -> None:
    async with recorded_session(tmp_path) as (rig, session):
        pane = EventLogPane()
        host = Host(pane)
        async with host.run_test(size=(120, 30)) as pilot:
            pane.reset([], branch_context(rig.journal, session.session_id, "main"))
            pane.rows.focus()
            await pilot.press("slash")
            assert isinstance(host.focused, Input)
            await pilot.press(*"kind:file.written", "enter")
            # Enter reaches the pane as the input's Submitted message, which starts the index's worker.
            await until(pilot, lambda: pane.filter.active and not pane.indexing, "the filter's index")
            written = [e.seq for e in rig.journal.read(session.session_id, "main") if e.kind == "file.written"]
            assert len(written) == 2 and pane.rows.window.rows == 2
            assert pane.rows.selected_seq == written[-1]
            status = str(pane.query_one("#event-log-status").render())
            assert "kind:file.written: 2 match" in status
            pane.set_filter(EventFilter(text="wrote v1"))
            await host.workers.wait_for_complete()
            await pilot.pause()
            matched = [pane.rows.window.event(pane.rows.window.seq_at(r)) for r in range(pane.rows.window.rows)]
            assert matched and all(e is not None and "wrote v1" in bytes(e.payload).decode() for e in matched)
            await pilot.press("escape")
            assert not pane.filter.active and pane.rows.window.rows == rig.journal.head(session.session_id, "main")


async def test_a_long_branchs_filter_is_answered_by_the_journals_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_log, "SQL_FILTER_FROM", 1)  # every branch counts as long
    scanned: list[int] = []
    monkeypatch.setattr(event_log, "scan_index", lambda *a, **k: scanned.append(1) or [])
    async with recorded_session(tmp_path) as (rig, session):
        pane = EventLogPane()
        host = Host(pane)
        async with host.run_test(size=(120, 30)) as pilot:
            context = branch_context(rig.journal, session.session_id, "main")
            context.extras["journal"] = rig.journal  # as the app's own pane context has it
            pane.reset([], context)
            events = rig.journal.read(session.session_id, "main")
            for wanted in (EventFilter(kinds=("file.",)), EventFilter(text="WROTE v1")):
                pane.set_filter(wanted)
                await until(pilot, lambda: not pane.indexing, "the filter's index")
                expected = [e.seq for e in events if wanted.matches(e)]
                assert expected and [pane.rows.window.seq_at(r) for r in range(pane.rows.window.rows)] == expected
            assert not scanned


async def test_filtered_pane_indexes_new_matching_events(tmp_path: Path) -> None:
    async with recorded_session(tmp_path, turns=1) as (rig, session):
        pane = EventLogPane()
        host = Host(pane)
        async with host.run_test(size=(120, 30)) as pilot:
            pane.reset([], branch_context(rig.journal, session.session_id, "main"))
            pane.set_filter(EventFilter(kinds=("user.message",)))
            await host.workers.wait_for_complete()
            await pilot.pause()
            assert pane.rows.window.rows == 1
            head = rig.journal.head(session.session_id, "main")
            await session.submit("turn 2")
            pane.apply(rig.journal.read(session.session_id, "main", after=head))
            await pilot.pause()
            assert pane.rows.window.rows == 2
            event = pane.rows.selected_event()
            assert event is not None and event.payload_dict()["content"] == "turn 2"


async def test_inherited_rows_are_marked_on_a_fork(tmp_path: Path) -> None:
    async with recorded_session(tmp_path) as (rig, session):
        fork = await session.fork(5, "alt")
        rig.sessions.append(fork)
        await fork.record()  # nothing: the fork's first own event is branch.created
        pane = EventLogPane()
        async with Host(pane).run_test(size=(120, 30)) as pilot:
            context = branch_context(rig.journal, session.session_id, "alt")
            assert context.inherited_through == 5
            pane.reset([], context)
            await pilot.pause()
            rows = pane.rows
            rows.move_to(0)
            await pilot.pause()
            assert rows.render_line(0).text.startswith("┆")  # seq 1: inherited
            assert not rows.render_line(5).text.startswith("┆")  # seq 6: the fork's own branch.created
            assert "branch.created" in rows.render_line(5).text


async def test_enter_opens_the_event_json_and_b_requests_a_branch(tmp_path: Path) -> None:
    async with recorded_session(tmp_path, turns=1) as (rig, session):
        pane = EventLogPane()
        host = Host(pane)
        async with host.run_test(size=(120, 30), message_hook=host.seen.append) as pilot:
            pane.reset([], branch_context(rig.journal, session.session_id, "main"))
            pane.rows.focus()
            await pilot.press("home", "down")  # seq 2
            await pilot.press("enter")
            await pilot.pause()
            screen = host.screen
            assert isinstance(screen, EventDetailScreen)
            stored = rig.journal.get(session.session_id, "main", 2)
            assert json.loads(screen.text) == event_document(stored)
            assert json.loads(screen.text)["payload"] == stored.payload_dict()
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(host.screen, EventDetailScreen)
            await pilot.press("b")
            assert [m.seq for m in host.seen_of(BranchAtRequested)] == [2]


async def test_pane_without_a_journal_folds_the_events_it_is_given() -> None:
    pane = EventLogPane()
    async with Host(pane).run_test(size=(100, 20)) as pilot:
        pane.reset([made(i, content=f"m{i}") for i in range(1, 6)], PaneContext(session_id="S", branch="main"))
        pane.apply([made(6, content="m6")])
        await pilot.pause()
        assert pane.rows.window.rows == 6 and pane.rows.selected_seq == 6
        assert isinstance(pane.rows, EventRows)
