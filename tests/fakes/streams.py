"""Helpers for consuming a provider's stream in tests: the items and the final response, or the failure."""

from __future__ import annotations

from collections.abc import AsyncIterator

from life_tui.runtime.providers.base import ModelResponse, ProviderError, StreamItem


async def collect(stream: AsyncIterator[StreamItem]) -> tuple[list[StreamItem], ModelResponse]:
    """The deltas and the final response; fails unless exactly one ModelResponse comes, last."""
    items = [item async for item in stream]
    assert items, "the stream yielded nothing"
    final = items[-1]
    assert isinstance(final, ModelResponse)
    assert not any(isinstance(item, ModelResponse) for item in items[:-1]), "exactly one ModelResponse, last"
    return items[:-1], final


async def failure(stream: AsyncIterator[StreamItem]) -> tuple[list[StreamItem], ProviderError]:
    """The items yielded before the stream failed, and the ProviderError it failed with (nothing else)."""
    seen: list[StreamItem] = []
    try:
        async for item in stream:
            seen.append(item)
    except ProviderError as error:
        return seen, error
    raise AssertionError(f"the stream did not fail; it yielded {seen}")
