"""The Anthropic Messages API adapter: streaming, tool use, prompt caching and extended thinking.

The ``anthropic`` SDK (about 2 s to import) is imported inside :meth:`AnthropicProvider.stream`, never when
this module is imported. The SDK's own retries are off (``max_retries=0``); :mod:`.retry` decides.

Mapping of a :class:`ModelRequest`:

* system blocks -> ``system=[{"type": "text", "text": ...}]``, with ``cache_control: ephemeral`` on the
  blocks marked ``cache=True`` (each one ends a cached prefix);
* user messages -> text blocks; assistant messages -> text + ``tool_use`` blocks (earlier reasoning is not
  re-sent); tool messages -> ``tool_result`` blocks (with ``is_error``) in a user message. Consecutive
  messages of one role are merged, so a run of tool results becomes one user message, as the API wants;
* ``thinking_budget`` -> ``thinking={"type": "enabled", "budget_tokens": N}`` (N at least 1024, the API's
  minimum) with ``max_tokens`` raised above the budget when needed. Claude 4.6 and later
  (``claude-{opus,sonnet,haiku,fable,mythos}-X-Y`` with X.Y >= 4.6, and ``claude-mythos-preview``) get
  ``thinking={"type": "adaptive", "display": "summarized"}`` plus ``output_config={"effort": ...}`` chosen
  from the budget instead: 4.7+ and the 5 family answer 400 to the budget form, and 4.6 deprecates it;
* ``temperature`` is never sent: API version 2026-10-21, which anthropic 2.x speaks, answers 400 to
  ``temperature`` / ``top_p`` / ``top_k`` (even at their defaults), and ``messages.create`` no longer has them.

With thinking on, the API wants the assistant turn that made a tool call to be sent back *with* its thinking
blocks (text and signature, unmodified) while the tool loop continues. The neutral :class:`Message` has no
place for a signature, so the provider remembers the thinking blocks of its recent responses, keyed by their
first tool call id, and re-attaches them when that assistant message comes back. (Across a restart the
signature is gone; see the report on the contract.)

The raw event stream (``messages.create(stream=True)``) is consumed rather than the SDK's ``messages.stream``
helper: the helper parses tool input with a *partial* JSON parser, so a truncated argument string would pass
as a valid, shorter dict; here each tool's JSON is parsed once, whole, at its ``content_block_stop``.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

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
    from anthropic import AsyncAnthropic
    from anthropic.types import (
        ContentBlockParam,
        MessageParam,
        OutputConfigParam,
        RawMessageStreamEvent,
        TextBlockParam,
        ThinkingConfigParam,
        ToolParam,
        ToolResultBlockParam,
    )

__all__ = ["MIN_THINKING_BUDGET", "AnthropicProvider"]

MIN_THINKING_BUDGET = 1024
"""The smallest ``budget_tokens`` the API accepts."""

_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "refusal": "refusal",
    # The answer was cut off by the context window: as incomplete as a max_tokens stop.
    "model_context_window_exceeded": "max_tokens",
}

# An ``event: error`` inside a 200 stream carries only an error type; these are the statuses it stands for.
_ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "timeout_error": 408,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}

_LABEL = "anthropic"
_KEY_ENV = "ANTHROPIC_API_KEY"
_THINKING_MEMORY = 64
"""How many recent responses' thinking blocks are kept for re-sending with their tool calls."""

_MODEL_VERSION = re.compile(r"^claude-(?:opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d{1,2}))?(?:-|$)")


def uses_adaptive_thinking(model: str) -> bool:
    """True for models that take ``thinking: {"type": "adaptive"}`` rather than a token budget (4.6 and later).

    Names in the old order (``claude-3-7-sonnet-...``) and unknown names keep the budget form.
    """
    if model.startswith("claude-mythos-preview"):
        return True
    match = _MODEL_VERSION.match(model)
    if match is None:
        return False
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    return (major, minor) >= (4, 6)


def effort_for_budget(budget: int) -> Literal["low", "medium", "high"]:
    """The adaptive-thinking effort closest in spirit to a token budget."""
    if budget <= 4096:
        return "low"
    if budget <= 16384:
        return "medium"
    return "high"


class AnthropicProvider:
    """A :class:`~life_tui.runtime.providers.base.Provider` for Claude models over the Messages API.

    ``api_key`` / ``base_url`` default to the SDK's own resolution (``ANTHROPIC_API_KEY``,
    ``ANTHROPIC_BASE_URL``, ...). ``max_tokens`` overrides the request's when given.
    """

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_tokens: int | None = None,
    ) -> None:
        self.name = "anthropic"
        self.model = model
        self._api_key = api_key or None
        self._base_url = base_url or None  # "" (an empty setting) means the default, not a relative URL
        self._timeout = timeout
        self._max_tokens = max_tokens
        self._client: AsyncAnthropic | None = None
        self._thinking: OrderedDict[str, list[ContentBlockParam]] = OrderedDict()

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
            params = _Params.build(
                request, model=model, max_tokens_override=self._max_tokens, thinking_blocks=self._thinking
            )
            raw = await client.messages.create(
                model=model,
                max_tokens=params.max_tokens,
                messages=params.messages,
                system=params.system if params.system else _omit(),
                tools=params.tools if params.tools else _omit(),
                thinking=params.thinking if params.thinking is not None else _omit(),
                output_config=params.output_config if params.output_config is not None else _omit(),
                stream=True,
            )
        except ProviderError:
            raise
        except Exception as error:
            raise _map_error(error, model, streaming=False) from error

        turn = _Turn(model=model)
        try:
            async with raw:
                async for event in raw:
                    for item in turn.feed(event):
                        yield item
        except ProviderError:
            raise
        except Exception as error:
            raise _map_error(error, model, streaming=True) from error
        response = turn.finish()
        self._remember_thinking(turn, response)
        yield response

    def _remember_thinking(self, turn: _Turn, response: ModelResponse) -> None:
        blocks = turn.thinking_blocks()
        if not blocks or not response.tool_calls:
            return
        self._thinking[response.tool_calls[0].id] = blocks
        while len(self._thinking) > _THINKING_MEMORY:
            self._thinking.popitem(last=False)

    def _get_client(self) -> AsyncAnthropic:
        if self._client is None:
            import anthropic

            self._client = anthropic.AsyncAnthropic(
                api_key=self._api_key, base_url=self._base_url, max_retries=0, timeout=self._timeout
            )
        return self._client


def _omit() -> Any:
    from anthropic import omit

    return omit


# -- request mapping -------------------------------------------------------------------------------
@dataclass
class _Params:
    max_tokens: int
    messages: list[MessageParam]
    system: list[TextBlockParam]
    tools: list[ToolParam]
    thinking: ThinkingConfigParam | None
    output_config: OutputConfigParam | None

    @classmethod
    def build(
        cls,
        request: ModelRequest,
        *,
        model: str,
        max_tokens_override: int | None = None,
        thinking_blocks: Mapping[str, list[ContentBlockParam]] | None = None,
    ) -> _Params:
        max_tokens = max_tokens_override or request.max_tokens
        thinking: ThinkingConfigParam | None = None
        output_config: OutputConfigParam | None = None
        if request.thinking_budget is not None:
            if uses_adaptive_thinking(model):
                thinking = {"type": "adaptive", "display": "summarized"}
                output_config = {"effort": effort_for_budget(request.thinking_budget)}
            else:
                budget = max(MIN_THINKING_BUDGET, request.thinking_budget)
                thinking = {"type": "enabled", "budget_tokens": budget}
                if max_tokens <= budget:
                    max_tokens = budget + max_tokens
        system: list[TextBlockParam] = []
        for block in request.system:
            if not block.text:
                continue
            param: TextBlockParam = {"type": "text", "text": block.text}
            if block.cache:
                param["cache_control"] = {"type": "ephemeral"}
            system.append(param)
        tools: list[ToolParam] = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}
            for tool in request.tools
        ]
        remembered = thinking_blocks if thinking is not None and thinking_blocks else {}
        return cls(
            max_tokens=max_tokens,
            messages=_messages(request.messages, remembered),
            system=system,
            tools=tools,
            thinking=thinking,
            output_config=output_config,
        )


def _messages(
    messages: list[Message], thinking_blocks: Mapping[str, list[ContentBlockParam]] | None = None
) -> list[MessageParam]:
    turns: list[tuple[Literal["user", "assistant"], list[ContentBlockParam]]] = []
    for message in messages:
        blocks: list[ContentBlockParam] = []
        role: Literal["user", "assistant"]
        if message.role == "tool":
            role = "user"
            result: ToolResultBlockParam = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "is_error": message.is_error,
            }
            if message.content:
                result["content"] = message.content
            blocks.append(result)
        elif message.role == "assistant":
            role = "assistant"
            if message.tool_calls and thinking_blocks:
                blocks.extend(thinking_blocks.get(message.tool_calls[0].id, ()))
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            blocks.extend(
                {"type": "tool_use", "id": call.id, "name": call.name, "input": dict(call.arguments)}
                for call in message.tool_calls
            )
        else:
            role = "user"
            if message.content:
                blocks.append({"type": "text", "text": message.content})
        if not blocks:
            continue  # the API rejects empty content; an empty message says nothing anyway
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    out: list[MessageParam] = []
    for role, blocks in turns:
        if role == "user":
            out.append({"role": "user", "content": blocks})
        else:
            out.append({"role": "assistant", "content": blocks})
    return out


# -- stream accumulation ---------------------------------------------------------------------------
@dataclass
class _Block:
    kind: str
    tool_id: str = ""
    tool_name: str = ""
    json_parts: list[str] = field(default_factory=list)
    initial_input: dict[str, Any] = field(default_factory=dict)
    call: ToolCall | None = None
    thinking: list[str] = field(default_factory=list)
    signature: str = ""
    data: str = ""


class _Malformed(Exception):
    pass


@dataclass
class _Turn:
    """The assistant turn being assembled from raw stream events."""

    model: str
    started: bool = False
    stopped: bool = False
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    blocks: dict[int, _Block] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def feed(self, event: RawMessageStreamEvent) -> list[StreamItem]:
        if event.type == "message_start":
            if self.started:
                raise _Malformed("a second message_start")
            self.started = True
            message = event.message
            self.model = message.model or self.model
            usage = message.usage
            self.input_tokens = usage.input_tokens or 0
            self.output_tokens = usage.output_tokens or 0
            self.cached_tokens = usage.cache_read_input_tokens or 0
            self.cache_write_tokens = usage.cache_creation_input_tokens or 0
            return []
        if not self.started:
            raise _Malformed(f"{event.type} before message_start")
        if event.type == "content_block_start":
            if event.index in self.blocks:
                raise _Malformed(f"content block {event.index} started twice")
            block = event.content_block
            started = _Block(block.type)
            items: list[StreamItem] = []
            if block.type == "tool_use":
                started.tool_id, started.tool_name = block.id, block.name
                started.initial_input = block.input if isinstance(block.input, dict) else {}
            elif block.type == "thinking":
                started.signature = block.signature or ""
                if block.thinking:  # normally empty, the text follows in deltas
                    started.thinking.append(block.thinking)
                    self.reasoning.append(block.thinking)
                    items.append(ReasoningDelta(block.thinking))
            elif block.type == "redacted_thinking":
                started.data = block.data
            elif block.type == "text" and block.text:
                self.text.append(block.text)
                items.append(TextDelta(block.text))
            self.blocks[event.index] = started
            self.order.append(event.index)
            return items
        if event.type == "content_block_delta":
            current = self._block(event.index)
            delta = event.delta
            if delta.type == "text_delta":
                if current.kind != "text":
                    raise _Malformed(f"a text_delta in a {current.kind} block")
                if delta.text:
                    self.text.append(delta.text)
                    return [TextDelta(delta.text)]
            elif delta.type == "thinking_delta":
                if current.kind != "thinking":
                    raise _Malformed(f"a thinking_delta in a {current.kind} block")
                if delta.thinking:
                    current.thinking.append(delta.thinking)
                    self.reasoning.append(delta.thinking)
                    return [ReasoningDelta(delta.thinking)]
            elif delta.type == "signature_delta":
                current.signature = delta.signature
            elif delta.type == "input_json_delta":
                current.json_parts.append(delta.partial_json)
            return []
        if event.type == "content_block_stop":
            current = self._block(event.index)
            if current.kind == "tool_use":
                current.call = _tool_call(current)
            return []
        if event.type == "message_delta":
            self.stop_reason = event.delta.stop_reason
            delta_usage = event.usage
            self.output_tokens = delta_usage.output_tokens
            if delta_usage.input_tokens is not None:
                self.input_tokens = delta_usage.input_tokens
            if delta_usage.cache_read_input_tokens is not None:
                self.cached_tokens = delta_usage.cache_read_input_tokens
            if delta_usage.cache_creation_input_tokens is not None:
                self.cache_write_tokens = delta_usage.cache_creation_input_tokens
            if delta_usage.output_tokens_details is not None:
                self.reasoning_tokens = delta_usage.output_tokens_details.thinking_tokens
            return []
        if event.type == "message_stop":
            self.stopped = True
        return []

    def _block(self, index: int) -> _Block:
        try:
            return self.blocks[index]
        except KeyError:
            raise _Malformed(f"a delta for content block {index}, which was never started") from None

    def thinking_blocks(self) -> list[ContentBlockParam]:
        """The turn's thinking blocks as they must be sent back (in order, unmodified)."""
        out: list[ContentBlockParam] = []
        for index in self.order:
            block = self.blocks[index]
            if block.kind == "thinking" and block.signature:
                out.append({"type": "thinking", "thinking": "".join(block.thinking), "signature": block.signature})
            elif block.kind == "redacted_thinking" and block.data:
                out.append({"type": "redacted_thinking", "data": block.data})
        return out

    def finish(self) -> ModelResponse:
        if not self.stopped:
            raise ProviderError(
                f"{_LABEL}: the stream ended before message_stop (connection lost mid-response)", retryable=True
            )
        calls = []
        for index in self.order:
            block = self.blocks[index]
            if block.kind == "tool_use":
                calls.append(block.call or _tool_call(block))
        stop = _STOP_REASONS.get(self.stop_reason or "", "end_turn")
        return ModelResponse(
            text="".join(self.text),
            reasoning="".join(self.reasoning),
            tool_calls=calls,
            stop_reason=stop,
            usage=Usage(
                input_tokens=self.input_tokens,
                output_tokens=self.output_tokens,
                cached_tokens=self.cached_tokens,
                cache_write_tokens=self.cache_write_tokens,
                reasoning_tokens=self.reasoning_tokens,
            ),
            model=self.model,
        )


def _tool_call(block: _Block) -> ToolCall:
    raw = "".join(block.json_parts)
    if not raw.strip():
        return ToolCall(id=block.tool_id, name=block.tool_name, arguments=dict(block.initial_input))
    try:
        arguments = json.loads(raw)
    except ValueError:
        raise ProviderError(
            f"{_LABEL}: the model sent malformed JSON arguments for tool {block.tool_name!r}: {raw}",
            retryable=False,
        ) from None
    if not isinstance(arguments, dict):
        raise ProviderError(
            f"{_LABEL}: the arguments for tool {block.tool_name!r} are not a JSON object: {raw}", retryable=False
        )
    return ToolCall(id=block.tool_id, name=block.tool_name, arguments=arguments)


# -- errors ----------------------------------------------------------------------------------------
def _map_error(error: Exception, model: str, *, streaming: bool) -> ProviderError:
    """Turn whatever the SDK or the transport raised into a :class:`ProviderError`.

    ``streaming``: the error came while reading the event stream (not while making the request).
    """
    import anthropic
    import anyio
    import httpx2

    if isinstance(error, ProviderError):
        return error
    if isinstance(error, anthropic.APIStatusError):
        status = error.status_code
        if status < 400:  # an `event: error` inside a 200 stream
            status = _ERROR_TYPE_STATUS.get(str(error.type or ""), 500)
        detail = error.api_message or None
        retry_after = parse_retry_after(error.response.headers) if error.status_code >= 400 else None
        return ProviderError(
            describe_status(_LABEL, status, detail, key_env=_KEY_ENV, model=model),
            retryable=is_retryable_status(status),
            status=status,
            retry_after=retry_after,
        )
    if isinstance(error, anthropic.APITimeoutError | httpx2.TimeoutException | TimeoutError):
        return ProviderError(f"{_LABEL}: the request timed out", retryable=True)
    if isinstance(error, anthropic.APIConnectionError):
        return ProviderError(f"{_LABEL}: could not reach the API: {error.__cause__ or error}", retryable=True)
    if isinstance(
        error,
        httpx2.TransportError
        | anyio.EndOfStream
        | anyio.BrokenResourceError
        | anyio.ClosedResourceError
        | ConnectionError,
    ):
        return ProviderError(f"{_LABEL}: the connection was lost mid-response: {error}", retryable=True)
    if isinstance(error, anthropic.CredentialsError) or (
        not streaming and isinstance(error, TypeError) and "authentication" in str(error)
    ):
        return ProviderError(f"{_LABEL}: no usable API key; set {_KEY_ENV} ({error})", retryable=False)
    if streaming and isinstance(error, _Malformed | ValueError | KeyError | AttributeError | TypeError | IndexError):
        return ProviderError(f"{_LABEL}: the server sent a malformed stream: {error}", retryable=False)
    if isinstance(error, anthropic.AnthropicError):
        return ProviderError(f"{_LABEL}: {error}", retryable=False)
    return ProviderError(f"{_LABEL}: unexpected {type(error).__name__}: {error}", retryable=False)
