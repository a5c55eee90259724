"""Nous's LLM-as-judge evaluators: ask a model for a JSON-only verdict on a finished turn, and read it.

Life's five judges (plan_quality, task_completion, plan_adherence, reasoning_coherence,
knowledge_utilization) each send a fixed system instruction that shows the exact JSON keys expected and a
user prompt built from the turn (:class:`TurnTranscript`). Replies are read by Life's rules
(:func:`parse_verdict`): the whole reply as JSON, else the text from the first ``{`` to the last ``}``,
else, for plan_quality only, the first number in [0, 1]; values are clamped to [0, 1]. A reply that
gives no verdict, or a model call that fails, becomes an error result, never an exception, so one bad
judge does not stop the others.

The model is reached through the small :class:`JudgeModel` Protocol, so this module imports no runtime
code: the runtime adapts its providers to it (``life_tui.runtime.judging``), tests pass a fake.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from life_tui.errors import InvalidInput, LifeError
from life_tui.evaluation.facts import Layer
from life_tui.kernel.kinds import JudgeEvaluation

MESSAGE_CHARS = 4_000
"""Each assistant message is cut to this many characters in a judge's prompt (head and tail kept)."""
TRANSCRIPT_CHARS = 24_000
"""The assistant messages shown to a judge, newest kept, stop at about this many characters."""
FIELD_CHARS = 8_000
"""The objective, the final answer and the knowledge context are each cut to this many characters."""


@dataclass(frozen=True)
class JudgeReply:
    """What a judge model answered: its text, the model that answered and what the call cost."""

    text: str
    model: str = ""
    cost_usd: float = 0.0


class JudgeModel(Protocol):
    """A model a judge can ask: one system instruction and one user prompt in, the reply's text out.

    Implementations raise :class:`~life_tui.errors.LifeError` (for example a provider error) when the call
    fails; :func:`judge_turn` turns that into an error result."""

    async def complete(self, system: str, prompt: str) -> JudgeReply: ...


@dataclass(frozen=True)
class TurnTranscript:
    """A finished turn as the judges see it (Life's ``EvalContext`` metadata)."""

    run_id: str | None
    objective: str
    """What the user asked (the run's user message)."""
    assistant_messages: tuple[str, ...]
    """The assistant's messages in order, each with the tool calls it made written out."""
    final_answer: str | None = None
    knowledge_context: str = ""
    """What the agent retrieved (memory, files read); the knowledge judges score only when it is given."""


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - limit} characters omitted] …\n{text[-half:]}"


def render_messages(messages: Sequence[str]) -> str:
    """The assistant messages numbered, each cut to :data:`MESSAGE_CHARS`, the newest kept within
    :data:`TRANSCRIPT_CHARS`."""
    rendered: list[str] = []
    total = 0
    for index in range(len(messages) - 1, -1, -1):
        block = f"[message {index + 1}]\n{_cut(messages[index], MESSAGE_CHARS)}"
        if rendered and total + len(block) > TRANSCRIPT_CHARS:
            rendered.append(f"[messages 1-{index + 1} omitted]")
            break
        rendered.append(block)
        total += len(block)
    return "\n\n".join(reversed(rendered)) if rendered else "(the assistant wrote nothing)"


# --------------------------------------------------------------------------------------------- parsing
@dataclass(frozen=True)
class Verdict:
    """A parsed verdict: score names to values in [0, 1] and the judge's explanation, or an error."""

    scores: dict[str, float]
    explanation: str = ""
    error: str | None = None


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?|-?\.\d+")


def _json_object(text: str) -> dict[str, object] | None:
    """Life's first two rules: the whole reply as JSON, else the text from the first ``{`` to the last ``}``."""
    candidates = [text.strip()]
    first, last = text.find("{"), text.rfind("}")
    if first != -1 and last > first:
        candidates.append(text[first : last + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def _as_score(value: object) -> float | None:
    """A JSON value as a score in [0, 1] (numbers and numeric strings; clamped), None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return min(max(float(value), 0.0), 1.0)


def first_unit_number(text: str) -> float | None:
    """The first number in the text that lies in [0, 1] (Life's fallback for plan_quality)."""
    for match in _NUMBER.finditer(text):
        value = float(match.group())
        if 0.0 <= value <= 1.0:
            return value
    return None


# ---------------------------------------------------------------------------------------------- judges
@dataclass(frozen=True)
class Judge:
    """One LLM-as-judge evaluator: what it asks, which JSON keys it expects, and the scores they become."""

    name: str
    layer: Layer
    instruction: str
    """The system instruction, before the JSON shape (which is added from ``keys``)."""
    keys: dict[str, str]
    """Expected numeric JSON key -> the score name it is recorded under."""
    ask: str
    """The user prompt's first line ("Evaluate ...:")."""
    prompt_fields: Callable[[TurnTranscript], list[tuple[str, str]]]
    explanation_key: str | None = None
    number_fallback: bool = False
    """A reply with no JSON object may still give a bare number (Life allows it for plan_quality only)."""
    needs_knowledge: bool = False

    @property
    def system(self) -> str:
        shape = dict.fromkeys(self.keys, "<0.0-1.0>")
        if self.explanation_key:
            shape[self.explanation_key] = "<one or two sentences>"
        example = json.dumps(shape).replace('"<0.0-1.0>"', "<0.0-1.0>")
        return (
            f"You are an expert evaluator of an AI agent's work. {self.instruction} Score from 0.0 (worst) to "
            f"1.0 (best). Respond with ONLY a JSON object, with exactly these keys and no other text, no "
            f"markdown and no code fence: {example}"
        )

    def not_applicable(self, turn: TurnTranscript) -> str | None:
        """Why this judge cannot score the turn, or None when it can."""
        if self.needs_knowledge and not turn.knowledge_context.strip():
            return "no knowledge context (nothing was retrieved in this turn)"
        if self.name == "task_completion" and turn.final_answer is None:
            return "the turn ended without a final answer"
        if self.name != "task_completion" and not turn.assistant_messages:
            return "the assistant wrote no messages in this turn"
        return None

    def prompt(self, turn: TurnTranscript) -> str:
        parts = [self.ask]
        for title, text in self.prompt_fields(turn):
            parts.append(f"<{title}>\n{text}\n</{title}>")
        return "\n\n".join(parts)

    def parse(self, text: str) -> Verdict:
        """Life's parsing rules; anything unreadable is an error verdict (never an exception)."""
        obj = _json_object(text)
        if obj is None:
            if self.number_fallback:
                number = first_unit_number(text)
                if number is not None:
                    return Verdict(
                        scores=dict.fromkeys(self.keys.values(), number),
                        explanation="read from a bare number in the reply (no JSON object)",
                    )
            return Verdict(scores={}, error=f"no JSON object in the reply: {_cut(text.strip(), 200)!r}")
        scores: dict[str, float] = {}
        missing: list[str] = []
        for key, name in self.keys.items():
            value = _as_score(obj.get(key))
            if value is None:
                missing.append(key)
            else:
                scores[name] = value
        if missing:
            return Verdict(scores={}, error=f"the verdict lacks a number in [0, 1] for {', '.join(missing)}")
        explanation = obj.get(self.explanation_key) if self.explanation_key else None
        return Verdict(scores=scores, explanation=explanation.strip() if isinstance(explanation, str) else "")


def _plan(turn: TurnTranscript) -> list[tuple[str, str]]:
    return [("assistant_messages", render_messages(turn.assistant_messages))]


def _completion(turn: TurnTranscript) -> list[tuple[str, str]]:
    return [
        ("objective", _cut(turn.objective, FIELD_CHARS) or "(none given)"),
        ("final_answer", _cut(turn.final_answer or "", FIELD_CHARS) or "(empty)"),
    ]


def _with_knowledge(turn: TurnTranscript) -> list[tuple[str, str]]:
    return [
        ("knowledge_context", _cut(turn.knowledge_context, FIELD_CHARS)),
        ("assistant_messages", render_messages(turn.assistant_messages)),
    ]


JUDGES: tuple[Judge, ...] = (
    Judge(
        name="plan_quality",
        layer=Layer.REASONING,
        instruction=(
            "Judge the quality of the plan in the assistant's messages: its coherence (the steps fit "
            "together), completeness (nothing needed is missing) and logical soundness."
        ),
        keys={
            "coherence": "plan_quality.coherence",
            "completeness": "plan_quality.completeness",
            "logical_soundness": "plan_quality.soundness",
        },
        ask="Evaluate the plan in these assistant messages:",
        prompt_fields=_plan,
        number_fallback=True,
    ),
    Judge(
        name="task_completion",
        layer=Layer.EXECUTION,
        instruction="Judge how completely the final answer accomplishes the user's objective.",
        keys={"completion": "task_completion"},
        ask="Evaluate whether this final answer completes the objective:",
        prompt_fields=_completion,
    ),
    Judge(
        name="plan_adherence",
        layer=Layer.REASONING,
        instruction=(
            "Judge whether the assistant followed the plan it stated. If it stated no explicit plan, "
            "score 1.0 and say so."
        ),
        keys={"adherence": "plan_adherence"},
        explanation_key="explanation",
        ask="Evaluate how well these assistant messages follow their own plan:",
        prompt_fields=_plan,
    ),
    Judge(
        name="reasoning_coherence",
        layer=Layer.REASONING,
        instruction=(
            "Judge whether the assistant's reasoning is coherent and consistent with the knowledge it "
            "retrieved (no contradictions, no claims the knowledge does not support)."
        ),
        keys={"score": "reasoning_coherence"},
        explanation_key="explanation",
        ask="Evaluate the coherence of this reasoning against the retrieved knowledge:",
        prompt_fields=_with_knowledge,
        needs_knowledge=True,
    ),
    Judge(
        name="knowledge_utilization",
        layer=Layer.REASONING,
        instruction=(
            "Judge how well the assistant used the knowledge it retrieved: relevant facts used, nothing "
            "important ignored, nothing misquoted."
        ),
        keys={"score": "knowledge_utilization"},
        explanation_key="explanation",
        ask="Evaluate how well these assistant messages use the retrieved knowledge:",
        prompt_fields=_with_knowledge,
        needs_knowledge=True,
    ),
)
JUDGE_NAMES = tuple(judge.name for judge in JUDGES)
_BY_NAME = {judge.name: judge for judge in JUDGES}


def judge_named(name: str) -> Judge:
    judge = _BY_NAME.get(name)
    if judge is None:
        raise InvalidInput(f"unknown judge {name!r}", hint=f"use one of {', '.join(JUDGE_NAMES)}")
    return judge


def select(names: Sequence[str] | None, turn: TurnTranscript) -> tuple[list[Judge], list[tuple[str, str]]]:
    """The judges to run on ``turn`` and those skipped with the reason.

    With no names every judge that applies runs and the rest are skipped; a judge named explicitly that
    cannot score the turn is an :class:`InvalidInput` (asking for it was a mistake worth saying)."""
    if names:
        chosen = [judge_named(name) for name in dict.fromkeys(names)]
        for judge in chosen:
            reason = judge.not_applicable(turn)
            if reason is not None:
                raise InvalidInput(
                    f"the judge {judge.name} cannot score run {turn.run_id}: {reason}",
                    hint="pick another judge or another run",
                )
        return chosen, []
    run: list[Judge] = []
    skipped: list[tuple[str, str]] = []
    for judge in JUDGES:
        reason = judge.not_applicable(turn)
        if reason is None:
            run.append(judge)
        else:
            skipped.append((judge.name, reason))
    return run, skipped


async def judge_turn(
    judge: Judge, turn: TurnTranscript, model: JudgeModel, *, timer: Callable[[], float] = time.perf_counter
) -> JudgeEvaluation:
    """Ask ``model`` for ``judge``'s verdict on ``turn``; a failed call or an unreadable reply is an error
    result (``error`` set, ``scores`` empty)."""
    start = timer()
    try:
        reply = await model.complete(judge.system, judge.prompt(turn))
    except LifeError as exc:
        return JudgeEvaluation(
            evaluator=judge.name,
            target_run_id=turn.run_id,
            scores={},
            duration_ms=round((timer() - start) * 1000, 3),
            error=f"the judge model failed: {exc}",
        )
    verdict = judge.parse(reply.text)
    return JudgeEvaluation(
        evaluator=judge.name,
        target_run_id=turn.run_id,
        scores=verdict.scores,
        model=reply.model,
        explanation=verdict.explanation,
        duration_ms=round((timer() - start) * 1000, 3),
        cost_usd=reply.cost_usd,
        error=verdict.error,
    )


__all__ = [
    "JUDGES",
    "JUDGE_NAMES",
    "Judge",
    "JudgeModel",
    "JudgeReply",
    "TurnTranscript",
    "Verdict",
    "first_unit_number",
    "judge_named",
    "judge_turn",
    "render_messages",
    "select",
]
