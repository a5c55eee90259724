"""The replay provider: answers with the responses a session recorded, so a replay costs nothing.

It serves, in order, every assistant turn of a recorded branch: the same reasoning and text deltas, the
same tool calls with the same call ids, the same usage, and the cost the original call was billed.
Asking it for more turns than were recorded is a divergence and fails with a clear error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from life_tui.kernel.event import Event
from life_tui.runtime.providers.base import (
    ModelRequest,
    ModelResponse,
    ProviderError,
    ReasoningDelta,
    StreamItem,
    TextDelta,
    ToolCall,
    Usage,
)


@dataclass
class RecordedTurn:
    seq: int
    deltas: list[StreamItem] = field(default_factory=list)
    response: ModelResponse = field(default_factory=ModelResponse)


def recorded_turns(events: Iterable[Event]) -> list[RecordedTurn]:
    """The assistant turns of a branch, each with the deltas streamed before it."""
    turns: list[RecordedTurn] = []
    deltas: list[StreamItem] = []
    for e in events:
        if e.kind == "assistant.text_delta":
            deltas.append(TextDelta(str(e.payload_dict().get("delta", ""))))
        elif e.kind == "assistant.reasoning_delta":
            deltas.append(ReasoningDelta(str(e.payload_dict().get("delta", ""))))
        elif e.kind == "assistant.message":
            data: dict[str, Any] = e.payload_dict()
            usage = data.get("usage") or {}
            response = ModelResponse(
                text=str(data.get("content", "")),
                reasoning=str(data.get("reasoning") or ""),
                tool_calls=[
                    ToolCall(id=str(c.get("id")), name=str(c.get("name")), arguments=c.get("arguments") or {})
                    for c in data.get("tool_calls", [])
                ],
                stop_reason=data.get("stop_reason") or "end_turn",
                usage=Usage(**{k: int(v) for k, v in usage.items() if k in Usage.__struct_fields__}),
                model=str(data.get("model") or ""),
                recorded_cost_usd=float(data.get("cost_usd") or 0.0),
            )
            turns.append(RecordedTurn(seq=e.seq, deltas=deltas, response=response))
            deltas = []
    return turns


class ReplayProvider:
    name = "replay"

    def __init__(self, turns: list[RecordedTurn], *, model: str = "replay") -> None:
        self._turns = turns
        self._next = 0
        self.model = turns[0].response.model if turns and turns[0].response.model else model

    @property
    def remaining(self) -> int:
        return len(self._turns) - self._next

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        if self._next >= len(self._turns):
            raise ProviderError(
                f"replay: the recording has no assistant turn {self._next + 1} (it has {len(self._turns)}): "
                "the replay diverged",
                retryable=False,
            )
        turn = self._turns[self._next]
        self._next += 1
        for delta in turn.deltas:
            yield delta
        yield turn.response

    async def aclose(self) -> None:
        return None
