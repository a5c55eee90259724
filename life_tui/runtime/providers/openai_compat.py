"""The OpenAI chat-completions adapter, for OpenAI and every OpenAI-compatible server.

One adapter covers OpenAI itself and the servers that speak its chat-completions dialect (Ollama, vLLM,
LM Studio, Groq, Together, OpenRouter, ...): point ``base_url`` (or ``OPENAI_BASE_URL``) at the server's
``/v1``. The ``openai`` SDK is imported inside :meth:`OpenAICompatProvider.stream`, never at module import,
and its own retries are off (``max_retries=0``); :mod:`.retry` decides.

Mapping of a :class:`ModelRequest`: the system blocks are joined into one ``system`` message (blank line
between blocks); assistant messages carry ``tool_calls`` (arguments as JSON text); tool results become
``tool`` messages (an error result is prefixed ``Error:``, as the format has no error flag); tools are
``{"type": "function", "function": {name, description, parameters}}``. ``max_tokens`` is sent as
``max_completion_tokens`` to api.openai.com (its reasoning models refuse ``max_tokens``) and as
``max_tokens`` to any other server (older compatible servers only know that one). ``thinking_budget`` is not
sent: the dialect has no budget, and ``reasoning_effort`` is refused by non-reasoning models.

Streaming uses ``stream_options={"include_usage": True}``. Tool-call fragments are joined by their
``index``; reasoning arrives, where a server sends it, as ``delta.reasoning_content`` (DeepSeek, older
vLLM) or ``delta.reasoning`` (Ollama, OpenRouter, newer vLLM). Usage may be missing (many local servers):
the response then reports zeros. Note that ``prompt_tokens`` *includes* the cached tokens, unlike
Anthropic's ``input_tokens``; the numbers are passed through as reported.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .base import (
    Message,
    ModelRequest,
    ModelResponse,
    ProviderError,
    ReasoningDelta,
    StopReason,
    StreamItem,
    TextDelta,
    ToolCall,
    Usage,
)
from .retry import describe_status, is_retryable_status, parse_retry_after

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import (
        ChatCompletionChunk,
        ChatCompletionFunctionToolParam,
        ChatCompletionMessageParam,
    )
    from openai.types.chat.chat_completion_assistant_message_param import ChatCompletionAssistantMessageParam

__all__ = ["LOCAL_PLACEHOLDER_KEY", "OpenAICompatProvider"]

LOCAL_PLACEHOLDER_KEY = "not-needed-for-local"
"""Sent when no key is configured: local servers ignore it, and the SDK refuses to start without one."""

_FINISH_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}
_KEY_ENV = "OPENAI_API_KEY"
_REASONING_FIELDS = ("reasoning_content", "reasoning")


class OpenAICompatProvider:
    """A :class:`~life_tui.runtime.providers.base.Provider` over the OpenAI chat-completions API.

    ``name`` labels the provider (``openai``, ``ollama``, ...) in messages and events.
    """

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        name: str = "openai",
    ) -> None:
        self.name = name
        self.model = model
        self._api_key = api_key
        self._base_url = base_url or None
        self._timeout = timeout
        self._client: AsyncOpenAI | None = None

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        model = request.model or self.model
        try:
            client = self._get_client()
            official = client.base_url.host == "api.openai.com"
            tools = _tools(request)
            raw = await client.chat.completions.create(
                model=model,
                messages=_messages(request),
                tools=tools if tools else _omit(),
                temperature=request.temperature if request.temperature is not None else _omit(),
                stream=True,
                stream_options={"include_usage": True},
                max_completion_tokens=request.max_tokens if official else _omit(),
                max_tokens=_omit() if official else request.max_tokens,
            )
        except ProviderError:
            raise
        except Exception as error:
            raise self._map_error(error, model, streaming=False) from error

        turn = _Turn(label=self.name, model=model)
        try:
            async with raw:
                async for chunk in raw:
                    for item in turn.feed(chunk):
                        yield item
        except ProviderError:
            raise
        except Exception as error:
            raise self._map_error(error, model, streaming=True) from error
        yield turn.finish()

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            import openai

            self._client = openai.AsyncOpenAI(
                api_key=self._api_key or os.environ.get("OPENAI_API_KEY") or LOCAL_PLACEHOLDER_KEY,
                base_url=self._base_url or os.environ.get("OPENAI_BASE_URL") or None,
                max_retries=0,
                timeout=self._timeout,
            )
        return self._client

    def _map_error(self, error: Exception, model: str, *, streaming: bool) -> ProviderError:
        return _map_error(error, self.name, model, streaming=streaming)


def _omit() -> Any:
    from openai import omit

    return omit


# -- request mapping -------------------------------------------------------------------------------
def _tools(request: ModelRequest) -> list[ChatCompletionFunctionToolParam]:
    return [
        {
            "type": "function",
            "function": {"name": tool.name, "description": tool.description, "parameters": tool.input_schema},
        }
        for tool in request.tools
    ]


def _messages(request: ModelRequest) -> list[ChatCompletionMessageParam]:
    out: list[ChatCompletionMessageParam] = []
    system = "\n\n".join(block.text for block in request.system if block.text)
    if system:
        out.append({"role": "system", "content": system})
    for message in request.messages:
        out.append(_message(message))
    return out


def _message(message: Message) -> ChatCompletionMessageParam:
    if message.role == "tool":
        content = message.content
        if message.is_error and not content.lower().startswith("error"):
            content = f"Error: {content}" if content else "Error"
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": content}
    if message.role == "assistant":
        assistant: ChatCompletionAssistantMessageParam = {"role": "assistant"}
        if message.tool_calls:
            assistant["content"] = message.content or None
            assistant["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in message.tool_calls
            ]
        else:
            assistant["content"] = message.content
        return assistant
    return {"role": "user", "content": message.content}


# -- stream accumulation ---------------------------------------------------------------------------
@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _Turn:
    label: str
    model: str
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: dict[int, _PendingCall] = field(default_factory=dict)
    finish_reason: str | None = None
    refused: bool = False
    usage: Usage = field(default_factory=Usage)

    def feed(self, chunk: ChatCompletionChunk) -> list[StreamItem]:
        items: list[StreamItem] = []
        if chunk.model:
            self.model = chunk.model
        if chunk.usage is not None:
            self.usage = _usage(chunk.usage)
        for choice in chunk.choices or ():
            if choice.index != 0:
                continue  # n=1 is requested; ignore anything else a server invents
            delta = choice.delta
            if delta is not None:
                extra = delta.model_extra or {}
                for name in _REASONING_FIELDS:
                    piece = extra.get(name)
                    if isinstance(piece, str) and piece:
                        self.reasoning.append(piece)
                        items.append(ReasoningDelta(piece))
                        break
                if delta.content:
                    self.text.append(delta.content)
                    items.append(TextDelta(delta.content))
                if delta.refusal:
                    self.refused = True
                    self.text.append(delta.refusal)
                    items.append(TextDelta(delta.refusal))
                for position, fragment in enumerate(delta.tool_calls or ()):
                    self._tool_fragment(position, fragment)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return items

    def _tool_fragment(self, position: int, fragment: Any) -> None:
        index = getattr(fragment, "index", None)
        fragment_id = getattr(fragment, "id", None) or ""
        if not isinstance(index, int):
            # Some servers omit the index: a new id starts a call, anything else continues the last one.
            known = {call.id for call in self.calls.values()}
            starts_call = not self.calls or (fragment_id and fragment_id not in known)
            index = len(self.calls) if starts_call else max(self.calls)
        call = self.calls.setdefault(index, _PendingCall())
        if fragment_id and not call.id:
            call.id = fragment_id
        function = getattr(fragment, "function", None)
        if function is not None:
            if function.name and not call.name:
                call.name = function.name
            if function.arguments:
                call.arguments.append(function.arguments)

    def finish(self) -> ModelResponse:
        if self.finish_reason is None:
            raise ProviderError(
                f"{self.label}: the stream ended without a finish_reason (connection lost mid-response)",
                retryable=True,
            )
        calls = [self._tool_call(index, call) for index, call in sorted(self.calls.items())]
        stop = _FINISH_REASONS.get(self.finish_reason, "end_turn")
        if calls and stop == "end_turn":
            stop = "tool_use"  # some servers (Ollama) say "stop" after a tool call
        if self.refused and stop == "end_turn":
            stop = "refusal"
        return ModelResponse(
            text="".join(self.text),
            reasoning="".join(self.reasoning),
            tool_calls=calls,
            stop_reason=stop,
            usage=self.usage,
            model=self.model,
        )

    def _tool_call(self, index: int, call: _PendingCall) -> ToolCall:
        if not call.name:
            raise ProviderError(f"{self.label}: tool call {index} arrived without a function name", retryable=False)
        raw = "".join(call.arguments)
        arguments: Any = {}
        if raw.strip():
            try:
                arguments = json.loads(raw)
            except ValueError:
                raise ProviderError(
                    f"{self.label}: the model sent malformed JSON arguments for tool {call.name!r}: {raw}",
                    retryable=False,
                ) from None
        if not isinstance(arguments, dict):
            raise ProviderError(
                f"{self.label}: the arguments for tool {call.name!r} are not a JSON object: {raw}", retryable=False
            )
        return ToolCall(id=call.id or f"call_{index}", name=call.name, arguments=arguments)


def _usage(usage: Any) -> Usage:
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    completion_details = getattr(usage, "completion_tokens_details", None)
    return Usage(
        input_tokens=_int(getattr(usage, "prompt_tokens", 0)),
        output_tokens=_int(getattr(usage, "completion_tokens", 0)),
        cached_tokens=_int(getattr(prompt_details, "cached_tokens", 0)),
        cache_write_tokens=_int(getattr(prompt_details, "cache_write_tokens", 0)),
        reasoning_tokens=_int(getattr(completion_details, "reasoning_tokens", 0)),
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- errors ----------------------------------------------------------------------------------------
def _map_error(error: Exception, label: str, model: str, *, streaming: bool) -> ProviderError:
    """Turn whatever the SDK or the transport raised into a :class:`ProviderError`."""
    import anyio
    import httpx2
    import openai

    if isinstance(error, ProviderError):
        return error
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        return ProviderError(
            describe_status(label, status, _detail(error.body) or None, key_env=_KEY_ENV, model=model),
            retryable=is_retryable_status(status),
            status=status,
            retry_after=parse_retry_after(error.response.headers),
        )
    if isinstance(error, openai.APITimeoutError | httpx2.TimeoutException | TimeoutError):
        return ProviderError(f"{label}: the request timed out", retryable=True)
    if isinstance(error, openai.APIConnectionError):
        where = "the connection was lost mid-response" if streaming else "could not reach the server"
        return ProviderError(f"{label}: {where}: {error.__cause__ or error}", retryable=True)
    if isinstance(error, openai.APIResponseValidationError):
        return ProviderError(f"{label}: the server sent a malformed response: {error}", retryable=False)
    if isinstance(error, openai.APIError):
        # An error object inside the stream (no HTTP status). Server-side kinds are worth a retry.
        kind = f"{error.type or ''} {error.code or ''}".lower()
        transient = any(word in kind for word in ("server", "overload", "rate_limit", "timeout", "unavailable"))
        return ProviderError(f"{label}: the server reported an error mid-stream: {error.message}", retryable=transient)
    if isinstance(
        error,
        httpx2.TransportError
        | anyio.EndOfStream
        | anyio.BrokenResourceError
        | anyio.ClosedResourceError
        | ConnectionError,
    ):
        return ProviderError(f"{label}: the connection was lost mid-response: {error}", retryable=True)
    if streaming and isinstance(error, ValueError | KeyError | AttributeError | TypeError | IndexError):
        return ProviderError(f"{label}: the server sent a malformed stream: {error}", retryable=False)
    if isinstance(error, openai.OpenAIError):
        return ProviderError(f"{label}: {error}", retryable=False)
    return ProviderError(f"{label}: unexpected {type(error).__name__}: {error}", retryable=False)


def _detail(body: object) -> str:
    """The server's own error message from an error body (``{"error": {"message": ...}}`` and variants)."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message")
            if isinstance(message, str):
                return message
        if isinstance(inner, str):
            return inner
    if isinstance(body, str):
        return body[:500]
    return ""
