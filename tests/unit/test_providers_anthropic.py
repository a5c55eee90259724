"""AnthropicProvider driving the real anthropic SDK against the local fake server (no network)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fakes import FakeLLMServer, FakeToolCall, FakeUsage, Reply
from fakes.streams import collect, failure

from life_tui.runtime.providers.anthropic import AnthropicProvider, effort_for_budget, uses_adaptive_thinking
from life_tui.runtime.providers.base import (
    Message,
    ModelRequest,
    ProviderError,
    ReasoningDelta,
    SystemBlock,
    TextDelta,
    ToolCall,
    ToolDefinition,
    Usage,
)

MODEL = "claude-haiku-4-5"  # a current model that takes the budget form of thinking (and no deprecation warning)
KEY = "test-anthropic-key"


@pytest.fixture(autouse=True)
def _anthropic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic-config"))  # never a real profile
    for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS", "ANTHROPIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture
async def provider(server: FakeLLMServer) -> AsyncIterator[AnthropicProvider]:
    p = AnthropicProvider(MODEL, base_url=server.anthropic_url, timeout=10)
    yield p
    await p.aclose()


def request(*messages: Message, model: str = MODEL, **kwargs: object) -> ModelRequest:
    """A request (model: the one the provider was built for) with one user turn unless messages are given."""
    history = list(messages) or [Message(role="user", content="hi")]
    return ModelRequest(model=model, messages=history, **kwargs)  # type: ignore[arg-type]


# -- streaming content -----------------------------------------------------------------------------
async def test_text_deltas_arrive_in_order_and_make_the_final_text(
    server: FakeLLMServer, provider: AnthropicProvider
) -> None:
    server.enqueue(Reply(text=["Hel", "lo, ", "wor", "ld"]))
    deltas, final = await collect(provider.stream(request()))
    assert deltas == [TextDelta("Hel"), TextDelta("lo, "), TextDelta("wor"), TextDelta("ld")]
    assert final.text == "Hello, world"
    assert final.stop_reason == "end_turn"
    assert final.tool_calls == []
    assert final.model == MODEL


async def test_tool_calls_come_back_with_parsed_arguments(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(
        Reply(
            text=["Let me look."],
            tool_calls=[
                FakeToolCall("read_file", {"path": "a.txt", "lines": [1, 2], "opts": {"raw": True}}, id="toolu_1"),
                FakeToolCall("list_dir", {}, id="toolu_2"),
            ],
        )
    )
    deltas, final = await collect(provider.stream(request()))
    assert deltas == [TextDelta("Let me look.")]
    assert final.stop_reason == "tool_use"
    assert final.tool_calls == [
        ToolCall(id="toolu_1", name="read_file", arguments={"path": "a.txt", "lines": [1, 2], "opts": {"raw": True}}),
        ToolCall(id="toolu_2", name="list_dir", arguments={}),
    ]


async def test_thinking_streams_as_reasoning_deltas_before_the_text(
    server: FakeLLMServer, provider: AnthropicProvider
) -> None:
    server.enqueue(Reply(reasoning=["First, ", "think."], text=["Answer"]))
    deltas, final = await collect(provider.stream(request(thinking_budget=2048)))
    assert deltas == [ReasoningDelta("First, "), ReasoningDelta("think."), TextDelta("Answer")]
    assert final.reasoning == "First, think."
    assert final.text == "Answer"


async def test_usage_includes_cache_reads_writes_and_thinking(
    server: FakeLLMServer, provider: AnthropicProvider
) -> None:
    usage = FakeUsage(input_tokens=120, output_tokens=33, cached_tokens=900, cache_write_tokens=64, reasoning_tokens=21)
    server.enqueue(Reply(text=["ok"], usage=usage))
    _, final = await collect(provider.stream(request()))
    assert final.usage == Usage(
        input_tokens=120, output_tokens=33, cached_tokens=900, cache_write_tokens=64, reasoning_tokens=21
    )


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("end_turn", "end_turn"),
        ("max_tokens", "max_tokens"),
        ("stop_sequence", "stop_sequence"),
        ("refusal", "refusal"),
        ("tool_use", "tool_use"),
        ("pause_turn", "end_turn"),
        ("model_context_window_exceeded", "max_tokens"),
        ("something_new", "end_turn"),
    ],
)
async def test_stop_reasons_map_to_the_neutral_literal(
    server: FakeLLMServer, provider: AnthropicProvider, wire: str, expected: str
) -> None:
    server.enqueue(Reply(text=["x"], stop_reason=wire))
    _, final = await collect(provider.stream(request()))
    assert final.stop_reason == expected


# -- request shape ---------------------------------------------------------------------------------
async def test_request_shape_system_cache_tools_and_grouped_tool_results(
    server: FakeLLMServer, provider: AnthropicProvider
) -> None:
    server.enqueue(Reply(text=["done"]))
    schema = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
    req = ModelRequest(
        model=MODEL,
        system=[
            SystemBlock(name="soul", text="You are careful.", cache=True),
            SystemBlock(name="empty", text=""),
            SystemBlock(name="memory", text="The user likes tea."),
        ],
        messages=[
            Message(role="user", content="read both files"),
            Message(
                role="assistant",
                content="Reading.",
                reasoning="not re-sent",
                tool_calls=[
                    ToolCall(id="toolu_a", name="read_file", arguments={"path": "a"}),
                    ToolCall(id="toolu_b", name="read_file", arguments={"path": "b"}),
                ],
            ),
            Message(role="tool", tool_call_id="toolu_a", tool_name="read_file", content="AAA"),
            Message(role="tool", tool_call_id="toolu_b", tool_name="read_file", content="no such file", is_error=True),
            Message(role="user", content="and summarise"),
        ],
        tools=[ToolDefinition(name="read_file", description="Read a file", input_schema=schema)],
        max_tokens=777,
        temperature=0.2,
    )
    await collect(provider.stream(req))

    sent = server.last_request
    assert sent.path == "/v1/messages"
    body = sent.body
    assert body["model"] == MODEL
    assert body["stream"] is True
    assert body["max_tokens"] == 777
    assert "temperature" not in body  # API 2026-10-21 answers 400 to any temperature
    assert "thinking" not in body
    assert body["system"] == [
        {"type": "text", "text": "You are careful.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "The user likes tea."},
    ]
    assert body["tools"] == [{"name": "read_file", "description": "Read a file", "input_schema": schema}]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "read both files"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "toolu_a", "name": "read_file", "input": {"path": "a"}},
                {"type": "tool_use", "id": "toolu_b", "name": "read_file", "input": {"path": "b"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "is_error": False, "content": "AAA"},
                {"type": "tool_result", "tool_use_id": "toolu_b", "is_error": True, "content": "no such file"},
                {"type": "text", "text": "and summarise"},
            ],
        },
    ]


async def test_key_goes_as_bearer_authorization_and_base_url_is_used(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.enqueue(Reply(text=["a"]), Reply(text=["b"]))
    from_env = AnthropicProvider(MODEL, base_url=server.anthropic_url)
    explicit = AnthropicProvider(MODEL, api_key="explicit-key", base_url=server.anthropic_url)
    try:
        await collect(from_env.stream(request()))
        await collect(explicit.stream(request()))
    finally:
        await from_env.aclose()
        await explicit.aclose()
    first, second = server.requests
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert second.headers["authorization"] == "Bearer explicit-key"
    assert "x-api-key" not in first.headers  # anthropic 2.x sends Bearer, not x-api-key
    assert first.headers["anthropic-version"]


async def test_base_url_from_the_environment_is_honoured(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_url)
    server.enqueue(Reply(text=["via env"]))
    p = AnthropicProvider(MODEL)
    try:
        _, final = await collect(p.stream(request()))
    finally:
        await p.aclose()
    assert final.text == "via env"


async def test_thinking_budget_uses_the_budget_form_and_raises_max_tokens(
    server: FakeLLMServer, provider: AnthropicProvider
) -> None:
    server.enqueue(Reply(text=["a"]), Reply(text=["b"]), Reply(text=["c"]))
    await collect(provider.stream(request(thinking_budget=2000, max_tokens=1000, temperature=0.5)))
    await collect(provider.stream(request(thinking_budget=100, max_tokens=8000)))
    await collect(provider.stream(request(thinking_budget=3000, max_tokens=8000)))
    bumped, clamped, fits = (r.body for r in server.requests)
    assert bumped["thinking"] == {"type": "enabled", "budget_tokens": 2000}
    assert bumped["max_tokens"] == 3000  # must exceed the budget
    assert "temperature" not in bumped
    assert clamped["thinking"] == {"type": "enabled", "budget_tokens": 1024}  # the API's minimum
    assert clamped["max_tokens"] == 8000
    assert fits["thinking"] == {"type": "enabled", "budget_tokens": 3000}
    assert fits["max_tokens"] == 8000
    assert "output_config" not in bumped


async def test_adaptive_only_models_get_adaptive_thinking_with_an_effort(server: FakeLLMServer) -> None:
    server.enqueue(Reply(reasoning=["hmm"], text=["a"]))
    p = AnthropicProvider("claude-sonnet-5", base_url=server.anthropic_url)
    try:
        req = request(model="claude-sonnet-5", thinking_budget=10_000, max_tokens=4000)
        deltas, _ = await collect(p.stream(req))
    finally:
        await p.aclose()
    body = server.last_request.body
    assert body["model"] == "claude-sonnet-5"
    assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert body["output_config"] == {"effort": "medium"}
    assert body["max_tokens"] == 4000
    assert deltas[0] == ReasoningDelta("hmm")


@pytest.mark.parametrize(
    ("model", "adaptive"),
    [
        ("claude-haiku-4-5", False),
        ("claude-sonnet-4-5-20250929", False),
        ("claude-haiku-4-5-20251001", False),
        ("claude-3-7-sonnet-20250219", False),
        ("claude-opus-4-6", True),
        ("claude-sonnet-4-6", True),
        ("claude-opus-4-8", True),
        ("claude-sonnet-5", True),
        ("claude-fable-5-1", True),
        ("claude-mythos-preview", True),
        ("my-proxy-model", False),
    ],
)
def test_which_models_take_adaptive_thinking(model: str, adaptive: bool) -> None:
    assert uses_adaptive_thinking(model) is adaptive


def test_effort_follows_the_budget() -> None:
    assert [effort_for_budget(b) for b in (1024, 4096, 8000, 16384, 32000)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
    ]


async def test_thinking_blocks_go_back_with_their_tool_call(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(
        Reply(reasoning=["I should ", "read it."], tool_calls=[FakeToolCall("read_file", {"path": "x"}, id="toolu_9")]),
        Reply(text=["It says hi."]),
    )
    _, first = await collect(provider.stream(request(thinking_budget=2048)))
    history = [
        Message(role="user", content="hi"),
        Message(role="assistant", tool_calls=first.tool_calls, reasoning=first.reasoning),
        Message(role="tool", tool_call_id="toolu_9", content="hi"),
    ]
    await collect(provider.stream(request(*history, thinking_budget=2048)))
    assistant = server.last_request.body["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {"type": "thinking", "thinking": "I should read it.", "signature": "c2lnbmF0dXJl"}
    assert assistant["content"][1]["type"] == "tool_use"


# -- failures --------------------------------------------------------------------------------------
async def test_401_is_not_retryable_and_says_what_to_do(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(Reply.error(401, message="invalid x-api-key"))
    seen, error = await failure(provider.stream(request()))
    assert seen == []
    assert error.retryable is False
    assert error.status == 401
    assert "the API key was rejected; set ANTHROPIC_API_KEY" in str(error)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (403, False),
        (404, False),
        (408, True),
        (409, True),
        (429, True),
        (500, True),
        (503, True),
        (529, True),
    ],
)
async def test_http_errors_are_classified(
    server: FakeLLMServer, provider: AnthropicProvider, status: int, retryable: bool
) -> None:
    server.enqueue(Reply.error(status, message="server says no"))
    _, error = await failure(provider.stream(request()))
    assert error.status == status
    assert error.retryable is retryable
    assert "server says no" in str(error)


async def test_429_carries_retry_after(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(Reply.error(429, retry_after=7), Reply.error(529, headers={"retry-after-ms": "1500"}))
    _, limited = await failure(provider.stream(request()))
    _, overloaded = await failure(provider.stream(request()))
    assert (limited.retryable, limited.retry_after) == (True, 7.0)
    assert (overloaded.retryable, overloaded.retry_after) == (True, 1.5)


async def test_garbage_in_the_stream_is_a_provider_error(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(Reply.malformed(after=1, text=["fine ", "then garbage"]))
    seen, error = await failure(provider.stream(request()))
    assert seen == [TextDelta("fine ")]
    assert error.retryable is False
    assert "malformed" in str(error)


@pytest.mark.parametrize(
    "raw",
    [
        # a delta for a block that was never started
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant",'
        b'"model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":3,'
        b'"delta":{"type":"text_delta","text":"x"}}\n\n',
        # events before message_start
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
        # valid JSON of the wrong shape
        b'event: message_start\ndata: {"type":"message_start","message":42}\n\n',
    ],
    ids=["unknown-block", "no-message-start", "wrong-shape"],
)
async def test_protocol_violations_are_provider_errors(
    server: FakeLLMServer, provider: AnthropicProvider, raw: bytes
) -> None:
    server.enqueue(Reply(raw_sse=raw))
    _, error = await failure(provider.stream(request()))
    assert isinstance(error, ProviderError)
    assert error.retryable is False


async def test_data_without_event_names_ends_without_message_stop(
    server: FakeLLMServer, provider: AnthropicProvider
) -> None:
    server.enqueue(Reply(raw_sse=b"data: hello\n\ndata: {}\n\n"))  # the SDK skips unnamed events
    _, error = await failure(provider.stream(request()))
    assert error.retryable is True
    assert "message_stop" in str(error)


async def test_malformed_tool_arguments_are_not_retryable(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(Reply(tool_calls=[FakeToolCall("write_file", '{"path": "a", "text": ')]))
    _, error = await failure(provider.stream(request()))
    assert error.retryable is False
    assert '{"path": "a", "text": ' in str(error)


async def test_connection_drop_mid_stream_is_retryable(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(Reply.drop(after=0), Reply.drop(after=2, text=["a", "b", "c", "d"]))
    before, early = await failure(provider.stream(request()))
    after, late = await failure(provider.stream(request()))
    assert before == []
    assert after == [TextDelta("a"), TextDelta("b")]
    assert early.retryable and late.retryable


async def test_stream_cut_before_message_stop_is_retryable(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(Reply(text=["partial"], truncate=True))
    seen, error = await failure(provider.stream(request()))
    assert seen == [TextDelta("partial")]
    assert error.retryable is True


async def test_error_event_inside_the_stream(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(
        Reply(text=["a", "b"], error_event_after=1),
        Reply(text=["a"], error_event_after=0, error_event_type="invalid_request_error"),
    )
    seen, overloaded = await failure(provider.stream(request()))
    _, invalid = await failure(provider.stream(request()))
    assert seen == [TextDelta("a")]
    assert (overloaded.retryable, overloaded.status) == (True, 529)
    assert (invalid.retryable, invalid.status) == (False, 400)


async def test_read_timeout_is_retryable(server: FakeLLMServer) -> None:
    server.enqueue(Reply(text=["late"], stall=3.0))
    p = AnthropicProvider(MODEL, base_url=server.anthropic_url, timeout=0.3)
    try:
        _, error = await failure(p.stream(request()))
    finally:
        await p.aclose()
    assert error.retryable is True
    assert "timed out" in str(error)


async def test_unreachable_server_is_retryable() -> None:
    with FakeLLMServer() as srv:
        url = srv.anthropic_url
    p = AnthropicProvider(MODEL, base_url=url, timeout=5)
    try:
        _, error = await failure(p.stream(request()))
    finally:
        await p.aclose()
    assert error.retryable is True


async def test_missing_credentials_are_a_clear_provider_error(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    p = AnthropicProvider(MODEL, base_url=server.anthropic_url)
    try:
        _, error = await failure(p.stream(request()))
    finally:
        await p.aclose()
    assert error.retryable is False
    assert "ANTHROPIC_API_KEY" in str(error)
    assert server.requests == []


async def test_provider_works_again_after_aclose(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(Reply(text=["one"]), Reply(text=["two"]))
    _, first = await collect(provider.stream(request()))
    await provider.aclose()
    await provider.aclose()  # idempotent
    _, second = await collect(provider.stream(request()))
    assert (first.text, second.text) == ("one", "two")
    assert (provider.name, provider.model) == ("anthropic", MODEL)


async def test_no_sdk_warnings_for_the_default_shape(server: FakeLLMServer, provider: AnthropicProvider) -> None:
    server.enqueue(Reply(text=["x"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await collect(provider.stream(request(thinking_budget=2048)))


def test_importing_the_adapter_does_not_import_the_sdk() -> None:
    code = (
        "import sys\n"
        "import life_tui.runtime.providers.anthropic, life_tui.runtime.providers.retry\n"
        "print(','.join(sorted(m for m in ('anthropic', 'openai', 'httpx2') if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == ""
