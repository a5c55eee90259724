"""When Python's full garbage collections run in the workstation: between turns, not in the middle of one.

The app runs the runtime and the UI on one event loop, so a full (generation 2) collection stops both. By
default CPython runs one about every second while an answer streams, and each walks every tracked object
(40,000+ while the screen is busy: drawn lines, caches, the branch's events) for 10-30 ms, landing inside
a frame often enough to push it past issue 6's 50 ms budget. What those collections find is almost
nothing: once drawn lines stop forming cycles (``strip_cycles.py``) a six-second stream leaves no cyclic
garbage at all (measured with ``gc.collect()`` at the end: 0 objects).

:class:`Collector` therefore, once the workstation is up: freezes what start-up built (modules, classes,
the session: they live as long as the app, so collections need not walk them), and makes full
collections wait for the end of a turn (generations 0 and 1 still run as usual: they take about a
millisecond). When a turn ends, the full collection runs if one was due by the interpreter's own count.
Past ``SAFETY_FACTOR`` times the usual interval one runs anyway, so memory stays bounded however long a
turn (or a pause between turns) lasts.
Textual does the same for smooth scrolling (``App.PAUSE_GC_ON_SCROLL``). :meth:`Collector.stop`
restores the interpreter's settings, so an embedding process (the test suite) is left as it was.
"""

from __future__ import annotations

import gc

SAFETY_FACTOR = 100
"""While a turn runs, a full collection still happens after this many times the usual number of younger
collections (about a minute and a half of a fast stream)."""


class Collector:
    """Freezes the start-up heap and moves full collections out of running turns."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    @property
    def active(self) -> bool:
        return self._saved is not None

    def start(self) -> None:
        """Freeze what exists now and defer full collections (idempotent)."""
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        young, middle, full = self._saved
        gc.freeze()
        gc.set_threshold(young, middle, full * SAFETY_FACTOR)

    def turn_ended(self) -> bool:
        """Run the full collection the turn deferred, if one is due; True when it ran."""
        if self._saved is None or gc.get_count()[2] < self._saved[2]:
            return False
        gc.collect()
        return True

    def stop(self) -> None:
        """Restore the interpreter's thresholds and unfreeze (idempotent)."""
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        gc.unfreeze()
        self._saved = None
