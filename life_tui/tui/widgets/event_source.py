"""The event log's rows: a windowed, cached view of a branch's events fetched by seq range.

The event log must open a million-event branch at once and move its cursor in a few milliseconds, so it
never holds the branch: it asks for the rows it shows, in aligned blocks (``BLOCK`` events read with one
ranged journal read, kept in a small LRU). A branch's view is seqs ``1..head`` without gaps (inherited
events included), so without a filter row ``i`` is seq ``i + 1`` and needs no index at all. A filter
(kinds and text) is an index of the matching seqs, built by scanning the branch in blocks; that is the one
operation proportional to the branch's length, and the pane runs it in a worker with progress.

No Textual here: this is plain data, tested and measured on its own.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from life_tui.kernel.event import Event

BLOCK = 4_096
"""Events fetched per ranged read: one Parquet row group of a sealed segment (``ROW_GROUP_ROWS``), which the
journal decodes whole for any slice of it, so a smaller block would pay the same read several times."""
CACHED_BLOCKS = 16
SCAN_BLOCK = 8_192
"""Events read per step while building a filter index."""

ReadRange = Callable[[int, int], list[Event]]


@dataclass(frozen=True)
class EventFilter:
    """Which events to show: any of ``kinds`` (a kind or a kind prefix ending in ``.``), containing ``text``.

    Parsed from what the user types: ``kind:tool. kind:approval.requested read_file`` shows tool events and
    approval requests whose kind or payload mentions ``read_file`` (case-insensitive).
    """

    kinds: tuple[str, ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, typed: str) -> EventFilter:
        kinds: list[str] = []
        words: list[str] = []
        for word in typed.split():
            if word.startswith("kind:") and len(word) > 5:
                kinds.append(word[5:])
            else:
                words.append(word)
        return cls(tuple(kinds), " ".join(words))

    @property
    def active(self) -> bool:
        return bool(self.kinds or self.text)

    def matches(self, event: Event) -> bool:
        if self.kinds and not any(event.kind.startswith(k) if k.endswith(".") else event.kind == k for k in self.kinds):
            return False
        if self.text:
            needle = self.text.lower()
            return needle in event.kind or needle in bytes(event.payload).decode("utf-8", "replace").lower()
        return True

    def describe(self) -> str:
        parts = [f"kind:{k}" for k in self.kinds]
        if self.text:
            parts.append(repr(self.text))
        return " ".join(parts)


class EventWindow:
    """Rows of one branch by position, fetched through ``read_range(after, through)`` in cached blocks.

    ``head`` is the branch's last seq; :meth:`grow` moves it as events are stored. With a filter index
    (:meth:`set_index`), rows are the matching seqs in order.
    """

    def __init__(self, read_range: ReadRange, head: int) -> None:
        self.read_range = read_range
        self.head = head
        self._blocks: OrderedDict[int, list[Event]] = OrderedDict()
        self._index: list[int] | None = None
        self._lock = threading.Lock()
        self.reads = 0
        """Ranged reads made so far (tests and benchmarks look at it)."""

    # ------------------------------------------------------------------------------------ shape
    @property
    def rows(self) -> int:
        return len(self._index) if self._index is not None else self.head

    @property
    def filtered(self) -> bool:
        return self._index is not None

    def set_index(self, seqs: list[int] | None) -> None:
        self._index = seqs

    def seq_at(self, row: int) -> int:
        return self._index[row] if self._index is not None else row + 1

    def row_of(self, seq: int) -> int | None:
        """The row showing ``seq`` (the nearest row before it when filtered out; None before the first)."""
        if self._index is None:
            return seq - 1 if 1 <= seq <= self.head else None
        at = bisect_right(self._index, seq) - 1
        return at if at >= 0 else None

    def grow(self, events: Sequence[Event], keep: EventFilter | None = None) -> None:
        """Newly stored events: extend the head (and the index, with the events ``keep`` matches)."""
        if not events:
            return
        top = events[-1].seq
        block = (self.head // BLOCK) * BLOCK
        self._blocks.pop(block, None)  # the last block was partial; read it again when needed
        self.head = max(self.head, top)
        if self._index is not None and keep is not None:
            last = self._index[-1] if self._index else 0
            self._index.extend(e.seq for e in events if e.seq > last and keep.matches(e))

    # ------------------------------------------------------------------------------------ reads
    def event(self, seq: int) -> Event | None:
        if not 1 <= seq <= self.head:
            return None
        start = ((seq - 1) // BLOCK) * BLOCK
        block = self._block(start)
        offset = seq - 1 - start
        return block[offset] if offset < len(block) and block[offset].seq == seq else self._find(block, seq)

    def events(self, first_row: int, count: int) -> list[Event]:
        """Events of rows ``first_row .. first_row + count - 1`` (fewer at the end)."""
        out: list[Event] = []
        for row in range(max(first_row, 0), min(first_row + count, self.rows)):
            e = self.event(self.seq_at(row))
            if e is not None:
                out.append(e)
        return out

    def _block(self, start: int) -> list[Event]:
        with self._lock:
            hit = self._blocks.get(start)
            if hit is not None:
                self._blocks.move_to_end(start)
                return hit
        return self.load_block(start)

    def load_block(self, start: int) -> list[Event]:
        """Read the block at ``start`` and cache it (safe from a worker thread: prefetching)."""
        block = self.read_range(start, min(start + BLOCK, self.head))
        with self._lock:
            self.reads += 1
            self._blocks[start] = block
            while len(self._blocks) > CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        return block

    def block_to_prefetch(self, row: int, margin: int) -> int | None:
        """The start of an uncached block within ``margin`` rows of ``row`` (the next page's), if any."""
        for near in (row + margin, row - margin):
            if 0 <= near < self.rows:
                start = ((self.seq_at(near) - 1) // BLOCK) * BLOCK
                with self._lock:
                    if start not in self._blocks:
                        return start
        return None

    @staticmethod
    def _find(block: list[Event], seq: int) -> Event | None:
        return next((e for e in block if e.seq == seq), None)

    def forget(self) -> None:
        with self._lock:
            self._blocks.clear()


def scan_index(
    read_range: ReadRange,
    head: int,
    wanted: EventFilter,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[int] | None:
    """Seqs of the events ``wanted`` matches in ``1..head``, read in blocks; None if cancelled midway."""
    found: list[int] = []
    after = 0
    while after < head:
        if cancelled is not None and cancelled():
            return None
        through = min(after + SCAN_BLOCK, head)
        found.extend(e.seq for e in read_range(after, through) if wanted.matches(e))
        after = through
        if progress is not None:
            progress(after, head)
    return found


class HeldEvents:
    """Events held in memory served as ``read_range`` (a replay prefix, or a pane given no journal reader)."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self._events: list[Event] = []
        self._seqs: list[int] = []
        self.extend(events)

    def extend(self, events: Iterable[Event]) -> None:
        last = self._seqs[-1] if self._seqs else 0
        for e in events:
            if e.seq > last:
                self._events.append(e)
                self._seqs.append(e.seq)
                last = e.seq

    @property
    def head(self) -> int:
        return self._seqs[-1] if self._seqs else 0

    def read(self, after: int, through: int) -> list[Event]:
        lo = bisect_right(self._seqs, after)
        hi = bisect_right(self._seqs, through)
        return self._events[lo:hi]
