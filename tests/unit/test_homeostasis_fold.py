"""The homeostasis fold: each pillar from the events that feed it, on event time only; Hypothesis properties
(deterministic, order-sensitive only where it should be); snapshot encoding round trips."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from life_tui.homeostasis.fold import HomeostasisProjection, percentile
from life_tui.homeostasis.operations import call_signature
from life_tui.homeostasis.state import ContextRuling, EconomicMode, HomeostaticState
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Event, encode_payload

T0 = 1_700_000_000_000_000
MS = 1_000


class Stream:
    """Events of one branch with dense seqs; ``at`` is ms after T0."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, payload: k.Payload | tuple[str, dict[str, Any]], at: int | None = None) -> Event:
        kind, body = (payload.KIND, payload) if isinstance(payload, k.Payload) else payload
        seq = len(self.events) + 1
        t = T0 + (at if at is not None else seq) * MS
        event = Event(f"e{seq}", "s", "main", seq, kind, t, payload=encode_payload(body))
        self.events.append(event)
        return event


def fold(events: list[Event], **sizes: int) -> HomeostaticState:
    return HomeostasisProjection(**sizes).fold(events)


def test_operational_error_rate_streak_latency_and_uptime() -> None:
    s = Stream()
    s.add(k.PhaseEntered(phase="reconstruct", tick=1), at=0)
    s.add(k.PhaseEntered(phase="provider", tick=1), at=100)
    s.add(k.AssistantMessage(content="", tool_calls=[{"id": "a", "name": "grep", "arguments": {}}]), at=350)
    s.add(k.ToolCallCompleted(call_id="a", tool_name="grep", result="ok"), at=400)
    s.add(k.ToolCallCompleted(call_id="b", tool_name="grep", is_error=True), at=500)
    s.add(k.ToolCallFailed(call_id="c", tool_name="grep", error="boom"), at=600)
    state = fold(s.events, outcome_window=3)
    op = state.operational
    assert op.outcomes == [True, False, False] and op.error_rate == 2 / 3  # model ok, tool ok, then two failures
    assert (op.error_streak, op.total_errors, op.total_successes) == (2, 2, 2)
    assert op.latencies_ms == [250.0] and op.latency_p50_ms == op.latency_p99_ms == 250.0
    assert op.uptime_s == 0.6 and state.current.tool_errors == 2


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([], 0.5) == 0.0


def test_cognitive_pillar() -> None:
    s = Stream()
    s.add(k.RunStarted(provider="p", limits={"tokens": 1000, "tool_calls": 10}))
    s.add(
        k.AssistantMessage(content="hi", usage={"input_tokens": 30_000, "cached_tokens": 20_000, "output_tokens": 10})
    )
    s.add(k.MemoryCommitted(scope="session", memory_id="m1", content="a"))
    s.add(k.MemoryCommitted(scope="session", memory_id="m2", content="b", supersedes="m1"))
    s.add(k.MemoryCommitted(scope="session", memory_id="m3", content="c"))
    s.add(k.MemoryTombstoned(scope="session", memory_id="m3"))
    s.add(k.StateEstimated(state={"uncertainty": 0.25}, mode="execute"))
    s.add(k.BudgetUpdated(budget={"tokens_remaining": 150, "tool_calls_remaining": 5}))
    s.add(k.RunFinished(reason="final_answer"))
    s.add(k.RunFinished(reason="max_turns"))
    s.add(k.InlineEvaluation(evaluator="x", score=0.0, label="critical", layer="action"))
    cog = fold(s.events, context_window=100_000, memory_capacity=4).cognitive
    assert cog.context_utilisation == 0.5
    assert cog.memory_items == ["m2"] and cog.memory_pressure == 0.25
    assert cog.confidence == 0.75
    assert cog.token_budget_remaining == 0.15 and cog.budget_used_fraction == 0.85
    assert (cog.runs_finished, cog.completion_rate) == (2, 0.5)
    assert cog.quality == 0.7 and round(cog.quality_trend, 6) == -0.3 and cog.evaluations == 1


def test_compaction_resets_turns_and_tool_density_counts_calls_per_turn() -> None:
    s = Stream()
    calls = [{"id": str(i), "name": "grep", "arguments": {"i": i}} for i in range(3)]
    s.add(k.AssistantMessage(content="", tool_calls=calls, usage={"input_tokens": 10}))
    s.add(k.AssistantMessage(content="done", usage={"input_tokens": 10}))
    s.add(k.ContextCompacted(from_seq=1, to_seq=2, summary="...", tokens_after=50_000))
    cog = fold(s.events).cognitive
    assert (cog.turns_completed, cog.tool_density, cog.turns_since_compact) == (2, 1.5, 0)
    assert cog.context_utilisation == 0.25


def test_economic_pillar_from_finance_events() -> None:
    s = Stream()
    s.add(
        k.CostReserved(
            reservation_id="r1", amount_micro=500, model="m", balance_after_micro=9_500, burn_per_hour_micro=100
        ),
        at=0,
    )
    s.add(
        k.CostReserved(
            reservation_id="r2", amount_micro=300, model="m", balance_after_micro=9_200, burn_per_hour_micro=100
        ),
        at=1,
    )
    s.add(
        k.CostSettled(
            reservation_id="r1", amount_micro=200, model="m", balance_after_micro=9_500, burn_per_hour_micro=120
        ),
        at=2,
    )
    econ = fold(s.events).economic
    assert (econ.balance_micro, econ.burn_per_hour_micro, econ.monthly_burn_micro) == (9_500, 120, 86_400)
    assert econ.reserved_micro == 300 and econ.open_reservations == {"r2": 300}
    assert econ.session_spend_micro == 200 and econ.cost_last_5min_micro == 200
    assert econ.runway_hours is not None and round(econ.runway_hours, 4) == round(9_500 / 120, 4)
    s.add(k.CostReleased(reservation_id="r2"), at=300_002)  # five minutes later: the velocity window is empty
    econ = fold(s.events).economic
    assert econ.reserved_micro == 0 and econ.cost_last_5min_micro == 0 and econ.session_spend_micro == 200


def test_unmetered_wallet_and_deposits() -> None:
    s = Stream()
    s.add(k.CostSettled(reservation_id="r", amount_micro=10, model="m"))
    assert fold(s.events).economic.balance_micro is None and fold(s.events).economic.runway_hours is None
    s.add(k.FundsDeposited(amount_micro=1_000))
    s.add(k.FundsDeposited(amount_micro=500))
    assert fold(s.events).economic.balance_micro == 1_500


def test_mode_and_ruling_change_only_through_the_controllers_events() -> None:
    s = Stream()
    s.add(k.CostSettled(reservation_id="r", amount_micro=10, model="m", balance_after_micro=0, burn_per_hour_micro=5))
    s.add(k.AssistantMessage(content="", usage={"input_tokens": 199_000}))
    state = fold(s.events)
    assert state.economic.mode is EconomicMode.SOVEREIGN and state.cognitive.ruling is ContextRuling.BREATHE
    s.add(k.EconomicModeChanged(previous="sovereign", mode="hibernate", reason="x", ratio=0.0), at=50)
    s.add(k.ContextRuling(ruling="emergency", previous="breathe", utilisation=0.995))
    state = fold(s.events)
    assert state.economic.mode is EconomicMode.HIBERNATE and state.economic.mode_since_us == T0 + 50 * MS
    assert state.cognitive.ruling is ContextRuling.EMERGENCY


def test_doom_loop_counts_identical_consecutive_requests() -> None:
    s = Stream()
    for i, pattern in enumerate(["x", "x", "y", "y", "y"]):
        s.add(k.ToolCallRequested(call_id=str(i), tool_name="grep", arguments={"pattern": pattern}))
    state = fold(s.events)
    assert state.repeat_count == 3 and state.recent_calls[-1] == call_signature("grep", {"pattern": "y"})
    assert call_signature("grep", {"a": 1, "b": 2}) == call_signature("grep", {"b": 2, "a": 1})
    assert call_signature("grep", {"a": 1}) != call_signature("glob", {"a": 1})


def test_regulation_blocks_are_not_tool_errors_and_per_tick_counts_reset() -> None:
    s = Stream()
    s.add(k.PhaseEntered(phase="reconstruct", tick=1))
    s.add(
        k.ToolCallRequested(call_id="w", tool_name="write_file", arguments={"path": "a"}, capabilities=["fs:write:a"])
    )
    s.add(k.ToolCallStarted(call_id="w", tool_name="write_file"))
    s.add(k.ToolCallRequested(call_id="b", tool_name="bash", arguments={"command": "ls"}))
    s.add(k.GateTriggered(operation="tool_call", gate="shell", action="block", reason="no", call_id="b"))
    s.add(k.ToolCallFailed(call_id="b", tool_name="bash", error="blocked by regulation: no"))
    state = fold(s.events)
    assert (state.current.calls_started, state.current.mutations_started) == (1, 1)
    assert state.operational.total_errors == 0 and state.operational.blocked_calls == []
    s.add(k.PhaseEntered(phase="reconstruct", tick=2))
    assert (fold(s.events).current.calls_started, fold(s.events).tick) == (0, 2)


def test_snapshot_encoding_round_trips() -> None:
    s = Stream()
    s.add(k.AssistantMessage(content="x", usage={"input_tokens": 5}))
    s.add(k.CostReserved(reservation_id="r", amount_micro=5, model="m", balance_after_micro=10, burn_per_hour_micro=1))
    projection = HomeostasisProjection()
    state = projection.fold(s.events)
    assert projection.decode(projection.encode(state)) == state


# -------------------------------------------------------------------------------------- properties
def _payloads() -> st.SearchStrategy[k.Payload]:
    call_ids = st.sampled_from(["a", "b", "c"])
    return st.one_of(
        st.builds(
            k.PhaseEntered,
            phase=st.sampled_from(["reconstruct", "provider", "tools", "persist"]),
            tick=st.integers(1, 5),
        ),
        st.builds(
            k.ToolCallRequested,
            call_id=call_ids,
            tool_name=st.sampled_from(["grep", "bash"]),
            arguments=st.fixed_dictionaries({"p": st.integers(0, 2)}),
        ),
        st.builds(k.ToolCallStarted, call_id=call_ids, tool_name=st.just("grep")),
        st.builds(k.ToolCallCompleted, call_id=call_ids, tool_name=st.just("grep"), is_error=st.booleans()),
        st.builds(k.ToolCallFailed, call_id=call_ids, tool_name=st.just("grep"), error=st.just("e")),
        st.builds(
            k.AssistantMessage,
            content=st.text(max_size=5),
            usage=st.fixed_dictionaries({"input_tokens": st.integers(0, 250_000)}),
        ),
        st.builds(
            k.CostSettled,
            reservation_id=call_ids,
            amount_micro=st.integers(0, 10_000),
            model=st.just("m"),
            balance_after_micro=st.integers(-10, 10**7),
            burn_per_hour_micro=st.integers(0, 10**4),
        ),
        st.builds(
            k.InlineEvaluation,
            evaluator=st.just("x"),
            score=st.floats(0, 1),
            label=st.just("good"),
            layer=st.just("action"),
        ),
        st.builds(k.RunFinished, reason=st.sampled_from(["final_answer", "error"])),
    )


def _stream(payloads: list[k.Payload], gaps: list[int]) -> list[Event]:
    s = Stream()
    at = 0
    for payload, gap in zip(payloads, gaps, strict=False):
        at += gap
        s.add(payload, at=at)
    return s.events


@settings(max_examples=60, deadline=None)
@given(st.lists(_payloads(), max_size=40), st.lists(st.integers(0, 120_000), min_size=40, max_size=40))
def test_fold_is_deterministic(payloads: list[k.Payload], gaps: list[int]) -> None:
    events = _stream(payloads, gaps)
    first, second = fold(events), fold(events)
    assert msgspec.json.encode(first) == msgspec.json.encode(second)
    # folding in two halves (as a snapshot resume does) gives the same state
    projection = HomeostasisProjection()
    half = projection.decode(projection.encode(projection.fold(events[: len(events) // 2])))
    assert msgspec.json.encode(projection.fold(events[len(events) // 2 :], half)) == msgspec.json.encode(first)


@settings(max_examples=60, deadline=None)
@given(st.lists(_payloads(), max_size=20), st.booleans(), st.booleans())
def test_swapping_two_tool_completions_leaves_the_counters_equal(
    prefix: list[k.Payload], first_ok: bool, second_ok: bool
) -> None:
    one = k.ToolCallCompleted(call_id="x1", tool_name="grep", is_error=not first_ok)
    two = k.ToolCallCompleted(call_id="x2", tool_name="grep", is_error=not second_ok)
    a = fold(_stream([*prefix, one, two], [1] * 40))
    b = fold(_stream([*prefix, two, one], [1] * 40))
    assert (a.operational.total_errors, a.operational.total_successes) == (
        b.operational.total_errors,
        b.operational.total_successes,
    )
    assert a.operational.error_rate == b.operational.error_rate and a.current.tool_errors == b.current.tool_errors
    # ... while the streak is order-sensitive, as it should be: it counts the failures since the last success
    if first_ok != second_ok:
        assert a.operational.error_streak != b.operational.error_streak


@settings(max_examples=40, deadline=None)
@given(st.lists(_payloads(), max_size=30))
def test_fold_uses_event_time_only(payloads: list[k.Payload]) -> None:
    """Shifting every event by the same amount of time changes nothing but the time stamps."""
    events = _stream(payloads, [1_000] * 40)
    shifted = [msgspec.structs.replace(e, occurred_at=e.occurred_at + 10**12) for e in events]
    a, b = fold(events), fold(shifted)
    a.last_event_us = b.last_event_us = a.operational.started_at_us = b.operational.started_at_us = 0
    a.operational.provider_started_us = b.operational.provider_started_us = None
    a.economic.recent_costs = b.economic.recent_costs = []
    assert msgspec.json.encode(a) == msgspec.json.encode(b)
