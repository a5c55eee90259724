"""A sliding-window limit on the tool calls one MCP client may make, so a runaway client agent cannot
drive the workstation (its tools, its model spend) faster than a person would allow.

Calls over the limit are answered with a tool error (``isError``) naming the limit and when to retry; they
are never queued, never run, and never journaled as tool calls. Pure bookkeeping over a monotonic clock.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0


class RateLimit:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("the limit must allow at least one call per minute")
        self.per_minute = per_minute
        self._clock = clock
        self._calls: deque[float] = deque()

    def admit(self) -> float | None:
        """Count one call; None when it may run, else the seconds until one may."""
        now = self._clock()
        while self._calls and now - self._calls[0] >= WINDOW_S:
            self._calls.popleft()
        if len(self._calls) >= self.per_minute:
            return round(WINDOW_S - (now - self._calls[0]), 1)
        self._calls.append(now)
        return None
