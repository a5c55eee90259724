"""The provider contract: one Protocol every model backend implements, and the neutral types it speaks.

A provider turns a :class:`ModelRequest` (system blocks, messages, tool definitions, limits) into a stream
of :class:`StreamItem` values: text and reasoning deltas as they arrive, then exactly one
:class:`ModelResponse` with the whole assistant turn (text, reasoning, tool calls, stop reason and the
provider-reported :class:`Usage`). Nothing provider-specific crosses this boundary, so the loop, replay and
the tests treat every backend alike. SDKs are imported lazily inside each adapter.

Errors: an adapter raises :class:`ProviderError` with ``retryable`` set for rate limits, server errors,
timeouts and dropped connections; the loop's retry policy (:mod:`life_tui.runtime.providers.retry`) decides
what to do with them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol

import msgspec

from life_tui.errors import LifeError


class Usage(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Token counts as the provider reported them (the truth; estimates are only used before a call)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    """Input tokens served from the provider's prompt cache."""
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """A tool call the model asked for. ``id`` is the provider's call id (kept for the tool result)."""

    id: str
    name: str
    arguments: dict[str, Any] = {}


class ToolDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """A tool as the model sees it: name, description and a JSON Schema for its arguments."""

    name: str
    description: str
    input_schema: dict[str, Any]


class Message(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One conversation message in a neutral shape.

    ``role`` is ``user``, ``assistant`` or ``tool``. Assistant messages may carry ``tool_calls`` (and the
    ``reasoning`` that preceded them); tool messages answer one call (``tool_call_id``) with ``content``.
    """

    role: Literal["user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = []
    tool_call_id: str | None = None
    tool_name: str | None = None
    is_error: bool = False
    reasoning: str | None = None


class SystemBlock(msgspec.Struct, frozen=True, kw_only=True):
    """A block of the system prompt. ``cache`` marks the end of a stable prefix worth caching."""

    name: str
    text: str
    cache: bool = False


class ModelRequest(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    system: list[SystemBlock] = []
    messages: list[Message] = []
    tools: list[ToolDefinition] = []
    max_tokens: int = 4096
    temperature: float | None = None
    thinking_budget: int | None = None
    """Extended thinking / reasoning budget in tokens (None: off)."""


StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence", "refusal", "cancelled", "error"]


class ModelResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The complete assistant turn, the last item of every stream."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = []
    stop_reason: StopReason = "end_turn"
    usage: Usage = Usage()
    model: str = ""
    recorded_cost_usd: float | None = None
    """Set only by the replay provider: the cost the original call was billed, reproduced as recorded."""


class TextDelta(msgspec.Struct, frozen=True):
    text: str


class ReasoningDelta(msgspec.Struct, frozen=True):
    text: str


StreamItem = TextDelta | ReasoningDelta | ModelResponse


class ProviderError(LifeError):
    """A provider call failed. ``retryable`` for 429, 5xx, timeouts and dropped connections."""

    def __init__(
        self, message: str, *, retryable: bool, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class Provider(Protocol):
    """A model backend. ``stream`` yields deltas, then exactly one :class:`ModelResponse` (last)."""

    name: str
    model: str

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]: ...

    async def aclose(self) -> None: ...
