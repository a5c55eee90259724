"""Retrying a provider stream, and the error vocabulary the adapters share.

:func:`stream_with_retry` wraps :meth:`Provider.stream`: a retryable :class:`ProviderError` is retried with
exponential backoff (or the server's ``retry-after``) **only while nothing has been yielded yet** for the
call; once a delta has gone out, the caller has shown or stored it, so a later error propagates instead of
silently restarting the turn. Every wait between two items is bounded by an idle timeout, which surfaces as
a retryable :class:`ProviderTimeout`.

The helpers (:func:`is_retryable_status`, :func:`parse_retry_after`, :func:`describe_status`) keep the
Anthropic and OpenAI-compatible adapters classifying HTTP failures the same way. Nothing here imports an SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import inspect
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping

from .base import ModelRequest, Provider, ProviderError, StreamItem

__all__ = [
    "OnRetry",
    "ProviderTimeout",
    "backoff_delay",
    "describe_status",
    "is_retryable_status",
    "parse_retry_after",
    "stream_with_retry",
]

OnRetry = Callable[[int, ProviderError, float], Awaitable[None] | None]
"""``on_retry(retry_number, error, delay)``: called before each backoff sleep; ``retry_number`` is 1 for the
first retry (it is also the number of the attempt that just failed). May be sync or async."""


class ProviderTimeout(ProviderError):
    """The provider sent nothing for ``idle_timeout`` seconds (retryable)."""

    def __init__(self, idle_timeout: float) -> None:
        super().__init__(
            f"the provider sent nothing for {idle_timeout:g} s; the stream was abandoned",
            retryable=True,
        )
        self.idle_timeout = idle_timeout


def is_retryable_status(status: int) -> bool:
    """408, 409, 429 and every 5xx (529 "overloaded" included) are worth another try; other 4xx are not."""
    return status in (408, 409, 429) or status >= 500


def parse_retry_after(headers: Mapping[str, str] | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``retry-after`` (seconds or an HTTP date); None if absent.

    ``headers`` must look names up case-insensitively when it comes from an HTTP client (httpx2 headers do).
    A date in the past gives 0.
    """
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(milliseconds) / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, float(email.utils.mktime_tz(parsed)) - now())


def describe_status(provider: str, status: int, detail: str | None, *, key_env: str, model: str) -> str:
    """One line saying what an HTTP error status means for the user, with the server's own message."""
    suffix = f": {detail}" if detail else ""
    if status == 401:
        return f"{provider}: the API key was rejected; set {key_env} (HTTP 401){suffix}"
    if status == 403:
        return f"{provider}: permission denied (HTTP 403); the key may not use model {model!r} or this endpoint{suffix}"
    if status == 404:
        return f"{provider}: not found (HTTP 404); check the model name {model!r} and the base URL{suffix}"
    if status == 400:
        return f"{provider}: the request was rejected (HTTP 400){suffix}"
    if status == 413:
        return f"{provider}: the request is too large (HTTP 413){suffix}"
    if status == 429:
        return f"{provider}: rate limited (HTTP 429){suffix}"
    if status == 529:
        return f"{provider}: the service is overloaded (HTTP 529){suffix}"
    if status >= 500:
        return f"{provider}: server error (HTTP {status}){suffix}"
    return f"{provider}: request failed (HTTP {status}){suffix}"


def backoff_delay(
    retry_number: int, error: ProviderError, *, base_delay: float, max_delay: float, max_retry_after: float
) -> float:
    """The wait before retry ``retry_number`` (1-based): the server's ``retry_after`` when it gave one
    (capped at ``max_retry_after``), else ``base_delay * 2**(retry_number - 1)`` capped at ``max_delay``."""
    if error.retry_after is not None:
        return min(max(error.retry_after, 0.0), max_retry_after)
    return float(min(max_delay, base_delay * 2 ** (retry_number - 1)))


async def stream_with_retry(
    provider: Provider,
    request: ModelRequest,
    *,
    attempts: int = 3,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    max_retry_after: float = 60.0,
    idle_timeout: float | None = 120.0,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    on_retry: OnRetry | None = None,
) -> AsyncIterator[StreamItem]:
    """Stream ``request`` through ``provider``, retrying retryable failures that happen before any item.

    ``attempts`` counts tries in total (3: one try and up to two retries). A non-retryable error, an error
    after the first yielded item, or the last attempt's error propagates unchanged. ``idle_timeout`` (None:
    none) bounds each wait for the next item, first one included, and raises :class:`ProviderTimeout`.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    attempt = 0
    while True:
        attempt += 1
        yielded = False
        try:
            async with contextlib.aclosing(_idle_guarded(provider.stream(request), idle_timeout)) as items:
                async for item in items:
                    yielded = True
                    yield item
            return
        except ProviderError as error:
            if yielded or not error.retryable or attempt >= attempts:
                raise
            delay = backoff_delay(
                attempt, error, base_delay=base_delay, max_delay=max_delay, max_retry_after=max_retry_after
            )
            if on_retry is not None:
                result = on_retry(attempt, error, delay)
                if inspect.isawaitable(result):
                    await result
            await sleep(delay)


async def _idle_guarded(
    items: AsyncIterator[StreamItem], idle_timeout: float | None
) -> AsyncGenerator[StreamItem, None]:
    """Yield from ``items``, raising :class:`ProviderTimeout` when one wait exceeds ``idle_timeout``."""
    try:
        while True:
            async with asyncio.timeout(idle_timeout) as deadline:
                try:
                    item = await anext(items)
                except StopAsyncIteration:
                    return
            yield item
    except TimeoutError:
        if idle_timeout is not None and deadline.expired():
            raise ProviderTimeout(idle_timeout) from None
        raise
    finally:
        close = getattr(items, "aclose", None)
        if close is not None:
            await close()
