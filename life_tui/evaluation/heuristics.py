"""Nous's inline heuristics: cheap, pure scores of one tick, run by the runtime after every tick.

Each heuristic is a function ``(TickFacts) -> Score | None`` (None: it does not apply to this tick) with a
layer and a one-line explanation of the value it gives. They see only :class:`TickFacts`, plain values the
runtime folds from the journal, so they do no I/O and a replay of the same events gives the same scores;
that is also what keeps them inside their design budget (< 0.1 ms per tick for all of them together).

Thresholds follow Life's where Life has them (token efficiency, tool correctness, loop detection: warn at
3 identical calls, block at 5; context rulings at 0.60 / 0.85 / 0.95) and are chosen so that the labels of
:func:`~life_tui.evaluation.facts.label_for` mean what they say: *good* (>= 0.8) needs no attention,
*warning* (>= 0.5) is worth a look, *critical* (< 0.5) is what the controller should act on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from life_tui.evaluation.facts import Layer, Score, TickFacts

Heuristic = Callable[[TickFacts], Score | None]

RECENT_ANSWERS = 8
"""How many earlier answers a repeated answer is compared with."""
LOOP_WARN = 3
"""Identical tool calls in a row that make a warning (Life's loop detector warns at 3)."""
LOOP_BLOCK = 5
"""Identical tool calls in a row that are critical (Life's loop detector blocks at 5)."""
LATENCY_MIN_SAMPLES = 20
"""A p95 over fewer provider calls than this is too noisy to call anything an outlier."""
CONTEXT_BREATHE, CONTEXT_COMPRESS, CONTEXT_EMERGENCY = 0.60, 0.85, 0.95
"""Autonomic's context rulings: the score is 1.0 up to breathe, 0.5 at compress and 0.0 at emergency."""
BUDGET_RELAXED = 0.5
"""Budget used up to this fraction costs nothing; from there the score falls linearly to 0.0 at 100 %."""
TOKEN_RATIO_GOOD, TOKEN_RATIO_BAD = 0.5, 3.0
"""Life's token efficiency: output/input <= 0.5 scores 1.0, >= 3.0 scores 0.0, linear in between."""


def _linear(x: float, x0: float, y0: float, x1: float, y1: float) -> float:
    """The value at ``x`` of the line through (x0, y0) and (x1, y1), for x0 <= x <= x1."""
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


# ---------------------------------------------------------------------------------------------- action
def tool_error_streak(facts: TickFacts) -> Score | None:
    """Consecutive failed tool calls: one failure is normal (0.8), two a warning (0.5), three or more critical.

    Applies when the tick called tools or a streak is running."""
    streak = facts.tool_error_streak
    if not facts.tool_calls and streak == 0:
        return None
    value = (1.0, 0.8, 0.5, 0.2)[streak] if streak < 4 else 0.0
    why = "no failed tool call in a row" if streak == 0 else f"{streak} failed tool call(s) in a row"
    return Score(evaluator="tool_error_streak", value=value, layer=Layer.ACTION, explanation=why)


def tool_correctness(facts: TickFacts) -> Score | None:
    """Life's tool correctness, per tick: 1 - failed calls / calls. Applies when the tick called tools."""
    calls = len(facts.tool_calls)
    if calls == 0:
        return None
    errors = min(max(facts.tool_errors, 0), calls)
    return Score(
        evaluator="tool_correctness",
        value=1.0 - errors / calls,
        layer=Layer.ACTION,
        explanation=f"{errors} of {calls} tool call(s) failed",
    )


# ------------------------------------------------------------------------------------------- reasoning
def empty_answer(facts: TickFacts) -> Score | None:
    """A final answer with no text (0.0): the run ended and the user got nothing. Applies to final ticks."""
    if not facts.final:
        return None
    if facts.answer.strip():
        return Score(evaluator="empty_answer", value=1.0, layer=Layer.REASONING, explanation="the answer has text")
    return Score(evaluator="empty_answer", value=0.0, layer=Layer.REASONING, explanation="the final answer has no text")


@lru_cache(maxsize=512)
def normalise(text: str) -> str:
    """Case and whitespace folded: two answers that differ only in those are the same answer.

    Cached because the same earlier answers are compared again at every tick."""
    return " ".join(text.casefold().split())


def repeated_answer(facts: TickFacts) -> Score | None:
    """The answer repeats a recent one (normalised): once is a warning (0.5, the user may have asked the
    same thing again), twice or more critical (0.0, the agent is stuck). Applies to ticks with text and a
    history."""
    if not facts.previous_answers or not facts.answer.strip():
        return None
    mine = normalise(facts.answer)
    repeats = sum(1 for earlier in facts.previous_answers[-RECENT_ANSWERS:] if normalise(earlier) == mine)
    if repeats == 0:
        return Score(evaluator="repeated_answer", value=1.0, layer=Layer.REASONING, explanation="the answer is new")
    return Score(
        evaluator="repeated_answer",
        value=0.5 if repeats == 1 else 0.0,
        layer=Layer.REASONING,
        explanation=f"the answer repeats {repeats} of the last {RECENT_ANSWERS} answers",
    )


# ------------------------------------------------------------------------------------------- execution
def identical_calls_in_a_row(signatures: Sequence[str]) -> int:
    """How many of the newest signatures are the same call (0 for none)."""
    if not signatures:
        return 0
    last = signatures[-1]
    count = 0
    for signature in reversed(signatures):
        if signature != last:
            break
        count += 1
    return count


def doom_loop(facts: TickFacts) -> Score | None:
    """The same tool call (name and arguments) again and again: one repeat is a retry (0.8), 3-4 in a row a
    warning (0.5), 5 or more critical (0.0; the controller blocks it). Applies when the tick called tools."""
    if not facts.tool_calls:
        return None
    run = identical_calls_in_a_row(facts.recent_call_signatures or facts.tool_calls)
    if run >= LOOP_BLOCK:
        value = 0.0
    elif run >= LOOP_WARN:
        value = 0.5
    else:
        value = 1.0 if run <= 1 else 0.8
    return Score(
        evaluator="doom_loop",
        value=value,
        layer=Layer.EXECUTION,
        explanation=f"the same tool call {run} time(s) in a row",
    )


def context_pressure(facts: TickFacts) -> Score | None:
    """How full the context window is: 1.0 up to 60 % (breathe), 0.5 at 85 % (compress), 0.0 at 95 %
    (emergency), linear in between. Applies once a model call reported its input."""
    used = facts.context_utilisation
    if used <= 0.0 and facts.input_tokens <= 0:
        return None
    if used <= CONTEXT_BREATHE:
        value = 1.0
    elif used <= CONTEXT_COMPRESS:
        value = _linear(used, CONTEXT_BREATHE, 1.0, CONTEXT_COMPRESS, 0.5)
    elif used < CONTEXT_EMERGENCY:
        value = _linear(used, CONTEXT_COMPRESS, 0.5, CONTEXT_EMERGENCY, 0.0)
    else:
        value = 0.0
    return Score(
        evaluator="context_pressure",
        value=value,
        layer=Layer.EXECUTION,
        explanation=f"the context window is {used:.0%} full",
    )


def latency_outlier(facts: TickFacts) -> Score | None:
    """This tick's provider latency against the session's p95: at or under it 1.0, twice it 0.5, three
    times it 0.0, linear in between. Applies with a latency and at least 20 earlier samples."""
    latency, p95 = facts.latency_ms, facts.latency_p95_ms
    if latency is None or facts.latency_samples < LATENCY_MIN_SAMPLES or p95 <= 0.0:
        return None
    ratio = latency / p95
    if ratio <= 1.0:
        value = 1.0
    elif ratio <= 2.0:
        value = _linear(ratio, 1.0, 1.0, 2.0, 0.5)
    elif ratio < 3.0:
        value = _linear(ratio, 2.0, 0.5, 3.0, 0.0)
    else:
        value = 0.0
    return Score(
        evaluator="latency_outlier",
        value=value,
        layer=Layer.EXECUTION,
        explanation=f"{latency:.0f} ms is {ratio:.1f}x the session's p95 ({p95:.0f} ms)",
    )


def token_efficiency(facts: TickFacts) -> Score | None:
    """Life's token efficiency: output/input tokens <= 0.5 is 1.0, >= 3.0 is 0.0, linear in between (a
    model writing far more than it reads is usually rambling). Applies when input tokens were reported."""
    if facts.input_tokens <= 0:
        return None
    ratio = facts.output_tokens / facts.input_tokens
    if ratio <= TOKEN_RATIO_GOOD:
        value = 1.0
    elif ratio >= TOKEN_RATIO_BAD:
        value = 0.0
    else:
        value = _linear(ratio, TOKEN_RATIO_GOOD, 1.0, TOKEN_RATIO_BAD, 0.0)
    return Score(
        evaluator="token_efficiency",
        value=value,
        layer=Layer.EXECUTION,
        explanation=f"{facts.output_tokens} output for {facts.input_tokens} input tokens (ratio {ratio:.2f})",
    )


# ------------------------------------------------------------------------------------------------ cost
def budget_pressure(facts: TickFacts) -> Score | None:
    """The most used of the run's budgets: up to half used 1.0, then linear to 0.0 when exhausted (75 %
    used is 0.5). Always applies (a run with no budget has used none of it)."""
    used = min(max(facts.budget_used_fraction, 0.0), 1.0)
    value = 1.0 if used <= BUDGET_RELAXED else _linear(used, BUDGET_RELAXED, 1.0, 1.0, 0.0)
    return Score(
        evaluator="budget_pressure",
        value=value,
        layer=Layer.COST,
        explanation=f"{used:.0%} of the tightest budget is used",
    )


DEFAULT_HEURISTICS: tuple[Heuristic, ...] = (
    tool_error_streak,
    tool_correctness,
    empty_answer,
    repeated_answer,
    doom_loop,
    context_pressure,
    latency_outlier,
    token_efficiency,
    budget_pressure,
)
"""The heuristics the runtime runs after every tick, in this order."""


def evaluate_tick(facts: TickFacts, heuristics: Sequence[Heuristic] = DEFAULT_HEURISTICS) -> list[Score]:
    """Every applicable heuristic's score for this tick, values rounded to 4 places (stable in events)."""
    scores: list[Score] = []
    for heuristic in heuristics:
        score = heuristic(facts)
        if score is not None:
            value = round(min(max(score.value, 0.0), 1.0), 4)
            if value != score.value:
                score = Score(evaluator=score.evaluator, value=value, layer=score.layer, explanation=score.explanation)
            scores.append(score)
    return scores


__all__ = [
    "DEFAULT_HEURISTICS",
    "Heuristic",
    "budget_pressure",
    "context_pressure",
    "doom_loop",
    "empty_answer",
    "evaluate_tick",
    "identical_calls_in_a_row",
    "latency_outlier",
    "normalise",
    "repeated_answer",
    "token_efficiency",
    "tool_correctness",
    "tool_error_streak",
]
