"""The Autonomic regulator in real sessions (scripted model, real journal): a doom loop broken at the third
identical call, narrowing to the cheapest model when conserving, an emergency context ruling, hibernation
that skips the model, waking up once funded; then replay exactness: a fresh regulator fed the recorded
events step by step re-derives every recorded decision at the same point."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.rig import RuntimeRig, open_rig

from life_tui.finance.pricing import cheaper_models
from life_tui.homeostasis.state import EconomicMode
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Event, EventDraft, encode_payload
from life_tui.runtime.autonomic import AutonomicRegulator
from life_tui.runtime.projection import ConversationProjection
from life_tui.runtime.providers.base import Usage
from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedProvider, ScriptedTurn
from life_tui.runtime.regulation import GateDecision, ModelQuestion, ToolQuestion
from life_tui.runtime.session import Session
from life_tui.tools.basic import default_registry

MONTHLY = 1_000 * 720
DECISION_KINDS = ("autonomic.", "eval.inline_completed")


class PricedScripted(ScriptedProvider):
    """A scripted model priced like a hosted one, so cheaper models of its provider are known."""

    name = "openai"


@dataclass
class Rig(RuntimeRig):
    pass


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(Rig, tmp_path, {"notes.md": "todo: nothing\n"}) as opened:
        yield opened


def grep(pattern: str) -> ScriptedCall:
    return ScriptedCall(name="grep", arguments={"pattern": pattern, "path": "."})


def turn(text: str = "", *calls: ScriptedCall, input_tokens: int = 1_000) -> ScriptedTurn:
    return ScriptedTurn(text=text, tool_calls=list(calls), usage=Usage(input_tokens=input_tokens, output_tokens=20))


async def set_balance(session: Session, balance: int) -> None:
    settled = k.CostSettled(
        reservation_id=f"test-{balance}",
        amount_micro=0,
        model="test",
        balance_after_micro=balance,
        burn_per_hour_micro=1_000,
    )
    await session.record(EventDraft(kind=settled.KIND, payload=settled))


def of_kind(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [e.payload_dict() for e in events if e.kind == kind]


async def recorded_session(rig: Rig) -> tuple[Session, PricedScripted, AutonomicRegulator]:
    regulator = AutonomicRegulator()
    session, provider = await rig.session(
        turn("", grep("todo")),
        turn("", grep("todo")),
        turn("", grep("todo")),  # the third identical call: blocked
        turn("", grep("todo")),  # and the fourth
        turn("Nothing left to do."),
        turn("ok", input_tokens=195_000),  # conserving: on the cheapest model; the context is nearly full
        turn("fine"),
        turn("back at work"),
        model="gpt-4o",
        provider_class=PricedScripted,
        regulator=regulator,
    )
    assert isinstance(provider, PricedScripted)
    return session, provider, regulator


async def test_a_doom_loop_is_broken_at_the_third_identical_call(rig: Rig) -> None:
    session, _, regulator = await recorded_session(rig)
    outcome = await session.submit("find the todos")
    assert outcome.reason == "final_answer" and outcome.final_answer == "Nothing left to do."
    events = rig.events(session)
    assert len(of_kind(events, "tool.call_started")) == 2
    blocks = of_kind(events, "autonomic.gate_triggered")
    assert [(b["gate"], b["action"], b["operation"]) for b in blocks] == [("repeat_call", "block", "tool_call")] * 2
    assert blocks[0]["rules"] == ["doom_loop"]
    failures = of_kind(events, "tool.call_failed")
    assert len(failures) == 2
    assert all(f["error"].startswith("blocked by regulation") and "will not change" in f["error"] for f in failures)
    assert regulator.state.operational.total_errors == 0  # a regulation block is not a tool error
    # inline evaluations after every tick, and a snapshot after the fifth
    assert {e["tick"] for e in of_kind(events, "eval.inline_completed")} == {1, 2, 3, 4, 5}
    (snapshot,) = of_kind(events, "autonomic.state_snapshot")
    assert snapshot["state"]["ticks_completed"] == 5 and snapshot["profile"]["economic_mode"] == "sovereign"


async def test_modes_from_conserving_to_hibernate_and_back(rig: Rig) -> None:
    session, provider, regulator = await recorded_session(rig)
    await session.submit("find the todos")
    await set_balance(session, round(1.5 * MONTHLY))
    outcome = await session.submit("continue")
    assert outcome.reason == "final_answer"
    assert provider.requests[-1].model == "gpt-4.1-nano"  # the cheapest known model
    assert regulator.state.economic.mode is EconomicMode.CONSERVING
    after = len(rig.events(session))
    await session.submit("and more")  # the previous call filled 97.5 % of the window: emergency
    (ruling,) = of_kind(rig.events(session, after=after), "autonomic.context_ruling")
    assert (ruling["ruling"], ruling["target"]) == ("emergency", 0.25)

    await set_balance(session, 0)
    used = provider.turns_used
    outcome = await session.submit("are you there?")
    assert outcome.reason == "blocked" and "hibernat" in (outcome.error or "")
    assert provider.turns_used == used  # no model call was made
    events = rig.events(session)
    assert of_kind(events, "autonomic.mode_changed")[-1]["mode"] == "hibernate"
    assert of_kind(events, "autonomic.gate_triggered")[-1]["gate"] == "cheap_model"

    rig.clock.advance(31)
    await set_balance(session, 10 * MONTHLY)
    outcome = await session.submit("funded again")
    assert outcome.reason == "final_answer" and outcome.final_answer == "back at work"
    modes = [c["mode"] for c in of_kind(rig.events(session), "autonomic.mode_changed")]
    assert modes == ["conserving", "hibernate", "sovereign"]
    assert regulator.profile.economic_mode is EconomicMode.SOVEREIGN


# ------------------------------------------------------------------------------------------- replay
PERSIST_NOTES = ("budget.updated", "state.estimated", "mode.changed")


def _canonical(draft: EventDraft) -> tuple[str, Any]:
    return draft.kind, json.loads(bytes(encode_payload(draft.payload)))


def rederive(events: list[Event]) -> tuple[set[int], int]:
    """Feed ``events`` to a fresh regulator one by one, asking its questions where the loop asked them;
    check each answer's events against the recorded events right after that point. Returns the indexes of
    the recorded events explained that way and the number of questions asked."""
    regulator, conversation = AutonomicRegulator(), ConversationProjection()
    conv_state = conversation.initial()
    registry = default_registry()
    explained: set[int] = set()
    asked = 0
    provider, model = "", ""
    after_persist = False
    for i, event in enumerate(events):
        data = event.payload_dict()
        question: str | None = None
        if i > 0 and events[i - 1].kind == "phase.entered" and events[i - 1].payload_dict()["phase"] == "regulate":
            question = "model"
        elif i > 0 and events[i - 1].kind == "tool.call_requested":
            question = "tool"
        elif after_persist and event.kind not in PERSIST_NOTES:
            question, after_persist = "tick", False
        if question is not None:
            asked += 1
            now = event.occurred_at
            answer: tuple[EventDraft, ...]
            if question == "model":
                tick = events[i - 1].payload_dict()["tick"]
                q = ModelQuestion(
                    model=model, provider=provider, tick=tick, cheaper_models=cheaper_models(provider, model)
                )
                answer = regulator.before_model_call(conv_state, q, now).events
            elif question == "tool":
                req = events[i - 1].payload_dict()
                spec = registry.get(req["tool_name"])
                tq = ToolQuestion(
                    name=req["tool_name"],
                    call_id=req["call_id"],
                    arguments=req.get("arguments", {}),
                    read_only=spec.annotations.read_only,
                    capabilities=tuple(req.get("capabilities", [])),
                )
                decision: GateDecision = regulator.before_tool_call(conv_state, tq, now)
                answer = decision.events
            else:
                answer = regulator.after_tick(conv_state, now)
            recorded = events[i : i + len(answer)]
            assert [_canonical(d) for d in answer] == [(e.kind, e.payload_dict()) for e in recorded], (question, i)
            explained.update(range(i, i + len(answer)))
        if event.kind == "run.started":
            provider, model = data["provider"], data.get("model") or ""
        if event.kind == "phase.entered" and data["phase"] == "persist":
            after_persist = True
        regulator.observe([event])
        conv_state = conversation.apply(conv_state, event)
    return explained, asked


async def test_replaying_the_events_reproduces_every_decision(rig: Rig) -> None:
    session, _, _ = await recorded_session(rig)
    await session.submit("find the todos")
    await set_balance(session, round(1.5 * MONTHLY))
    await session.submit("continue")
    await session.submit("and more")
    await set_balance(session, 0)
    await session.submit("are you there?")
    rig.clock.advance(31)
    await set_balance(session, 10 * MONTHLY)
    await session.submit("funded again")

    events = rig.events(session)
    decisions = {i for i, e in enumerate(events) if e.kind.startswith(DECISION_KINDS)}
    kinds = {events[i].kind for i in decisions}
    assert kinds >= {
        "autonomic.gate_triggered",
        "autonomic.mode_changed",
        "autonomic.context_ruling",
        "autonomic.state_snapshot",
        "eval.inline_completed",
    }
    # The live regulator observed everything the session holds (Session primes it with the branch's history,
    # ``session.created`` included); the re-derivation feeds a fresh one the same events.
    assert events[0].kind == "session.created"
    explained, asked = rederive(events)
    assert asked > 20
    assert explained == decisions  # every recorded decision re-derived at its point, and nothing more
