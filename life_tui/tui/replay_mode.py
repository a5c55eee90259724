"""Replay mode: step through a recorded branch with every pane showing the state at the replay point.

Panes are folds, so the state at event ``n`` is ``reset(events[:n])``. :class:`ReplayCursor` keeps that
cheap: stepping forward only ``apply``-s the next events (incremental, O(step)); going back or jumping far
resets every pane with the prefix. The context it gives the panes ends at the replay point too (the event
log's ranged reads stop there), so no pane can show the future.

"Continue live from here" forks at the replay point; a point inside a run moves back to just before that
run's user message (:func:`live_fork_point`, the rule ``life-tui replay --live-from`` uses), so the fork
never starts with a half-finished turn. No Textual here: the replay bar widget drives this.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace

from life_tui.kernel.event import Event
from life_tui.tui.panes import Pane, PaneContext

FORWARD_APPLY_LIMIT = 2_000
"""A jump forward by up to this many events applies them; a longer one resets (a fold from the start)."""


class ReplayCursor:
    """A position in ``events`` (how many are shown) that keeps ``panes`` in step with it."""

    def __init__(self, events: Sequence[Event], panes: Sequence[Pane], context: PaneContext) -> None:
        self.events = list(events)
        self._seqs = [e.seq for e in self.events]
        self.panes = list(panes)
        self.base = context
        self.position = 0
        self.resets = 0
        """How many times the panes were reset (tests check that stepping forward never resets)."""

    @property
    def total(self) -> int:
        return len(self.events)

    @property
    def seq(self) -> int:
        """The seq of the last shown event (0 before the first)."""
        return self._seqs[self.position - 1] if self.position else 0

    @property
    def at_end(self) -> bool:
        return self.position >= self.total

    def context(self) -> PaneContext:
        """The base context cut at the replay point."""
        read = self.base.read_range

        def read_until_here(after: int, through: int) -> list[Event]:
            if read is None:
                lo = bisect_right(self._seqs, after)
                return self.events[lo : bisect_right(self._seqs, min(through, self.seq))]
            return read(after, min(through, self.seq)) if after < self.seq else []

        return replace(self.base, read_range=read_until_here, head=lambda: self.seq)

    # ----------------------------------------------------------------------------------- moves
    def start(self, position: int = 1) -> None:
        """Show the first ``position`` events (a reset)."""
        self._reset(max(0, min(position, self.total)))

    def step(self, count: int = 1) -> int:
        """Forward ``count`` events (applied, not reset); returns how many were shown."""
        target = min(self.position + max(count, 0), self.total)
        shown = self.events[self.position : target]
        self.position = target
        if shown:
            for pane in self.panes:
                pane.apply(shown)
        return len(shown)

    def back(self, count: int = 1) -> None:
        self.jump(self.position - max(count, 0))

    def jump(self, position: int) -> None:
        """Show the first ``position`` events."""
        position = max(0, min(position, self.total))
        if position == self.position:
            return
        if self.position < position <= self.position + FORWARD_APPLY_LIMIT:
            self.step(position - self.position)
        else:
            self._reset(position)

    def jump_to_seq(self, seq: int) -> None:
        """Show every event up to and including ``seq``."""
        self.jump(bisect_right(self._seqs, seq))

    def _reset(self, position: int) -> None:
        self.position = position
        self.resets += 1
        prefix = self.events[:position]
        context = self.context()
        for pane in self.panes:
            pane.reset(prefix, context)


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
