"""Spans folded from a run's events: the tree, the GenAI attributes, approvals, errors, live runs, determinism.

Runs are real (scripted provider through ``runtime.Session`` on a fake clock), so the spans are checked
against the events the loop actually writes; a few edge cases (a run still in progress, a provider error,
events of another run interleaved) are built from those same events.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import msgspec
from fakes.rig import RuntimeRig, open_rig

from life_tui.kernel.event import Event
from life_tui.observability import Span, run_ids, spans_for_run
from life_tui.runtime.loop import ApprovalAnswer, ApprovalRequest
from life_tui.runtime.providers.base import Usage
from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedError, ScriptedTurn


def by_kind(spans: list[Span], kind: str) -> list[Span]:
    return [s for s in spans if s.kind == kind]


def children(spans: list[Span], parent: Span) -> list[Span]:
    return [s for s in spans if s.parent_id == parent.span_id]


def tool_turn() -> list[ScriptedTurn]:
    return [
        ScriptedTurn(
            text="Looking.",
            tool_calls=[ScriptedCall(name="list_dir", arguments={"path": "."})],
            usage=Usage(input_tokens=100, output_tokens=20),
            cost_usd=0.25,
        ),
        ScriptedTurn(text="Done.", usage=Usage(input_tokens=150, output_tokens=12, cached_tokens=40), cost_usd=0.5),
    ]


async def test_a_tool_run_gives_the_agent_phase_chat_and_tool_tree(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"notes.txt": "hi\n"}) as rig:
        session, _ = await rig.session(*tool_turn(), model="scripted-test")
        outcome = await session.submit("look around")
        events = rig.events(session)
    spans = spans_for_run(events)
    root = spans[0]
    assert root.kind == "invoke_agent" and root.parent_id is None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["life.run_id"] == outcome.run_id
    assert root.attributes["gen_ai.request.model"] == "scripted-test"
    assert root.attributes["life.run.reason"] == "final_answer"
    assert root.attributes["gen_ai.usage.input_tokens"] == 250
    assert root.attributes["gen_ai.usage.output_tokens"] == 32
    assert root.attributes["gen_ai.usage.cache_read.input_tokens"] == 40
    assert root.attributes["life.cost_usd"] == 0.75
    assert root.status == "ok"
    run_events = [e for e in events if e.run_id == outcome.run_id]
    assert root.start_us == run_events[0].occurred_at and root.end_us == run_events[-1].occurred_at

    phases = by_kind(spans, "phase")
    assert [p.attributes["life.phase"] for p in phases] == [
        *("reconstruct", "regulate", "context", "provider", "tools", "persist"),
        *("reconstruct", "regulate", "context", "provider", "persist"),
    ]
    assert all(p.parent_id == root.span_id for p in phases)
    for earlier, later in itertools.pairwise(phases):  # phases tile the run: each ends where the next starts
        assert earlier.end_us == later.start_us

    chats = by_kind(spans, "chat")
    assert len(chats) == 2
    provider_phases = [p for p in phases if p.attributes["life.phase"] == "provider"]
    assert [c.parent_id for c in chats] == [p.span_id for p in provider_phases]
    first = chats[0]
    assert first.name == "chat scripted-test"
    assert first.attributes["gen_ai.usage.input_tokens"] == 100
    assert first.attributes["gen_ai.usage.output_tokens"] == 20
    assert first.attributes["gen_ai.response.finish_reasons"] == ["tool_use"]
    assert first.attributes["life.cost_usd"] == 0.25
    assert first.attributes["life.tool_calls"] == 1
    assert "life.time_to_first_token_ms" in first.attributes
    assert chats[1].attributes["gen_ai.usage.cache_read.input_tokens"] == 40
    assert first.start_us <= first.end_us

    (tool,) = by_kind(spans, "execute_tool")
    tools_phase = next(p for p in phases if p.attributes["life.phase"] == "tools")
    assert tool.parent_id == tools_phase.span_id
    assert tool.name == "execute_tool list_dir"
    assert tool.attributes["gen_ai.tool.name"] == "list_dir"
    completed = next(e for e in events if e.kind == "tool.call_completed")
    assert tool.attributes["gen_ai.tool.call.id"] == completed.payload_dict()["call_id"]
    assert tool.attributes["life.tool.duration_ms"] == completed.payload_dict()["duration_ms"]
    assert tool.status == "ok" and tool.end_us == completed.occurred_at

    ids = [s.span_id for s in spans]
    assert len(set(ids)) == len(ids) and all(len(i) == 16 for i in ids)
    assert {s.trace_id for s in spans} == {root.trace_id}
    seen: set[str] = set()
    for span in spans:  # parents come before their children
        assert span.parent_id is None or span.parent_id in seen
        seen.add(span.span_id)


async def test_approval_waits_nest_under_their_tool_call(tmp_path: Path) -> None:
    answers: list[str] = []

    async def approver(request: ApprovalRequest) -> ApprovalAnswer:
        answers.append(request.tool_name)
        if len(answers) == 1:
            return ApprovalAnswer("granted", scope="once")
        return ApprovalAnswer("denied", reason="not that one")

    writes = [
        ScriptedCall(name="write_file", arguments={"path": "a.txt", "content": "a\n"}),
        ScriptedCall(name="write_file", arguments={"path": "b.txt", "content": "b\n"}),
    ]
    async with open_rig(RuntimeRig, tmp_path, {}) as rig:
        session, _ = await rig.session(
            ScriptedTurn(text="Writing.", tool_calls=writes), ScriptedTurn(text="Half done."), approver=approver
        )
        await session.submit("write two files")
        events = rig.events(session)
    spans = spans_for_run(events)
    tools = by_kind(spans, "execute_tool")
    approvals = by_kind(spans, "approval")
    assert len(tools) == 2 and len(approvals) == 2
    assert [a.parent_id for a in approvals] == [t.span_id for t in tools]
    assert approvals[0].attributes["life.approval.decision"] == "granted"
    assert approvals[0].attributes["life.approval.scope"] == "once"
    assert approvals[1].attributes["life.approval.decision"] == "denied"
    assert approvals[1].attributes["life.approval.reason"] == "not that one"
    assert tools[0].status == "ok"
    assert tools[1].status == "error" and tools[1].attributes["error.type"] == "tool_failed"
    assert "denied" in str(tools[1].attributes["life.error"])
    for approval, tool in zip(approvals, tools, strict=True):
        assert tool.start_us <= approval.start_us <= approval.end_us <= tool.end_us


async def test_a_provider_error_marks_the_chat_and_the_run(tmp_path: Path) -> None:
    failing = ScriptedTurn(error=ScriptedError(message="upstream exploded", retryable=False))
    async with open_rig(RuntimeRig, tmp_path, {}) as rig:
        session, _ = await rig.session(failing)
        outcome = await session.submit("hello")
        events = rig.events(session)
    assert outcome.reason == "error"
    spans = spans_for_run(events)
    (chat,) = by_kind(spans, "chat")
    assert chat.status == "error"
    assert chat.attributes["error.type"] == "provider_error"
    assert "upstream exploded" in str(chat.attributes["life.error"])
    assert spans[0].status == "error" and spans[0].attributes["life.run.reason"] == "error"


async def test_runs_are_chosen_by_id_and_the_default_is_the_last(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {}) as rig:
        session, _ = await rig.session(ScriptedTurn(text="one"), ScriptedTurn(text="two"))
        first = await session.submit("first")
        second = await session.submit("second")
        events = rig.events(session)
    assert run_ids(events) == [first.run_id, second.run_id]
    assert spans_for_run(events)[0].attributes["life.run_id"] == second.run_id
    assert spans_for_run(events, first.run_id)[0].attributes["life.run_id"] == first.run_id
    assert spans_for_run(events, "no-such-run") == []
    assert spans_for_run([]) == []
    # The same events give the same spans (ids included): a replayed session has the live session's trace.
    assert spans_for_run(events, first.run_id) == spans_for_run(list(events), first.run_id)
    assert spans_for_run(events, first.run_id)[0].span_id != spans_for_run(events)[0].span_id


async def test_a_run_in_progress_ends_at_its_last_event_and_says_so(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"n.txt": "x\n"}) as rig:
        session, _ = await rig.session(*tool_turn())
        await session.submit("look")
        events = rig.events(session)
    requested = next(i for i, e in enumerate(events) if e.kind == "tool.call_requested")
    cut = events[: requested + 1]  # the journal as a live reader sees it while the tool runs
    spans = spans_for_run(cut)
    root = spans[0]
    assert root.attributes.get("life.in_progress") is True
    assert "life.run.reason" not in root.attributes
    (tool,) = by_kind(spans, "execute_tool")
    assert tool.attributes.get("life.in_progress") is True
    assert tool.end_us == cut[-1].occurred_at and tool.status == "unset"
    assert all(s.end_us >= s.start_us for s in spans)


def test_spans_encode_as_json_for_front_ends() -> None:
    span = Span(
        name="chat m",
        kind="chat",
        span_id="a" * 16,
        parent_id=None,
        trace_id="b" * 32,
        start_us=10,
        end_us=2010,
        attributes={"gen_ai.usage.input_tokens": 3, "gen_ai.response.finish_reasons": ["stop"]},
        status="ok",
    )
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(span))
    assert decoded["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert span.duration_ms == 2.0


def test_unknown_kinds_and_other_runs_are_ignored() -> None:
    def event(seq: int, kind: str, payload: dict[str, Any], run_id: str) -> Event:
        return Event(
            event_id=f"e{seq}",
            session_id="s",
            branch="main",
            seq=seq,
            kind=kind,
            occurred_at=seq * 1000,
            run_id=run_id,
            payload=msgspec.Raw(msgspec.json.encode(payload)),
        )

    events = [
        event(1, "run.started", {"provider": "p", "model": "m"}, "r1"),
        event(2, "phase.entered", {"phase": "provider", "tick": 1}, "r1"),
        event(3, "vigil.something_new", {"x": 1}, "r1"),
        event(4, "run.started", {"provider": "p", "model": "m"}, "r2"),
        event(5, "assistant.message", {"content": "hi", "usage": {"input_tokens": 7}}, "r1"),
        event(6, "run.finished", {"reason": "final_answer", "turns": 1}, "r1"),
    ]
    spans = spans_for_run(events, "r1")
    assert [s.kind for s in spans] == ["invoke_agent", "phase", "chat"]
    assert spans[2].attributes["gen_ai.usage.input_tokens"] == 7
    assert spans[2].end_us == 5000 and spans[0].end_us == 6000
    assert spans_for_run(events)[0].attributes["life.run_id"] == "r2"  # the last run started, though unfinished
