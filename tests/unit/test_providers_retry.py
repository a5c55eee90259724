"""stream_with_retry: backoff before the first item only, retry-after, idle timeout; with the real SDKs too."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fakes import FakeLLMServer, Reply
from fakes.streams import failure

from life_tui.runtime.providers.anthropic import AnthropicProvider
from life_tui.runtime.providers.base import (
    Message,
    ModelRequest,
    ModelResponse,
    Provider,
    ProviderError,
    StreamItem,
    TextDelta,
)
from life_tui.runtime.providers.openai_compat import OpenAICompatProvider
from life_tui.runtime.providers.retry import (
    ProviderTimeout,
    backoff_delay,
    describe_status,
    is_retryable_status,
    parse_retry_after,
    stream_with_retry,
)

REQUEST = ModelRequest(model="m", messages=[Message(role="user", content="hi")])


class Sleeps:
    """A fake ``sleep`` that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class ScriptedAttempts:
    """A fake Provider: attempt N plays script N, item by item (an error is raised, a float is slept)."""

    name = "fake"
    model = "m"

    def __init__(self, *scripts: list[StreamItem | Exception | float]) -> None:
        self.scripts = list(scripts)
        self.calls = 0
        self.closed_streams = 0

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        script = self.scripts[self.calls]
        self.calls += 1
        return self._play(script)

    async def _play(self, script: list[StreamItem | Exception | float]) -> AsyncIterator[StreamItem]:
        try:
            for step in script:
                if isinstance(step, Exception):
                    raise step
                if isinstance(step, float):
                    await asyncio.sleep(step)
                    continue
                yield step
        finally:
            self.closed_streams += 1

    async def aclose(self) -> None:
        pass


def ok(text: str = "done") -> list[StreamItem | Exception | float]:
    return [TextDelta(text), ModelResponse(text=text)]


def retryable(status: int = 500, retry_after: float | None = None) -> ProviderError:
    return ProviderError(f"boom {status}", retryable=True, status=status, retry_after=retry_after)


async def drain(stream: AsyncIterator[StreamItem]) -> list[StreamItem]:
    return [item async for item in stream]


def test_the_fake_provider_is_a_provider() -> None:
    provider: Provider = ScriptedAttempts()
    assert provider.name == "fake"


# -- the policy, with a fake provider --------------------------------------------------------------
async def test_retryable_errors_before_any_item_are_retried_with_exponential_backoff() -> None:
    provider = ScriptedAttempts([retryable()], [retryable()], ok())
    sleeps = Sleeps()
    items = await drain(stream_with_retry(provider, REQUEST, sleep=sleeps, base_delay=0.5))
    assert items == [TextDelta("done"), ModelResponse(text="done")]
    assert provider.calls == 3
    assert sleeps.delays == [0.5, 1.0]


async def test_attempts_counts_total_tries_and_the_last_error_propagates() -> None:
    last = retryable(503)
    provider = ScriptedAttempts([retryable()], [retryable()], [last], ok())
    sleeps = Sleeps()
    _, error = await failure(stream_with_retry(provider, REQUEST, attempts=3, sleep=sleeps))
    assert error is last
    assert provider.calls == 3
    assert len(sleeps.delays) == 2


async def test_one_attempt_means_no_retry() -> None:
    provider = ScriptedAttempts([retryable()], ok())
    _, error = await failure(stream_with_retry(provider, REQUEST, attempts=1, sleep=Sleeps()))
    assert error.retryable and provider.calls == 1


async def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        await drain(stream_with_retry(ScriptedAttempts(ok()), REQUEST, attempts=0))


async def test_non_retryable_errors_propagate_at_once() -> None:
    fatal = ProviderError("bad key", retryable=False, status=401)
    provider = ScriptedAttempts([fatal], ok())
    sleeps = Sleeps()
    _, error = await failure(stream_with_retry(provider, REQUEST, sleep=sleeps))
    assert error is fatal
    assert provider.calls == 1
    assert sleeps.delays == []


async def test_errors_after_the_first_item_propagate_without_retry() -> None:
    late = retryable()
    provider = ScriptedAttempts([TextDelta("shown already"), late], ok())
    sleeps = Sleeps()
    seen, error = await failure(stream_with_retry(provider, REQUEST, sleep=sleeps))
    assert seen == [TextDelta("shown already")]
    assert error is late
    assert provider.calls == 1
    assert sleeps.delays == []


async def test_backoff_is_capped_and_retry_after_wins() -> None:
    failures: list[list[StreamItem | Exception | float]] = [[retryable()] for _ in range(5)]
    provider = ScriptedAttempts(*failures, ok())
    sleeps = Sleeps()
    await drain(stream_with_retry(provider, REQUEST, attempts=6, base_delay=1.0, max_delay=4.0, sleep=sleeps))
    assert sleeps.delays == [1.0, 2.0, 4.0, 4.0, 4.0]

    provider = ScriptedAttempts([retryable(429, retry_after=12.0)], [retryable(429, retry_after=600.0)], ok())
    sleeps = Sleeps()
    await drain(stream_with_retry(provider, REQUEST, max_delay=8.0, max_retry_after=60.0, sleep=sleeps))
    assert sleeps.delays == [12.0, 60.0]


def test_backoff_delay_directly() -> None:
    error = retryable()
    assert [backoff_delay(n, error, base_delay=0.5, max_delay=8, max_retry_after=60) for n in (1, 2, 3, 4, 5, 6)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        8.0,
    ]
    assert backoff_delay(1, retryable(retry_after=-3), base_delay=0.5, max_delay=8, max_retry_after=60) == 0.0


async def test_on_retry_is_told_the_retry_number_error_and_delay_sync_or_async() -> None:
    first, second = retryable(500), retryable(429, retry_after=2.0)
    calls: list[tuple[int, ProviderError, float]] = []

    def sync_hook(number: int, error: ProviderError, delay: float) -> None:
        calls.append((number, error, delay))

    await drain(
        stream_with_retry(ScriptedAttempts([first], [second], ok()), REQUEST, sleep=Sleeps(), on_retry=sync_hook)
    )
    assert calls == [(1, first, 0.5), (2, second, 2.0)]

    async_calls: list[int] = []

    async def async_hook(number: int, error: ProviderError, delay: float) -> None:
        await asyncio.sleep(0)
        async_calls.append(number)

    await drain(stream_with_retry(ScriptedAttempts([first], ok()), REQUEST, sleep=Sleeps(), on_retry=async_hook))
    assert async_calls == [1]


async def test_other_exceptions_are_not_swallowed() -> None:
    provider = ScriptedAttempts([RuntimeError("a bug")], ok())
    with pytest.raises(RuntimeError, match="a bug"):
        await drain(stream_with_retry(provider, REQUEST, sleep=Sleeps()))
    assert provider.calls == 1


async def test_idle_timeout_before_the_first_item_is_retried() -> None:
    provider = ScriptedAttempts([5.0, *ok("never")], ok("second"))
    sleeps = Sleeps()
    started = time.monotonic()
    items = await drain(stream_with_retry(provider, REQUEST, idle_timeout=0.05, sleep=sleeps))
    assert time.monotonic() - started < 2
    assert items[-1] == ModelResponse(text="second")
    assert provider.calls == 2
    assert provider.closed_streams == 2  # the stalled stream was closed, not leaked


async def test_idle_timeout_between_items_raises_provider_timeout() -> None:
    provider = ScriptedAttempts([TextDelta("a"), 5.0, ModelResponse(text="a")])
    seen, error = await failure(stream_with_retry(provider, REQUEST, idle_timeout=0.05, sleep=Sleeps()))
    assert seen == [TextDelta("a")]
    assert isinstance(error, ProviderTimeout)
    assert error.retryable is True
    assert error.idle_timeout == 0.05


async def test_idle_timeout_exhausting_attempts() -> None:
    provider = ScriptedAttempts([5.0], [5.0])
    _, error = await failure(stream_with_retry(provider, REQUEST, attempts=2, idle_timeout=0.05, sleep=Sleeps()))
    assert isinstance(error, ProviderTimeout)
    assert provider.calls == 2


async def test_no_idle_timeout_when_none() -> None:
    provider = ScriptedAttempts([0.05, *ok()])
    items = await drain(stream_with_retry(provider, REQUEST, idle_timeout=None, sleep=Sleeps()))
    assert items[-1] == ModelResponse(text="done")


async def test_a_consumer_that_stops_early_closes_the_provider_stream() -> None:
    provider = ScriptedAttempts([TextDelta("a"), TextDelta("b"), ModelResponse(text="ab")])
    stream = stream_with_retry(provider, REQUEST, sleep=Sleeps())
    assert await anext(stream) == TextDelta("a")
    await stream.aclose()  # type: ignore[attr-defined]
    assert provider.closed_streams == 1


# -- helpers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "retryable_"),
    [
        *[(400, False), (401, False), (403, False), (404, False), (413, False), (422, False)],
        *[(408, True), (409, True), (429, True), (500, True), (502, True), (503, True), (504, True), (529, True)],
    ],
)
def test_retryable_statuses(status: int, retryable_: bool) -> None:
    assert is_retryable_status(status) is retryable_


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "x", "retry-after": "9"}) == 9.0
    assert parse_retry_after({"retry-after": "-4"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=lambda: now) == 30.0
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=lambda: now) == 0.0


def test_describe_status_names_the_fix() -> None:
    assert "set ANTHROPIC_API_KEY" in describe_status("anthropic", 401, None, key_env="ANTHROPIC_API_KEY", model="m")
    assert "'m'" in describe_status("openai", 404, "no such model", key_env="OPENAI_API_KEY", model="m")
    assert "no such model" in describe_status("openai", 404, "no such model", key_env="OPENAI_API_KEY", model="m")


# -- end to end: the real SDKs against the fake server ---------------------------------------------
@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")
    monkeypatch.setenv("OPENAI_API_KEY", "test-openai-key")
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic-config"))
    for name in ("ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "ANTHROPIC_CUSTOM_HEADERS", "OPENAI_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture(params=["anthropic", "openai"])
async def live(request: pytest.FixtureRequest, server: FakeLLMServer) -> AsyncIterator[Provider]:
    provider: AnthropicProvider | OpenAICompatProvider
    if request.param == "anthropic":
        provider = AnthropicProvider("claude-haiku-4-5", base_url=server.anthropic_url, timeout=10)
    else:
        provider = OpenAICompatProvider("gpt-test", base_url=server.openai_url, timeout=10)
    yield provider
    await provider.aclose()


def live_request(provider: Provider) -> ModelRequest:
    return ModelRequest(model=provider.model, messages=[Message(role="user", content="hi")])


async def test_429_then_success_honours_retry_after(server: FakeLLMServer, live: Provider) -> None:
    server.enqueue(Reply.error(429, retry_after=2), Reply(text=["after ", "waiting"]))
    sleeps = Sleeps()
    items = await drain(stream_with_retry(live, live_request(live), sleep=sleeps))
    assert items[:-1] == [TextDelta("after "), TextDelta("waiting")]
    final = items[-1]
    assert isinstance(final, ModelResponse)
    assert final.text == "after waiting"
    assert sleeps.delays == [2.0]
    assert len(server.requests) == 2


async def test_500_exhausts_the_retries(server: FakeLLMServer, live: Provider) -> None:
    server.enqueue(Reply.error(500), Reply.error(500), Reply.error(500), Reply(text=["never"]))
    sleeps = Sleeps()
    _, error = await failure(stream_with_retry(live, live_request(live), sleep=sleeps))
    assert (error.retryable, error.status) == (True, 500)
    assert sleeps.delays == [0.5, 1.0]
    assert len(server.requests) == 3
    assert server.pending == 1


async def test_401_is_not_retried(server: FakeLLMServer, live: Provider) -> None:
    server.enqueue(Reply.error(401), Reply(text=["never"]))
    sleeps = Sleeps()
    _, error = await failure(stream_with_retry(live, live_request(live), sleep=sleeps))
    assert error.retryable is False
    assert "the API key was rejected" in str(error)
    assert sleeps.delays == []
    assert len(server.requests) == 1


async def test_529_overloaded_then_success(server: FakeLLMServer, live: Provider) -> None:
    server.enqueue(Reply.error(529), Reply(text=["ok"]))
    sleeps = Sleeps()
    items = await drain(stream_with_retry(live, live_request(live), sleep=sleeps))
    final = items[-1]
    assert isinstance(final, ModelResponse)
    assert final.text == "ok"
    assert sleeps.delays == [0.5]


async def test_drop_before_any_delta_is_retried(server: FakeLLMServer, live: Provider) -> None:
    server.enqueue(Reply.drop(after=0), Reply(text=["second ", "try"]))
    sleeps = Sleeps()
    items = await drain(stream_with_retry(live, live_request(live), sleep=sleeps))
    assert [i for i in items if isinstance(i, TextDelta)] == [TextDelta("second "), TextDelta("try")]
    assert len(sleeps.delays) == 1
    assert len(server.requests) == 2


async def test_drop_after_deltas_propagates(server: FakeLLMServer, live: Provider) -> None:
    server.enqueue(Reply.drop(after=2, text=["one ", "two ", "three"]), Reply(text=["never"]))
    sleeps = Sleeps()
    seen, error = await failure(stream_with_retry(live, live_request(live), sleep=sleeps))
    assert seen == [TextDelta("one "), TextDelta("two ")]
    assert error.retryable is True  # retryable in itself, but the caller has shown these deltas already
    assert sleeps.delays == []
    assert len(server.requests) == 1


async def test_malformed_stream_is_not_retried(server: FakeLLMServer, live: Provider) -> None:
    server.enqueue(Reply.malformed(after=0), Reply(text=["never"]))
    _, error = await failure(stream_with_retry(live, live_request(live), sleep=Sleeps()))
    assert error.retryable is False
    assert len(server.requests) == 1


async def test_idle_timeout_against_a_stalled_server(server: FakeLLMServer, live: Provider) -> None:
    server.enqueue(Reply(text=["too late"], stall=5.0), Reply(text=["prompt"]))
    sleeps = Sleeps()
    started = time.monotonic()
    items = await drain(stream_with_retry(live, live_request(live), idle_timeout=0.3, sleep=sleeps))
    assert time.monotonic() - started < 4
    assert [i for i in items if isinstance(i, TextDelta)] == [TextDelta("prompt")]
    assert len(sleeps.delays) == 1
