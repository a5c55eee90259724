"""The conversation fold: messages, usage and cost, run counters, approvals and session grants, compaction
and expansion, mode and provider, the state vector; purity and the snapshot encoding round trip."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from life_tui.kernel.event import Event, encode_payload
from life_tui.kernel.state import BudgetState, OperatingMode
from life_tui.runtime.projection import (
    Compaction,
    ConversationProjection,
    ConversationState,
    MessageRecord,
    PendingApproval,
    ToolCallRecord,
)


def event(seq: int, kind: str, run_id: str | None = "run1", **payload: Any) -> Event:
    return Event(
        event_id=f"e{seq}",
        session_id="s",
        branch="main",
        seq=seq,
        kind=kind,
        occurred_at=5_000_000 + seq,
        run_id=run_id,
        payload=encode_payload(payload),
    )


def fold(events: list[Event], state: ConversationState | None = None) -> ConversationState:
    projection = ConversationProjection()
    state = state if state is not None else projection.initial()
    for e in events:
        state = projection.apply(state, e)
    return state


def a_session() -> list[Event]:
    """Two runs: tools, a failure, an approval granted for the session, a compaction and its expansion."""
    specs: list[tuple[str, dict[str, Any]]] = [
        ("session.created", {"name": "t"}),
        ("user.message", {"content": "list files", "pinned": True}),
        ("run.started", {"provider": "anthropic", "model": "claude-sonnet-4-5", "max_turns": 5}),
        ("phase.entered", {"phase": "provider", "tick": 1}),
        ("assistant.text_delta", {"delta": "look"}),
        (
            "assistant.message",
            {
                "content": "looking",
                "model": "claude-sonnet-4-5",
                "reasoning": "think",
                "tool_calls": [
                    {"id": "c1", "name": "list_dir", "arguments": {"path": "."}},
                    {"id": "c2", "name": "bash"},
                ],
                "usage": {"input_tokens": 100, "output_tokens": 20, "cached_tokens": 30},
                "cost_usd": 0.25,
            },
        ),
        ("tool.call_requested", {"call_id": "c1", "tool_name": "list_dir"}),
        ("tool.call_completed", {"call_id": "c1", "tool_name": "list_dir", "result": "a.txt"}),
        (
            "approval.requested",
            {"approval_id": "apr_c2", "call_id": "c2", "tool_name": "bash", "arguments_hash": "h", "expires_at": 9},
        ),
        ("approval.granted", {"approval_id": "apr_c2", "scope": "session"}),
        ("tool.call_completed", {"call_id": "c2", "tool_name": "bash", "result": "boom", "is_error": True}),
        (
            "budget.updated",
            {
                "budget": {
                    "tokens_remaining": 10,
                    "time_remaining_ms": 5,
                    "cost_remaining_usd": 1.5,
                    "tool_calls_remaining": 3,
                    "error_budget_remaining": 2,
                },
                "reason": "tick",
            },
        ),
        ("mode.changed", {"previous": "explore", "mode": "execute"}),
        ("assistant.message", {"content": "done", "usage": {"input_tokens": 10, "output_tokens": 5}, "cost_usd": 0.05}),
        ("run.finished", {"reason": "final_answer", "final_answer": "done"}),
        ("user.message", {"content": "more"}),
        ("run.started", {"provider": "openai", "model": "gpt-4.1"}),
        ("tool.call_failed", {"call_id": "c9", "tool_name": "nope", "error": "there is no tool named 'nope'"}),
        ("assistant.message", {"content": "", "stop_reason": "error"}),
        ("approval.requested", {"approval_id": "apr_c3", "call_id": "c3", "tool_name": "write_file"}),
        ("approval.denied", {"approval_id": "apr_c3", "reason": "no"}),
        ("approval.requested", {"approval_id": "apr_c4", "call_id": "c4", "tool_name": "write_file"}),
        ("context.compacted", {"from_seq": 2, "to_seq": 15, "summary": "- user: list files"}),
        ("context.expanded", {"compaction_seq": 23}),
        ("context.compacted", {"from_seq": 16, "to_seq": 16, "summary": "- user: more"}),
        ("provider.switched", {"provider": "ollama", "model": "llama3.2", "previous": "openai:gpt-4.1"}),
        ("custom.unknown_kind", {"anything": [1, 2]}),
    ]
    return [event(i, kind, **payload) for i, (kind, payload) in enumerate(specs, 1)]


def test_the_fold_of_a_session() -> None:
    events = a_session()
    state = fold(events)
    assert state.seq == len(events)  # every event advances seq, unknown kinds included
    assert [(m.seq, m.role, m.content) for m in state.messages] == [
        (2, "user", "list files"),
        (6, "assistant", "looking"),
        (8, "tool", "a.txt"),
        (11, "tool", "boom"),
        (14, "assistant", "done"),
        (16, "user", "more"),
        (18, "tool", "there is no tool named 'nope'"),
        (19, "assistant", ""),
    ]
    first = state.messages[1]
    assert first.reasoning == "think"
    assert first.tool_calls == [
        ToolCallRecord(id="c1", name="list_dir", arguments={"path": "."}),
        ToolCallRecord(id="c2", name="bash"),
    ]
    assert state.messages[0].pinned and not state.messages[5].pinned
    assert [(m.tool_call_id, m.tool_name, m.is_error) for m in state.messages if m.role == "tool"] == [
        ("c1", "list_dir", False),
        ("c2", "bash", True),
        ("c9", "nope", True),
    ]
    assert state.tool_results() == {"c1", "c2", "c9"}
    # Usage and cost accumulate over the session; run counters restart with each run.
    assert (state.input_tokens, state.output_tokens, state.cached_tokens) == (110, 25, 30)
    assert state.cost_usd == 0.3
    assert state.runs == 2
    assert state.run.run_id == "run1" and state.run.started_seq == 17 and state.run.active
    assert (state.run.turns, state.run.tokens, state.run.cost_usd) == (1, 0, 0.0)
    assert (state.run.tool_calls, state.run.errors) == (0, 2)  # a call that never ran, an errored model call
    assert (state.tool_calls, state.errors) == (2, 3)
    assert state.last_final_answer == "done"
    # Approvals: pending until answered; a session grant remembers the tool.
    assert state.session_grants == ["bash"]
    assert state.pending == {
        "apr_c4": PendingApproval(approval_id="apr_c4", call_id="c4", tool_name="write_file", arguments_hash="")
    }
    assert state.compactions == [
        Compaction(seq=23, from_seq=2, to_seq=15, summary="- user: list files", expanded=True),
        Compaction(seq=25, from_seq=16, to_seq=16, summary="- user: more"),
    ]
    assert state.mode is OperatingMode.EXECUTE
    assert (state.provider, state.model) == ("ollama", "llama3.2")
    # The vector: the last budget.updated of run 1 was replaced when run 2 started.
    assert state.vector.budget == BudgetState()


def test_the_first_run_counts_tokens_cost_and_tools() -> None:
    state = fold(a_session()[:15])
    assert not state.run.active
    assert (state.run.turns, state.run.tokens, state.run.cost_usd) == (2, 100 + 20 + 30 + 15, 0.3)
    assert (state.run.tool_calls, state.run.errors) == (2, 1)
    assert state.vector.budget == BudgetState(
        tokens_remaining=10,
        time_remaining_ms=5,
        cost_remaining_usd=1.5,
        tool_calls_remaining=3,
        error_budget_remaining=2,
    )
    assert (state.provider, state.model) == ("anthropic", "claude-sonnet-4-5")


def test_tool_outcomes_move_the_state_vector() -> None:
    ok = [event(1, "tool.call_completed", call_id="c", tool_name="t", result="fine")]
    bad = [event(i, "tool.call_completed", call_id=f"c{i}", tool_name="t", is_error=True) for i in range(1, 4)]
    after_ok = fold(ok).vector
    assert after_ok.error_streak == 0 and after_ok.progress > 0 and after_ok.uncertainty < 0.7
    after_bad = fold(bad).vector
    assert after_bad.error_streak == 3 and after_bad.human_dependency == 0.6
    assert after_bad.budget.error_budget_remaining == BudgetState().error_budget_remaining - 3
    recovered = fold([*bad, event(4, "tool.call_completed", call_id="c4", tool_name="t")]).vector
    assert recovered.error_streak == 0
    # A call that failed before running (unknown tool, denial) is an error but moves no vital sign.
    refused = fold([event(1, "tool.call_failed", call_id="c", tool_name="t", error="denied")])
    assert refused.errors == 1 and refused.tool_calls == 0 and refused.vector == ConversationState().vector


def test_the_fold_is_pure() -> None:
    events = a_session()
    assert fold(events) == fold(events)
    # Folding in two halves through a snapshot gives the state of a fold in one go.
    projection = ConversationProjection()
    half = fold(events[:12])
    resumed = fold(events[12:], projection.decode(projection.encode(half)))
    assert resumed == fold(events)


def test_snapshot_round_trip_of_a_rich_state() -> None:
    projection = ConversationProjection()
    state = fold(a_session())
    data = projection.encode(state)
    assert projection.decode(data) == state
    assert projection.encode(projection.decode(data)) == data
    assert projection.decode(projection.encode(projection.initial())) == ConversationState()


json_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5)
call_ids = st.sampled_from(["c1", "c2", "c3"])
event_specs = st.one_of(
    st.builds(lambda c, p: ("user.message", {"content": c, "pinned": p}), st.text(max_size=10), st.booleans()),
    st.builds(
        lambda c, ids, u: (
            "assistant.message",
            {
                "content": c,
                "tool_calls": [{"id": i, "name": "t", "arguments": {"x": 1}} for i in ids],
                "usage": {"input_tokens": u, "output_tokens": u // 2},
                "cost_usd": u / 1000,
            },
        ),
        st.text(max_size=10),
        st.lists(call_ids, max_size=2, unique=True),
        st.integers(0, 500),
    ),
    st.builds(
        lambda c, e: ("tool.call_completed", {"call_id": c, "tool_name": "t", "result": "r", "is_error": e}),
        call_ids,
        st.booleans(),
    ),
    st.builds(lambda c: ("tool.call_failed", {"call_id": c, "tool_name": "t", "error": "x"}), call_ids),
    st.builds(
        lambda a: ("approval.requested", {"approval_id": a, "call_id": "c1", "tool_name": "t", "expires_at": 3}),
        call_ids,
    ),
    st.builds(
        lambda a, kind, scope: (kind, {"approval_id": a, "scope": scope}),
        call_ids,
        st.sampled_from(["approval.granted", "approval.denied", "approval.expired"]),
        st.sampled_from(["once", "session"]),
    ),
    st.builds(
        lambda a, b: ("context.compacted", {"from_seq": a, "to_seq": a + b, "summary": "s"}),
        st.integers(1, 9),
        st.integers(0, 5),
    ),
    st.builds(lambda s: ("context.expanded", {"compaction_seq": s}), st.integers(1, 30)),
    st.builds(
        lambda m: ("mode.changed", {"previous": "explore", "mode": m}),
        st.sampled_from([m.value for m in OperatingMode]),
    ),
    st.builds(lambda p: ("run.started", {"provider": p, "model": "m"}), st.sampled_from(["scripted", "openai"])),
    st.builds(
        lambda a: ("run.finished", {"reason": "final_answer", "final_answer": a}), st.text(max_size=5) | st.none()
    ),
    st.builds(lambda p: ("provider.switched", {"provider": p, "model": "x"}), st.sampled_from(["scripted", "ollama"])),
    st.builds(lambda t: ("budget.updated", {"budget": {"tokens_remaining": t}}), st.integers(-10, 10)),
    st.builds(lambda v: ("custom.thing", {"v": v}), json_scalars),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(event_specs, max_size=30))
def test_any_fold_survives_the_snapshot_encoding(specs: list[tuple[str, dict[str, Any]]]) -> None:
    events = [event(i, kind, run_id=f"r{i}", **payload) for i, (kind, payload) in enumerate(specs, 1)]
    projection = ConversationProjection()
    state = fold(events)
    assert projection.decode(projection.encode(state)) == state
    assert msgspec.json.encode(state) == msgspec.json.encode(fold(events))
    for cut in range(len(events) + 1):
        assert fold(events[cut:], projection.decode(projection.encode(fold(events[:cut])))) == state


def test_message_records_encode_compactly() -> None:
    record = MessageRecord(seq=3, role="user", content="hi")
    assert msgspec.json.encode(record) == b'{"seq":3,"role":"user","content":"hi"}'
