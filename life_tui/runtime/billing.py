"""Billing a provider call against the ledger: reserve its worst case before, settle its real cost after.

The loop talks to the ledger through :class:`Ledger` (``finance.wallet.Wallet`` implements it), so the
loop never knows how balances and caps are kept. The worst case of a call is its estimated input at full
(uncached) price with a margin, plus every output and reasoning token it may produce; the settled cost
comes from the provider's reported usage, priced by the price table (an unknown model at the
conservative rate, flagged). Reservation payloads are recorded in the session before the call is made,
so a crash in between is reconciled from the journal when the ledger reopens.
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
