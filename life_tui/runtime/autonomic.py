"""The Autonomic regulator: the homeostasis controller behind the loop's :class:`Regulator` contract.

Homeostasis is pure and knows nothing of the loop; the loop knows nothing of rules. This adapter sits
between them (in the runtime, the one layer allowed to wire domain packages together): it folds every
durable event into a :class:`HomeostaticState`, asks the :class:`Controller` before each model and tool
call, and translates its profile into a :class:`GateDecision` the loop enforces: hibernate skips the model
call, hustle and conserving narrow to a cheaper model and cap the answer, compress and emergency ask for
compaction, blocked tool calls are refused with the reason the model is told, and every warning, block,
mode change and ruling change is returned as an ``autonomic.*`` event. After each tick it runs the inline
evaluations (``eval.inline_completed``) and, every few ticks, records a state snapshot.

Every answer depends only on the events observed (never on ``now_us``), so feeding a recorded session's
events to a fresh regulator and asking the same questions reproduces every recorded decision. Exceptions
are not caught here: the loop turns a failing regulator into allow-all and records that it did.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from life_tui.evaluation.facts import TickFacts
from life_tui.evaluation.heuristics import DEFAULT_HEURISTICS, Heuristic, evaluate_tick
from life_tui.homeostasis.controller import Controller, Evaluation
from life_tui.homeostasis.fold import HomeostasisProjection
from life_tui.homeostasis.operations import call_signature
from life_tui.homeostasis.rules import BUDGET_TIER, STANDARD_TIER
from life_tui.homeostasis.state import Action, Gate, GatingProfile, HomeostaticState
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Actor, Event, EventDraft
from life_tui.runtime.projection import ConversationState
from life_tui.runtime.regulation import GateDecision, ModelQuestion, ToolQuestion

DEFAULT_SNAPSHOT_EVERY = 5


def _draft(payload: k.Payload) -> EventDraft:
    return EventDraft(kind=payload.KIND, payload=payload, actor=Actor.SYSTEM.value)


class AutonomicRegulator:
    """Implements :class:`~life_tui.runtime.regulation.Regulator` with the Life default rules.

    ``snapshot_every``: record ``autonomic.state_snapshot`` after every Nth completed tick (0: never).
    """

    def __init__(
        self,
        *,
        controller: Controller | None = None,
        projection: HomeostasisProjection | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        heuristics: Sequence[Heuristic] = DEFAULT_HEURISTICS,
    ) -> None:
        if snapshot_every < 0:
            raise ValueError("snapshot_every cannot be negative")
        self.controller = controller or Controller()
        self.projection = projection or HomeostasisProjection()
        self.snapshot_every = snapshot_every
        self.heuristics = tuple(heuristics)
        self._state = self.projection.initial()
        self._evaluation: Evaluation | None = None

    # ------------------------------------------------------------------------------------ read access
    @property
    def state(self) -> HomeostaticState:
        """The homeostatic state folded so far (the live object: copy it before keeping it)."""
        return self._state

    @property
    def profile(self) -> GatingProfile:
        """The gating profile the controller gives for the current state."""
        return self._evaluate().profile

    def _evaluate(self) -> Evaluation:
        if self._evaluation is None:
            self._evaluation = self.controller.evaluate(self._state)
        return self._evaluation

    def resume(self, state: HomeostaticState) -> None:
        """Start from a state folded elsewhere (a reopened session's, resumed from a journal snapshot)."""
        self._state = state
        self._evaluation = None

    # ---------------------------------------------------------------------------------- the contract
    def observe(self, events: Sequence[Event]) -> None:
        for event in events:
            self._state = self.projection.apply(self._state, event)
        if events:
            self._evaluation = None

    def before_model_call(self, state: ConversationState, question: ModelQuestion, now_us: int) -> GateDecision:
        evaluation = self._evaluate()
        profile = evaluation.profile
        drafts = [_draft(t) for t in evaluation.transitions]
        if profile.skip_model:
            reason = "model calls are paused: " + (profile.reasons.get(str(Gate.CHEAP_MODEL)) or "hibernating")
            drafts.append(self._model_gate(profile, Gate.CHEAP_MODEL, Action.BLOCK, reason))
            return GateDecision(allow=False, skip_model=True, reason=reason, events=tuple(drafts))
        override: str | None = None
        expensive = profile.action(Gate.EXPENSIVE_MODEL)
        if expensive is not Action.ALLOW:
            override = _cheaper_model(profile, question)
            why = profile.reasons.get(str(Gate.EXPENSIVE_MODEL), "")
            if override is not None:
                reason = f"using {override} instead of {question.model}: {why}"
            elif profile.preferred_model_tier is None:
                reason = f"{question.model} may be more than this work needs: {why}"
            else:
                reason = f"no cheaper model than {question.model} is known, continuing with it: {why}"
            drafts.append(self._model_gate(profile, Gate.EXPENSIVE_MODEL, Action.WARN, reason, override))
        return GateDecision(
            allow=True,
            reason="; ".join(profile.rationale),
            model_override=override,
            max_tokens=profile.max_tokens_next_turn,
            compact_target=profile.compact_target,
            events=tuple(drafts),
        )

    def before_tool_call(self, state: ConversationState, question: ToolQuestion, now_us: int) -> GateDecision:
        evaluation = self._evaluate()
        drafts = [_draft(t) for t in evaluation.transitions]
        tick = self._state.current
        verdict = self.controller.tool_decision(
            self._state,
            evaluation.profile,
            question.name,
            question.read_only,
            question.capabilities,
            call_signature(question.name, question.arguments),
            tick.calls_started,
            tick.mutations_started,
        )
        if verdict.action is not Action.ALLOW:
            triggered = k.GateTriggered(
                operation="tool_call",
                gate=verdict.gate,
                action=verdict.action.value,
                reason=verdict.reason,
                rules=verdict.rules,
                tool_name=question.name,
                call_id=question.call_id,
            )
            drafts.append(_draft(triggered))
        allow = verdict.action is not Action.BLOCK
        return GateDecision(allow=allow, reason=verdict.reason, events=tuple(drafts))

    def after_tick(self, state: ConversationState, now_us: int) -> tuple[EventDraft, ...]:
        home = self._state
        drafts = [
            _draft(
                k.InlineEvaluation(
                    evaluator=score.evaluator,
                    score=score.value,
                    label=score.label,
                    layer=score.layer.value,
                    explanation=score.explanation,
                    tick=home.tick,
                )
            )
            for score in evaluate_tick(self.tick_facts(), self.heuristics)
        ]
        if self.snapshot_every and home.ticks_completed > 0 and home.ticks_completed % self.snapshot_every == 0:
            snapshot = k.HomeostasisSnapshot(
                state=msgspec.to_builtins(home), profile=msgspec.to_builtins(self._evaluate().profile)
            )
            drafts.append(_draft(snapshot))
        return tuple(drafts)

    # ------------------------------------------------------------------------------------------ helpers
    def tick_facts(self) -> TickFacts:
        """The current tick as the inline heuristics see it, from the homeostasis fold alone."""
        home = self._state
        op, cog, tick = home.operational, home.cognitive, home.current
        return TickFacts(
            tick=home.tick,
            answer=tick.answer,
            previous_answers=tuple(home.previous_answers),
            final=tick.final,
            tool_calls=tuple(tick.tool_calls),
            recent_call_signatures=tuple(home.recent_calls),
            tool_errors=tick.tool_errors,
            tool_error_streak=op.error_streak,
            input_tokens=tick.input_tokens,
            output_tokens=tick.output_tokens,
            latency_ms=tick.latency_ms,
            latency_p50_ms=op.latency_p50_ms,
            latency_p95_ms=op.latency_p95_ms,
            latency_samples=len(op.latencies_ms),
            context_utilisation=cog.context_utilisation,
            budget_used_fraction=cog.budget_used_fraction,
        )

    @staticmethod
    def _model_gate(
        profile: GatingProfile, gate: Gate, action: Action, reason: str, override: str | None = None
    ) -> EventDraft:
        return _draft(
            k.GateTriggered(
                operation="model_call",
                gate=str(gate),
                action=action.value,
                reason=reason,
                rules=list(profile.gate_rules.get(str(gate), [])),
                model_override=override,
            )
        )


def _cheaper_model(profile: GatingProfile, question: ModelQuestion) -> str | None:
    """The cheapest known model when the profile prefers a cheaper tier (``budget`` or ``standard``); None
    when it has no preference or no cheaper model is known."""
    if profile.preferred_model_tier not in (BUDGET_TIER, STANDARD_TIER):
        return None
    cheaper = [m for m in question.cheaper_models if m != question.model]
    return cheaper[0] if cheaper else None
