"""The regulate phase's contract: a gate the loop asks before every model call and every tool call.

Homeostasis implements :class:`Regulator` (``life_tui.runtime.autonomic.AutonomicRegulator``, over the pure
``homeostasis.controller.Controller``); whenever a
regulator is absent or fails, the answer is allow-all: regulation may stop the agent, but its failure never
does (the loop records an ``error.raised`` saying so). A decision can block (the operation is not run, and
the model is told why), skip the model call (hibernate), narrow the model, its output or the tools
(hustle), ask for compaction (a context ruling), and carry events to record (its warnings and decisions, so
a replay reproduces them).

The regulator sees the session's events as they become durable (:meth:`Regulator.observe`, in order, the
same events a replay would feed it), is asked before each operation, and after every tick may add events
of its own (inline evaluations, periodic snapshots). Its answers must depend only on what it observed, so
that replaying a session's events reproduces every decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from life_tui.kernel.event import Event, EventDraft
from life_tui.runtime.projection import ConversationState


@dataclass(frozen=True)
class GateDecision:
    allow: bool = True
    reason: str = ""
    skip_model: bool = False
    model_override: str | None = None
    max_tokens: int | None = None
    allowed_tools: frozenset[str] | None = None
    compact_target: float | None = None
    """Compact the history toward this fraction of the context window before the call."""
    events: tuple[EventDraft, ...] = field(default_factory=tuple)


ALLOW = GateDecision()


@dataclass(frozen=True)
class ToolQuestion:
    """The tool call the loop is about to run (after its approval)."""

    name: str
    call_id: str
    arguments: dict[str, Any]
    read_only: bool
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelQuestion:
    """The model call the loop is about to make."""

    model: str
    provider: str
    tick: int
    cheaper_models: tuple[str, ...] = ()
    """Models of the same provider known to cost less, cheapest first (for hustle's narrowing)."""


class Regulator(Protocol):
    def observe(self, events: Sequence[Event]) -> None: ...

    def before_model_call(self, state: ConversationState, question: ModelQuestion, now_us: int) -> GateDecision: ...

    def before_tool_call(self, state: ConversationState, question: ToolQuestion, now_us: int) -> GateDecision: ...

    def after_tick(self, state: ConversationState, now_us: int) -> tuple[EventDraft, ...]: ...


class AllowAll:
    """The default regulator: everything is allowed and nothing is added."""

    def observe(self, events: Sequence[Event]) -> None:
        return None

    def before_model_call(self, state: ConversationState, question: ModelQuestion, now_us: int) -> GateDecision:
        return ALLOW

    def before_tool_call(self, state: ConversationState, question: ToolQuestion, now_us: int) -> GateDecision:
        return ALLOW

    def after_tick(self, state: ConversationState, now_us: int) -> tuple[EventDraft, ...]:
        return ()
