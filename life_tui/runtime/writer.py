"""The runtime's bridge to the journal: ordered writes from asyncio, folded at once, durable where it matters.

The loop ``submit``s drafts without waiting or ``write``s and awaits their durability. Every draft is
stamped by the journal (seq, time, hash) the moment it is submitted, on the event loop, and handed in
order to ``on_events`` (the Session folds its state and its regulator observes there): so the state the
loop reads always includes everything it wrote, without a round trip to the disk. One flusher task
commits whatever is staged on a dedicated thread (one fsync for a burst of events; the event loop is never
blocked by disk I/O); ``write`` returns once its events are durable, which the loop awaits only where it
must (before a tool runs, before a metered model call, at the end of a run). The order of submission is
the order in the journal, so any durable event has every event before it durable too: a decision
recorded in the journal was taken on exactly the events recorded before it.

If a commit fails the writer is failed: that write and everything submitted after it raise, and the
session must be reopened (its folded state may include events that were not stored).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from life_tui.journal.store import Journal, StagedBatch
from life_tui.kernel.event import Event, EventDraft


class EventWriter:
    def __init__(
        self, journal: Journal, session_id: str, branch: str, on_events: Callable[[list[Event]], None]
    ) -> None:
        self.journal = journal
        self.session_id = session_id
        self.branch = branch
        self._on_events = on_events
        self._queue: list[tuple[StagedBatch, asyncio.Future[list[Event]]]] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-writer")
        self._flusher: asyncio.Task[None] | None = None
        self._failed: BaseException | None = None

    def submit(self, drafts: list[EventDraft]) -> asyncio.Future[list[Event]]:
        """Stamp and fold ``drafts`` now; the future resolves with their events once durable (or with the
        write error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Event]] = loop.create_future()
        if self._failed is not None:
            future.set_exception(self._failed)
            future.exception()  # mark retrieved: an unawaited note's future must not warn
            return future
        try:
            staged = self.journal.stage_batch(self.session_id, self.branch, drafts)
        except BaseException as exc:  # a closed journal, a deleted branch: nothing was staged
            self._fail(exc)
            future.set_exception(exc)
            future.exception()
            return future
        self._on_events(staged.events)
        self._queue.append((staged, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return future

    async def write(self, *drafts: EventDraft) -> list[Event]:
        """Submit and wait until durable. Shielded: a cancelled run still gets its events stored, in order."""
        return await asyncio.shield(self.submit(list(drafts)))

    async def settle(self) -> None:
        """Raise the write error if a commit failed. Everything submitted is already folded (it is stamped
        and handed to ``on_events`` on submission), so a state read after this sees all of it."""
        if self._failed is not None:
            raise self._failed

    async def drain(self) -> None:
        """Wait until everything submitted so far is durable (errors are reported by their futures)."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    def _fail(self, exc: BaseException) -> None:
        self._failed = exc
        for _, future in self._queue:
            if not future.done():
                future.set_exception(exc)
                future.exception()  # mark retrieved: unawaited note futures must not warn
        self._queue = []

    def _commit(self, batch: list[StagedBatch]) -> None:
        for staged in batch:  # the first commit usually writes them all (the journal commits in groups)
            self.journal.commit(staged)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await loop.run_in_executor(self._executor, self._commit, [staged for staged, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                        future.exception()
                self._fail(exc)
                return
            for staged, future in batch:
                if not future.done():
                    future.set_result(staged.events)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
