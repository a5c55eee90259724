"""Time as an injected dependency.

Controllers and the journal take a :class:`Clock` so tests can run on :class:`FakeClock` and replays are
deterministic. Times are integers: microseconds since the Unix epoch (UTC) for wall time, and a monotonic
float in seconds for durations.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall and monotonic time. Implementations must be safe to call from any thread."""

    def now_us(self) -> int:
        """Microseconds since the Unix epoch, UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for durations and timeouts)."""
        ...


class SystemClock:
    """The real clock."""

    def now_us(self) -> int:
        return time.time_ns() // 1000

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to. ``tick_us`` advances it on every ``now_us`` call."""

    def __init__(self, start_us: int = 1_763_683_200_000_000, tick_us: int = 0) -> None:
        self._now = start_us
        self._tick = tick_us
        self._mono = 0.0

    def now_us(self) -> int:
        value = self._now
        self._now += self._tick
        return value

    def monotonic(self) -> float:
        return self._mono + (self._now / 1_000_000)

    def advance(self, seconds: float) -> None:
        self._now += int(seconds * 1_000_000)


def iso_utc(us: int) -> str:
    """Render microseconds since the epoch as an ISO-8601 UTC timestamp with microseconds."""
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
