"""The bridge: the one place the runtime's durable events become Textual messages.

``RuntimeBridge.follow`` runs on an app worker for the shown branch. It reads the branch's history up to
its head and posts one :class:`EventsReset`, then follows the journal's subscription and posts each batch
of newly stored events as :class:`EventsStored`. The subscription starts at the head read before the
history, so history and live events meet with no gap and no duplicate. Only durable events are ever
posted (the journal publishes after fsync), so the screen shows what was stored, never a guess.

Switching branch or session is a new ``follow`` on an exclusive worker: the previous one is cancelled and
its subscription closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from textual.message import Message

from life_tui.kernel.event import Event
from life_tui.tui.messages import EventsReset, EventsStored

if TYPE_CHECKING:
    from life_tui.runtime.session import Session  # a type only: the runtime loads after the first frame

RESET_WINDOW = 20_000
"""A reset carries at most the branch's last this-many events: a million-event branch opens at once.
Panes that need more read ranges through ``PaneContext.read_range`` (the event log does)."""
COALESCE_S = 1 / 30
"""After the first event of a burst, gather what else arrives within this long into the same batch: a
100 tokens/s stream becomes ~30 pane updates a second instead of 100, and typing stays responsive."""
MAX_BATCH = 512
"""At most this many events per :class:`EventsStored` (a burst is split so no frame waits on one huge fold)."""


class MessageTarget(Protocol):
    def post_message(self, message: Message) -> bool: ...


class RuntimeBridge:
    """Posts a session branch's stored events to ``target`` (the app): a reset, then live batches."""

    def __init__(self, target: MessageTarget) -> None:
        self.target = target
        self.delivered_through = 0
        """The seq of the last event posted (tests and the quit path wait on it)."""
        self._caught_up = asyncio.Event()

    def follow(self, session: Session) -> Coroutine[Any, Any, None]:
        """The worker's coroutine: reset to the branch's history, then post its live events until cancelled.

        What waiters see is reset here, when the follow is asked for, not when its worker first runs: a wait
        that starts right after a switch waits for the new branch's reset, never for the count of the branch
        followed before (a wait through seq 3 on a fork would otherwise pass on its parent's 20 at once)."""
        self._caught_up.clear()  # the same Event: a waiter that came before this follow is woken by it
        self.delivered_through = 0
        return self._follow(session)

    async def _follow(self, session: Session) -> None:
        journal = session.journal
        head = await asyncio.to_thread(journal.head, session.session_id, session.branch)
        subscription = session.subscribe(after=head)
        try:
            history = await asyncio.to_thread(
                journal.read, session.session_id, session.branch, after=max(0, head - RESET_WINDOW), through=head
            )
            self.delivered_through = head
            self.target.post_message(EventsReset(history, session.session_id, session.branch))
            self._caught_up.set()
            async for first in subscription:
                await asyncio.sleep(COALESCE_S)
                batch = [first, *subscription.drain()]
                for start in range(0, len(batch), MAX_BATCH):
                    self._post(batch[start : start + MAX_BATCH])
        finally:
            subscription.close()

    def _post(self, events: list[Event]) -> None:
        self.delivered_through = events[-1].seq
        self.target.post_message(EventsStored(events))

    async def wait_until(self, seq: int, timeout: float = 5.0) -> bool:
        """Wait until events through ``seq`` were posted (False on timeout)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await asyncio.wait_for(self._caught_up.wait(), timeout)
        except TimeoutError:
            return False
        while self.delivered_through < seq:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True
