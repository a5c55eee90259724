"""Costing one provider call in micro-credits: its worst case before the call, its bill after.

Kept apart from the price table (which only knows rates) and from the wallet (which only knows amounts):
this is the one place where token counts become micro-credits. A rate in USD per million tokens is
exactly a rate in micro-credits per token, so the arithmetic stays in integers of µc, rounded up (a
fraction of a micro-credit is never given away).
"""

from __future__ import annotations

import math

from life_tui.finance.pricing import Price

_FLOAT_SLACK = 1e-6
"""Rates are floats: 0.3 * 10 is 3.0000000000000004 µc, which must bill 3, not 4."""


def _ceil_micro(value: float) -> int:
    return max(0, math.ceil(value - _FLOAT_SLACK))


def worst_case_micro(price: Price, *, input_tokens: int, max_tokens: int, thinking_budget: int = 0) -> int:
    """The most a call can cost: every input token at the full (uncached) input rate, every allowed
    output token at the output rate, and the whole thinking budget at the reasoning rate. Providers differ
    on whether thinking counts inside ``max_tokens``; reserving both never under-reserves."""
    reasoning_rate = price.reasoning if price.reasoning is not None else price.output
    return _ceil_micro(input_tokens * price.input + max_tokens * price.output + thinking_budget * reasoning_rate)


def bill_micro(
    priced_as: tuple[Price, bool],
    *,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> tuple[int, bool]:
    """What a call cost from its reported usage, and whether its price was known.

    ``priced_as`` is what :func:`~life_tui.finance.pricing.price_for` returns. ``input_tokens`` excludes
    cached and cache-write tokens (providers report them apart); reasoning tokens are part of the reported
    output tokens for both provider families, so they are not billed a second time.
    """
    price, known = priced_as
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    write_rate = price.cache_write if price.cache_write is not None else price.input
    total = (
        input_tokens * price.input
        + output_tokens * price.output
        + cached_tokens * cached_rate
        + cache_write_tokens * write_rate
    )
    return _ceil_micro(total), known
