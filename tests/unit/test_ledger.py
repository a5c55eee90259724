"""The ledger fold: deposits, reservations, settlements, budgets, burn and runway, idempotence."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from life_tui.finance import ledger
from life_tui.finance.billing import bill_micro, worst_case_micro
from life_tui.finance.ledger import BURN_WINDOW_US, LedgerState, fold_events, utc_day
from life_tui.finance.pricing import CONSERVATIVE, Price, price_for
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Event, encode_payload

T0 = 1_763_683_200_000_000  # 2025-11-21 00:00:00 UTC
HOUR = 3_600_000_000
_ids = itertools.count(1)


def ev(payload: k.Payload, *, at: int = T0, session: str = "S1", branch: str = "main", run: str | None = "R1") -> Event:
    n = next(_ids)
    return Event(
        event_id=f"E{n:05d}",
        session_id=session,
        branch=branch,
        seq=n,
        kind=payload.KIND,
        occurred_at=at,
        run_id=run,
        payload=encode_payload(payload),
    )


def reserved(rid: str, amount: int, model: str = "m", **kw: Any) -> Event:
    return ev(k.CostReserved(reservation_id=rid, amount_micro=amount, model=model), **kw)


def settled(rid: str, amount: int, model: str = "m", **kw: Any) -> Event:
    extra = {name: kw.pop(name) for name in ("priced", "task_id", "estimated") if name in kw}
    return ev(k.CostSettled(reservation_id=rid, amount_micro=amount, model=model, **extra), **kw)


def test_unfunded_wallet_is_unmetered_and_counts_spend() -> None:
    state = fold_events([reserved("a", 500), settled("a", 120)])
    assert state.balance_micro() is None and not state.funded
    assert state.spent_micro == 120 and state.reserved_micro == 0
    view = ledger.view(state, T0)
    assert view.balance_micro is None and view.runway_hours is None
    assert [e.kind for e in view.recent] == ["reserved", "settled"]


def test_deposit_reserve_settle_release_table() -> None:
    steps: list[tuple[Event, int, int, int | None]] = [
        # event, spent, reserved, balance
        (ev(k.FundsDeposited(amount_micro=1_000_000)), 0, 0, 1_000_000),
        (reserved("a", 300_000), 0, 300_000, 700_000),
        (reserved("b", 200_000), 0, 500_000, 500_000),
        (settled("a", 120_000), 120_000, 200_000, 680_000),
        (ev(k.CostReleased(reservation_id="b", reason="provider failed")), 120_000, 0, 880_000),
        (ev(k.FundsDeposited(amount_micro=20_000)), 120_000, 0, 900_000),
    ]
    state = LedgerState()
    for event, spent, in_flight, balance in steps:
        ledger.apply(state, event)
        assert (state.spent_micro, state.reserved_micro, state.balance_micro()) == (spent, in_flight, balance), (
            event.kind
        )


def test_spend_breakdown_by_session_branch_run_task_model_day() -> None:
    state = fold_events(
        [
            reserved("a", 10, session="S1", branch="main", run="R1", model="m1"),
            settled("a", 7, model="m1", task_id="T", session="S1", branch="main", run="R1"),
            reserved("b", 10, session="S1", branch="fork-1", run="R2", model="m2", at=T0 + 25 * HOUR),
            # the settlement lives on another branch (reconciled elsewhere): attribution follows the reservation
            settled("b", 5, model="m2", session="00", branch="wallet", run="R2", at=T0 + 25 * HOUR),
            reserved("c", 10, session="S2", run="R3"),
            settled("c", 3, session="S2", run="R3", priced=False, model="mystery"),
        ]
    )
    assert state.by_session == {"S1": 12, "S2": 3}
    assert state.by_branch == {"S1/main": 7, "S1/fork-1": 5, "S2/main": 3}
    assert state.by_run == {"R1": 7, "R2": 5, "R3": 3}
    assert state.by_task == {"T": 7}
    assert state.by_model == {"m1": 7, "m2": 5, "mystery": 3}
    assert state.by_day == {utc_day(T0): 10, utc_day(T0 + 25 * HOUR): 5}
    assert state.unpriced_models == {"mystery"}
    scoped = ledger.view(state, T0, session_id="S1")
    assert scoped.spent_micro == 12 and scoped.by_session == {"S1": 12}
    assert scoped.by_run == {"R1": 7, "R2": 5}
    assert scoped.by_model == {"m1": 7, "m2": 5}
    assert all(e.session_id == "S1" for e in scoped.recent)


def test_each_reservation_counts_once_whatever_the_order_it_is_seen_in() -> None:
    events = [reserved("a", 100), settled("a", 40), reserved("b", 50), ev(k.CostReleased(reservation_id="b"))]
    once = fold_events(events)
    twice = fold_events(events + events)
    # applied in memory first (as the wallet does), then seen durable
    memory = LedgerState()
    where = ledger.Where("S1", "main", "R1", T0)
    ledger.note_reserved(memory, k.CostReserved(reservation_id="a", amount_micro=100, model="m"), where)
    ledger.note_settled(memory, k.CostSettled(reservation_id="a", amount_micro=40, model="m"), where)
    fold_events(events, memory)
    # a late durable reservation after its settlement does not reopen it
    late = fold_events([settled("a", 40), reserved("a", 100)])
    for state in (once, twice, memory):
        assert (state.spent_micro, state.reserved_micro, len(state.open)) == (40, 0, 0)
    assert (late.spent_micro, late.reserved_micro) == (40, 0)
    deposit = ev(k.FundsDeposited(amount_micro=5))
    assert fold_events([deposit, deposit]).deposits_micro == 5


def test_budgets_set_and_cleared() -> None:
    state = fold_events(
        [
            ev(k.BudgetSet(scope="day", limit_micro=1_000_000), session="00", branch="wallet"),
            ev(k.BudgetSet(scope="session", limit_micro=200_000), session="S1"),
            ev(k.BudgetSet(scope="invocation", limit_micro=50_000, invocation_id="I1"), session="S1"),
            reserved("a", 30_000, session="S1"),
        ]
    )
    views = {b.scope: b for b in ledger.view(state, T0).budgets}
    assert views["day"].limit_micro == 1_000_000 and views["day"].reserved_micro == 30_000
    assert views["session S1"].available_micro == 170_000
    assert views["invocation I1"].limit_micro == 50_000
    ledger.apply(state, ev(k.BudgetSet(scope="day"), session="00", branch="wallet"))
    ledger.apply(state, ev(k.BudgetSet(scope="session"), session="S1"))
    assert state.day_limit_micro is None and state.session_limits == {}


def test_burn_is_the_last_hour_of_settled_spend_and_runway_follows() -> None:
    state = fold_events(
        [
            ev(k.FundsDeposited(amount_micro=10_000_000)),
            reserved("old", 1_000_000),
            settled("old", 1_000_000, at=T0 + 1),
            reserved("a", 500_000, at=T0 + 2 * HOUR),
            settled("a", 400_000, at=T0 + 2 * HOUR),
            reserved("b", 500_000, at=T0 + 2 * HOUR + 30 * 60_000_000),
            settled("b", 200_000, at=T0 + 2 * HOUR + 30 * 60_000_000),
        ]
    )
    now = T0 + 2 * HOUR + 40 * 60_000_000
    assert state.burn_per_hour_micro(now) == 600_000  # the first settlement is outside the window
    view = ledger.view(state, now)
    assert view.balance_micro == 10_000_000 - 1_600_000
    assert view.runway_hours == pytest.approx(8_400_000 / 600_000)
    assert ledger.view(state, now + BURN_WINDOW_US).burn_per_hour_micro == 0
    assert ledger.view(state, now + BURN_WINDOW_US).runway_hours is None
    assert len(state.settlements) == 2  # the window is bounded, not every settlement ever


def test_refusals_are_entries_not_spend_and_recent_is_bounded() -> None:
    refusal = ev(k.CostRefused(amount_micro=9, limit="day", available_micro=3, model="m"))
    state = fold_events([refusal, refusal])
    assert state.spent_micro == 0 and [e.kind for e in state.recent] == ["refused"]
    for i in range(ledger.RECENT_ENTRIES + 10):
        ledger.apply(state, ev(k.FundsDeposited(amount_micro=1)))
        assert len(state.recent) == min(i + 2, ledger.RECENT_ENTRIES)
    assert len(ledger.view(state, T0, recent=5).recent) == 5


def test_worst_case_and_bill() -> None:
    price = Price(input=3.0, output=15.0, cached_input=0.3)
    assert worst_case_micro(price, input_tokens=1000, max_tokens=4096) == 3000 + 61_440
    assert worst_case_micro(price, input_tokens=0, max_tokens=100, thinking_budget=1000) == 1500 + 15_000
    assert bill_micro((price, True), input_tokens=1000, output_tokens=100, cached_tokens=10) == (3000 + 1500 + 3, True)
    assert bill_micro((price, True), input_tokens=1, output_tokens=0, cached_tokens=1) == (4, True)  # 3.3 up to 4
    assert bill_micro(price_for("never-heard-of-it"), input_tokens=1, output_tokens=1) == (90, False)
    assert price_for("never-heard-of-it")[0] is CONSERVATIVE
    # the worst case always covers the bill of a call that stays within it
    for inp, out, cached in [(1000, 4096, 0), (0, 1, 500), (700, 0, 300)]:
        assert bill_micro((price, True), input_tokens=inp, output_tokens=out, cached_tokens=cached)[0] <= (
            worst_case_micro(price, input_tokens=inp + cached, max_tokens=4096)
        )
