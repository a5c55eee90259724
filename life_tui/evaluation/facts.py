"""What the inline heuristics see of one tick, and what they return.

The runtime builds :class:`TickFacts` from the conversation and homeostasis folds after every tick, so the
heuristics stay pure functions of plain values (no journal, no runtime types) and a replay of the same
events gives the same scores.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Layer(StrEnum):
    REASONING = "reasoning"
    ACTION = "action"
    EXECUTION = "execution"
    SAFETY = "safety"
    COST = "cost"


def label_for(score: float) -> str:
    """Life's labels: good (>= 0.8), warning (>= 0.5), critical (< 0.5)."""
    if score >= 0.8:
        return "good"
    if score >= 0.5:
        return "warning"
    return "critical"


class Score(msgspec.Struct, frozen=True, kw_only=True):
    evaluator: str
    value: float
    layer: Layer
    explanation: str = ""

    @property
    def label(self) -> str:
        return label_for(self.value)


class TickFacts(msgspec.Struct, frozen=True, kw_only=True):
    """One tick (a model turn and the tool calls it asked for), as the heuristics need it."""

    tick: int
    answer: str
    """The assistant's text this tick ('' when it only called tools)."""
    previous_answers: tuple[str, ...] = ()
    """Earlier assistant texts of the session, newest last (bounded)."""
    final: bool = False
    """The tick ended the run with a final answer (no tool calls)."""
    tool_calls: tuple[str, ...] = ()
    """Signatures (name + arguments hash) of the tool calls this tick, in order."""
    recent_call_signatures: tuple[str, ...] = ()
    """Signatures of the session's latest tool calls, newest last, this tick's included (bounded)."""
    tool_errors: int = 0
    """Tool calls of this tick that failed or returned an error."""
    tool_error_streak: int = 0
    """Consecutive failed tool calls up to now."""
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float | None = None
    """This tick's provider-call latency."""
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    latency_samples: int = 0
    context_utilisation: float = 0.0
    """The last call's input tokens over the context window, in [0, 1]."""
    budget_used_fraction: float = 0.0
    """The most used of the run's budgets (tokens, cost, tool calls, time) as a fraction, in [0, 1]."""
