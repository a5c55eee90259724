"""The ledger: a pure fold of ``finance.*`` events into balances, spend, reservations and budgets.

:func:`apply` folds one stored event into a :class:`LedgerState`; :func:`view` renders the state as the
readers' :class:`~life_tui.finance.view.WalletView`. The wallet service (``finance.wallet``) applies its
own reservations and settlements to the same state *before* the caller makes them durable, so the fold
is idempotent: a reservation, settlement or release counts once per ``reservation_id`` whether it is
seen in memory first, durable first, or both; deposits, budgets and refusals count once per event id.
Keeping the fold apart from the service means replay, the CLI and tests compute exactly what the live
wallet computes, with no journal, lock or clock involved.

Attribution: a settlement's spend goes to the session, branch (``session/branch``), run, invocation and
model of its reservation, to its ``task_id``, and to the UTC day of the settlement's time. Burn rate is
the settled spend whose settlement time lies in the hour before ``now`` (:data:`BURN_WINDOW_US`, event
time, so replays agree); runway is the balance over that burn.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from life_tui.finance.view import Budget, InFlight, LedgerEntry, WalletView
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Event

FINANCE_KINDS = frozenset(
    {
        k.FundsDeposited.KIND,
        k.BudgetSet.KIND,
        k.CostReserved.KIND,
        k.CostSettled.KIND,
        k.CostReleased.KIND,
        k.CostRefused.KIND,
    }
)
BURN_WINDOW_US = 3_600_000_000
"""Burn per hour is the settled spend of the last hour of event time."""
RECENT_ENTRIES = 200
"""How many ledger lines the state keeps for readers (newest last)."""


DAY_US = 86_400_000_000


def utc_day(us: int) -> str:
    """The UTC calendar day of a time in microseconds, ``YYYY-MM-DD`` (the day-budget window)."""
    return _day_name(us // DAY_US)


@functools.lru_cache(maxsize=64)
def _day_name(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * 86_400, tz=UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Where:
    """Where a finance fact happened: its session, branch, run and time (and seq once durable)."""

    session_id: str
    branch: str
    run_id: str | None
    at: int
    seq: int = 0


@dataclass
class Reservation:
    reservation_id: str
    amount_micro: int
    session_id: str
    branch: str
    run_id: str | None
    model: str
    reserved_at: int
    invocation_id: str | None = None
    seq: int = 0


@dataclass
class LedgerState:
    """Everything the fold knows. Mutable; :func:`apply` updates it in place and returns it."""

    deposits_micro: int = 0
    funded: bool = False
    spent_micro: int = 0
    open: dict[str, Reservation] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    """Reservation ids settled or released (a late duplicate of their events is ignored)."""
    seen_events: set[str] = field(default_factory=set)
    """Ids of deposit, budget and refusal events already folded."""
    by_session: dict[str, int] = field(default_factory=dict)
    by_branch: dict[str, int] = field(default_factory=dict)
    by_run: dict[str, int] = field(default_factory=dict)
    by_invocation: dict[str, int] = field(default_factory=dict)
    by_task: dict[str, int] = field(default_factory=dict)
    by_model: dict[str, int] = field(default_factory=dict)
    session_models: dict[str, dict[str, int]] = field(default_factory=dict)
    """Spend per model within each session (for a view scoped to one session)."""
    run_sessions: dict[str, str] = field(default_factory=dict)
    """The session each billed run belongs to."""
    by_day: dict[str, int] = field(default_factory=dict)
    day_limit_micro: int | None = None
    session_limits: dict[str, int] = field(default_factory=dict)
    invocation_limits: dict[str, int] = field(default_factory=dict)
    recent: deque[LedgerEntry] = field(default_factory=lambda: deque(maxlen=RECENT_ENTRIES))
    settlements: deque[tuple[int, int]] = field(default_factory=deque)
    """(settled at, micro-credits) of the settlements inside the burn window of the newest one."""
    unpriced_models: set[str] = field(default_factory=set)
    latest_us: int = 0

    # ------------------------------------------------------------------------------------- queries
    @property
    def reserved_micro(self) -> int:
        return sum(r.amount_micro for r in self.open.values())

    def balance_micro(self) -> int | None:
        """Deposits less spend less reservations in flight; None when never funded (unmetered)."""
        if not self.funded:
            return None
        return self.deposits_micro - self.spent_micro - self.reserved_micro

    def reserved_where(
        self, *, session_id: str | None = None, run_id: str | None = None, invocation_id: str | None = None
    ) -> int:
        total = 0
        for r in self.open.values():
            if session_id is not None and r.session_id != session_id:
                continue
            if run_id is not None and r.run_id != run_id:
                continue
            if invocation_id is not None and r.invocation_id != invocation_id:
                continue
            total += r.amount_micro
        return total

    def spent_on(self, day: str) -> int:
        return self.by_day.get(day, 0)

    def burn_per_hour_micro(self, now_us: int) -> int:
        """Settled spend with settlement time in ``(now - 1 h, now]``."""
        start = now_us - BURN_WINDOW_US
        return sum(amount for at, amount in self.settlements if start < at <= now_us)


# ------------------------------------------------------------------------------------------ the fold
def apply(state: LedgerState, event: Event) -> LedgerState:
    """Fold one stored event (kinds other than ``finance.*`` are ignored)."""
    if event.kind not in FINANCE_KINDS:
        return state
    where = Where(event.session_id, event.branch, event.run_id, event.occurred_at, event.seq)
    data = event.data()
    if isinstance(data, k.CostReserved):
        note_reserved(state, data, where)
    elif isinstance(data, k.CostSettled):
        note_settled(state, data, where)
    elif isinstance(data, k.CostReleased):
        note_released(state, data, where)
    elif event.event_id not in state.seen_events:
        state.seen_events.add(event.event_id)
        if isinstance(data, k.FundsDeposited):
            note_deposited(state, data, where)
        elif isinstance(data, k.BudgetSet):
            note_budget(state, data, where)
        elif isinstance(data, k.CostRefused):
            note_refused(state, data, where)
    return state


def fold_events(events: list[Event], state: LedgerState | None = None) -> LedgerState:
    state = state if state is not None else LedgerState()
    for event in events:
        apply(state, event)
    return state


def _advance(state: LedgerState, at: int) -> None:
    state.latest_us = max(state.latest_us, at)


def _entry(state: LedgerState, kind: str, amount: int, where: Where, **extra: Any) -> None:
    state.recent.append(
        LedgerEntry(
            occurred_at=where.at,
            kind=kind,
            amount_micro=amount,
            session_id=where.session_id,
            branch=where.branch,
            seq=where.seq,
            run_id=where.run_id,
            **extra,
        )
    )


def note_deposited(state: LedgerState, data: k.FundsDeposited, where: Where) -> None:
    _advance(state, where.at)
    state.funded = True
    state.deposits_micro += data.amount_micro
    _entry(state, "deposited", data.amount_micro, where, note=data.note or data.source)


def note_budget(state: LedgerState, data: k.BudgetSet, where: Where) -> None:
    _advance(state, where.at)
    limit = data.limit_micro
    if data.scope == "day":
        state.day_limit_micro = limit
    elif data.scope == "session":
        _set_or_clear(state.session_limits, where.session_id, limit)
    elif data.scope == "invocation" and data.invocation_id:
        _set_or_clear(state.invocation_limits, data.invocation_id, limit)
    note = f"{data.scope} budget " + ("cleared" if limit is None else "set")
    _entry(state, "budget_set", limit or 0, where, note=note)


def _set_or_clear(limits: dict[str, int], key: str, limit: int | None) -> None:
    if limit is None:
        limits.pop(key, None)
    else:
        limits[key] = limit


def note_reserved(state: LedgerState, data: k.CostReserved, where: Where) -> None:
    rid = data.reservation_id
    if rid in state.closed:
        return
    found = state.open.get(rid)
    if found is not None:  # applied in memory first: now durable, learn its seq
        found.seq = found.seq or where.seq
        return
    _advance(state, where.at)
    state.open[rid] = Reservation(
        reservation_id=rid,
        amount_micro=data.amount_micro,
        session_id=where.session_id,
        branch=where.branch,
        run_id=where.run_id,
        model=data.model,
        reserved_at=where.at,
        invocation_id=data.invocation_id,
        seq=where.seq,
    )
    _entry(state, "reserved", data.amount_micro, where, model=data.model, reservation_id=rid)


def note_settled(state: LedgerState, data: k.CostSettled, where: Where) -> None:
    rid = data.reservation_id
    if rid in state.closed:
        return
    _advance(state, where.at)
    state.closed.add(rid)
    reservation = state.open.pop(rid, None)
    origin = where
    invocation_id = None
    if reservation is not None:
        origin = Where(reservation.session_id, reservation.branch, reservation.run_id, where.at, where.seq)
        invocation_id = reservation.invocation_id
    amount = data.amount_micro
    state.spent_micro += amount
    _add(state.by_session, origin.session_id, amount)
    _add(state.by_branch, f"{origin.session_id}/{origin.branch}", amount)
    _add(state.by_model, data.model, amount)
    _add(state.by_day, utc_day(where.at), amount)
    _add(state.session_models.setdefault(origin.session_id, {}), data.model, amount)
    if origin.run_id:
        _add(state.by_run, origin.run_id, amount)
        state.run_sessions[origin.run_id] = origin.session_id
    if invocation_id:
        _add(state.by_invocation, invocation_id, amount)
    if data.task_id:
        _add(state.by_task, data.task_id, amount)
    if not data.priced:
        state.unpriced_models.add(data.model)
    state.settlements.append((where.at, amount))
    while state.settlements and state.settlements[0][0] <= state.latest_us - BURN_WINDOW_US:
        state.settlements.popleft()
    note = data.reason or ("estimated" if data.estimated else "")
    _entry(state, "settled", amount, where, model=data.model, reservation_id=rid, note=note)


def note_released(state: LedgerState, data: k.CostReleased, where: Where) -> None:
    rid = data.reservation_id
    if rid in state.closed:
        return
    _advance(state, where.at)
    state.closed.add(rid)
    reservation = state.open.pop(rid, None)
    amount = reservation.amount_micro if reservation is not None else 0
    model = reservation.model if reservation is not None else ""
    _entry(state, "released", amount, where, model=model, reservation_id=rid, note=data.reason)


def note_refused(state: LedgerState, data: k.CostRefused, where: Where) -> None:
    _advance(state, where.at)
    note = data.reason or f"over the {data.limit} limit ({data.available_micro} µc available)"
    _entry(state, "refused", data.amount_micro, where, model=data.model, note=note)


def _add(totals: dict[str, int], key: str, amount: int) -> None:
    totals[key] = totals.get(key, 0) + amount


# ------------------------------------------------------------------------------------------ the view
def budgets(state: LedgerState, now_us: int, session_id: str | None = None) -> list[Budget]:
    """The caps in force (the day cap, each session's cap, each invocation's cap) with their use."""
    out: list[Budget] = []
    if state.day_limit_micro is not None:
        out.append(
            Budget(
                scope="day",
                limit_micro=state.day_limit_micro,
                spent_micro=state.spent_on(utc_day(now_us)),
                reserved_micro=state.reserved_micro,
            )
        )
    for sid, limit in sorted(state.session_limits.items()):
        if session_id is None or sid == session_id:
            out.append(
                Budget(
                    scope=f"session {sid}",
                    limit_micro=limit,
                    spent_micro=state.by_session.get(sid, 0),
                    reserved_micro=state.reserved_where(session_id=sid),
                )
            )
    for iid, limit in sorted(state.invocation_limits.items()):
        if session_id is None:
            out.append(
                Budget(
                    scope=f"invocation {iid}",
                    limit_micro=limit,
                    spent_micro=state.by_invocation.get(iid, 0),
                    reserved_micro=state.reserved_where(invocation_id=iid),
                )
            )
    return out


def view(state: LedgerState, now_us: int, *, session_id: str | None = None, recent: int = 50) -> WalletView:
    """What readers see at ``now_us``; ``session_id`` narrows the breakdown, reservations and entries."""
    balance = state.balance_micro()
    burn = state.burn_per_hour_micro(now_us)
    runway = balance / burn if balance is not None and burn > 0 else None

    def mine(key: str) -> bool:
        return session_id is None or key == session_id or key.startswith(session_id + "/")

    in_flight = [
        InFlight(
            reservation_id=r.reservation_id,
            amount_micro=r.amount_micro,
            session_id=r.session_id,
            branch=r.branch,
            run_id=r.run_id,
            model=r.model,
            reserved_at=r.reserved_at,
        )
        for r in sorted(state.open.values(), key=lambda r: r.reserved_at)
        if mine(r.session_id)
    ]
    entries = [e for e in state.recent if mine(e.session_id)][-recent:] if recent > 0 else []
    return WalletView(
        funded=state.funded,
        deposits_micro=state.deposits_micro,
        spent_micro=state.spent_micro if session_id is None else state.by_session.get(session_id, 0),
        reserved_micro=state.reserved_micro if session_id is None else state.reserved_where(session_id=session_id),
        balance_micro=balance,
        spent_today_micro=state.spent_on(utc_day(now_us)),
        burn_per_hour_micro=burn,
        runway_hours=runway,
        by_session={s: v for s, v in state.by_session.items() if mine(s)},
        by_branch={b: v for b, v in state.by_branch.items() if mine(b)},
        by_run={r: v for r, v in state.by_run.items() if mine(state.run_sessions.get(r, ""))},
        by_task=dict(state.by_task),
        by_model=dict(state.by_model) if session_id is None else dict(state.session_models.get(session_id, {})),
        budgets=budgets(state, now_us, session_id),
        in_flight=in_flight,
        recent=entries,
        unpriced_models=sorted(state.unpriced_models),
    )
