"""B1: 50 concurrent calls each reserving $0.05 against a $1.00 budget, 100 times, with threads and with
asyncio tasks. At most 20 are admitted, the rest refused before any call, and spend + reserved never goes
over $1.00 at any moment (a sampler thread watches it while the burst runs)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from life_tui.finance.view import to_micro
from life_tui.finance.wallet import Wallet
from life_tui.journal import Journal, JournalOptions
from life_tui.kernel import kinds as k
from life_tui.kernel.event import EventDraft

BUDGET = to_micro(1.00)
WORST_CASE = to_micro(0.05)
CALLS = 50
REPETITIONS = 100


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "j", options=JournalOptions(background=False)) as j:
        yield j


class Sampler:
    """Watches the wallet's committed total from another thread while a burst runs."""

    def __init__(self, read: Callable[[], int]) -> None:
        self.read = read
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.read())
            self.samples += 1
            time.sleep(0)  # yield the GIL: watch, do not starve the burst

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def call(
    wallet: Wallet, journal: Journal | None, sid: str, run: str, *, durable: bool, scoped: bool
) -> k.CostReserved | k.CostRefused:
    """One model call's bookkeeping: reserve (and record it) before the call; refused calls never run."""
    answer = wallet.reserve(session_id=sid, branch="main", run_id=run, amount_micro=WORST_CASE, model="m")
    committed = wallet.committed_micro(sid if scoped else None)
    assert committed <= BUDGET, committed
    if durable and journal is not None:
        wallet.apply([journal.append(sid, "main", EventDraft(kind=answer.KIND, payload=answer, run_id=run))])
    return answer


def settle_all(wallet: Wallet, admitted: list[k.CostReserved]) -> None:
    for r in admitted:
        wallet.settle(r.reservation_id, amount_micro=WORST_CASE, model="m")  # the worst case, every time


def outcome(answers: list[k.CostReserved | k.CostRefused]) -> tuple[list[k.CostReserved], list[k.CostRefused]]:
    admitted = [a for a in answers if isinstance(a, k.CostReserved)]
    refused = [a for a in answers if isinstance(a, k.CostRefused)]
    return admitted, refused


@pytest.mark.parametrize("cap", ["session", "balance"])
def test_b1_threads(journal: Journal, cap: str) -> None:
    wallet = Wallet.open(journal)
    if cap == "balance":
        wallet.fund(BUDGET)
    current = [""]
    scoped = cap == "session"

    def watched() -> int:
        return wallet.committed_micro(current[0] if scoped else None)

    with ThreadPoolExecutor(max_workers=CALLS) as pool, Sampler(watched) as sampler:
        for rep in range(REPETITIONS):
            sid = journal.create_session(f"b1-{rep}").session_id
            current[0] = sid
            if cap == "session":
                wallet.set_budget("session", BUDGET, session_id=sid)
            start = threading.Barrier(CALLS)
            durable = rep % 10 == 0  # every tenth repetition records its events durably, like a session

            def one(
                i: int, sid: str = sid, start: threading.Barrier = start, durable: bool = durable
            ) -> k.CostReserved | k.CostRefused:
                start.wait()
                return call(wallet, journal, sid, f"run-{i}", durable=durable, scoped=scoped)

            admitted, refused = outcome(list(pool.map(one, range(CALLS))))
            budget_left = BUDGET - (wallet.view().spent_micro if cap == "balance" else 0)
            assert len(admitted) == min(20, budget_left // WORST_CASE), rep
            assert len(refused) == CALLS - len(admitted)
            assert {r.limit for r in refused} == {cap}
            settle_all(wallet, admitted)
            if cap == "balance":
                break  # the balance is spent: later repetitions would all be refused
            assert wallet.view(session_id=sid).spent_micro == BUDGET
    assert sampler.peak <= BUDGET
    if cap == "balance":
        assert wallet.view().balance_micro == 0
    assert sampler.samples > 0


async def test_b1_asyncio_tasks(journal: Journal) -> None:
    wallet = Wallet.open(journal)
    wallet.set_budget("day", BUDGET)
    for rep in range(REPETITIONS):
        sid = journal.create_session(f"b1-async-{rep}").session_id
        before = wallet.view().spent_micro

        async def one(i: int, sid: str = sid) -> k.CostReserved | k.CostRefused:
            await asyncio.sleep(0)  # every task is started before any reserves
            if i % 2:  # half of them from worker threads, as a session's provider calls may be
                return await asyncio.to_thread(call, wallet, None, sid, f"run-{i}", durable=False, scoped=False)
            return call(wallet, None, sid, f"run-{i}", durable=False, scoped=False)

        admitted, refused = outcome(list(await asyncio.gather(*(one(i) for i in range(CALLS)))))
        assert len(admitted) == 20 and len(refused) == 30 and {r.limit for r in refused} == {"day"}
        for r in admitted:  # the calls were not made: give it all back, so every repetition starts afresh
            wallet.release(r.reservation_id, reason="not made")
        assert wallet.view().spent_micro == before and wallet.view().reserved_micro == 0
        assert wallet.committed_micro() <= BUDGET
