"""The runtime's bridge to the journal: ordered, durable, group-committed writes from asyncio.

The loop ``submit``s drafts without waiting (streamed deltas) or ``write``s and awaits them (everything it
must know is stored before going on). One flusher task drains whatever is queued into a single
``append_batch`` on a dedicated thread: one fsync for a burst of deltas, the event loop never blocked by
disk I/O, and the order of submission is the order in the journal. ``on_events`` is called, in order,
with every batch once it is durable (the Session folds its state there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from life_tui.journal.store import Journal
from life_tui.kernel.event import Event, EventDraft

# Kinds the loop's decisions never read back (its fold ignores them or the loop does not consult them):
# they may ride along with the next durable write instead of costing an fsync of their own.
NOTES = frozenset({"phase.entered", "assistant.text_delta", "assistant.reasoning_delta", "budget.updated"})


class EventWriter:
    def __init__(
        self, journal: Journal, session_id: str, branch: str, on_events: Callable[[list[Event]], None]
    ) -> None:
        self.journal = journal
        self.session_id = session_id
        self.branch = branch
        self._on_events = on_events
        self._queue: list[tuple[list[EventDraft], asyncio.Future[list[Event]]]] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-writer")
        self._flusher: asyncio.Task[None] | None = None
        self._failed: BaseException | None = None
        self._unsettled = 0

    def submit(self, drafts: list[EventDraft]) -> asyncio.Future[list[Event]]:
        """Queue drafts; the future resolves with their events once durable (or with the write error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Event]] = loop.create_future()
        if self._failed is not None:
            future.set_exception(self._failed)
            return future
        self._queue.append((drafts, future))
        self._unsettled += sum(1 for d in drafts if d.kind not in NOTES)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return future

    async def write(self, *drafts: EventDraft) -> list[Event]:
        # Shielded: a cancelled run still gets the events it asked for stored, in order.
        return await asyncio.shield(self.submit(list(drafts)))

    async def settle(self) -> None:
        """Wait until every submitted event that changes the folded state is durable (and folded).

        The loop calls this before it reads the state, so its decisions depend only on what it wrote, in
        order, never on thread timing; notes (phases, deltas, budget figures) do not force an fsync.
        """
        if self._unsettled:
            await self.drain()
        if self._failed is not None:
            raise self._failed

    async def drain(self) -> None:
        """Wait until everything submitted so far is durable (errors are reported by their futures)."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            batch, self._queue = self._queue, []
            drafts = [d for ds, _ in batch for d in ds]
            try:
                events = await loop.run_in_executor(
                    self._executor, self.journal.append_batch, self.session_id, self.branch, drafts
                )
            except BaseException as exc:
                self._failed = exc
                for _, future in batch + self._queue:
                    if not future.done():
                        future.set_exception(exc)
                        future.exception()  # mark retrieved: unawaited delta futures must not warn
                self._queue = []
                return
            self._unsettled -= sum(1 for d in drafts if d.kind not in NOTES)
            self._on_events(events)
            start = 0
            for ds, future in batch:
                if not future.done():
                    future.set_result(events[start : start + len(ds)])
                start += len(ds)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
