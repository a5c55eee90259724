"""Nous's LLM-as-judge evaluators without a runtime: prompts, Life's parsing rules, selection, and
``judge_turn`` against a fake :class:`JudgeModel` (errors become results, never exceptions)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from life_tui.errors import InvalidInput, LifeError
from life_tui.evaluation.judges import (
    JUDGE_NAMES,
    JUDGES,
    MESSAGE_CHARS,
    TRANSCRIPT_CHARS,
    JudgeReply,
    TurnTranscript,
    first_unit_number,
    judge_named,
    judge_turn,
    render_messages,
    select,
)

PLAN = judge_named("plan_quality")
COMPLETION = judge_named("task_completion")
ADHERENCE = judge_named("plan_adherence")

TURN = TurnTranscript(
    run_id="run-1",
    objective="Count the lines of README.md",
    assistant_messages=('Plan: read the file, then count.\n→ read_file {"path": "README.md"}', "It has 3 lines."),
    final_answer="It has 3 lines.",
)
KNOWING = TurnTranscript(
    run_id="run-2",
    objective="What is my editor?",
    assistant_messages=("You use helix.",),
    final_answer="You use helix.",
    knowledge_context="memory_read: the user's editor is helix",
)


# ------------------------------------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    ("reply", "scores"),
    [
        ('{"coherence": 0.9, "completeness": 0.8, "logical_soundness": 0.7}', (0.9, 0.8, 0.7)),
        ('  {"coherence": 1, "completeness": 0, "logical_soundness": "0.5"}\n', (1.0, 0.0, 0.5)),
        (
            'Here is my verdict: {"coherence": 0.6, "completeness": 0.5, "logical_soundness": 0.4}. Hope it helps.',
            (0.6, 0.5, 0.4),
        ),
        (
            '```json\n{"coherence": 0.3, "completeness": 0.2, "logical_soundness": 0.1}\n```',
            (0.3, 0.2, 0.1),
        ),
        ('{"coherence": 1.7, "completeness": -0.2, "logical_soundness": 3}', (1.0, 0.0, 1.0)),  # clamped
        ("I would rate this plan 0.75 overall, maybe 8/10.", (0.75, 0.75, 0.75)),  # number fallback
        ("Step 2 of 3 is weak; score: 0.4", (0.4, 0.4, 0.4)),  # numbers outside [0, 1] are passed over
    ],
)
def test_plan_quality_verdicts(reply: str, scores: tuple[float, float, float]) -> None:
    verdict = PLAN.parse(reply)
    assert verdict.error is None, verdict.error
    assert verdict.scores == {
        "plan_quality.coherence": scores[0],
        "plan_quality.completeness": scores[1],
        "plan_quality.soundness": scores[2],
    }


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "I cannot judge this.",
        "Rated 7 out of 10",  # no number in [0, 1] and no JSON
        '{"coherence": 0.9, "completeness": 0.8}',  # a key missing
        '{"coherence": "high", "completeness": 0.8, "logical_soundness": 0.7}',  # not a number
        '{"coherence": true, "completeness": 0.8, "logical_soundness": 0.7}',  # booleans are not scores
        '{"coherence": NaN, "completeness": 0.8, "logical_soundness": 0.7}',
        "{" * 5000 + "}" * 5000,  # deeply nested: no crash
    ],
)
def test_unreadable_plan_quality_replies_are_errors(reply: str) -> None:
    verdict = PLAN.parse(reply)
    assert verdict.scores == {}
    assert verdict.error


def test_only_plan_quality_falls_back_to_a_bare_number() -> None:
    assert COMPLETION.parse("I'd say 0.9").error is not None
    assert COMPLETION.parse('["completion", 0.9]').error is not None  # JSON, but not an object
    assert PLAN.parse('["coherence", 0.9]').scores["plan_quality.soundness"] == 0.9  # Life's fallback
    verdict = COMPLETION.parse('Sure! {"completion": 0.9} ')
    assert verdict.scores == {"task_completion": 0.9} and verdict.error is None


def test_explanations_are_read_when_the_judge_asks_for_one() -> None:
    verdict = ADHERENCE.parse('{"adherence": 1.0, "explanation": "  No explicit plan was stated. "}')
    assert verdict.scores == {"plan_adherence": 1.0}
    assert verdict.explanation == "No explicit plan was stated."
    assert ADHERENCE.parse('{"adherence": 0.5, "explanation": 3}').explanation == ""


def test_first_unit_number() -> None:
    assert first_unit_number("7 of 10, so .7") == 0.7
    assert first_unit_number("-0.5 then 1.0") == 1.0
    assert first_unit_number("nothing") is None


# --------------------------------------------------------------------------------------------- prompts
def test_every_system_instruction_demands_only_json_with_the_exact_keys() -> None:
    assert JUDGE_NAMES == (
        "plan_quality",
        "task_completion",
        "plan_adherence",
        "reasoning_coherence",
        "knowledge_utilization",
    )
    for judge in JUDGES:
        system = judge.system
        assert "ONLY a JSON object" in system
        shape = system[system.index("{") : system.rindex("}") + 1].replace("<0.0-1.0>", "0.5")
        keys = set(json.loads(shape))
        assert keys == set(judge.keys) | ({judge.explanation_key} if judge.explanation_key else set())


def test_prompts_carry_the_turn() -> None:
    plan = PLAN.prompt(TURN)
    assert plan.startswith("Evaluate")
    assert "[message 1]" in plan and "read_file" in plan and "[message 2]" in plan
    completion = COMPLETION.prompt(TURN)
    assert "<objective>\nCount the lines of README.md\n</objective>" in completion
    assert "<final_answer>\nIt has 3 lines.\n</final_answer>" in completion
    knowledge = judge_named("knowledge_utilization").prompt(KNOWING)
    assert "the user's editor is helix" in knowledge and "You use helix." in knowledge


def test_long_transcripts_are_cut_keeping_the_newest() -> None:
    messages = tuple(f"message {i} " + "x" * (MESSAGE_CHARS * 2) for i in range(20))
    text = render_messages(messages)
    assert len(text) < TRANSCRIPT_CHARS + MESSAGE_CHARS * 2
    assert "[message 20]" in text and "[message 1]\n" not in text
    assert "omitted]" in text
    assert render_messages(()) == "(the assistant wrote nothing)"


# ------------------------------------------------------------------------------------------- selection
def test_default_selection_skips_the_knowledge_judges_without_context() -> None:
    run, skipped = select(None, TURN)
    assert [j.name for j in run] == ["plan_quality", "task_completion", "plan_adherence"]
    assert [name for name, _ in skipped] == ["reasoning_coherence", "knowledge_utilization"]
    assert all("knowledge" in reason for _, reason in skipped)
    run, skipped = select(None, KNOWING)
    assert [j.name for j in run] == list(JUDGE_NAMES) and skipped == []


def test_explicit_selection_keeps_order_and_refuses_what_cannot_apply() -> None:
    run, skipped = select(["task_completion", "plan_quality", "task_completion"], TURN)
    assert [j.name for j in run] == ["task_completion", "plan_quality"] and skipped == []
    with pytest.raises(InvalidInput, match="no knowledge context"):
        select(["knowledge_utilization"], TURN)
    with pytest.raises(InvalidInput, match="unknown judge 'vibes'"):
        select(["vibes"], TURN)
    unfinished = TurnTranscript(run_id="r", objective="x", assistant_messages=("working",), final_answer=None)
    with pytest.raises(InvalidInput, match="without a final answer"):
        select(["task_completion"], unfinished)


# --------------------------------------------------------------------------------------- judge_turn
@dataclass
class FakeJudgeModel:
    replies: list[str]
    asked: list[tuple[str, str]] = field(default_factory=list)
    fail: LifeError | None = None

    async def complete(self, system: str, prompt: str) -> JudgeReply:
        self.asked.append((system, prompt))
        if self.fail is not None:
            raise self.fail
        return JudgeReply(text=self.replies.pop(0), model="judge-1", cost_usd=0.0012)


async def test_judge_turn_records_the_verdict_for_the_target_run() -> None:
    model = FakeJudgeModel(['{"completion": 0.95}'])
    ticks = iter([10.0, 10.25])
    result = await judge_turn(COMPLETION, TURN, model, timer=lambda: next(ticks))
    assert result.evaluator == "task_completion" and result.target_run_id == "run-1"
    assert result.scores == {"task_completion": 0.95} and result.error is None
    assert result.model == "judge-1" and result.cost_usd == 0.0012 and result.duration_ms == 250.0
    system, prompt = model.asked[0]
    assert system == COMPLETION.system and "Count the lines" in prompt


async def test_judge_turn_turns_garbage_and_failures_into_error_results() -> None:
    garbage = await judge_turn(ADHERENCE, TURN, FakeJudgeModel(["no idea"]))
    assert garbage.scores == {} and garbage.error and "no JSON object" in garbage.error
    assert garbage.cost_usd == 0.0012  # the call was still paid for
    failing = FakeJudgeModel([], fail=LifeError("rate limited"))
    failed = await judge_turn(PLAN, TURN, failing)
    assert failed.scores == {} and failed.error == "the judge model failed: rate limited"
