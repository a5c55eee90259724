"""Billing a provider call against the ledger: reserve its worst case before, settle its real cost after.

The loop talks to the ledger through :class:`Ledger` (``finance.wallet.Wallet`` implements it), so the
loop never knows how balances and caps are kept. The worst case of a call is its estimated input at full
(uncached) price with a margin, plus every output and reasoning token it may produce; the settled cost
comes from the provider's reported usage, priced by the price table (an unknown model at the
conservative rate, flagged). Reservation payloads are recorded in the session before the call is made,
so a crash in between is reconciled from the journal when the ledger reopens.

:func:`reserve_call` and :func:`settle_call` are the two steps for any metered call; the LLM judges
(``runtime.judging``) bill through them against the same ledger and caps as the loop's own calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from life_tui.finance.billing import bill_micro, worst_case_micro
from life_tui.finance.pricing import Price, price_for
from life_tui.finance.view import to_micro
from life_tui.kernel import kinds as k
from life_tui.runtime.providers.base import Provider, Usage

INPUT_MARGIN = 1.25
"""Input tokens are estimated (chars / 4) before a call; the reservation allows for a 25 % underestimate."""


class Ledger(Protocol):
    def reserve(
        self,
        *,
        session_id: str,
        branch: str,
        run_id: str | None,
        amount_micro: int,
        model: str,
        invocation_id: str | None,
        run_limit_micro: int | None,
        now_us: int,
    ) -> k.CostReserved | k.CostRefused: ...

    def settle(
        self,
        reservation_id: str,
        *,
        amount_micro: int,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cached_tokens: int,
        reasoning_tokens: int,
        priced: bool,
        estimated: bool,
        task_id: str | None,
        now_us: int,
    ) -> k.CostSettled: ...

    def release(self, reservation_id: str, reason: str, now_us: int) -> k.CostReleased: ...


class LazyLedger:
    """A :class:`Ledger` that opens the real one (the journal's wallet) on the first metered call, so a
    session that never calls a model never pays for folding the journal's finance events."""

    def __init__(self, factory: Callable[[], Ledger]) -> None:
        self._factory = factory
        self._ledger: Ledger | None = None

    @property
    def opened(self) -> Ledger | None:
        return self._ledger

    def get(self) -> Ledger:
        if self._ledger is None:
            self._ledger = self._factory()
        return self._ledger

    def reserve(self, **call: Any) -> k.CostReserved | k.CostRefused:
        return self.get().reserve(**call)

    def settle(self, reservation_id: str, **usage: Any) -> k.CostSettled:
        return self.get().settle(reservation_id, **usage)

    def release(self, reservation_id: str, reason: str, now_us: int) -> k.CostReleased:
        return self.get().release(reservation_id, reason, now_us)


def resolve_price(provider: Provider, model: str, overrides: dict[str, object]) -> tuple[Price, bool]:
    table = {m: msgspec.convert(p, Price) for m, p in overrides.items()}
    return price_for(model, table, provider=provider.name)


def call_worst_case_micro(
    price: Price, *, input_tokens: int, max_tokens: int, thinking_budget: int | None, declared_usd: float | None = None
) -> int:
    """The most a call can cost: the ledger's worst case with the input estimate's margin, or the cost a
    provider states in advance (``declared_usd``: scripted turns)."""
    if declared_usd is not None:
        return to_micro(declared_usd)
    return worst_case_micro(
        price,
        input_tokens=math.ceil(input_tokens * INPUT_MARGIN),
        max_tokens=max_tokens,
        thinking_budget=thinking_budget or 0,
    )


def actual_micro(price: Price, known: bool, usage: Usage, recorded_usd: float | None) -> int:
    """What the call cost: the provider's reported usage at the table's price (or a recorded cost)."""
    if recorded_usd is not None:
        return to_micro(recorded_usd)
    amount, _ = bill_micro(
        (price, known),
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    return amount


MODEL_CALL = "model_call"
"""The purpose of the loop's own model calls (``CostReserved.purpose``'s default)."""


def reserve_call(
    ledger: Ledger,
    provider: Provider,
    price: Price,
    *,
    model: str,
    input_tokens: int,
    max_tokens: int,
    thinking_budget: int | None,
    session_id: str,
    branch: str,
    run_id: str | None,
    invocation_id: str | None,
    run_limit_micro: int | None,
    now_us: int,
    purpose: str = MODEL_CALL,
) -> k.CostReserved | k.CostRefused | None:
    """Ask ``ledger`` to reserve a call's worst case (what the loop does before each model call).

    None when the call is free (a local or scripted model with no declared cost cannot overspend: nothing
    is reserved or billed). Otherwise the ledger's answer, which the caller records durably in
    ``session_id``/``branch`` (with ``run_id``) *before* making the call, and makes the call only if it is
    a :class:`~life_tui.kernel.kinds.CostReserved`. ``purpose`` says what the call is for on both answers
    (the ledger keeps amounts, not purposes, so naming it here changes nothing it counts)."""
    declared = getattr(provider, "next_turn_cost_usd", None)
    amount = call_worst_case_micro(
        price,
        input_tokens=input_tokens,
        max_tokens=max_tokens,
        thinking_budget=thinking_budget,
        declared_usd=declared() if callable(declared) else None,
    )
    if amount == 0:
        return None
    answer = ledger.reserve(
        session_id=session_id,
        branch=branch,
        run_id=run_id,
        amount_micro=amount,
        model=model,
        invocation_id=invocation_id,
        run_limit_micro=run_limit_micro,
        now_us=now_us,
    )
    if answer.purpose != purpose:
        answer = msgspec.structs.replace(answer, purpose=purpose)
    return answer


def settle_call(
    ledger: Ledger,
    reservation_id: str,
    *,
    model: str,
    price: Price,
    known: bool,
    usage: Usage,
    recorded_usd: float | None,
    now_us: int,
    estimated: bool = False,
    task_id: str | None = None,
) -> k.CostSettled:
    """Settle a reservation at the call's actual cost (:func:`actual_micro` of the reported usage); the
    caller records the settlement durably. ``task_id`` attributes the spend (the wallet's ``by_task``)."""
    return ledger.settle(
        reservation_id,
        amount_micro=actual_micro(price, known, usage, recorded_usd),
        model=model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        priced=known,
        estimated=estimated,
        task_id=task_id,
        now_us=now_us,
    )
