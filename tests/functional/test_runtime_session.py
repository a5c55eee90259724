"""``runtime.Session`` end to end with scripted models and a real journal: approvals (granted, for the
session, denied, expired, headless, plan and auto modes), cancellation mid-stream, compaction and its
expansion, reopening, durable-only streaming to subscribers, provider switches and forks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fakes.rig import RuntimeRig, open_rig

from life_tui.errors import Conflict, InvalidInput, NotFound
from life_tui.journal import Journal, JournalOptions, JournalReader
from life_tui.journal.snapshots import fold
from life_tui.kernel.event import Event
from life_tui.kernel.state import OperatingMode
from life_tui.runtime.approvals import ApprovalMode, arguments_hash
from life_tui.runtime.config import ApprovalSettings, ContextSettings, Settings
from life_tui.runtime.context import ContextBudgets, ContextInputs, compile_context, estimate_tokens
from life_tui.runtime.loop import RunLimits
from life_tui.runtime.projection import ConversationProjection, ConversationState
from life_tui.runtime.providers.base import ToolDefinition
from life_tui.runtime.providers.scripted import Script, ScriptedCall, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session
from life_tui.tools.basic import default_registry
from life_tui.tools.registry import ToolAnnotations, ToolContext, ToolOutput, ToolRegistry, ToolSpec


# ---------------------------------------------------------------------------------------------- rig
def call(name: str, **arguments: Any) -> ScriptedCall:
    return ScriptedCall(name=name, arguments=arguments)


def turn(text: str = "", *calls: ScriptedCall, **kw: Any) -> ScriptedTurn:
    return ScriptedTurn(text=text, tool_calls=list(calls), **kw)


@dataclass
class Rig(RuntimeRig):
    written: list[str] = field(default_factory=list)

    def tools(self) -> ToolRegistry:
        registry = default_registry()

        async def write_note(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
            self.written.append(str(args.get("text", "")))
            (ctx.workspace / "note.txt").write_text(str(args.get("text", "")))
            return ToolOutput("written")

        registry.register(
            ToolSpec(
                name="write_note",
                description="Write note.txt in the workspace.",
                input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
                run=write_note,
                annotations=ToolAnnotations(read_only=False),
                capabilities=lambda a: ["fs:write:note.txt"],
            )
        )
        return registry


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(Rig, tmp_path, {"README.md": "# demo\n"}) as opened:
        yield opened


def of_kind(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [e.payload_dict() for e in events if e.kind == kind]


def tool_and_approval_kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if e.kind.startswith(("tool.", "approval.", "mode."))]


async def pending_approval(session: Session, *, answered: tuple[str, ...] = (), timeout: float = 5.0) -> str:
    """The next approval the session waits on, other than those ``answered`` already."""
    async with asyncio.timeout(timeout):
        while not (waiting := [a for a in session.pending_approvals() if a not in answered]):
            await asyncio.sleep(0.002)
    return waiting[0]


ASK_LIST_DIR = Settings(approvals=ApprovalSettings(rules={"list_dir": "ask"}))


# ------------------------------------------------------------------------------------------ approvals
async def test_an_approval_granted_once(rig: Rig) -> None:
    session, provider = await rig.session(
        turn("", call("list_dir", path=".")), turn("", call("list_dir", path=".")), turn("done"), settings=ASK_LIST_DIR
    )
    task = session.start("list twice")
    approval_id = await pending_approval(session)
    assert approval_id == "apr_call_1_1"
    # The request is on record, bound to the exact call, before anyone answers; the agent waits on a human.
    requested = of_kind(rig.events(session), "approval.requested")
    assert requested == [
        {
            "approval_id": approval_id,
            "call_id": "call_1_1",
            "tool_name": "list_dir",
            "arguments": {"path": "."},
            "arguments_hash": arguments_hash("list_dir", {"path": "."}),
            "expires_at": requested[0]["expires_at"],
        }
    ]
    assert session.state.pending[approval_id].arguments_hash == arguments_hash("list_dir", {"path": "."})
    assert session.state.mode is OperatingMode.ASK_HUMAN
    session.approve(approval_id)
    second = await pending_approval(session, answered=(approval_id,))  # once means once: asked again
    assert second == "apr_call_2_1"
    session.approve(second)
    outcome = await task
    assert (outcome.reason, outcome.denials, provider.turns_used) == ("final_answer", 0, 3)
    events = rig.run_events(session, outcome.run_id)
    first_call = [
        e.kind
        for e in events
        if e.payload_dict().get("call_id") == "call_1_1" or e.payload_dict().get("approval_id") == approval_id
    ]
    assert first_call == [
        "tool.call_requested",
        "approval.requested",
        "approval.granted",
        "tool.call_started",
        "tool.call_completed",
    ]
    granted = of_kind(events, "approval.granted")
    assert granted == [{"approval_id": "apr_call_1_1"}, {"approval_id": "apr_call_2_1"}]  # scope once, by user
    assert next(e for e in events if e.kind == "approval.granted").actor == "user"
    assert session.state.pending == {} and session.state.session_grants == []
    with pytest.raises(NotFound):
        session.approve(approval_id)  # answered already


async def test_an_approval_granted_for_the_session(rig: Rig) -> None:
    session, provider = await rig.session(
        turn("", call("list_dir", path=".")), turn("", call("list_dir")), turn("done"), settings=ASK_LIST_DIR
    )
    task = session.start("list twice")
    approval_id = await pending_approval(session)
    with pytest.raises(InvalidInput):
        session.approve(approval_id, scope="forever")
    session.approve(approval_id, scope="session")
    outcome = await task
    assert outcome.reason == "final_answer" and provider.turns_used == 3
    events = rig.run_events(session, outcome.run_id)
    assert of_kind(events, "approval.granted") == [{"approval_id": approval_id, "scope": "session"}]
    assert len(of_kind(events, "approval.requested")) == 1  # the second call needed no approval
    assert [c["call_id"] for c in of_kind(events, "tool.call_completed")] == ["call_1_1", "call_2_1"]
    assert session.state.session_grants == ["list_dir"]


async def test_an_approval_denied(rig: Rig) -> None:
    session, provider = await rig.session(turn("", call("list_dir")), turn("ok, I will not"), settings=ASK_LIST_DIR)
    task = session.start("list")
    approval_id = await pending_approval(session)
    session.deny(approval_id, "not in this folder")
    outcome = await task
    assert (outcome.reason, outcome.denials, outcome.final_answer) == ("final_answer", 1, "ok, I will not")
    events = rig.run_events(session, outcome.run_id)
    assert tool_and_approval_kinds(events) == [
        "tool.call_requested",
        "approval.requested",
        "mode.changed",
        "approval.denied",
        "mode.changed",
        "tool.call_failed",
    ]
    assert of_kind(events, "approval.denied") == [{"approval_id": approval_id, "reason": "not in this folder"}]
    error = "the user denied this call: not in this folder"
    assert of_kind(events, "tool.call_failed")[0]["error"] == error
    # The model is told, paired with its call.
    told = [m for m in provider.requests[1].messages if m.role == "tool"]
    assert [(m.tool_call_id, m.content, m.is_error) for m in told] == [("call_1_1", error, True)]


async def test_an_approval_that_nobody_answers_expires(rig: Rig) -> None:
    settings = Settings(approvals=ApprovalSettings(rules={"list_dir": "ask"}, expiry_s=0.05))
    session, _ = await rig.session(turn("", call("list_dir")), turn("nobody answered"), settings=settings)
    now = rig.clock.now_us()
    outcome = await session.submit("list")
    assert outcome.reason == "final_answer" and outcome.denials == 1
    events = rig.run_events(session, outcome.run_id)
    requested = of_kind(events, "approval.requested")[0]
    assert now < requested["expires_at"] <= rig.clock.now_us() + 50_000
    assert of_kind(events, "approval.expired") == [{"approval_id": requested["approval_id"]}]
    assert of_kind(events, "tool.call_failed")[0]["error"] == "nobody approved this call in time (the approval expired)"
    assert session.pending_approvals() == [] and session.state.pending == {}
    with pytest.raises(NotFound):
        session.approve(requested["approval_id"])


async def test_headless_sessions_deny_what_would_ask_at_once(rig: Rig) -> None:
    session, _ = await rig.session(turn("", call("list_dir")), turn("denied"), settings=ASK_LIST_DIR, interactive=False)
    outcome = await session.submit("list")
    assert outcome.denials == 1
    denied = of_kind(rig.run_events(session, outcome.run_id), "approval.denied")
    assert denied == [
        {
            "approval_id": "apr_call_1_1",
            "reason": "approval needed but nobody can answer in headless mode (pass --yes to allow)",
            "by": "policy",
        }
    ]


async def test_default_mode_asks_before_a_write_and_auto_mode_does_not(rig: Rig) -> None:
    session, _ = await rig.session(turn("", call("write_note", text="a")), turn("done"))
    task = session.start("write")
    approval_id = await pending_approval(session)
    assert session.state.pending[approval_id].tool_name == "write_note"
    session.approve(approval_id)
    await task
    assert rig.written == ["a"]

    auto, _ = await rig.session(turn("", call("write_note", text="b")), turn("done"), approval_mode=ApprovalMode.AUTO)
    outcome = await auto.submit("write")
    assert rig.written == ["a", "b"]
    assert of_kind(rig.run_events(auto, outcome.run_id), "approval.requested") == []


async def test_plan_mode_refuses_writes_without_asking(rig: Rig) -> None:
    session, provider = await rig.session(
        turn("", call("write_note", text="x"), call("read_file", path="README.md")),
        turn("I can only plan."),
        approval_mode=ApprovalMode.PLAN,
    )
    outcome = await session.submit("change things")
    assert outcome.reason == "final_answer" and outcome.denials == 1
    events = rig.run_events(session, outcome.run_id)
    assert [e.kind for e in events if e.kind.startswith(("tool.", "approval."))] == [
        "tool.call_requested",
        "tool.call_failed",
        "tool.call_requested",
        "tool.call_started",
        "tool.call_completed",
    ]
    assert of_kind(events, "tool.call_failed")[0]["error"] == "not allowed: plan mode allows only read-only tools"
    assert rig.written == [] and not (rig.workspace / "note.txt").exists()
    assert provider.turns_used == 2


async def test_deny_rules_win_even_in_auto_mode(rig: Rig) -> None:
    settings = Settings(approvals=ApprovalSettings(mode="auto", rules={"fs:write:note.txt": "deny"}))
    session, _ = await rig.session(turn("", call("write_note", text="x")), turn("refused"), settings=settings)
    outcome = await session.submit("write")
    failed = of_kind(rig.run_events(session, outcome.run_id), "tool.call_failed")
    assert failed[0]["error"] == "not allowed: denied by rule 'fs:write:note.txt'"
    assert rig.written == []


async def test_the_mode_is_ask_human_exactly_while_an_approval_waits(rig: Rig) -> None:
    session, _ = await rig.session(turn("", call("list_dir")), turn("done"), settings=ASK_LIST_DIR)
    task = session.start("list")
    approval_id = await pending_approval(session)
    assert session.state.mode is OperatingMode.ASK_HUMAN
    session.approve(approval_id)
    outcome = await task
    changes = of_kind(rig.run_events(session, outcome.run_id), "mode.changed")
    assert changes[:2] == [
        {"previous": "explore", "mode": "ask_human", "reason": "approvals are pending"},
        {"previous": "ask_human", "mode": "explore", "reason": "the approval was answered"},
    ]
    assert session.state.mode is not OperatingMode.ASK_HUMAN


# --------------------------------------------------------------------------------------- cancellation
async def test_cancellation_mid_stream(rig: Rig) -> None:
    long_text = "".join(f"word{i} " for i in range(200))
    session, provider = await rig.session(turn(long_text, chunk_chars=6, delay_ms=5), turn("back again"))
    head = rig.journal.head(session.session_id)
    deltas = session.subscribe(after=head, kinds=["assistant.text_delta"])
    task = session.start("write a long answer")
    seen = 0
    async with asyncio.timeout(5):
        async for _ in deltas:
            seen += 1
            if seen == 3:
                break
    deltas.close()
    with pytest.raises(Conflict):
        session.start("another one")
    outcome = await session.cancel()
    assert outcome is not None and outcome.reason == "cancelled"
    assert task.cancelled() and not session.running
    assert await session.cancel() is None  # nothing left to cancel

    events = rig.events(session, after=head)
    run_id = outcome.run_id
    assert all(e.run_id == run_id for e in events)
    assert [e.kind for e in events if e.kind != "assistant.text_delta"][-2:] == ["assistant.message", "run.finished"]
    streamed = "".join(d["delta"] for d in of_kind(events, "assistant.text_delta"))
    partial = of_kind(events, "assistant.message")[0]
    assert partial == {"content": streamed, "model": "scripted", "stop_reason": "cancelled"}
    assert len(streamed) >= 18 and long_text.startswith(streamed) and streamed != long_text
    assert of_kind(events, "run.finished")[0]["reason"] == "cancelled"
    assert sum(e.kind == "run.finished" for e in events) == 1
    # The journal stays consistent: a dense chain, nothing written after the run finished.
    await asyncio.sleep(0.05)
    assert rig.journal.head(session.session_id) == events[-1].seq
    assert [e.seq for e in events] == list(range(head + 1, events[-1].seq + 1))
    assert not session.state.run.active and session.state.messages[-1].content == streamed

    again = await session.submit("go on")
    assert (again.reason, again.final_answer) == ("final_answer", "back again")
    assert [(m.role, m.content) for m in provider.requests[-1].messages] == [
        ("user", "write a long answer"),
        ("assistant", streamed),
        ("user", "go on"),
    ]


async def test_cancelling_while_an_approval_waits_resolves_it(rig: Rig) -> None:
    session, provider = await rig.session(turn("", call("list_dir")), turn("fresh start"), settings=ASK_LIST_DIR)
    session.start("list")
    approval_id = await pending_approval(session)
    outcome = await session.cancel()
    assert outcome is not None and outcome.reason == "cancelled"
    events = rig.events(session)
    assert of_kind(events, "approval.denied") == [
        {"approval_id": approval_id, "reason": "the run was cancelled", "by": "system"}
    ]
    assert [e.kind for e in events][-1] == "run.finished"
    assert session.state.pending == {} and session.pending_approvals() == []
    assert session.state.mode is not OperatingMode.ASK_HUMAN
    with pytest.raises(NotFound):
        session.approve(approval_id)
    # The call that never ran is answered for the model in the next run.
    again = await session.submit("never mind")
    assert again.final_answer == "fresh start"
    tool_messages = [m for m in provider.requests[-1].messages if m.role == "tool"]
    assert [(m.tool_call_id, m.is_error) for m in tool_messages] == [("call_1_1", True)]


@pytest.mark.parametrize("yields", [0, 1, 2, 3, 5, 8])
async def test_a_cancel_right_after_an_approval_is_never_lost(rig: Rig, yields: int) -> None:
    """The answer and the cancel race: whichever wins, the cancel ends the run promptly and exactly once."""
    session, provider = await rig.session(
        turn("", call("list_dir")), turn("", call("list_dir")), turn("unused"), settings=ASK_LIST_DIR
    )
    task = session.start("list")
    session.approve(await pending_approval(session))
    for _ in range(yields):
        await asyncio.sleep(0)
    async with asyncio.timeout(5):
        outcome = await session.cancel()
    assert outcome is not None and outcome.reason == "cancelled" and task.done()
    events = rig.events(session)
    assert [e.kind for e in events][-1] == "run.finished"
    assert of_kind(events, "run.finished") == [{**of_kind(events, "run.finished")[0], "reason": "cancelled"}]
    assert session.state.pending == {} and provider.turns_used <= 2


async def test_cancel_does_not_swallow_the_callers_own_cancellation(rig: Rig) -> None:
    session, _ = await rig.session(turn("", call("list_dir")), turn("unused"), settings=ASK_LIST_DIR)
    session.start("list")
    await pending_approval(session)

    async def impatient() -> None:
        await session.cancel()

    canceller = asyncio.create_task(impatient())
    await asyncio.sleep(0)
    canceller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await canceller
    async with asyncio.timeout(5):
        await session.cancel()  # the run itself still ends cleanly
    assert not session.running


async def test_prompts_must_not_be_empty(rig: Rig) -> None:
    session, _ = await rig.session(turn("x"))
    with pytest.raises(InvalidInput):
        await session.submit("   ")


# ---------------------------------------------------------------------------------------- compaction
def _tokens(text: str) -> int:
    return estimate_tokens(text) + 4  # what one message costs in the compiler's accounting


async def test_a_compaction_and_its_expansion(rig: Rig) -> None:
    u1 = "alpha " + "x" * 2_400
    a1 = "first answer " + "y" * 600
    u2 = "beta " + "z" * 400
    a2 = "second answer"
    u3 = "gamma"
    a3 = "third answer"
    history_at_run3 = sum(map(_tokens, (u1, a1, u2, a2, u3)))
    history_budget = int(history_at_run3 / 0.95)  # run 2 overflows the compaction threshold; run 3 fits the window
    assert sum(map(_tokens, (u1, a1, u2))) > history_budget * ContextBudgets().compact_at
    tools = tuple(
        ToolDefinition(name=s.name, description=s.description, input_schema=s.input_schema) for s in rig.tools().specs()
    )
    fixed = compile_context(ConversationState(), ContextInputs(tools=tools), ContextBudgets()).tokens
    window = ContextBudgets().reserve_output + fixed + history_budget
    settings = Settings(context=ContextSettings(window=window))
    session, provider = await rig.session(turn(a1), turn(a2), turn(a3), settings=settings)

    first = await session.submit(u1)
    assert of_kind(rig.run_events(session, first.run_id), "context.compacted") == []
    second = await session.submit(u2)
    events = rig.run_events(session, second.run_id)
    compacted = [e for e in events if e.kind == "context.compacted"]
    assert len(compacted) == 1
    data = compacted[0].payload_dict()
    u1_seq = next(e.seq for e in rig.run_events(session, first.run_id) if e.kind == "user.message")
    a1_seq = next(e.seq for e in rig.run_events(session, first.run_id) if e.kind == "assistant.message")
    assert (data["from_seq"], data["to_seq"]) == (u1_seq, a1_seq)
    assert data["summary"] == f"- user: {u1[:200]}\n- assistant: {a1[:200]}"
    assert data["tokens_before"] == fixed + sum(map(_tokens, (u1, a1, u2)))
    # It happens in the context phase, before the provider is called.
    order = [e.kind if e.kind != "phase.entered" else e.payload_dict()["phase"] for e in events]
    assert order.index("context") < order.index("context.compacted") < order.index("provider")
    # The request lacks the compacted messages and carries the summary instead.
    request = provider.requests[1]
    assert [m.content for m in request.messages] == [u2]
    summary_block = next(b for b in request.system if b.name == "summaries")
    assert f"Earlier conversation (events #{u1_seq}-#{a1_seq}), summarised:" in summary_block.text
    assert "- user: alpha" in summary_block.text
    assert [(c.seq, c.expanded) for c in session.state.compactions] == [(compacted[0].seq, False)]

    with pytest.raises(NotFound):
        await session.expand(compacted[0].seq + 1)
    await session.expand(compacted[0].seq)
    expanded = rig.events(session)[-1]
    assert (expanded.kind, expanded.actor, expanded.payload_dict()) == (
        "context.expanded",
        "user",
        {"compaction_seq": compacted[0].seq},
    )
    assert [(c.seq, c.expanded) for c in session.state.compactions] == [(compacted[0].seq, True)]
    with pytest.raises(NotFound):
        await session.expand(compacted[0].seq)  # already expanded

    third = await session.submit(u3)
    assert third.final_answer == a3
    request = provider.requests[2]
    contents = [m.content for m in request.messages]
    assert contents[:2] == [u1, a1]  # back in context
    assert contents[-1] == u3
    assert all(b.name != "summaries" or f"#{u1_seq}-" not in b.text for b in request.system)
    # The history still needed room: only what came after the expanded range was compacted.
    later = of_kind(rig.run_events(session, third.run_id), "context.compacted")
    assert all(c["from_seq"] > a1_seq for c in later)


# ---------------------------------------------------------------------------------------- persistence
async def test_reopening_a_session_folds_the_same_state(rig: Rig, tmp_path: Path) -> None:
    session, _ = await rig.session(
        turn("", call("list_dir"), call("read_file", path="README.md")),
        turn("", call("write_note", text="hi")),
        turn("done"),
        turn("second run"),
        settings=ASK_LIST_DIR,
    )
    task = session.start("work")
    first = await pending_approval(session)
    session.approve(first, scope="session")
    session.approve(await pending_approval(session, answered=(first,)))  # write_note asks in default mode
    await task
    await session.submit("and again")
    live = session.state
    assert live.session_grants == ["list_dir"] and live.runs == 2 and live.tool_calls == 3
    sid = session.session_id
    await session.close()
    rig.sessions.remove(session)
    rig.journal.close()

    rig.journal = Journal.open(rig.root, options=JournalOptions(background=False), clock=rig.clock)
    reopened = await Session.open(rig.journal, sid, provider=ScriptedProvider(Script(turns=[turn("more")])))
    rig.sessions.append(reopened)
    assert rig.events(reopened)[-1].kind == "session.resumed"
    assert reopened.workspace == rig.workspace.resolve()
    assert msgspec.structs.replace(reopened.state, seq=live.seq) == live
    assert reopened.state == fold(rig.journal, ConversationProjection(), sid).state
    # From a snapshot too.
    snap = fold(rig.journal, ConversationProjection(), sid, save_after=1)
    assert snap.from_snapshot is None
    via_snapshot = fold(rig.journal, ConversationProjection(), sid)
    assert via_snapshot.from_snapshot == snap.seq and via_snapshot.state == reopened.state
    # And it carries on where it was: the session grant holds without a new approval.
    outcome = await reopened.submit("continue")
    assert outcome.final_answer == "more" and reopened.state.runs == 3


async def test_subscribers_see_only_durable_events_in_order(rig: Rig) -> None:
    session, _ = await rig.session(turn("Looking " * 5, call("list_dir")), turn("done " * 5))
    reader = JournalReader.open(rig.root)
    head = rig.journal.head(session.session_id)
    sub = session.subscribe(after=head)
    received: list[Event] = []
    not_yet_durable: list[int] = []

    async def consume() -> None:
        async for e in sub:
            reader.refresh()  # what another process can read from disk right now
            if reader.head(session.session_id) < e.seq:
                not_yet_durable.append(e.seq)
            received.append(e)
            if e.kind == "run.finished":
                return

    consumer = asyncio.create_task(consume())
    outcome = await session.submit("go")
    async with asyncio.timeout(5):
        await consumer
    sub.close()
    assert not_yet_durable == []
    stored = rig.events(session, after=head)
    assert [e.event_id for e in received] == [e.event_id for e in stored]
    assert [e.seq for e in received] == list(range(head + 1, head + 1 + len(received)))
    assert received[-1].run_id == outcome.run_id
    # A late subscriber gets the history first, then live events, with no gap and no duplicate.
    late = session.subscribe(after=0)
    history = late.drain()
    assert [e.seq for e in history] == list(range(1, stored[-1].seq + 1))
    await session.switch_provider(ScriptedProvider(Script(model="next")))
    live = late.get(timeout=1)
    assert live is not None and live.kind == "provider.switched" and live.seq == stored[-1].seq + 1
    late.close()


async def test_switching_provider_mid_session(rig: Rig, tmp_path: Path) -> None:
    session, first = await rig.session(turn("from alpha"), model="alpha-model")
    one = await session.submit("hello")
    second = ScriptedProvider(Script(model="beta-model", turns=[turn("from beta")]))
    await session.switch_provider(second)
    switched = rig.events(session)[-1]
    assert (switched.kind, switched.actor) == ("provider.switched", "user")
    assert switched.payload_dict() == {
        "provider": "scripted",
        "model": "beta-model",
        "previous": "scripted:alpha-model",
    }
    assert (session.state.provider, session.state.model) == ("scripted", "beta-model")
    assert session.provider is second
    two = await session.submit("who are you?")
    assert two.final_answer == "from beta" and first.turns_used == 1 and second.turns_used == 1
    assert of_kind(rig.run_events(session, two.run_id), "run.started")[0]["model"] == "beta-model"
    assert [m.content for m in second.requests[0].messages] == ["hello", one.final_answer, "who are you?"]
    # By spec string too: a script file.
    path = tmp_path / "runtime_switch.yaml"
    path.write_text("model: gamma-model\nturns:\n  - text: from gamma\n", encoding="utf-8")
    await session.switch_to(f"scripted:{path}")
    assert of_kind(rig.events(session), "provider.switched")[-1]["previous"] == "scripted:beta-model"
    three = await session.submit("and now?")
    assert three.final_answer == "from gamma" and session.state.model == "gamma-model"
    with pytest.raises(InvalidInput):
        await session.switch_to("gemini:pro")


async def test_a_fork_continues_on_its_branch_with_the_inherited_history(rig: Rig) -> None:
    session, provider = await rig.session(turn("main answer"), turn("fork answer"), turn("main again"))
    one = await session.submit("first question")
    fork_at = rig.journal.head(session.session_id)
    fork = await session.fork(fork_at, "what-if")
    rig.sessions.append(fork)
    assert fork.branch == "what-if" and fork.session_id == session.session_id
    assert [m.content for m in fork.state.messages] == ["first question", "main answer"]

    alt = await fork.submit("a different question")
    assert alt.final_answer == "fork answer"
    assert [m.content for m in provider.requests[1].messages] == [
        "first question",
        "main answer",
        "a different question",
    ]
    branch_events = rig.journal.read(session.session_id, "what-if", after=fork_at)
    assert branch_events[0].kind == "branch.created"
    assert branch_events[0].payload_dict()["fork_seq"] == fork_at
    assert {e.branch for e in branch_events} == {"what-if"}
    assert rig.journal.head(session.session_id) == fork_at  # main untouched

    back = await session.submit("second question")
    assert back.final_answer == "main again"
    assert [m.content for m in provider.requests[2].messages] == ["first question", one.final_answer, "second question"]
    assert [m.content for m in session.state.messages][-1] == "main again"
    assert "a different question" not in [m.content for m in session.state.messages]
    assert [m.content for m in fork.state.messages][-1] == "fork answer"


async def test_limits_passed_to_a_run_override_the_settings(rig: Rig) -> None:
    session, provider = await rig.session(turn("", call("list_dir")), turn("unused"))
    outcome = await session.submit("go", limits=RunLimits(max_turns=1))
    assert outcome.reason == "max_turns" and provider.turns_used == 1


async def test_compact_now_summarises_all_but_the_latest_turn_and_expands_back(rig: Rig) -> None:
    session, _ = await rig.session(turn("first answer"), turn("second answer"), turn("third answer"))
    assert await session.compact() is None  # nothing yet
    for prompt in ("one", "two", "three"):
        await session.submit(prompt)
    compacted = await session.compact()
    assert compacted is not None and "first answer" in compacted.summary
    users = [m.seq for m in session.state.messages if m.role == "user"]
    assert compacted.from_seq == users[0] and users[-2] < compacted.to_seq < users[-1]  # the latest turn stays
    seq = next(c.seq for c in session.state.compactions)
    await session.expand(seq)
    assert all(c.expanded for c in session.state.compactions)


async def test_a_run_cancelled_again_while_it_closes_still_records_its_end(rig: Rig) -> None:
    session, _ = await rig.session(turn("a slow answer " * 20, chunk_chars=4, delay_ms=5))
    task = session.start("take your time")
    while not any(e.kind == "assistant.text_delta" for e in rig.events(session)):
        await asyncio.sleep(0.005)
    for _ in range(5):  # what an anyio scope does: the cancellation is delivered again at every await
        task.cancel()
        await asyncio.sleep(0)
    with pytest.raises(asyncio.CancelledError):
        await task
    await session.close()
    finished = of_kind(rig.events(session), "run.finished")
    assert [f["reason"] for f in finished] == ["cancelled"]
