"""Subscriptions: read a branch after a seq, then follow it live, only ever seeing durable events.

The writer's flusher calls :meth:`SubscriptionHub.publish` after each fsync, so a subscriber never sees
an event that could still be lost. A subscription first replays the history it asked for (read lazily,
chunk by chunk, so following a million-event session does not load it all), then the live events, with
no gap and no duplicate between the two: it registers before reading and drops live events it already
replayed. Consumers use it from threads (:meth:`Subscription.get`, iteration) or from asyncio
(``async for``).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from life_tui.kernel.event import Event

if TYPE_CHECKING:
    from life_tui.journal.view import JournalView


class Subscription:
    def __init__(
        self,
        hub: SubscriptionHub,
        session_id: str | None,
        branch: str | None,
        history: Iterator[list[Event]] | None,
        live_after: int,
        kinds: frozenset[str] | None,
    ) -> None:
        self._hub = hub
        self.session_id = session_id
        self.branch = branch
        self._kinds = kinds
        self._history = history
        self._live_after = live_after
        self._queue: deque[Event] = deque()
        self._replay: deque[Event] = deque()  # history read so far; always handed out before live events
        self._cond = threading.Condition()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self.closed = False

    def _wants(self, e: Event) -> bool:
        return (
            (self.session_id is None or e.session_id == self.session_id)
            and (self.branch is None or e.branch == self.branch)
            and (self._kinds is None or e.kind in self._kinds)
            and (self.session_id is None or e.seq > self._live_after)
        )

    def _deliver(self, events: list[Event]) -> None:
        wanted = [e for e in events if self._wants(e)]
        if not wanted:
            return
        with self._cond:
            self._queue.extend(wanted)
            self._cond.notify_all()
            waiters = list(self._waiters)
        for loop, flag in waiters:
            loop.call_soon_threadsafe(flag.set)

    def _next_history(self) -> bool:
        """Move the next chunk of history into the replay queue; False when history is exhausted."""
        if self._history is None:
            return False
        for chunk in self._history:
            wanted = [e for e in chunk if self._kinds is None or e.kind in self._kinds]
            if wanted:
                self._replay.extend(wanted)
                return True
        self._history = None
        return False

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: forever); None on timeout or close."""
        # History first: live events queued meanwhile all have higher seqs than the history.
        if self._replay or self._next_history():
            return self._replay.popleft()
        with self._cond:
            if self._queue:
                return self._queue.popleft()
        with self._cond:
            if not self._queue and not self.closed:
                self._cond.wait(timeout)
            return self._queue.popleft() if self._queue else None

    def drain(self) -> list[Event]:
        """Everything available now, without waiting."""
        out: list[Event] = []
        while (e := self.get(timeout=0)) is not None:
            out.append(e)
        return out

    def __iter__(self) -> Iterator[Event]:
        while not self.closed or self._queue:
            e = self.get(timeout=0.5)
            if e is not None:
                yield e

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._aiter()

    async def _aiter(self) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        flag = asyncio.Event()
        with self._cond:
            self._waiters.append((loop, flag))
        try:
            while True:
                e = self.get(timeout=0)
                if e is not None:
                    yield e
                    continue
                if self.closed:
                    return
                flag.clear()
                with self._cond:
                    ready = bool(self._queue)
                if not ready:
                    await flag.wait()
        finally:
            with self._cond:
                self._waiters = [w for w in self._waiters if w[1] is not flag]

    def close(self) -> None:
        self._hub.remove(self)
        with self._cond:
            self.closed = True
            self._cond.notify_all()
            waiters = list(self._waiters)
        for loop, flag in waiters:
            loop.call_soon_threadsafe(flag.set)


class SubscriptionHub:
    def __init__(self, view: JournalView) -> None:
        self._view = view
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[list[Event]], None]] = []
        self._lock = threading.Lock()

    def subscribe(
        self, session_id: str | None, branch: str | None, *, after: int, kinds: Iterable[str] | None
    ) -> Subscription:
        kind_set = frozenset(kinds) if kinds is not None else None
        if session_id is None:
            sub = Subscription(self, None, branch, None, 0, kind_set)
            with self._lock:
                self._subs.append(sub)
            return sub
        branch = branch or "main"
        # Register under the view's state lock: no flush can apply events between reading the head and
        # registering, so history (after, head] and live (head, ...) meet exactly.
        with self._view._state_lock:
            head = self._view.head(session_id, branch)
            history = self._view.iter_chunks(session_id, branch, after=after, through=head) if after < head else None
            sub = Subscription(self, session_id, branch, history, max(head, after), kind_set)
            with self._lock:
                self._subs.append(sub)
        return sub

    def add_listener(self, callback: Callable[[list[Event]], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return remove

    def publish(self, events: list[Event]) -> None:
        with self._lock:
            subs, listeners = list(self._subs), list(self._listeners)
        for sub in subs:
            sub._deliver(events)
        for listener in listeners:
            listener(events)

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def close_all(self) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.close()
