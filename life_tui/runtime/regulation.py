"""The regulate phase's contract: a gate the loop asks before every model call and every tool call.

Homeostasis (the regulation issue) implements :class:`Regulator`; until then, and whenever a regulator is
absent or fails, the answer is allow-all: regulation may stop the agent, but its failure never does.
A decision can block (the model call or tool is not run, and the model is told why), skip the model call
(hibernate), narrow the model or the tools (hustle), and carry events to record (its warnings and
decisions, so a replay reproduces them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from life_tui.kernel.event import EventDraft
from life_tui.runtime.projection import ConversationState


@dataclass(frozen=True)
class GateDecision:
    allow: bool = True
    reason: str = ""
    skip_model: bool = False
    model_override: str | None = None
    allowed_tools: frozenset[str] | None = None
    events: tuple[EventDraft, ...] = field(default_factory=tuple)


ALLOW = GateDecision()


class Regulator(Protocol):
    def before_model_call(self, state: ConversationState, now_us: int) -> GateDecision: ...

    def before_tool_call(
        self, state: ConversationState, tool_name: str, read_only: bool, now_us: int
    ) -> GateDecision: ...


class AllowAll:
    """The default regulator: everything is allowed."""

    def before_model_call(self, state: ConversationState, now_us: int) -> GateDecision:
        return ALLOW

    def before_tool_call(self, state: ConversationState, tool_name: str, read_only: bool, now_us: int) -> GateDecision:
        return ALLOW
