"""Regulation end to end: real sessions (scripted model, real journal, the journal's wallet, the default
Autonomic regulator) in which the agent drains its balance from sovereign to hibernate, compacts its
context because homeostasis rules it under pressure, and breaks a doom loop.

Each test drives only the public Session API and reads the outcome back from the journal, so what is
checked is what a user (or ``life-tui state``) would see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.rig import RuntimeRig, open_rig

from life_tui.kernel.event import Event
from life_tui.runtime.config import ContextSettings, Settings
from life_tui.runtime.providers.base import Usage
from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedProvider, ScriptedTurn
from life_tui.runtime.regulation import AllowAll


class HostedScripted(ScriptedProvider):
    """A scripted model standing in for a hosted one (so the price table knows its cheaper siblings)."""

    name = "openai"


@dataclass
class Rig(RuntimeRig):
    pass


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(Rig, tmp_path, {"notes.md": "todo: write the report\n"}) as opened:
        yield opened


def of_kind(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [e.payload_dict() for e in events if e.kind == kind]


async def test_the_agent_goes_from_sovereign_to_hibernate_as_its_balance_drains(rig: Rig) -> None:
    turns = [ScriptedTurn(text=f"answer {i}", cost_usd=0.25) for i in range(5)]
    session, provider = await rig.session(*turns, model="gpt-4.1", provider_class=HostedScripted)
    session.wallet.fund(1_000_000, note="test")
    reasons = []
    for prompt in ("one", "two", "three", "four", "five"):
        outcome = await session.submit(prompt)
        reasons.append(outcome.reason)
        rig.clock.advance(31)  # past the economic mode's minimum hold time
    assert reasons == ["final_answer"] * 4 + ["blocked"]
    events = rig.events(session)
    modes = [(m["previous"], m["mode"]) for m in of_kind(events, "autonomic.mode_changed")]
    assert modes == [("sovereign", "hustle"), ("hustle", "hibernate")]
    # Hustle narrows to the cheapest model of the provider; hibernate makes no call at all.
    assert [r.model for r in provider.requests] == ["gpt-4.1", "gpt-4.1-nano", "gpt-4.1-nano", "gpt-4.1-nano"]
    assert provider.turns_used == 4
    settled = of_kind(events, "finance.settled")
    assert [s["amount_micro"] for s in settled] == [250_000] * 4
    assert settled[-1]["balance_after_micro"] == 0
    view = session.wallet_view()
    assert (view.balance_micro, view.spent_micro, view.reserved_micro) == (0, 1_000_000, 0)
    state = session.homeostasis
    assert state is not None and state.economic.mode.value == "hibernate"
    blocked = of_kind(events, "autonomic.gate_triggered")
    assert any(b["action"] == "block" and b["operation"] == "model_call" for b in blocked)


async def test_a_compress_ruling_makes_the_runtime_compact(rig: Rig) -> None:
    window = 40_000
    # The provider reports 36k input tokens (90 % of the window): homeostasis rules "compress" (>= 0.85),
    # which asks for compaction toward 35 % of the window before the next call.
    pressing = Usage(input_tokens=36_000, output_tokens=10)
    turns = [ScriptedTurn(text=f"noted {i}", usage=pressing) for i in range(4)]
    settings = Settings(context=ContextSettings(window=window))
    prompts = [f"part {i}: " + ("lorem ipsum dolor sit amet " * 750) for i in range(4)]  # ~5k tokens each

    session, _ = await rig.session(*turns, settings=settings)
    for prompt in prompts:
        await session.submit(prompt)
    events = rig.events(session)
    rulings = of_kind(events, "autonomic.context_ruling")
    assert rulings and rulings[0]["ruling"] == "compress" and rulings[0]["target"] == pytest.approx(0.35)
    ruled_at = next(e.seq for e in events if e.kind == "autonomic.context_ruling")
    compactions = [e for e in events if e.kind == "context.compacted"]
    assert compactions and compactions[0].seq > ruled_at
    assert session.state.compactions  # the history the model sees is shorter from then on

    # The same session without regulation never compacts: ~20k tokens of history is far below the
    # loop's own threshold (85 % of what the 40k window leaves for history).
    plain, _ = await rig.session(*turns, settings=settings, regulator=AllowAll())
    for prompt in prompts:
        await plain.submit(prompt)
    assert not [e for e in rig.events(plain) if e.kind == "context.compacted"]


async def test_a_doom_loop_is_broken_and_the_model_is_told(rig: Rig) -> None:
    same = ScriptedCall(name="grep", arguments={"pattern": "todo", "path": "."})
    turns = [ScriptedTurn(tool_calls=[same]) for _ in range(3)]
    turns.append(ScriptedTurn(tool_calls=[ScriptedCall(name="read_file", arguments={"path": "notes.md"})]))
    turns.append(ScriptedTurn(text="The note says to write the report."))
    session, _ = await rig.session(*turns)
    outcome = await session.submit("what is left to do?")
    assert outcome.reason == "final_answer"
    events = rig.events(session)
    completed = [c["tool_name"] for c in of_kind(events, "tool.call_completed")]
    assert completed == ["grep", "grep", "read_file"]  # the third identical grep never ran
    failed = of_kind(events, "tool.call_failed")
    assert len(failed) == 1 and failed[0]["tool_name"] == "grep"
    assert "will not change" in failed[0]["error"]
    gates = of_kind(events, "autonomic.gate_triggered")
    assert [(g["gate"], g["action"]) for g in gates] == [("repeat_call", "block")]
    # What the model read next: the refusal, as the tool result of its call.
    tool_messages = [m for m in session.state.messages if m.role == "tool"]
    assert tool_messages[2].is_error and "will not change" in tool_messages[2].content
