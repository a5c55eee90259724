"""What a model call costs: a price table per model, in USD per million tokens.

Prices are the providers' list prices at the time of writing and can be overridden in the config file
(``[prices."model-name"]``). A model the table does not know is priced conservatively (at the most
expensive known rate) and flagged, so an unknown model never looks cheaper than it is.
"""

from __future__ import annotations

import fnmatch

import msgspec


class Price(msgspec.Struct, frozen=True, kw_only=True):
    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None


PRICES: dict[str, Price] = {
    "claude-opus-4*": Price(input=15.0, output=75.0, cached_input=1.5, cache_write=18.75),
    "claude-sonnet-4*": Price(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75),
    "claude-3-7-sonnet*": Price(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75),
    "claude-haiku-4*": Price(input=1.0, output=5.0, cached_input=0.1, cache_write=1.25),
    "claude-3-5-haiku*": Price(input=0.8, output=4.0, cached_input=0.08, cache_write=1.0),
    "gpt-4.1": Price(input=2.0, output=8.0, cached_input=0.5),
    "gpt-4.1-mini": Price(input=0.4, output=1.6, cached_input=0.1),
    "gpt-4.1-nano": Price(input=0.1, output=0.4, cached_input=0.025),
    "gpt-4o": Price(input=2.5, output=10.0, cached_input=1.25),
    "gpt-4o-mini": Price(input=0.15, output=0.6, cached_input=0.075),
    "o3": Price(input=2.0, output=8.0, cached_input=0.5),
    "o4-mini": Price(input=1.1, output=4.4, cached_input=0.275),
    "scripted*": Price(input=0.0, output=0.0),
    "replay*": Price(input=0.0, output=0.0),
}
CONSERVATIVE = Price(input=15.0, output=75.0, cached_input=15.0, cache_write=18.75)
LOCAL_PROVIDERS = frozenset({"ollama", "lmstudio", "vllm", "scripted", "replay"})


def price_for(model: str, overrides: dict[str, Price] | None = None, *, provider: str = "") -> tuple[Price, bool]:
    """The price of ``model`` and whether it is known (False: conservative fallback).

    A configured override always wins (a local model may be given a notional price); otherwise local
    providers are free.
    """
    for pattern, price in (overrides or {}).items():
        if pattern == model or fnmatch.fnmatchcase(model, pattern):
            return price, True
    if provider in LOCAL_PROVIDERS:
        return Price(input=0.0, output=0.0), True
    table = {**PRICES, **(overrides or {})}
    if model in table:
        return table[model], True
    for pattern in sorted(table, key=len, reverse=True):
        if fnmatch.fnmatchcase(model, pattern):
            return table[pattern], True
    return CONSERVATIVE, False


MODEL_TIERS: dict[str, tuple[str, ...]] = {
    "anthropic": ("claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1"),
    "openai": ("gpt-4.1-nano", "gpt-4.1-mini", "gpt-4o-mini", "gpt-4.1", "o4-mini", "gpt-4o"),
}
"""Concrete models per provider, cheapest first: what a budget preference can narrow to."""


def cheaper_models(provider: str, model: str, overrides: dict[str, Price] | None = None) -> tuple[str, ...]:
    """Models of ``provider`` that cost less than ``model`` per output token, cheapest first."""
    current, _ = price_for(model, overrides, provider=provider)
    candidates = [*MODEL_TIERS.get(provider, ()), *(m for m in (overrides or {}) if "*" not in m)]
    priced = {m: price_for(m, overrides, provider=provider)[0] for m in candidates if m != model}
    cheaper = [m for m, p in priced.items() if (p.output, p.input) < (current.output, current.input)]
    return tuple(sorted(dict.fromkeys(cheaper), key=lambda m: (priced[m].output, priced[m].input, m)))


def cost_usd(
    price: Price,
    *,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> float:
    """Cost of one call. ``input_tokens`` excludes cached and cache-write tokens (providers report them apart)."""
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    write_rate = price.cache_write if price.cache_write is not None else price.input
    reasoning_rate = price.reasoning if price.reasoning is not None else price.output
    total = (
        input_tokens * price.input
        + output_tokens * price.output
        + cached_tokens * cached_rate
        + cache_write_tokens * write_rate
        + reasoning_tokens * reasoning_rate
    )
    return round(total / 1_000_000, 8)
