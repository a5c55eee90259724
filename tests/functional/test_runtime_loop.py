"""The agent loop through ``runtime.Session`` with scripted models, a real journal and a real workspace:
event sequences, tool failures, budgets and limits, provider errors and retries, regulation, large
outputs, and mode changes. Every test asserts on the ``RunOutcome`` and on the journal's events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fakes.rig import RuntimeRig, open_rig

from life_tui.journal.blobs import BlobStore
from life_tui.kernel.event import Event, EventDraft
from life_tui.kernel.state import OperatingMode
from life_tui.runtime.config import Settings
from life_tui.runtime.context import INTERRUPTED
from life_tui.runtime.loop import INLINE_RESULT_LIMIT, RunLimits
from life_tui.runtime.projection import ConversationState
from life_tui.runtime.providers.base import Usage
from life_tui.runtime.providers.scripted import Script, ScriptedCall, ScriptedError, ScriptedProvider, ScriptedTurn
from life_tui.runtime.regulation import AllowAll, GateDecision, ModelQuestion, ToolQuestion
from life_tui.runtime.session import Session
from life_tui.tools.basic import default_registry
from life_tui.tools.hashline import line_tag
from life_tui.tools.registry import ToolAnnotations, ToolContext, ToolOutput, ToolRegistry, ToolSpec

PHASES_WITH_TOOLS = ["reconstruct", "regulate", "context", "provider", "tools", "persist"]
PHASES_NO_TOOLS = ["reconstruct", "regulate", "context", "provider", "persist"]


# ---------------------------------------------------------------------------------------------- rig
def call(name: str, **arguments: Any) -> ScriptedCall:
    return ScriptedCall(name=name, arguments=arguments)


def turn(text: str = "", *calls: ScriptedCall, **kw: Any) -> ScriptedTurn:
    return ScriptedTurn(text=text, tool_calls=list(calls), **kw)


class PricedScripted(ScriptedProvider):
    """A scripted model billed like a hosted one (the scripted provider itself is always free)."""

    name = "openai"


@dataclass
class Rig(RuntimeRig):
    tool_runs: list[str] = field(default_factory=list)

    def tools(self) -> ToolRegistry:
        """The basic tools plus test tools: a failing one, a writer, a huge output, a slow clock."""
        registry = default_registry()

        def spec(name: str, run: Any, *, read_only: bool = True, schema: dict[str, Any] | None = None) -> ToolSpec:
            return ToolSpec(
                name=name,
                description=f"test tool {name}",
                input_schema=schema or {"type": "object", "properties": {}},
                run=run,
                annotations=ToolAnnotations(read_only=read_only),
            )

        async def flaky(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
            self.tool_runs.append("flaky")
            return ToolOutput("the disk is on fire", is_error=True)

        async def crash(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
            self.tool_runs.append("crash")
            raise RuntimeError("tool bug")

        async def write_note(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
            self.tool_runs.append("write_note")
            (ctx.workspace / "note.txt").write_text(str(args.get("text", "")))
            return ToolOutput("written")

        async def big(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
            self.tool_runs.append("big")
            return ToolOutput("".join(f"line {i:05d}\n" for i in range(4_000)))

        async def slow(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
            self.tool_runs.append("slow")
            self.clock.advance(1_000)
            return ToolOutput("that took a while")

        registry.register(spec("flaky", flaky))
        registry.register(spec("crash", crash))
        registry.register(
            spec(
                "write_note",
                write_note,
                read_only=False,
                schema={"type": "object", "properties": {"text": {"type": "string"}}},
            )
        )
        registry.register(spec("big", big))
        registry.register(spec("slow", slow))
        return registry


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    files = {"README.md": "# demo\nA workspace for the runtime tests.\n", "src/app.py": "print('hello')\n"}
    async with open_rig(Rig, tmp_path, files) as opened:
        yield opened


def kinds(events: list[Event], *, deltas: bool = False) -> list[str]:
    """Kinds with phases spelled out (``phase:tools``); text deltas dropped unless asked for."""
    out = []
    for e in events:
        if e.kind == "phase.entered":
            out.append(f"phase:{e.payload_dict()['phase']}")
        elif deltas or e.kind != "assistant.text_delta":
            out.append(e.kind)
    return out


def of_kind(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [e.payload_dict() for e in events if e.kind == kind]


def assert_well_formed_run(events: list[Event], run_id: str) -> None:
    """One run in the journal: user.message, run.started first, exactly one run.finished last, seqs dense."""
    mine = [e for e in events if e.run_id == run_id]
    assert [e.kind for e in mine[:2]] == ["user.message", "run.started"]
    assert mine[-1].kind == "run.finished"
    assert sum(e.kind == "run.finished" for e in mine) == 1
    seqs = [e.seq for e in mine]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


# -------------------------------------------------------------------------------------- a whole turn
async def test_a_multi_tool_turn_has_the_exact_event_sequence(rig: Rig) -> None:
    session, provider = await rig.session(
        turn("Let me look.", call("list_dir", path="."), call("read_file", path="README.md")),
        turn("The workspace has a README and a src folder."),
        regulator=AllowAll(),  # the loop's own sequence; regulation adds its events (tests/functional/test_autonomic_*)
    )
    head = rig.journal.head(session.session_id)
    outcome = await session.submit("What is in this workspace?")

    assert outcome.reason == "final_answer"
    assert outcome.final_answer == "The workspace has a README and a src folder."
    assert (outcome.turns, outcome.error, outcome.exhausted, outcome.denials) == (2, None, [], 0)
    assert outcome.cost_usd == 0.0
    assert provider.turns_used == 2

    events = rig.events(session, after=head)
    assert all(e.run_id == outcome.run_id for e in events)
    assert kinds(events) == [
        "user.message",
        "run.started",
        *(f"phase:{p}" for p in PHASES_WITH_TOOLS[:4]),
        "assistant.message",
        "phase:tools",
        "tool.call_requested",
        "tool.call_started",
        "tool.call_completed",
        "tool.call_requested",
        "tool.call_started",
        "tool.call_completed",
        "phase:persist",
        "budget.updated",
        "mode.changed",
        *(f"phase:{p}" for p in PHASES_NO_TOOLS[:4]),
        "assistant.message",
        "phase:persist",
        "budget.updated",
        "run.finished",
    ]
    assert_well_formed_run(events, outcome.run_id)
    # Deltas come between the provider phase and the message, and add up to it.
    text = "".join(d["delta"] for d in of_kind(events, "assistant.text_delta"))
    assert text == "Let me look." + outcome.final_answer
    assert [p["tick"] for p in of_kind(events, "phase.entered")] == [1] * 6 + [2] * 5

    by_kind = {e.kind: e.payload_dict() for e in events}
    assert by_kind["user.message"] == {"content": "What is in this workspace?"}
    assert by_kind["run.started"] == {
        "provider": "scripted",
        "model": "scripted",
        "max_turns": 24,
        "limits": {"max_turns": 24, "tokens": 120_000, "time_s": 300.0, "cost_usd": 5.0, "tool_calls": 48, "errors": 8},
    }
    first = of_kind(events, "assistant.message")[0]
    assert first["tool_calls"] == [
        {"id": "call_1_1", "name": "list_dir", "arguments": {"path": "."}},
        {"id": "call_1_2", "name": "read_file", "arguments": {"path": "README.md"}},
    ]
    assert first["stop_reason"] == "tool_use" and first["cost_usd"] == 0.0
    requested = of_kind(events, "tool.call_requested")
    assert [(r["call_id"], r["tool_name"], r["capabilities"]) for r in requested] == [
        ("call_1_1", "list_dir", ["fs:read:."]),
        ("call_1_2", "read_file", ["fs:read:README.md"]),
    ]
    completed = of_kind(events, "tool.call_completed")
    assert [c["call_id"] for c in completed] == ["call_1_1", "call_1_2"]
    assert completed[0]["result"] == "src/\nREADME.md"
    # read_file renders hashline rows: the line number, the line's tag (BLAKE3 of "<n>:<text>"), its text.
    assert completed[1]["result"] == (
        f"   1 {line_tag(1, '# demo')} | # demo\n   2 {line_tag(2, 'A workspace for the runtime tests.')} | "
        "A workspace for the runtime tests."
    )
    assert all("is_error" not in c and c["duration_ms"] >= 0 for c in completed)
    assert of_kind(events, "mode.changed") == [{"previous": "explore", "mode": "execute", "reason": "steady progress"}]
    budgets = of_kind(events, "budget.updated")
    assert budgets[0]["budget"]["tool_calls_remaining"] == 46 and budgets[0]["reason"] == "tick"
    assert budgets[1]["budget"]["tokens_remaining"] < budgets[0]["budget"]["tokens_remaining"]
    finished = of_kind(events, "run.finished")[0]
    assert finished == {
        "reason": "final_answer",
        "turns": 2,
        "final_answer": outcome.final_answer,
        "usage": {"tokens": finished["usage"]["tokens"], "tool_calls": 2, "errors": 0},
    }
    # Actors: the user spoke, the agent asked for tools, tools answered, the system kept the books.
    actors = {e.kind: e.actor for e in events}
    assert (actors["user.message"], actors["tool.call_requested"], actors["tool.call_completed"]) == (
        "user",
        "agent",
        "tool",
    )
    assert (actors["run.started"], actors["budget.updated"], actors["assistant.message"]) == (
        "system",
        "system",
        "agent",
    )

    # The second request carries the whole exchange, each call with its result right after it.
    second = provider.requests[1]
    assert [(m.role, m.tool_call_id) for m in second.messages] == [
        ("user", None),
        ("assistant", None),
        ("tool", "call_1_1"),
        ("tool", "call_1_2"),
    ]
    assert {t.name for t in second.tools} >= {"read_file", "list_dir"}
    assert session.state.last_final_answer == outcome.final_answer and not session.state.run.active


async def test_usage_in_the_outcome_is_the_runs_own(rig: Rig) -> None:
    session, _ = await rig.session(
        turn("one", usage=Usage(input_tokens=100, output_tokens=10, cached_tokens=5)),
        turn("two", usage=Usage(input_tokens=7, output_tokens=3)),
    )
    first = await session.submit("first")
    second = await session.submit("second")
    assert (first.input_tokens, first.output_tokens, first.cached_tokens) == (100, 10, 5)
    assert (second.input_tokens, second.output_tokens, second.cached_tokens) == (7, 3, 0)
    assert (session.state.input_tokens, session.state.output_tokens) == (107, 13)
    assert second.turns == 1 and second.run_id != first.run_id
    finished = of_kind(rig.run_events(session, second.run_id), "run.finished")[0]
    assert finished["usage"]["tokens"] == 10


async def test_unknown_tools_and_invalid_arguments_fail_and_the_loop_goes_on(rig: Rig) -> None:
    session, provider = await rig.session(
        turn("", call("teleport", to="mars"), call("read_file"), call("read_file", path="README.md", colour="red")),
        turn("", call("read_file", path="missing.txt"), call("read_file", path="../outside.txt")),
        turn("I could not do it."),
    )
    outcome = await session.submit("go")
    assert outcome.reason == "final_answer" and outcome.final_answer == "I could not do it."
    assert provider.turns_used == 3
    events = rig.run_events(session, outcome.run_id)
    failed = of_kind(events, "tool.call_failed")
    assert [(f["call_id"], f["tool_name"]) for f in failed] == [
        ("call_1_1", "teleport"),
        ("call_1_2", "read_file"),
        ("call_1_3", "read_file"),
    ]
    assert failed[0]["error"] == "there is no tool named 'teleport'"
    assert failed[1]["error"] == "invalid arguments: arguments is missing the required field 'path'"
    assert failed[2]["error"] == "invalid arguments: arguments has an unknown field 'colour'"
    # Calls that fail validation never start; the tool's own errors (a missing file, an escape) are results.
    assert [e.kind for e in events if e.kind.startswith("tool.")][:6] == ["tool.call_requested", "tool.call_failed"] * 3
    completed = of_kind(events, "tool.call_completed")
    assert [c["is_error"] for c in completed] == [True, True]
    assert "no file 'missing.txt'" in completed[0]["result"]
    assert "outside the workspace" in completed[1]["result"]
    # The model was told every failure.
    told = {m.tool_call_id: m for m in provider.requests[1].messages if m.role == "tool"}
    assert told["call_1_1"].is_error and told["call_1_1"].content == failed[0]["error"]
    assert set(told) == {"call_1_1", "call_1_2", "call_1_3"}
    assert session.state.run.errors == 5 and session.state.run.tool_calls == 2
    assert_well_formed_run(rig.events(session), outcome.run_id)


async def test_a_tool_that_raises_is_an_error_result_not_a_crashed_run(rig: Rig) -> None:
    session, provider = await rig.session(turn("", call("crash")), turn("sorry"))
    outcome = await session.submit("go")
    assert outcome.reason == "final_answer" and provider.turns_used == 2
    completed = of_kind(rig.run_events(session, outcome.run_id), "tool.call_completed")
    assert completed[0]["is_error"] and "RuntimeError: tool bug" in completed[0]["result"]
    assert_well_formed_run(rig.events(session), outcome.run_id)


# --------------------------------------------------------------------------------------------- limits
async def test_token_budget_exhaustion_stops_before_the_next_call(rig: Rig) -> None:
    session, provider = await rig.session(
        turn("", call("list_dir"), usage=Usage(input_tokens=80, output_tokens=30)),
        turn("never sent"),
        regulator=AllowAll(),
    )
    outcome = await session.submit("go", limits=RunLimits(tokens=100))
    assert (outcome.reason, outcome.exhausted, outcome.final_answer) == ("budget", ["tokens"], None)
    assert provider.turns_used == 1 and len(provider.requests) == 1
    events = rig.run_events(session, outcome.run_id)
    assert kinds(events)[-3:] == ["mode.changed", "phase:reconstruct", "run.finished"]
    assert of_kind(events, "budget.updated")[-1]["budget"]["tokens_remaining"] == -10
    assert of_kind(events, "run.finished")[0]["reason"] == "budget"


async def test_tool_call_budget_counts_every_call(rig: Rig) -> None:
    session, provider = await rig.session(
        turn("", call("list_dir"), call("read_file", path="README.md")), turn("never sent")
    )
    outcome = await session.submit("go", limits=RunLimits(tool_calls=1))
    assert (outcome.reason, outcome.exhausted) == ("budget", ["tool_calls"])
    assert provider.turns_used == 1
    events = rig.run_events(session, outcome.run_id)
    # The first call runs; the second would overspend, so it is refused and never starts.
    assert [e.kind for e in events if e.kind.startswith("tool.")] == [
        "tool.call_requested",
        "tool.call_started",
        "tool.call_completed",
        "tool.call_requested",
        "tool.call_failed",
    ]
    assert "tool-call budget" in of_kind(events, "tool.call_failed")[0]["error"]
    assert rig.tool_runs == [] and session.state.run.tool_calls == 1


async def test_cost_budget_with_a_priced_model(rig: Rig) -> None:
    session, provider = await rig.session(
        turn("", call("list_dir"), usage=Usage(input_tokens=10_000, output_tokens=1_000)),
        turn("never sent"),
        model="gpt-4.1",
        provider_class=PricedScripted,
    )
    outcome = await session.submit("go", limits=RunLimits(cost_usd=0.05))
    assert (outcome.reason, outcome.exhausted) == ("budget", ["cost"])
    assert outcome.cost_usd == pytest.approx(0.028)  # 10k in at $2/M + 1k out at $8/M
    # The second call's worst case (4096 output tokens at $8/M, more than the $0.022 left) is refused
    # before it is made: the reservation, not the bill, stops the run.
    assert provider.turns_used == 1
    refused = of_kind(rig.run_events(session, outcome.run_id), "finance.refused")
    assert [r["limit"] for r in refused] == ["run"] and refused[0]["available_micro"] == 22_000
    message = of_kind(rig.run_events(session, outcome.run_id), "assistant.message")[0]
    assert message["cost_usd"] == pytest.approx(0.028) and message["model"] == "gpt-4.1"
    assert session.state.cost_usd == pytest.approx(0.028)


async def test_configured_prices_override_the_table(rig: Rig) -> None:
    settings = Settings(prices={"gpt-4.1": {"input": 100.0, "output": 0.0}})
    session, _ = await rig.session(
        turn("hi", usage=Usage(input_tokens=1_000)), model="gpt-4.1", provider_class=PricedScripted, settings=settings
    )
    outcome = await session.submit("go")
    assert outcome.cost_usd == pytest.approx(0.1)


async def test_error_budget_exhaustion(rig: Rig) -> None:
    session, provider = await rig.session(turn("", call("flaky")), turn("never sent"))
    outcome = await session.submit("go", limits=RunLimits(errors=1))
    assert (outcome.reason, outcome.exhausted) == ("budget", ["errors"])
    assert provider.turns_used == 1 and rig.tool_runs == ["flaky"]


async def test_time_budget_uses_the_injected_clock(rig: Rig) -> None:
    session, provider = await rig.session(turn("", call("slow")), turn("never sent"))
    outcome = await session.submit("go", limits=RunLimits(time_s=60))
    assert (outcome.reason, outcome.exhausted) == ("budget", ["time"])
    assert provider.turns_used == 1


async def test_max_turns(rig: Rig) -> None:
    session, provider = await rig.session(turn("", call("list_dir")), turn("", call("list_dir")), turn("never sent"))
    outcome = await session.submit("go", limits=RunLimits(max_turns=2))
    assert (outcome.reason, outcome.turns, outcome.exhausted) == ("max_turns", 2, [])
    assert provider.turns_used == 2
    events = rig.run_events(session, outcome.run_id)
    assert of_kind(events, "run.started")[0]["max_turns"] == 2
    assert of_kind(events, "run.finished")[0] == {
        "reason": "max_turns",
        "turns": 2,
        "usage": of_kind(events, "run.finished")[0]["usage"],
    }
    assert kinds(events)[-2:] == ["phase:reconstruct", "run.finished"]


async def test_limits_come_from_the_settings_and_each_run_has_a_fresh_budget(rig: Rig) -> None:
    from life_tui.runtime.config import BudgetSettings

    settings = Settings(budget=BudgetSettings(max_turns=1))
    session, provider = await rig.session(turn("", call("list_dir")), turn("ok"), settings=settings)
    first = await session.submit("go")
    assert first.reason == "max_turns"
    second = await session.submit("continue")  # a new run: its own turn counter
    assert (second.reason, second.final_answer, second.turns) == ("final_answer", "ok", 1)
    assert provider.turns_used == 2


# ---------------------------------------------------------------------------------- provider errors
async def test_a_retryable_error_is_retried_after_a_backoff(rig: Rig) -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    session, provider = await rig.session(
        turn(error=ScriptedError(message="overloaded", retryable=True, status=529)),
        turn(error=ScriptedError(message="rate limited", retryable=True, status=429)),
        turn("recovered"),
        retry_sleep=fake_sleep,
    )
    outcome = await session.submit("go")
    assert (outcome.reason, outcome.final_answer) == ("final_answer", "recovered")
    assert sleeps == [0.5, 1.0] and provider.turns_used == 3
    events = rig.run_events(session, outcome.run_id)
    raised = of_kind(events, "error.raised")
    assert raised == [
        {"message": "scripted: overloaded; retry 1 in 0.5 s", "source": "provider", "is_error": False},
        {"message": "scripted: rate limited; retry 2 in 1.0 s", "source": "provider", "is_error": False},
    ]
    assert kinds(events)[5:9] == ["phase:provider", "error.raised", "error.raised", "assistant.message"]
    assert session.state.run.errors == 0


async def test_retries_give_up_after_three_attempts(rig: Rig) -> None:
    async def fake_sleep(seconds: float) -> None:
        return None

    down = ScriptedError(message="down", retryable=True, status=503)
    session, provider = await rig.session(
        turn(error=down), turn(error=down), turn(error=down), turn("unused"), retry_sleep=fake_sleep
    )
    outcome = await session.submit("go")
    assert outcome.reason == "error" and provider.turns_used == 3
    assert outcome.error == "scripted: down"


async def test_a_non_retryable_error_ends_the_run(rig: Rig) -> None:
    session, provider = await rig.session(turn(error=ScriptedError(message="bad request", status=400)), turn("unused"))
    outcome = await session.submit("go")
    assert (outcome.reason, outcome.error) == ("error", "scripted: bad request")
    assert provider.turns_used == 1
    events = rig.run_events(session, outcome.run_id)
    assert kinds(events)[-4:] == ["phase:provider", "assistant.message", "error.raised", "run.finished"]
    assert of_kind(events, "error.raised") == [{"message": "scripted: bad request", "source": "provider"}]
    assert of_kind(events, "assistant.message")[0]["stop_reason"] == "error"
    assert of_kind(events, "run.finished")[0]["reason"] == "error"
    assert session.state.run.errors == 1
    # The session is usable afterwards.
    again = await session.submit("try again")
    assert (again.reason, again.final_answer) == ("final_answer", "unused")


async def test_a_script_that_runs_out_is_an_error_not_a_hang(rig: Rig) -> None:
    session, _ = await rig.session(turn("", call("list_dir")))
    outcome = await session.submit("go")
    assert outcome.reason == "error" and "the script has no turn 2" in (outcome.error or "")


# ----------------------------------------------------------------------------------------- regulation
class Exploding(AllowAll):
    def before_model_call(self, state: ConversationState, question: ModelQuestion, now_us: int) -> GateDecision:
        raise RuntimeError("controller unreachable")

    def before_tool_call(self, state: ConversationState, question: ToolQuestion, now_us: int) -> GateDecision:
        raise RuntimeError("controller unreachable")


class Blocking(AllowAll):
    def __init__(self) -> None:
        self.asked = 0

    def before_model_call(self, state: ConversationState, question: ModelQuestion, now_us: int) -> GateDecision:
        self.asked += 1
        warning = EventDraft(kind="autonomic.gate_decided", payload={"gate": "expensive_model", "decision": "block"})
        return GateDecision(allow=False, reason="hibernating: the balance is too low", events=(warning,))


class Narrowing(AllowAll):
    def before_model_call(self, state: ConversationState, question: ModelQuestion, now_us: int) -> GateDecision:
        return GateDecision(model_override="cheap-model", allowed_tools=frozenset({"read_file"}), reason="hustle")

    def before_tool_call(self, state: ConversationState, question: ToolQuestion, now_us: int) -> GateDecision:
        if not question.read_only:
            return GateDecision(allow=False, reason="writes are blocked")
        return GateDecision()


async def test_a_failing_regulator_allows_and_is_recorded(rig: Rig) -> None:
    session, provider = await rig.session(turn("", call("list_dir")), turn("done"), regulator=Exploding())
    outcome = await session.submit("go")
    assert (outcome.reason, outcome.final_answer) == ("final_answer", "done")
    assert provider.turns_used == 2 and session.state.run.tool_calls == 1
    raised = of_kind(rig.run_events(session, outcome.run_id), "error.raised")
    assert len(raised) == 3  # two model gates and one tool gate
    assert all(r["source"] == "regulator" and r["is_error"] is False for r in raised)
    assert raised[0]["message"] == "regulator failed, allowing: controller unreachable"


async def test_a_blocking_regulator_stops_the_run_before_any_model_call(rig: Rig) -> None:
    regulator = Blocking()
    session, provider = await rig.session(turn("unused"), regulator=regulator)
    outcome = await session.submit("go")
    assert (outcome.reason, outcome.error) == ("blocked", "hibernating: the balance is too low")
    assert provider.turns_used == 0 and provider.requests == [] and regulator.asked == 1
    events = rig.run_events(session, outcome.run_id)
    assert kinds(events) == [
        "user.message",
        "run.started",
        "phase:reconstruct",
        "phase:regulate",
        "autonomic.gate_decided",
        "run.finished",
    ]
    assert of_kind(events, "run.finished")[0]["reason"] == "blocked"
    # The regulator's own decision events are recorded, stamped with the run that asked.
    decided = of_kind(rig.events(session), "autonomic.gate_decided")
    assert decided == [{"decision": "block", "gate": "expensive_model"}]


async def test_a_narrowing_regulator_limits_model_and_tools(rig: Rig) -> None:
    session, provider = await rig.session(
        turn("", call("list_dir"), call("write_note", text="x")), turn("ok"), regulator=Narrowing()
    )
    outcome = await session.submit(
        "go",
    )
    assert outcome.reason == "final_answer"
    assert provider.requests[0].model == "cheap-model"
    assert [t.name for t in provider.requests[0].tools] == ["read_file"]
    failed = of_kind(rig.run_events(session, outcome.run_id), "tool.call_failed")
    assert failed[0]["error"] == "list_dir is not available right now: hustle"
    assert failed[1]["tool_name"] == "write_note"
    assert not (rig.workspace / "note.txt").exists()


# -------------------------------------------------------------------------------------- large output
async def test_large_tool_output_goes_to_the_blob_store(rig: Rig) -> None:
    session, provider = await rig.session(turn("", call("big")), turn("that was long"))
    outcome = await session.submit("go")
    assert outcome.reason == "final_answer"
    full = "".join(f"line {i:05d}\n" for i in range(4_000))
    assert len(full) > INLINE_RESULT_LIMIT
    completed = of_kind(rig.run_events(session, outcome.run_id), "tool.call_completed")[0]
    digest = completed["result_blob"]
    assert digest and BlobStore(rig.journal.layout.blobs).get(digest) == full.encode()
    inline = completed["result"]
    assert inline.startswith(full[: INLINE_RESULT_LIMIT // 2]) and inline.endswith(full[-INLINE_RESULT_LIMIT // 2 :])
    assert f"{len(full) - INLINE_RESULT_LIMIT} characters omitted; blob {digest}" in inline
    assert len(inline) < INLINE_RESULT_LIMIT + 200
    # The model sees the bounded version.
    told = next(m for m in provider.requests[1].messages if m.role == "tool")
    assert told.content == inline


# --------------------------------------------------------------------------------------------- modes
async def test_three_failing_tools_in_a_row_switch_to_recover(rig: Rig) -> None:
    session, _ = await rig.session(
        turn("", call("flaky")),
        turn("", call("flaky")),
        turn("", call("flaky")),
        turn("giving up"),
        regulator=AllowAll(),  # the autonomic doom-loop rule would block the third identical call
    )
    outcome = await session.submit("go")
    assert outcome.reason == "final_answer"
    events = rig.run_events(session, outcome.run_id)
    changes = of_kind(events, "mode.changed")
    assert changes == [
        {"previous": "explore", "mode": "recover", "reason": "consecutive errors reached the circuit breaker"}
    ]
    # It happens at the persist phase of the third tick, after the third failure.
    change = next(e for e in events if e.kind == "mode.changed")
    persist = [e for e in events if e.kind == "phase.entered" and e.payload_dict()["phase"] == "persist"]
    assert persist[2].seq < change.seq and persist[2].payload_dict()["tick"] == 3
    assert session.state.vector.error_streak == 3 and session.state.mode is OperatingMode.RECOVER
    # A success breaks the streak: the next run's first tick leaves recover.
    session2_turns = await _continue(session, rig)
    assert session2_turns[0]["previous"] == "recover"


async def _continue(session: Session, rig: Rig) -> list[dict[str, Any]]:
    provider = session.provider
    assert isinstance(provider, ScriptedProvider)
    await session.switch_provider(ScriptedProvider(Script(turns=[turn("", call("list_dir")), turn("fine")])))
    outcome = await session.submit("try something else")
    assert session.state.vector.error_streak == 0
    return of_kind(rig.run_events(session, outcome.run_id), "mode.changed")


async def test_an_interrupted_call_is_answered_for_the_model_in_the_next_run(rig: Rig) -> None:
    """A fork taken between a call and its result: the new branch's next request pairs it with a synthetic
    result, so a provider never sees a dangling tool call."""
    session, provider = await rig.session(turn("", call("list_dir")), turn("done"), turn("after the fork"))
    outcome = await session.submit("go")
    call_seq = next(e.seq for e in rig.run_events(session, outcome.run_id) if e.kind == "assistant.message")
    fork = await session.fork(call_seq, "before-result")
    rig.sessions.append(fork)
    forked = await fork.submit("what happened?")
    assert forked.final_answer == "after the fork"
    messages = provider.requests[-1].messages
    assert [(m.role, m.content if m.role == "tool" else "") for m in messages] == [
        ("user", ""),
        ("assistant", ""),
        ("tool", INTERRUPTED),
        ("user", ""),
    ]
