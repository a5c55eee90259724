"""The wallet service: the one authoritative ledger of a journal, with atomic reservations.

There is one writer process per journal, so the wallet it holds sees every finance fact and its totals
are the truth; readers (``life-tui wallet`` beside a running TUI) fold the journal themselves with
:func:`load_ledger`. :meth:`Wallet.open` folds every ``finance.*`` event of the journal and reconciles
reservations a dead process left open (see :meth:`Wallet.reconcile`).

**Where events live.** Reservations, settlements, releases, refusals and session or invocation budgets
belong to the session branch that made the call, so a session's events alone explain its spend and a
replay reproduces every decision. :meth:`Wallet.reserve`, :meth:`Wallet.settle` and
:meth:`Wallet.release` apply their fact in memory under the lock and return the payload; the *caller*
appends it durably to the session branch (a reservation before calling the provider) and forwards the
durable events to :meth:`Wallet.apply`, which counts each reservation once. Deposits and the day budget
are shared by every session: :meth:`Wallet.fund` and :meth:`Wallet.set_budget` append them to the
``wallet`` branch of the system session themselves.

**Caps.** A reservation is refused when its amount would take the spend plus the reservations in flight
over any of: the run cap (``run_limit_micro``), the invocation cap (headless ``--max-budget-usd``), the
session cap, the day cap (today's spend plus *every* reservation in flight, as an in-flight call settles
today), or the balance when the wallet is funded; an unfunded wallet is unmetered and only caps apply.
"""

from __future__ import annotations

import contextlib
import threading
import weakref

import msgspec

from life_tui.errors import Conflict, InvalidInput, NotFound
from life_tui.finance import ledger
from life_tui.finance.billing import bill_micro, worst_case_micro
from life_tui.finance.ledger import FINANCE_KINDS, LedgerState, Reservation, Where, utc_day
from life_tui.finance.pricing import price_for
from life_tui.finance.view import WalletView, to_micro
from life_tui.journal.catalog import MAIN
from life_tui.journal.sql import stored_events_of_kinds
from life_tui.journal.store import Journal
from life_tui.journal.view import SYSTEM_SESSION, JournalView
from life_tui.kernel import kinds as k
from life_tui.kernel.clock import Clock, SystemClock
from life_tui.kernel.event import Actor, Event, EventDraft
from life_tui.kernel.ids import new_ulid

__all__ = ["WALLET_BRANCH", "Wallet", "bill_micro", "load_ledger", "wallet_for", "worst_case_micro"]

WALLET_BRANCH = "wallet"
SCOPES = ("day", "session", "invocation")
RECONCILED_COMPLETED = "reconciled: the call completed before the crash"
RECONCILED_INTERRUPTED = "reconciled: interrupted, usage unknown"


def finance_events(view: JournalView) -> list[Event]:
    """Every ``finance.*`` event of the journal, each once (where it is stored, never as inherited by a
    fork), in time order. The journal picks the fast path (``journal.sql.stored_events_of_kinds``): with
    300k events of which 6k are finance events, 0.33 s (0.72 s cold, DuckDB's import included) against
    1.55 s for branch reads that decode every row (``bench/wallet.py``, 2-core machine under load).
    """
    found = stored_events_of_kinds(view, FINANCE_KINDS)
    found.sort(key=lambda e: (e.occurred_at, e.session_id, e.branch, e.seq))
    return found


def load_ledger(view: JournalView) -> LedgerState:
    """The ledger as the journal records it (no reconciliation: readers never write)."""
    return ledger.fold_events(finance_events(view))


class Wallet:
    """Thread-safe: every method may be called from any thread (and from asyncio tasks; none blocks on
    I/O while holding the lock)."""

    def __init__(self, journal: Journal, clock: Clock, state: LedgerState) -> None:
        self.journal = journal
        self.clock = clock
        self._state = state
        self._lock = threading.Lock()
        self.reconciled: list[k.CostSettled] = []
        """What :meth:`reconcile` settled when the wallet was opened."""

    @classmethod
    def open(cls, journal: Journal, clock: Clock | None = None, *, reconcile: bool = True) -> Wallet:
        wallet = cls(journal, clock or journal.clock or SystemClock(), load_ledger(journal))
        if reconcile:
            wallet.reconcile()
        return wallet

    # ------------------------------------------------------------------------------ reconciliation
    def reconcile(self) -> list[k.CostSettled]:
        """Settle reservations no process will settle any more (reserved, then the process died).

        If the same run's ``assistant.message`` after the reservation (and before the run's next
        reservation) reports usage or cost, the call completed: settle at that cost. Otherwise settle at
        the full reserved amount, ``estimated``: spend plus reservations never drops below what it was
        before the crash. Each settlement is appended to the reservation's branch (the wallet branch if
        that branch can no longer be written).
        """
        with self._lock:
            dangling = sorted(self._state.open.values(), key=lambda r: r.reserved_at)
        settled: list[k.CostSettled] = []
        for reservation in dangling:
            payload = self._reconciliation(reservation)
            draft = EventDraft(kind=payload.KIND, payload=payload, actor=Actor.SYSTEM, run_id=reservation.run_id)
            try:
                event = self.journal.append(reservation.session_id, reservation.branch, draft)
            except (Conflict, NotFound):
                event = self.journal.append_batch(*self._wallet_branch(), [draft])[0]
            with self._lock:
                ledger.apply(self._state, event)
            settled.append(payload)
        self.reconciled.extend(settled)
        return settled

    def _reconciliation(self, r: Reservation) -> k.CostSettled:
        kinds = (k.AssistantMessage.KIND, k.CostReserved.KIND)
        for event in self.journal.read(r.session_id, r.branch, after=r.seq, kinds=kinds):
            if event.run_id != r.run_id:
                continue
            if event.kind == k.CostReserved.KIND:
                break  # the run's next call: this one never produced a message
            message = event.data()
            if not isinstance(message, k.AssistantMessage) or not (message.usage or message.cost_usd is not None):
                break
            tokens = message.usage
            input_tokens = int(tokens.get("input_tokens", 0))
            output_tokens = int(tokens.get("output_tokens", 0))
            cached_tokens = int(tokens.get("cached_tokens", 0))
            if message.cost_usd is not None:
                amount, priced = to_micro(message.cost_usd), True
            else:
                amount, priced = bill_micro(
                    price_for(r.model),
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    cached_tokens=cached_tokens,
                )
            return k.CostSettled(
                reservation_id=r.reservation_id,
                amount_micro=amount,
                model=message.model or r.model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cached_tokens=cached_tokens,
                reasoning_tokens=int(tokens.get("reasoning_tokens", 0)),
                priced=priced,
                reason=RECONCILED_COMPLETED,
            )
        return k.CostSettled(
            reservation_id=r.reservation_id,
            amount_micro=r.amount_micro,
            model=r.model,
            estimated=True,
            reason=RECONCILED_INTERRUPTED,
        )

    # -------------------------------------------------------------------------------- reservations
    def reserve(
        self,
        *,
        session_id: str,
        branch: str,
        run_id: str | None,
        amount_micro: int,
        model: str,
        invocation_id: str | None = None,
        run_limit_micro: int | None = None,
        now_us: int | None = None,
    ) -> k.CostReserved | k.CostRefused:
        """Reserve ``amount_micro`` if every cap allows it (atomically); else say which cap refused.

        The caller appends the returned payload to ``session_id``/``branch`` (with ``run_id``) before
        making the call. A refusal is not applied here: it enters the ledger once it is durable.
        """
        if amount_micro < 0:
            raise InvalidInput(f"a reservation cannot be negative ({amount_micro} µc)")
        now = self.clock.now_us() if now_us is None else now_us
        with self._lock:
            state = self._state
            refusal = self._first_refusal(state, session_id, run_id, invocation_id, run_limit_micro, now, amount_micro)
            if refusal is not None:
                limit, available = refusal
                return k.CostRefused(
                    amount_micro=amount_micro,
                    limit=limit,
                    available_micro=available,
                    model=model,
                    reason=f"the call may cost {amount_micro} µc; the {limit} limit leaves {max(available, 0)} µc",
                )
            balance = state.balance_micro()
            payload = k.CostReserved(
                reservation_id=new_ulid(now // 1000),
                amount_micro=amount_micro,
                model=model,
                invocation_id=invocation_id,
                balance_after_micro=None if balance is None else balance - amount_micro,
                burn_per_hour_micro=state.burn_per_hour_micro(now),
            )
            ledger.note_reserved(state, payload, Where(session_id, branch, run_id, now))
            return payload

    @staticmethod
    def _first_refusal(
        state: LedgerState,
        session_id: str,
        run_id: str | None,
        invocation_id: str | None,
        run_limit: int | None,
        now: int,
        amount: int,
    ) -> tuple[str, int] | None:
        """``(limit, available µc)`` of the first cap the amount would break (run, invocation, session,
        day, balance), or None."""
        in_flight = list(state.open.values())
        caps: list[tuple[str, int | None, int]] = []
        if run_limit is not None:
            run_used = state.by_run.get(run_id, 0) if run_id else 0
            caps.append(("run", run_limit, run_used + sum(r.amount_micro for r in in_flight if r.run_id == run_id)))
        if invocation_id is not None and invocation_id in state.invocation_limits:
            used = state.by_invocation.get(invocation_id, 0)
            used += sum(r.amount_micro for r in in_flight if r.invocation_id == invocation_id)
            caps.append(("invocation", state.invocation_limits[invocation_id], used))
        if session_id in state.session_limits:
            used = state.by_session.get(session_id, 0)
            used += sum(r.amount_micro for r in in_flight if r.session_id == session_id)
            caps.append(("session", state.session_limits[session_id], used))
        if state.day_limit_micro is not None:
            used = state.spent_on(utc_day(now)) + sum(r.amount_micro for r in in_flight)
            caps.append(("day", state.day_limit_micro, used))
        if state.funded:
            caps.append(("balance", state.deposits_micro, state.spent_micro + sum(r.amount_micro for r in in_flight)))
        for name, limit, used in caps:
            if limit is not None and used + amount > limit:
                return name, limit - used
        return None

    def settle(
        self,
        reservation_id: str,
        *,
        amount_micro: int,
        model: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_tokens: int = 0,
        reasoning_tokens: int = 0,
        priced: bool = True,
        estimated: bool = False,
        task_id: str | None = None,
        reason: str = "",
        now_us: int | None = None,
    ) -> k.CostSettled:
        """Settle an open reservation at the call's actual cost; the caller appends the payload."""
        now = self.clock.now_us() if now_us is None else now_us
        with self._lock:
            reservation = self._open(reservation_id)
            payload = k.CostSettled(
                reservation_id=reservation_id,
                amount_micro=amount_micro,
                model=model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cached_tokens=cached_tokens,
                reasoning_tokens=reasoning_tokens,
                priced=priced,
                estimated=estimated,
                task_id=task_id,
                reason=reason,
            )
            where = Where(reservation.session_id, reservation.branch, reservation.run_id, now)
            ledger.note_settled(self._state, payload, where)
            balance = self._state.balance_micro()
            burn = self._state.burn_per_hour_micro(now)
        return msgspec.structs.replace(payload, balance_after_micro=balance, burn_per_hour_micro=burn)

    def release(self, reservation_id: str, reason: str = "", now_us: int | None = None) -> k.CostReleased:
        """Give an open reservation back unspent; the caller appends the payload."""
        now = self.clock.now_us() if now_us is None else now_us
        with self._lock:
            reservation = self._open(reservation_id)
            payload = k.CostReleased(reservation_id=reservation_id, reason=reason)
            where = Where(reservation.session_id, reservation.branch, reservation.run_id, now)
            ledger.note_released(self._state, payload, where)
        return payload

    def _open(self, reservation_id: str) -> Reservation:
        found = self._state.open.get(reservation_id)
        if found is not None:
            return found
        if reservation_id in self._state.closed:
            raise Conflict(f"reservation {reservation_id} is already settled or released")
        raise NotFound(f"no reservation {reservation_id} in this wallet")

    def apply(self, events: list[Event] | tuple[Event, ...]) -> None:
        """Fold durable events forwarded by sessions (any kind; each reservation counts once)."""
        with self._lock:
            for event in events:
                ledger.apply(self._state, event)

    # ------------------------------------------------------------------------- deposits and budgets
    def fund(self, amount_micro: int, source: str = "cli", note: str = "") -> Event:
        """Deposit into the wallet (durably, on the wallet branch); the first deposit starts metering."""
        if amount_micro <= 0:
            raise InvalidInput(f"a deposit must be positive (got {amount_micro} µc)", hint="give an amount above $0")
        payload = k.FundsDeposited(amount_micro=amount_micro, source=source, note=note)
        event = self.journal.append_batch(
            *self._wallet_branch(), [EventDraft(kind=payload.KIND, payload=payload, actor=Actor.USER)]
        )[0]
        self.apply([event])
        return event

    def set_budget(
        self,
        scope: str,
        limit_micro: int | None,
        *,
        session_id: str | None = None,
        invocation_id: str | None = None,
        branch: str = MAIN,
        actor: str = Actor.USER,
    ) -> Event:
        """Set (or, with ``limit_micro`` None, clear) a cap, durably. ``day`` goes to the wallet branch;
        ``session`` and ``invocation`` to the session's branch."""
        if scope not in SCOPES:
            raise InvalidInput(f"unknown budget scope {scope!r}", hint=f"use one of {', '.join(SCOPES)}")
        if limit_micro is not None and limit_micro < 0:
            raise InvalidInput(f"a budget cannot be negative ({limit_micro} µc)")
        if scope == "invocation" and not invocation_id:
            raise InvalidInput("an invocation budget needs an invocation id")
        payload = k.BudgetSet(scope=scope, limit_micro=limit_micro, invocation_id=invocation_id)
        draft = EventDraft(kind=payload.KIND, payload=payload, actor=actor)
        if scope == "day":
            event = self.journal.append_batch(*self._wallet_branch(), [draft])[0]
        else:
            if session_id is None:
                raise InvalidInput(f"a {scope} budget needs a session id")
            event = self.journal.append(session_id, branch, draft)
        self.apply([event])
        return event

    def _wallet_branch(self) -> tuple[str, str]:
        """The system session's wallet branch, created on first use."""
        try:
            self.journal.branch(SYSTEM_SESSION, WALLET_BRANCH)
        except NotFound:
            with contextlib.suppress(Conflict):  # created by another thread in between: fine
                try:
                    self.journal.branch(SYSTEM_SESSION, MAIN)
                except NotFound:
                    self.journal.create_session("journal", session_id=SYSTEM_SESSION, actor=Actor.SYSTEM)
                self.journal.fork(SYSTEM_SESSION, MAIN, 0, WALLET_BRANCH, actor=Actor.SYSTEM)
        return SYSTEM_SESSION, WALLET_BRANCH

    # -------------------------------------------------------------------------------------- reading
    def view(self, *, session_id: str | None = None, now_us: int | None = None, recent: int = 50) -> WalletView:
        now = self.clock.now_us() if now_us is None else now_us
        with self._lock:
            return ledger.view(self._state, now, session_id=session_id, recent=recent)

    def committed_micro(self, session_id: str | None = None) -> int:
        """Spend plus reservations in flight (of one session, or all): what no cap may be under, and what
        must never drop across a crash."""
        with self._lock:
            state = self._state
            if session_id is None:
                return state.spent_micro + state.reserved_micro
            return state.by_session.get(session_id, 0) + state.reserved_where(session_id=session_id)

    def reservation(self, reservation_id: str) -> Reservation | None:
        with self._lock:
            return self._state.open.get(reservation_id)


_wallets: weakref.WeakKeyDictionary[Journal, Wallet] = weakref.WeakKeyDictionary()
_wallets_lock = threading.Lock()


def wallet_for(journal: Journal, clock: Clock | None = None) -> Wallet:
    """The journal's one wallet, opened (folded and reconciled) on first use, so a process that never
    makes a metered call never pays for the fold."""
    with _wallets_lock:
        found = _wallets.get(journal)
        if found is None:
            found = _wallets[journal] = Wallet.open(journal, clock)
        return found
