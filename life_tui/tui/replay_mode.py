"""Replay mode: step through a recorded branch with every pane showing the state at the replay point.

Panes are folds, so the state at event ``n`` is ``reset(events[:n])``. :class:`ReplayCursor` keeps that
cheap: stepping forward only ``apply``-s the next events (incremental, O(step)); going back or jumping far
resets every pane with the events before the point (at most ``RESET_WINDOW``, as the live bridge does).
The context it gives the panes ends at the replay point too (the event log's ranged reads stop there), so
no pane can show the future.

"Continue live from here" forks at the replay point; a point inside a run moves back to just before that
run's user message (:func:`live_fork_point`, the rule ``life-tui replay --live-from`` uses), so the fork
never starts with a half-finished turn. The replay bar widget (``widgets/replay_bar.py``) drives this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from life_tui.kernel.event import Event
from life_tui.tui.bridge import RESET_WINDOW
from life_tui.tui.panes import Pane, PaneContext
from life_tui.tui.widgets.event_source import HeldEvents, ReadRange

FORWARD_APPLY_LIMIT = 2_000
"""A jump forward by up to this many events applies them; a longer one resets (a fold from the start)."""

MoveListener = Callable[[int, int], None]
"""Called with ``(position, total)`` after every move of a :class:`ReplayCursor`."""


class ReplayCursor:
    """A replay point on a branch (``position``: the seq of the last event shown, 0 before the first) that
    keeps ``panes`` in step with it.

    Events are read by range (a branch's view numbers its events ``1..head`` without gaps), so replaying a
    million-event branch holds no more than a reset's worth: a reset gives the panes the last
    ``RESET_WINDOW`` events before the point, as the live bridge does, and the event log reads the rest.
    """

    def __init__(self, read_range: ReadRange, head: int, panes: Sequence[Pane], context: PaneContext) -> None:
        self.read_range = read_range
        self.total = head
        self.panes = list(panes)
        self.base = context
        self.position = 0
        self.current: Event | None = None
        """The event at the replay point (None before the first)."""
        self.resets = 0
        """How many times the panes were reset (tests check that stepping forward never resets)."""
        self.listeners: list[MoveListener] = []
        """Told of every move (the app's status bar shows "REPLAY n/N" through one)."""

    @classmethod
    def from_events(cls, events: Sequence[Event], panes: Sequence[Pane], context: PaneContext) -> ReplayCursor:
        held = HeldEvents(events)
        return cls(held.read, held.head, panes, replace(context, read_range=held.read))

    @property
    def seq(self) -> int:
        """The seq of the last shown event (0 before the first)."""
        return self.position

    @property
    def at_end(self) -> bool:
        return self.position >= self.total

    def context(self) -> PaneContext:
        """The base context cut at the replay point."""
        read = self.read_range

        def read_until_here(after: int, through: int) -> list[Event]:
            return read(after, min(through, self.position)) if after < self.position else []

        return replace(self.base, read_range=read_until_here, head=lambda: self.position)

    # ----------------------------------------------------------------------------------- moves
    def start(self, position: int = 1) -> None:
        """Show the events up to ``position`` (a reset)."""
        self._reset(max(0, min(position, self.total)))

    def step(self, count: int = 1) -> int:
        """Forward ``count`` events (applied, not reset); returns how many were shown."""
        target = min(self.position + max(count, 0), self.total)
        shown = self.read_range(self.position, target) if target > self.position else []
        self.position = target
        if shown:
            self.current = shown[-1]
            for pane in self.panes:
                pane.apply(shown)
        self._tell()
        return len(shown)

    def back(self, count: int = 1) -> None:
        self.jump(self.position - max(count, 0))

    def jump(self, position: int) -> None:
        """Show the events up to ``position``."""
        position = max(0, min(position, self.total))
        if position == self.position:
            return
        if self.position < position <= self.position + FORWARD_APPLY_LIMIT:
            self.step(position - self.position)
        else:
            self._reset(position)

    def jump_to_seq(self, seq: int) -> None:
        """Show every event up to and including ``seq``."""
        self.jump(seq)

    def recent(self, count: int = RESET_WINDOW) -> list[Event]:
        """The last ``count`` events up to the replay point."""
        return self.read_range(max(0, self.position - count), self.position) if self.position else []

    def _reset(self, position: int) -> None:
        self.position = position
        self.resets += 1
        prefix = self.recent()
        self.current = prefix[-1] if prefix else None
        context = self.context()
        for pane in self.panes:
            pane.reset(prefix, context)
        self._tell()

    def _tell(self) -> None:
        for listener in self.listeners:
            listener(self.position, self.total)


def live_fork_point(events: Sequence[Event], seq: int) -> int:
    """Where "continue live from ``seq``" forks: ``seq``, or just before the user message of the run that is
    still going at ``seq``."""
    shown = [e for e in events if e.seq <= seq]
    if not shown:
        return 0
    run_id = shown[-1].run_id
    if run_id is None:
        return seq
    finished = any(e.run_id == run_id and e.kind == "run.finished" for e in shown)
    if finished:
        return seq
    first = next(e for e in shown if e.run_id == run_id)
    return first.seq - 1
