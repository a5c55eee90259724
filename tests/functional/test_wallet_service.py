"""The wallet over a real journal: where events go, every cap, counting once, reopening."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from life_tui.errors import Conflict, InvalidInput, NotFound
from life_tui.finance.ledger import utc_day
from life_tui.finance.wallet import WALLET_BRANCH, Wallet, load_ledger, wallet_for
from life_tui.journal import Journal, JournalOptions
from life_tui.journal.view import SYSTEM_SESSION
from life_tui.kernel import kinds as k
from life_tui.kernel.clock import FakeClock
from life_tui.kernel.event import EventDraft

DAY_US = 86_400_000_000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def journal(tmp_path: Path, clock: FakeClock) -> Iterator[Journal]:
    with Journal.open(tmp_path / "j", options=JournalOptions(background=False), clock=clock) as j:
        yield j


def durable(journal: Journal, wallet: Wallet, sid: str, payload: k.Payload, run: str | None = "R1") -> None:
    """What a session does: append the wallet's payload to its branch and forward the durable event."""
    wallet.apply([journal.append(sid, "main", EventDraft(kind=payload.KIND, payload=payload, run_id=run))])


def test_reserve_settle_are_recorded_in_the_session_and_count_once(journal: Journal) -> None:
    sid = journal.create_session("s").session_id
    wallet = Wallet.open(journal)
    reservation = wallet.reserve(session_id=sid, branch="main", run_id="R1", amount_micro=500, model="m")
    assert isinstance(reservation, k.CostReserved) and reservation.balance_after_micro is None
    durable(journal, wallet, sid, reservation)
    settlement = wallet.settle(reservation.reservation_id, amount_micro=120, model="m", input_tokens=10)
    durable(journal, wallet, sid, settlement)
    view = wallet.view()
    assert (view.spent_micro, view.reserved_micro, view.by_branch) == (120, 0, {f"{sid}/main": 120})
    kinds = [e.kind for e in journal.read(sid, "main")]
    assert kinds[-2:] == ["finance.reserved", "finance.settled"]
    with pytest.raises(Conflict):
        wallet.settle(reservation.reservation_id, amount_micro=1, model="m")
    with pytest.raises(NotFound):
        wallet.release("no-such-reservation")
    reopened = Wallet.open(journal)
    assert reopened.view().spent_micro == 120 and reopened.reconciled == []


def test_deposits_and_day_budget_live_on_the_wallet_branch(journal: Journal) -> None:
    wallet = Wallet.open(journal)
    wallet.fund(2_000_000, note="first")
    wallet.set_budget("day", 1_500_000)
    own = journal.read(SYSTEM_SESSION, WALLET_BRANCH, after=0)
    assert [e.kind for e in own][-2:] == ["finance.deposited", "finance.budget_set"]
    assert SYSTEM_SESSION not in {s.session_id for s in journal.sessions()}
    assert wallet.view().balance_micro == 2_000_000
    with pytest.raises(InvalidInput):
        wallet.fund(0)
    with pytest.raises(InvalidInput):
        wallet.set_budget("week", 1)
    with pytest.raises(InvalidInput):
        wallet.set_budget("session", 1)


@pytest.mark.parametrize(
    ("setup", "limit", "reserve_kw"),
    [
        ("fund", "balance", {}),
        ("day", "day", {}),
        ("session", "session", {}),
        ("invocation", "invocation", {"invocation_id": "I1"}),
        ("none", "run", {"run_limit_micro": 1_000}),
    ],
)
def test_each_cap_refuses_what_would_go_over_it(
    journal: Journal, setup: str, limit: str, reserve_kw: dict[str, object]
) -> None:
    sid = journal.create_session("s").session_id
    wallet = Wallet.open(journal)
    if setup == "fund":
        wallet.fund(1_000)
    elif setup in ("day", "session"):
        wallet.set_budget(setup, 1_000, session_id=sid)
    elif setup == "invocation":
        wallet.set_budget("invocation", 1_000, session_id=sid, invocation_id="I1")

    def ask(amount: int) -> k.CostReserved | k.CostRefused:
        return wallet.reserve(session_id=sid, branch="main", run_id="R1", amount_micro=amount, model="m", **reserve_kw)  # type: ignore[arg-type]

    first = ask(600)
    assert isinstance(first, k.CostReserved)
    refused = ask(600)
    assert isinstance(refused, k.CostRefused)
    assert (refused.limit, refused.available_micro) == (limit, 400)
    assert isinstance(ask(400), k.CostReserved)  # exactly up to the cap is fine
    wallet.release(first.reservation_id)
    assert isinstance(ask(600), k.CostReserved)  # released headroom is available again
    durable(journal, wallet, sid, refused)
    assert wallet.view().recent[-1].kind == "refused"


def test_caps_of_other_sessions_and_runs_do_not_interfere(journal: Journal) -> None:
    a = journal.create_session("a").session_id
    b = journal.create_session("b").session_id
    wallet = Wallet.open(journal)
    wallet.set_budget("session", 100, session_id=a)
    assert isinstance(
        wallet.reserve(session_id=a, branch="main", run_id="R1", amount_micro=100, model="m"), k.CostReserved
    )
    assert isinstance(
        wallet.reserve(session_id=b, branch="main", run_id="R2", amount_micro=10_000, model="m"), k.CostReserved
    )
    capped = wallet.reserve(session_id=b, branch="main", run_id="R3", amount_micro=10, model="m", run_limit_micro=10)
    assert isinstance(capped, k.CostReserved)


def test_the_day_window_follows_utc_days(journal: Journal, clock: FakeClock) -> None:
    sid = journal.create_session("s").session_id
    wallet = Wallet.open(journal)
    wallet.set_budget("day", 1_000)
    r = wallet.reserve(session_id=sid, branch="main", run_id="R1", amount_micro=900, model="m")
    assert isinstance(r, k.CostReserved)
    durable(journal, wallet, sid, r)
    durable(journal, wallet, sid, wallet.settle(r.reservation_id, amount_micro=900, model="m"))
    assert isinstance(
        wallet.reserve(session_id=sid, branch="main", run_id="R2", amount_micro=200, model="m"), k.CostRefused
    )
    reopened = Wallet.open(journal)  # a restart does not reset the window
    assert reopened.view().spent_today_micro == 900
    assert isinstance(
        reopened.reserve(session_id=sid, branch="main", run_id="R2", amount_micro=200, model="m"), k.CostRefused
    )
    clock.advance(DAY_US / 1_000_000)
    assert utc_day(clock.now_us()) != utc_day(clock.now_us() - DAY_US)
    assert isinstance(
        reopened.reserve(session_id=sid, branch="main", run_id="R2", amount_micro=200, model="m"), k.CostReserved
    )


def test_forked_branches_do_not_count_inherited_spend_twice(journal: Journal) -> None:
    sid = journal.create_session("s").session_id
    wallet = Wallet.open(journal)
    r = wallet.reserve(session_id=sid, branch="main", run_id="R1", amount_micro=50, model="m")
    assert isinstance(r, k.CostReserved)
    durable(journal, wallet, sid, r)
    durable(journal, wallet, sid, wallet.settle(r.reservation_id, amount_micro=50, model="m"))
    journal.fork(sid, "main", journal.head(sid), "alt")
    state = load_ledger(journal)
    assert state.spent_micro == 50 and state.by_branch == {f"{sid}/main": 50}


def test_wallet_for_opens_once_per_journal(journal: Journal) -> None:
    assert wallet_for(journal) is wallet_for(journal)


def test_sealed_segments_and_the_tail_fold_the_same(journal: Journal) -> None:
    """Once segments exist the wallet reads them through DuckDB; the result matches the in-memory path."""
    sid = journal.create_session("s").session_id
    wallet = Wallet.open(journal)
    wallet.fund(1_000_000)
    for i in range(3):
        r = wallet.reserve(session_id=sid, branch="main", run_id=f"R{i}", amount_micro=100, model="m")
        assert isinstance(r, k.CostReserved)
        durable(journal, wallet, sid, r, run=f"R{i}")
        if i < 2:
            durable(journal, wallet, sid, wallet.settle(r.reservation_id, amount_micro=40 + i, model="m"), run=f"R{i}")
        if i == 0:
            assert not journal.manifest().segments
            in_memory = load_ledger(journal)
            assert (in_memory.spent_micro, in_memory.deposits_micro) == (40, 1_000_000)
            journal.seal()
            assert journal.manifest().segments
    sealed_and_tail = load_ledger(journal)
    assert (sealed_and_tail.spent_micro, sealed_and_tail.reserved_micro) == (81, 100)
    assert sealed_and_tail.by_run == {"R0": 40, "R1": 41} and sealed_and_tail.deposits_micro == 1_000_000
    in_flight = Wallet.open(journal, reconcile=False).view().in_flight
    assert [f.reservation_id for f in in_flight] == list(sealed_and_tail.open) and in_flight[0].run_id == "R2"
