"""LLM-as-judge evaluators run on real sessions (scripted models, a real journal): the verdicts are journaled
as ``eval.judge_completed`` events aimed at the right run, whichever provider judges, and failures are
recorded rather than raised."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fakes.rig import RuntimeRig, open_rig

from life_tui.errors import Conflict, InvalidInput, NotFound
from life_tui.evaluation.judges import JUDGE_NAMES, judge_named
from life_tui.kernel.event import Event
from life_tui.runtime.judging import find_run, judge_run, read_turn
from life_tui.runtime.providers.base import SystemBlock
from life_tui.runtime.providers.scripted import Script, ScriptedCall, ScriptedError, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session

PLAN = '{"coherence": 0.9, "completeness": 0.8, "logical_soundness": 0.7}'
DONE = '{"completion": 0.95}'
FOLLOWED = '{"adherence": 1.0, "explanation": "No explicit plan; it just read the file."}'
COHERENT = 'Verdict: {"score": 0.85, "explanation": "Consistent with README.md."}'
USED = '```json\n{"score": 0.6, "explanation": "Quoted the heading only."}\n```'


def reply(text: str, cost: float | None = None) -> ScriptedTurn:
    return ScriptedTurn(text=text, cost_usd=cost)


READ_AND_ANSWER = (
    ScriptedTurn(
        text="I will read the README.", tool_calls=[ScriptedCall(name="read_file", arguments={"path": "README.md"})]
    ),
    ScriptedTurn(text="README.md has one line: a '# demo' heading."),
)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[RuntimeRig]:
    async with open_rig(RuntimeRig, tmp_path, {"README.md": "# demo\n"}) as opened:
        yield opened


def verdicts(rig: RuntimeRig, session: Session) -> list[tuple[Event, dict[str, Any]]]:
    return [(e, e.payload_dict()) for e in rig.events(session) if e.kind == "eval.judge_completed"]


async def test_every_judge_scores_the_last_run_and_each_verdict_is_journaled(rig: RuntimeRig) -> None:
    session, provider = await rig.session(
        *READ_AND_ANSWER,
        reply(PLAN, cost=0.001),
        reply(DONE),
        reply(FOLLOWED),
        reply(COHERENT),
        reply(USED),
    )
    outcome = await session.submit("How many lines does README.md have?")
    assert outcome.reason == "final_answer"

    results = await judge_run(session)

    assert [r.evaluator for r in results] == list(JUDGE_NAMES)  # read_file gave knowledge context
    assert all(r.error is None and r.target_run_id == outcome.run_id for r in results)
    stored = verdicts(rig, session)
    assert [p["evaluator"] for _, p in stored] == list(JUDGE_NAMES)
    assert all(e.actor == "system" and p["target_run_id"] == outcome.run_id for e, p in stored)
    by_name = {p["evaluator"]: p for _, p in stored}
    assert by_name["plan_quality"]["scores"] == {
        "plan_quality.coherence": 0.9,
        "plan_quality.completeness": 0.8,
        "plan_quality.soundness": 0.7,
    }
    assert by_name["plan_quality"]["cost_usd"] == 0.001 and by_name["plan_quality"]["model"] == "scripted"
    assert by_name["task_completion"]["scores"] == {"task_completion": 0.95}
    assert by_name["plan_adherence"]["explanation"].startswith("No explicit plan")
    assert by_name["reasoning_coherence"]["scores"] == {"reasoning_coherence": 0.85}
    assert by_name["knowledge_utilization"]["scores"] == {"knowledge_utilization": 0.6}

    # what the judge model was asked: the instruction as a system block, the turn as the one user message
    asked = provider.requests[-5:]
    assert all(len(r.messages) == 1 and r.messages[0].role == "user" and not r.tools for r in asked)
    assert asked[0].system == [SystemBlock(name="judge", text=judge_named("plan_quality").system)]
    assert "read_file" in asked[0].messages[0].content and '"path": "README.md"' in asked[0].messages[0].content
    assert "How many lines does README.md have?" in asked[1].messages[0].content
    assert "# demo" in asked[4].messages[0].content  # the file read is the knowledge context


async def test_an_earlier_run_judged_by_another_provider(rig: RuntimeRig) -> None:
    session, _ = await rig.session(ScriptedTurn(text="Paris."), ScriptedTurn(text="Rome."))
    first = await session.submit("Capital of France?")
    second = await session.submit("Capital of Italy?")
    judge_model = ScriptedProvider(Script(model="judge-model", turns=[reply(DONE, cost=0.0042)]))

    # Run ids are monotonic ULIDs: two quick runs may share their millisecond (the first 10 characters).
    prefix = next(first.run_id[:n] for n in range(8, 27) if not second.run_id.startswith(first.run_id[:n]))
    results = await judge_run(session, prefix, judges=["task_completion"], provider=judge_model)

    assert [(r.evaluator, r.target_run_id, r.model) for r in results] == [
        ("task_completion", first.run_id, "judge-model")
    ]
    assert results[0].cost_usd == 0.0042
    assert "Capital of France?" in judge_model.requests[0].messages[0].content
    assert "Rome" not in judge_model.requests[0].messages[0].content
    assert [p["target_run_id"] for _, p in verdicts(rig, session)] == [first.run_id]
    assert second.run_id != first.run_id


async def test_a_provider_spec_is_built_for_the_judging_and_closed(rig: RuntimeRig, tmp_path: Path) -> None:
    script = tmp_path / "judge.json"
    script.write_text(json.dumps({"model": "spec-judge", "turns": [{"text": DONE}]}))
    session, _ = await rig.session(ScriptedTurn(text="Done."))
    await session.submit("Do it.")
    results = await judge_run(session, judges=["task_completion"], provider=f"scripted:{script}")
    assert results[0].model == "spec-judge" and results[0].scores == {"task_completion": 0.95}


async def test_knowledge_judges_are_skipped_without_context_unless_it_is_given(rig: RuntimeRig) -> None:
    session, _ = await rig.session(
        ScriptedTurn(text="Your editor is helix."),
        reply(PLAN),
        reply(DONE),
        reply(FOLLOWED),
        reply('{"score": 0.9, "explanation": "ok"}'),
    )
    await session.submit("Which editor do I use?")
    results = await judge_run(session)
    assert [r.evaluator for r in results] == ["plan_quality", "task_completion", "plan_adherence"]
    with pytest.raises(InvalidInput, match="no knowledge context"):
        await judge_run(session, judges=["reasoning_coherence"])
    given = await judge_run(session, judges=["knowledge_utilization"], knowledge_context="editor: helix")
    assert given[0].scores == {"knowledge_utilization": 0.9}


async def test_unreadable_replies_and_failed_calls_are_recorded_as_errors(rig: RuntimeRig) -> None:
    session, _ = await rig.session(
        ScriptedTurn(text="All done."),
        reply("I refuse to answer in JSON."),
        ScriptedTurn(error=ScriptedError(message="overloaded", retryable=True, status=529)),
        reply(FOLLOWED),
    )
    await session.submit("Finish the task.")
    results = await judge_run(session, judges=["task_completion", "plan_quality", "plan_adherence"])
    assert [(r.evaluator, r.scores == {}, r.error is not None) for r in results] == [
        ("task_completion", True, True),
        ("plan_quality", True, True),
        ("plan_adherence", False, False),
    ]
    assert results[1].error is not None and "overloaded" in results[1].error
    stored = {p["evaluator"]: p for _, p in verdicts(rig, session)}
    assert "no JSON object" in stored["task_completion"]["error"] and stored["task_completion"]["scores"] == {}


async def test_which_run(rig: RuntimeRig) -> None:
    session, _ = await rig.session(ScriptedTurn(text="One."), ScriptedTurn(text="Two."))
    with pytest.raises(NotFound, match="no finished run"):
        await judge_run(session)
    first = await session.submit("first")
    second = await session.submit("second")
    events = rig.events(session)
    assert find_run(events, None) == second.run_id
    assert find_run(events, first.run_id) == first.run_id
    with pytest.raises(NotFound, match="no run"):
        find_run(events, "nope")
    with pytest.raises(InvalidInput, match="ambiguous"):
        find_run(events, "")
    unfinished = [e for e in events if not (e.kind == "run.finished" and e.run_id == second.run_id)]
    with pytest.raises(Conflict, match="has not finished"):
        find_run(unfinished, second.run_id)
    turn = await read_turn(session, first.run_id)
    assert (turn.objective, turn.assistant_messages, turn.final_answer) == ("first", ("One.",), "One.")
