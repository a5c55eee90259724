"""The event contract (Life's aiOS kernel): envelope, kinds, ids, state types, clock. No I/O.

Everything else in life-tui is a fold over :class:`Event` records, so this package is deliberately small,
dependency-free beyond msgspec and blake3, and stable: a change here is a change to every stored event.
"""

from life_tui.kernel.clock import Clock, FakeClock, SystemClock
from life_tui.kernel.event import Actor, Event, EventDraft, canonical_bytes, compute_hash
from life_tui.kernel.ids import new_ulid

__all__ = [
    "Actor",
    "Clock",
    "Event",
    "EventDraft",
    "FakeClock",
    "SystemClock",
    "canonical_bytes",
    "compute_hash",
    "new_ulid",
]
