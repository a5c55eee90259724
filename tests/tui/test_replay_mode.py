"""Replay mode over a recorded session: step, back, jump (by key and by seq), play/pause and speed, with
every pane at the replay point (a fold of exactly the events up to it; stepping forward applies, never
resets); the event log cannot see past the point; "continue live" forks at the point (moved back to the start
of an unfinished run) and the fork is in the journal."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import msgspec
from history_support import Host, recorded_session
from textual.app import ComposeResult
from textual.containers import Vertical
from waits import until

from life_tui.kernel.event import Event
from life_tui.tui.branching import branch_at, branch_context
from life_tui.tui.bridge import RESET_WINDOW
from life_tui.tui.messages import BranchAtRequested, ReplayPositionChanged
from life_tui.tui.panes import PaneContext
from life_tui.tui.replay_mode import ReplayCursor, live_fork_point
from life_tui.tui.widgets.event_log import EventLogPane
from life_tui.tui.widgets.replay_bar import SPEEDS, ReplayBar


class FoldPane:
    """A pane that folds by keeping what it was given: its state must equal the events up to the point."""

    def __init__(self) -> None:
        self.shown: list[Event] = []
        self.resets = 0

    def reset(self, events: Sequence[Event], context: PaneContext) -> None:
        self.shown = list(events)
        self.resets += 1

    def apply(self, events: Sequence[Event]) -> None:
        self.shown.extend(events)


class ReplayHost(Host):
    def __init__(self, events: list[Event], context: PaneContext) -> None:
        self.event_log = EventLogPane()
        super().__init__(self.event_log)
        self.fold = FoldPane()
        assert context.read_range is not None
        self.cursor = ReplayCursor(context.read_range, events[-1].seq, [self.fold, self.event_log], context)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield self.event_log
        yield ReplayBar(self.cursor)


def test_cursor_steps_forward_by_applying_and_back_by_resetting() -> None:
    pane = FoldPane()
    events = [Event(f"E{i:025d}", "S", "main", i, "user.message", i, payload=msgspec.Raw(b"{}")) for i in range(1, 51)]
    cursor = ReplayCursor.from_events(events, [pane], PaneContext(session_id="S", branch="main"))
    cursor.start(1)
    assert cursor.resets == 1
    cursor.step()
    cursor.step(5)
    cursor.jump(20)  # forward: applied
    assert cursor.resets == 1 and pane.shown == events[:20] and cursor.seq == 20
    cursor.back(3)
    assert cursor.resets == 2 and pane.shown == events[:17]
    cursor.jump_to_seq(40)
    assert pane.shown == events[:40]
    assert cursor.context().head is not None and cursor.context().head() == 40
    read = cursor.context().read_range
    assert read is not None and [e.seq for e in read(38, 45)] == [39, 40]
    assert [e.seq for e in cursor.recent(5)] == [36, 37, 38, 39, 40]
    cursor.step(1_000)
    assert cursor.at_end and pane.shown == events


def test_cursor_reads_only_what_it_shows() -> None:
    """A replay of a long branch holds a reset window, never the branch."""
    reads: list[tuple[int, int]] = []

    def read(after: int, through: int) -> list[Event]:
        reads.append((after, through))
        return [
            Event(f"E{i:025d}", "S", "main", i, "x.y", i, payload=msgspec.Raw(b"{}"))
            for i in range(after + 1, through + 1)
        ]

    pane = FoldPane()
    cursor = ReplayCursor(read, 1_000_000, [pane], PaneContext(session_id="S", branch="main"))
    cursor.start(1)
    cursor.step(3)
    assert reads == [(0, 1), (1, 4)] and cursor.current is not None and cursor.current.seq == 4
    cursor.jump(900_000)
    assert reads[-1] == (900_000 - RESET_WINDOW, 900_000) and len(pane.shown) == RESET_WINDOW


async def test_keys_step_back_and_jump_with_every_pane_at_the_point(tmp_path: Path) -> None:
    async with recorded_session(tmp_path) as (rig, session):
        events = rig.events(session)
        host = ReplayHost(events, branch_context(rig.journal, session.session_id, "main"))
        async with host.run_test(size=(140, 30), message_hook=host.seen.append) as pilot:
            await pilot.pause()
            bar = host.query_one(ReplayBar)
            assert host.focused is bar and host.cursor.position == 1
            await pilot.press("right", "right", "l")
            assert host.cursor.position == 4 and host.fold.shown == events[:4]
            assert host.fold.resets == 1  # stepping forward never refolds
            log = host.event_log.rows
            assert log.window.head == 4 and log.selected_seq == 4  # the log ends at the replay point
            await pilot.press("left")
            assert host.fold.shown == events[:3] and log.window.head == 3 and host.fold.resets == 2
            await pilot.press("g", *"12", "enter")
            await until(pilot, lambda: host.cursor.seq == 12 and host.focused is bar, "the jump to event 12")
            assert host.fold.shown == events[:12]
            await pilot.press("end")
            assert host.fold.shown == events and log.window.head == events[-1].seq
            await pilot.press("home")
            assert host.fold.shown == events[:1]
            moves = [m.seq for m in host.seen_of(ReplayPositionChanged)]
            assert moves == [1, 2, 3, 4, 3, 12, events[-1].seq, 1]
            assert all(m.total == len(events) for m in host.seen_of(ReplayPositionChanged))


async def test_play_pause_and_speed(tmp_path: Path) -> None:
    async with recorded_session(tmp_path, turns=1) as (rig, session):
        events = rig.events(session)
        host = ReplayHost(events, branch_context(rig.journal, session.session_id, "main"))
        async with host.run_test(size=(140, 30)) as pilot:
            await pilot.pause()
            bar = host.query_one(ReplayBar)
            await pilot.press("minus", "minus", "minus", "minus")
            assert bar.speed == SPEEDS[0]
            await pilot.press("space")
            assert bar.playing  # at 1 event/s: still playing
            for _ in SPEEDS:
                await pilot.press("plus")
            assert bar.speed == SPEEDS[-1]
            await until(pilot, lambda: host.cursor.at_end, "playback to reach the end")
            await pilot.pause()
            assert not bar.playing  # stops at the end by itself
            assert host.fold.shown == events
            await pilot.press("minus", "minus", "minus", "minus", "minus", "minus", "minus")
            await pilot.press("space")  # at the end, play starts over
            assert bar.playing and host.cursor.position <= 2
            await pilot.press("space")
            stopped_at = host.cursor.position
            await asyncio.sleep(0.1)
            await pilot.pause()
            assert not bar.playing and host.cursor.position == stopped_at
            assert bar.speed == SPEEDS[0]


def test_live_fork_point_moves_back_to_the_start_of_an_unfinished_run() -> None:
    def ev(seq: int, kind: str, run: str | None) -> Event:
        return Event(f"E{seq:025d}", "S", "main", seq, kind, seq, run_id=run, payload=msgspec.Raw(b"{}"))

    events = [
        ev(1, "session.created", None),
        ev(2, "user.message", "r1"),
        ev(3, "run.started", "r1"),
        ev(4, "assistant.message", "r1"),
        ev(5, "run.finished", "r1"),
        ev(6, "user.message", "r2"),
        ev(7, "run.started", "r2"),
    ]
    assert live_fork_point(events, 1) == 1
    assert live_fork_point(events, 4) == 1  # inside r1: before its user message
    assert live_fork_point(events, 5) == 5  # r1 finished
    assert live_fork_point(events, 7) == 5
    assert live_fork_point(events, 0) == 0


async def test_continue_live_forks_at_the_replay_point(tmp_path: Path) -> None:
    async with recorded_session(tmp_path) as (rig, session):
        events = rig.events(session)
        end_of_turn_1 = next(e.seq for e in events if e.kind == "run.finished")
        host = ReplayHost(events, branch_context(rig.journal, session.session_id, "main"))
        async with host.run_test(size=(140, 30), message_hook=host.seen.append) as pilot:
            await pilot.pause()
            await pilot.press("g", *str(end_of_turn_1), "enter")
            bar = host.query_one(ReplayBar)
            # "c" must reach the bar, not the jump field: wait for the jump and the focus back on the bar.
            await until(pilot, lambda: host.cursor.seq == end_of_turn_1 and host.focused is bar, "the jump")
            await pilot.press("c")
            await until(pilot, lambda: host.seen_of(BranchAtRequested), "continue live's BranchAtRequested")
            closed = host.seen_of(ReplayBar.Closed)
            assert [m.seq for m in closed] == [end_of_turn_1]
            requested = host.seen_of(BranchAtRequested)
            assert [m.seq for m in requested] == [end_of_turn_1]
        # What the app does with the request: fork there and go on.
        fork = await branch_at(session, requested[0].seq)
        rig.sessions.append(fork)
        info = rig.journal.branch(session.session_id, fork.branch)
        assert (info.parent, info.fork_seq) == ("main", end_of_turn_1)


async def test_escape_leaves_replay(tmp_path: Path) -> None:
    async with recorded_session(tmp_path, turns=1) as (rig, session):
        events = rig.events(session)
        host = ReplayHost(events, branch_context(rig.journal, session.session_id, "main"))
        async with host.run_test(size=(140, 30), message_hook=host.seen.append) as pilot:
            await pilot.pause()
            await pilot.press("right", "escape")
            await until(pilot, lambda: host.seen_of(ReplayBar.Closed), "Esc's ReplayBar.Closed")
            assert [m.seq for m in host.seen_of(ReplayBar.Closed)] == [2]
            assert host.seen_of(BranchAtRequested) == []
