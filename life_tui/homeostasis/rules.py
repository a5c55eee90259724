"""The Life default rule set (life-system §5.5): each rule a small pure function of the homeostatic state.

A rule answers ``None`` (nothing to say) or a :class:`RuleDecision`: the mode or ruling it wants, the knobs
it would turn (token cap, model tier, tool-call caps, restrictions) and the gates it would set, with a
rationale the model and the user can read. Rules never see one another; :mod:`profile` merges their
answers (the most restrictive wins), so a rule can be added, removed or tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import msgspec

from life_tui.homeostasis.modes import ModeThresholds, RulingThresholds, decide_mode, decide_ruling
from life_tui.homeostasis.state import Action, ContextRuling, EconomicMode, Gate, HomeostaticState

BUDGET_TIER = "budget"
STANDARD_TIER = "standard"


class RuleDecision(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str
    rationale: str
    economic_mode: EconomicMode | None = None
    ruling: ContextRuling | None = None
    compact_target: float | None = None
    max_tokens_next_turn: int | None = None
    preferred_model_tier: str | None = None
    """``budget`` (the cheapest model) or ``standard`` (a step cheaper); None: no preference."""
    max_tool_calls_per_tick: int | None = None
    max_file_mutations_per_tick: int | None = None
    restrict_expensive_tools: bool = False
    restrict_side_effects: bool = False
    gates: dict[str, Action] = {}


class Rule(Protocol):
    rule_id: ClassVar[str]

    def __call__(self, state: HomeostaticState) -> RuleDecision | None: ...


@dataclass(frozen=True)
class Survival:
    """The economic mode the wallet calls for (through its hysteresis gates); silent while sovereign."""

    rule_id: ClassVar[str] = "survival"
    thresholds: ModeThresholds = field(default_factory=ModeThresholds)

    def __call__(self, state: HomeostaticState) -> RuleDecision | None:
        decision = decide_mode(state.economic, state.last_event_us, self.thresholds)
        if decision.mode is EconomicMode.SOVEREIGN and state.economic.mode is EconomicMode.SOVEREIGN:
            return None
        tier = {EconomicMode.SOVEREIGN: None, EconomicMode.CONSERVING: STANDARD_TIER}.get(decision.mode, BUDGET_TIER)
        return RuleDecision(
            rule_id=self.rule_id,
            rationale=decision.reason,
            economic_mode=decision.mode,
            preferred_model_tier=tier,
            restrict_expensive_tools=decision.mode in (EconomicMode.HUSTLE, EconomicMode.HIBERNATE),
        )


@dataclass(frozen=True)
class SpendVelocity:
    """Spending fast (over ``limit_micro`` in the last five minutes): the cheapest model, short answers."""

    rule_id: ClassVar[str] = "spend_velocity"
    limit_micro: int = 500_000

    def __call__(self, state: HomeostaticState) -> RuleDecision | None:
        spent = state.economic.cost_last_5min_micro
        if spent <= self.limit_micro:
            return None
        return RuleDecision(
            rule_id=self.rule_id,
            rationale=f"spent {spent} µc in the last five minutes (limit {self.limit_micro})",
            preferred_model_tier=BUDGET_TIER,
            max_tokens_next_turn=2048,
        )


@dataclass(frozen=True)
class BudgetExhaustion:
    """The run's token budget is running low: the cheapest model, short answers, no expensive tools."""

    rule_id: ClassVar[str] = "budget_exhaustion"
    threshold: float = 0.2

    def __call__(self, state: HomeostaticState) -> RuleDecision | None:
        left = state.cognitive.token_budget_remaining
        if left >= self.threshold:
            return None
        return RuleDecision(
            rule_id=self.rule_id,
            rationale=f"{left:.0%} of the run's token budget is left",
            preferred_model_tier=BUDGET_TIER,
            max_tokens_next_turn=1024,
            restrict_expensive_tools=True,
        )


@dataclass(frozen=True)
class ContextPressure:
    """The context ruling: compress and emergency compact the history and shorten the next answer."""

    rule_id: ClassVar[str] = "context_pressure"
    thresholds: RulingThresholds = field(default_factory=RulingThresholds)

    def __call__(self, state: HomeostaticState) -> RuleDecision | None:
        decision = decide_ruling(state, self.thresholds)
        if decision.ruling is ContextRuling.BREATHE and state.cognitive.ruling is ContextRuling.BREATHE:
            return None
        if decision.ruling not in (ContextRuling.COMPRESS, ContextRuling.EMERGENCY):
            return RuleDecision(rule_id=self.rule_id, rationale=decision.reason, ruling=decision.ruling)
        emergency = decision.ruling is ContextRuling.EMERGENCY
        return RuleDecision(
            rule_id=self.rule_id,
            rationale=f"{decision.ruling.value}: {decision.reason}",
            ruling=decision.ruling,
            compact_target=decision.target,
            preferred_model_tier=STANDARD_TIER,
            max_tokens_next_turn=2048,
            gates={Gate.LONG_CONTEXT: Action.BLOCK if emergency else Action.WARN},
        )


@dataclass(frozen=True)
class TokenExhaustion:
    """Almost no token budget left: at most two tool calls per tick and short answers."""

    rule_id: ClassVar[str] = "token_exhaustion"
    threshold: float = 0.1

    def __call__(self, state: HomeostaticState) -> RuleDecision | None:
        left = state.cognitive.token_budget_remaining
        if left >= self.threshold:
            return None
        return RuleDecision(
            rule_id=self.rule_id,
            rationale=f"only {left:.0%} of the run's token budget is left",
            max_tool_calls_per_tick=2,
            max_tokens_next_turn=1024,
        )


@dataclass(frozen=True)
class ErrorStreak:
    """Many recent failures: no side effects (read and think first), at most three tool calls per tick."""

    rule_id: ClassVar[str] = "error_streak"
    max_error_rate: float = 0.3
    min_outcomes: int = 5

    def __call__(self, state: HomeostaticState) -> RuleDecision | None:
        op = state.operational
        if len(op.outcomes) < self.min_outcomes or op.error_rate <= self.max_error_rate:
            return None
        return RuleDecision(
            rule_id=self.rule_id,
            rationale=f"{op.error_rate:.0%} of the last {len(op.outcomes)} operations failed",
            restrict_side_effects=True,
            max_tool_calls_per_tick=3,
        )


@dataclass(frozen=True)
class EvalQuality:
    """Evaluations say the work is going badly: critical narrows the agent, warning only warns."""

    rule_id: ClassVar[str] = "eval_quality"
    min_evaluations: int = 3
    critical: float = 0.4
    warning: float = 0.6

    def __call__(self, state: HomeostaticState) -> RuleDecision | None:
        cog = state.cognitive
        if cog.evaluations < self.min_evaluations or cog.quality >= self.warning:
            return None
        if cog.quality < self.critical:
            return RuleDecision(
                rule_id=self.rule_id,
                rationale=f"evaluation quality is critical ({cog.quality:.2f})",
                restrict_expensive_tools=True,
                preferred_model_tier=BUDGET_TIER,
                max_tool_calls_per_tick=3,
            )
        return RuleDecision(
            rule_id=self.rule_id,
            rationale=f"evaluation quality is low ({cog.quality:.2f})",
            gates={Gate.EXPENSIVE_MODEL: Action.WARN},
        )


@dataclass(frozen=True)
class DoomLoop:
    """The same tool call (name and arguments) requested ``limit`` times in a row: the repeat is blocked."""

    rule_id: ClassVar[str] = "doom_loop"
    limit: int = 3

    def __call__(self, state: HomeostaticState) -> RuleDecision | None:
        if state.repeat_count < self.limit or not state.recent_calls:
            return None
        name = state.recent_calls[-1].rsplit(":", 1)[0]
        return RuleDecision(
            rule_id=self.rule_id,
            rationale=(
                f"{name} was called {state.repeat_count} times in a row with the same arguments; its result "
                "will not change: try something else (other arguments, another tool, or answer with what you know)"
            ),
            gates={Gate.REPEAT_CALL: Action.BLOCK},
        )


DEFAULT_RULES: tuple[Rule, ...] = (
    Survival(),
    SpendVelocity(),
    BudgetExhaustion(),
    ContextPressure(),
    TokenExhaustion(),
    ErrorStreak(),
    EvalQuality(),
    DoomLoop(),
)
