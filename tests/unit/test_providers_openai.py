"""OpenAICompatProvider driving the real openai SDK against the local fake server (no network)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from fakes import FakeLLMServer, FakeToolCall, FakeUsage, Reply
from fakes.streams import collect, failure

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
from life_tui.runtime.providers.openai_compat import LOCAL_PLACEHOLDER_KEY, OpenAICompatProvider

MODEL = "gpt-test"
KEY = "test-openai-key"


@pytest.fixture(autouse=True)
def _openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    for name in ("OPENAI_BASE_URL", "OPENAI_CUSTOM_HEADERS", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture
async def provider(server: FakeLLMServer) -> AsyncIterator[OpenAICompatProvider]:
    p = OpenAICompatProvider(MODEL, base_url=server.openai_url, timeout=10)
    yield p
    await p.aclose()


def request(*messages: Message, model: str = MODEL, **kwargs: object) -> ModelRequest:
    """A request with one user turn unless messages are given."""
    history = list(messages) or [Message(role="user", content="hi")]
    return ModelRequest(model=model, messages=history, **kwargs)  # type: ignore[arg-type]


def chunk_sse(delta: dict[str, object], finish: str | None = None) -> bytes:
    payload = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(payload)}\n\n".encode()


# -- streaming content -----------------------------------------------------------------------------
async def test_text_deltas_arrive_in_order_and_make_the_final_text(
    server: FakeLLMServer, provider: OpenAICompatProvider
) -> None:
    server.enqueue(Reply(text=["Hel", "lo, ", "wor", "ld"]))
    deltas, final = await collect(provider.stream(request()))
    assert deltas == [TextDelta("Hel"), TextDelta("lo, "), TextDelta("wor"), TextDelta("ld")]
    assert final.text == "Hello, world"
    assert final.stop_reason == "end_turn"
    assert final.model == MODEL


async def test_tool_call_fragments_are_joined_by_index(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    server.enqueue(
        Reply(
            text=["Checking."],
            tool_calls=[
                FakeToolCall("get_weather", {"city": "Paris", "units": ["C"], "deep": {"a": 1}}, id="call_1"),
                FakeToolCall("get_time", {}, id="call_2"),
            ],
            argument_pieces=5,
        )
    )
    deltas, final = await collect(provider.stream(request()))
    assert deltas == [TextDelta("Checking.")]
    assert final.stop_reason == "tool_use"
    assert final.tool_calls == [
        ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris", "units": ["C"], "deep": {"a": 1}}),
        ToolCall(id="call_2", name="get_time", arguments={}),
    ]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_reasoning_fields_stream_as_reasoning_deltas(
    server: FakeLLMServer, provider: OpenAICompatProvider, field: str
) -> None:
    server.enqueue(Reply(reasoning=["Let me ", "think."], text=["42"], reasoning_field=field))
    deltas, final = await collect(provider.stream(request()))
    assert deltas == [ReasoningDelta("Let me "), ReasoningDelta("think."), TextDelta("42")]
    assert final.reasoning == "Let me think."
    assert final.text == "42"


async def test_usage_with_cached_and_reasoning_tokens(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    usage = FakeUsage(input_tokens=500, output_tokens=40, cached_tokens=384, cache_write_tokens=16, reasoning_tokens=12)
    server.enqueue(Reply(text=["ok"], usage=usage))
    _, final = await collect(provider.stream(request()))
    assert final.usage == Usage(
        input_tokens=500, output_tokens=40, cached_tokens=384, cache_write_tokens=16, reasoning_tokens=12
    )


async def test_missing_usage_reports_zeros(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    server.enqueue(Reply(text=["local"], usage=None))
    _, final = await collect(provider.stream(request()))
    assert final.usage == Usage()
    assert final.text == "local"


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        ("end_turn", "end_turn"),
        ("tool_use", "tool_use"),
        ("max_tokens", "max_tokens"),
        ("refusal", "refusal"),
        ("function_call", "tool_use"),
        ("something_new", "end_turn"),
    ],
)
async def test_finish_reasons_map_to_the_neutral_literal(
    server: FakeLLMServer, provider: OpenAICompatProvider, stop: str, expected: str
) -> None:
    server.enqueue(Reply(text=["x"], stop_reason=stop))
    _, final = await collect(provider.stream(request()))
    assert final.stop_reason == expected


async def test_stop_with_tool_calls_means_tool_use(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    server.enqueue(Reply(tool_calls=[FakeToolCall("ls", {"path": "."})], stop_reason="end_turn"))  # Ollama style
    _, final = await collect(provider.stream(request()))
    assert final.stop_reason == "tool_use"
    assert final.tool_calls[0].arguments == {"path": "."}


async def test_tool_calls_without_index_or_id(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    raw = (
        chunk_sse({"role": "assistant", "content": ""})
        + chunk_sse({"tool_calls": [{"id": "a", "function": {"name": "one", "arguments": '{"n":'}}]})
        + chunk_sse({"tool_calls": [{"function": {"arguments": " 1}"}}]})
        + chunk_sse({"tool_calls": [{"id": "b", "function": {"name": "two", "arguments": "{}"}}]})
        + chunk_sse({}, "tool_calls")
        + b"data: [DONE]\n\n"
    )
    server.enqueue(Reply(raw_sse=raw))
    _, final = await collect(provider.stream(request()))
    assert final.tool_calls == [
        ToolCall(id="a", name="one", arguments={"n": 1}),
        ToolCall(id="b", name="two", arguments={}),
    ]


async def test_refusal_text_is_text_with_a_refusal_stop(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    raw = chunk_sse({"role": "assistant", "refusal": "I can't help."}) + chunk_sse({}, "stop") + b"data: [DONE]\n\n"
    server.enqueue(Reply(raw_sse=raw))
    deltas, final = await collect(provider.stream(request()))
    assert deltas == [TextDelta("I can't help.")]
    assert final.stop_reason == "refusal"


# -- request shape ---------------------------------------------------------------------------------
async def test_request_shape_messages_tools_and_stream_options(
    server: FakeLLMServer, provider: OpenAICompatProvider
) -> None:
    server.enqueue(Reply(text=["done"]))
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    req = ModelRequest(
        model=MODEL,
        system=[SystemBlock(name="soul", text="Be brief.", cache=True), SystemBlock(name="mem", text="Likes tea.")],
        messages=[
            Message(role="user", content="weather in Paris and Rome?"),
            Message(
                role="assistant",
                reasoning="not re-sent",
                tool_calls=[
                    ToolCall(id="call_p", name="get_weather", arguments={"city": "Paris"}),
                    ToolCall(id="call_r", name="get_weather", arguments={"city": "Rome"}),
                ],
            ),
            Message(role="tool", tool_call_id="call_p", tool_name="get_weather", content="18C"),
            Message(role="tool", tool_call_id="call_r", tool_name="get_weather", content="timeout", is_error=True),
            Message(role="assistant", content="Paris is 18C."),
            Message(role="user", content="thanks"),
        ],
        tools=[ToolDefinition(name="get_weather", description="Weather by city", input_schema=schema)],
        max_tokens=321,
        temperature=0.3,
    )
    await collect(provider.stream(req))
    sent = server.last_request
    assert sent.path == "/v1/chat/completions"
    body = sent.body
    assert body["model"] == MODEL
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 321
    assert "max_completion_tokens" not in body
    assert body["temperature"] == 0.3
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Weather by city", "parameters": schema},
        }
    ]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief.\n\nLikes tea."},
        {"role": "user", "content": "weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_p",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_r",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_p", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_r", "content": "Error: timeout"},
        {"role": "assistant", "content": "Paris is 18C."},
        {"role": "user", "content": "thanks"},
    ]


async def test_no_tools_no_temperature_means_neither_is_sent(
    server: FakeLLMServer, provider: OpenAICompatProvider
) -> None:
    server.enqueue(Reply(text=["x"]))
    await collect(provider.stream(request()))
    body = server.last_request.body
    assert "tools" not in body
    assert "temperature" not in body
    assert body["messages"] == [{"role": "user", "content": "hi"}]


async def test_authorization_key_from_argument_env_or_placeholder(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.enqueue(Reply(text=["a"]), Reply(text=["b"]), Reply(text=["c"]))
    explicit = OpenAICompatProvider(MODEL, api_key="explicit", base_url=server.openai_url)
    from_env = OpenAICompatProvider(MODEL, base_url=server.openai_url)
    try:
        await collect(explicit.stream(request()))
        await collect(from_env.stream(request()))
        monkeypatch.delenv("OPENAI_API_KEY")
        local = OpenAICompatProvider(MODEL, base_url=server.openai_url, name="ollama")
        try:
            await collect(local.stream(request()))
        finally:
            await local.aclose()
    finally:
        await explicit.aclose()
        await from_env.aclose()
    assert [r.headers["authorization"] for r in server.requests] == [
        "Bearer explicit",
        f"Bearer {KEY}",
        f"Bearer {LOCAL_PLACEHOLDER_KEY}",
    ]
    assert local.name == "ollama"


async def test_base_url_from_the_environment_is_honoured(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
    server.enqueue(Reply(text=["via env"]))
    p = OpenAICompatProvider(MODEL)
    try:
        _, final = await collect(p.stream(request()))
    finally:
        await p.aclose()
    assert final.text == "via env"
    assert server.last_request.path == "/v1/chat/completions"


# -- failures --------------------------------------------------------------------------------------
async def test_401_is_not_retryable_and_says_what_to_do(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    server.enqueue(Reply.error(401, message="Incorrect API key provided"))
    seen, error = await failure(provider.stream(request()))
    assert seen == []
    assert (error.retryable, error.status) == (False, 401)
    assert "the API key was rejected; set OPENAI_API_KEY" in str(error)
    assert "Incorrect API key provided" in str(error)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(400, False), (403, False), (404, False), (408, True), (409, True), (429, True), (500, True), (502, True)],
)
async def test_http_errors_are_classified(
    server: FakeLLMServer, provider: OpenAICompatProvider, status: int, retryable: bool
) -> None:
    server.enqueue(Reply.error(status, message="server says no"))
    _, error = await failure(provider.stream(request()))
    assert (error.status, error.retryable) == (status, retryable)
    assert "server says no" in str(error)


async def test_429_carries_retry_after(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    server.enqueue(Reply.error(429, retry_after=3))
    _, error = await failure(provider.stream(request()))
    assert (error.retryable, error.retry_after) == (True, 3.0)


async def test_provider_name_labels_errors(server: FakeLLMServer) -> None:
    server.enqueue(Reply.error(404))
    p = OpenAICompatProvider("llama3.2", base_url=server.openai_url, name="ollama")
    try:
        _, error = await failure(p.stream(request(model="llama3.2")))
    finally:
        await p.aclose()
    assert str(error).startswith("ollama: not found")
    assert "llama3.2" in str(error)


async def test_malformed_tool_arguments_are_not_retryable_and_quote_the_text(
    server: FakeLLMServer, provider: OpenAICompatProvider
) -> None:
    server.enqueue(Reply(tool_calls=[FakeToolCall("write", '{"path": "a.txt", "text": "unterminated')]))
    _, error = await failure(provider.stream(request()))
    assert error.retryable is False
    assert '{"path": "a.txt", "text": "unterminated' in str(error)


async def test_arguments_that_are_not_an_object_are_rejected(
    server: FakeLLMServer, provider: OpenAICompatProvider
) -> None:
    server.enqueue(Reply(tool_calls=[FakeToolCall("write", "[1, 2]")]))
    _, error = await failure(provider.stream(request()))
    assert error.retryable is False
    assert "not a JSON object" in str(error)


async def test_garbage_in_the_stream_is_a_provider_error(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    server.enqueue(Reply.malformed(after=1, text=["fine ", "then garbage"]))
    seen, error = await failure(provider.stream(request()))
    assert seen == [TextDelta("fine ")]
    assert error.retryable is False
    assert "malformed" in str(error)


async def test_wrong_shape_chunks_are_a_provider_error(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    server.enqueue(Reply(raw_sse=b'data: {"choices": [{"index": 0, "delta": 5}]}\n\ndata: [DONE]\n\n'))
    _, error = await failure(provider.stream(request()))
    assert isinstance(error, ProviderError)


async def test_error_chunk_inside_the_stream(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    server.enqueue(Reply(text=["a", "b"], error_event_after=1, error_event_type="server_error"))
    seen, error = await failure(provider.stream(request()))
    assert seen == [TextDelta("a")]
    assert error.retryable is True
    assert "fake in-stream error" in str(error)


async def test_connection_drop_mid_stream_is_retryable(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    server.enqueue(Reply.drop(after=0), Reply.drop(after=2, text=["a", "b", "c"]))
    before, early = await failure(provider.stream(request()))
    after, late = await failure(provider.stream(request()))
    assert before == []
    assert after == [TextDelta("a"), TextDelta("b")]
    assert early.retryable and late.retryable


async def test_stream_ending_without_finish_reason_is_retryable(
    server: FakeLLMServer, provider: OpenAICompatProvider
) -> None:
    server.enqueue(Reply(text=["partial"], truncate=True))
    seen, error = await failure(provider.stream(request()))
    assert seen == [TextDelta("partial")]
    assert error.retryable is True
    assert "finish_reason" in str(error)


async def test_read_timeout_is_retryable(server: FakeLLMServer) -> None:
    server.enqueue(Reply(text=["late"], stall=3.0))
    p = OpenAICompatProvider(MODEL, base_url=server.openai_url, timeout=0.3)
    try:
        _, error = await failure(p.stream(request()))
    finally:
        await p.aclose()
    assert error.retryable is True


async def test_unreachable_server_is_retryable() -> None:
    with FakeLLMServer() as srv:
        url = srv.openai_url
    p = OpenAICompatProvider(MODEL, base_url=url, timeout=5)
    try:
        _, error = await failure(p.stream(request()))
    finally:
        await p.aclose()
    assert error.retryable is True
    assert "could not reach" in str(error)


async def test_provider_works_again_after_aclose(server: FakeLLMServer, provider: OpenAICompatProvider) -> None:
    server.enqueue(Reply(text=["one"]), Reply(text=["two"]))
    _, first = await collect(provider.stream(request()))
    await provider.aclose()
    await provider.aclose()
    _, second = await collect(provider.stream(request()))
    assert (first.text, second.text) == ("one", "two")
    assert (provider.name, provider.model) == ("openai", MODEL)


def test_importing_the_adapter_does_not_import_the_sdk() -> None:
    code = (
        "import sys\n"
        "import life_tui.runtime.providers.openai_compat, life_tui.runtime.providers.retry\n"
        "print(','.join(sorted(m for m in ('anthropic', 'openai', 'httpx2') if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == ""
