"""The homeostasis fold: a session branch's events, in order, into a :class:`HomeostaticState`.

This is the ``state = fold(events)`` half of the controller (the rules are the other half), written as the
journal's :class:`~life_tui.journal.snapshots.Projection` so a long session resumes from a snapshot. Time
is the events' ``occurred_at``, never a wall clock: folding the same events always gives the same state,
which is what makes the controller's decisions replayable. The economic mode and the context ruling are
*not* computed here: they change only when the controller's own ``autonomic.mode_changed`` /
``autonomic.context_ruling`` events are folded (the controller decides, the journal remembers).

The fold mutates and returns the state it is given (as the conversation fold does): callers that need the
previous state keep a copy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import msgspec

from life_tui.homeostasis.operations import call_signature, is_file_write
from life_tui.homeostasis.state import ContextRuling, EconomicMode, HomeostaticState, TickRecord
from life_tui.kernel.event import Event
from life_tui.kernel.state import OperatingMode

QUALITY_ALPHA = 0.3
SPEND_WINDOW_US = 300_000_000
"""The spend-velocity window: five minutes."""
HOURS_PER_MONTH = 720
MAX_LATENCY_SAMPLES = 256
MAX_RECENT_CALLS = 16
MAX_PREVIOUS_ANSWERS = 8
MAX_BLOCKED_CALLS = 64
_NOT_OUTCOMES = frozenset({"cancelled", "interrupted"})
"""Assistant stop reasons that are neither a success nor a failure of the provider."""


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class HomeostasisProjection:
    """The fold, with the sizes it cannot learn from events: the model's context window, the memory block's
    capacity (items) and the rolling window of outcomes the error rate is computed over."""

    name = "homeostasis"
    version = 1

    def __init__(self, context_window: int = 200_000, memory_capacity: int = 50, outcome_window: int = 20) -> None:
        if context_window <= 0 or memory_capacity <= 0 or outcome_window <= 0:
            raise ValueError("context_window, memory_capacity and outcome_window must be positive")
        self.context_window = context_window
        self.memory_capacity = memory_capacity
        self.outcome_window = outcome_window
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(HomeostaticState)

    def initial(self) -> HomeostaticState:
        state = HomeostaticState()
        state.operational.window = self.outcome_window
        state.cognitive.context_window = self.context_window
        state.cognitive.memory_capacity = self.memory_capacity
        return state

    def apply(self, state: HomeostaticState, event: Event) -> HomeostaticState:
        t = event.occurred_at
        state.last_seq, state.last_event_us = event.seq, t
        op = state.operational
        if op.started_at_us == 0:
            op.started_at_us = t
        op.uptime_s = (t - op.started_at_us) / 1e6
        handler = _HANDLERS.get(event.kind)
        if handler is None and event.kind.startswith("finance."):
            handler = _finance
        if handler is not None:
            data = event.payload_dict()
            handler(state, data, t)
        econ = state.economic
        if econ.recent_costs and econ.recent_costs[0][0] <= t - SPEND_WINDOW_US:
            _prune_costs(state, t)
        return state

    def fold(self, events: list[Event], state: HomeostaticState | None = None) -> HomeostaticState:
        """Convenience: fold ``events`` onto ``state`` (a fresh one by default)."""
        current = self.initial() if state is None else state
        for event in events:
            current = self.apply(current, event)
        return current

    def encode(self, state: HomeostaticState) -> bytes:
        return self._encoder.encode(state)

    def decode(self, data: bytes) -> HomeostaticState:
        return self._decoder.decode(data)


# ------------------------------------------------------------------------------------------ operational
def _outcome(state: HomeostaticState, ok: bool) -> None:
    op = state.operational
    op.outcomes.append(ok)
    if len(op.outcomes) > op.window:
        del op.outcomes[: len(op.outcomes) - op.window]
    op.error_rate = op.outcomes.count(False) / len(op.outcomes)
    if ok:
        op.total_successes += 1
        op.error_streak = 0
    else:
        op.total_errors += 1
        op.error_streak += 1


def _latency(state: HomeostaticState, ms: float) -> None:
    op = state.operational
    op.latencies_ms.append(ms)
    if len(op.latencies_ms) > MAX_LATENCY_SAMPLES:
        del op.latencies_ms[0]
    ordered = sorted(op.latencies_ms)
    op.latency_p50_ms = percentile(ordered, 0.50)
    op.latency_p95_ms = percentile(ordered, 0.95)
    op.latency_p99_ms = percentile(ordered, 0.99)


# ----------------------------------------------------------------------------------------------- loop
def _phase(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    phase = data.get("phase")
    if phase == "reconstruct":
        tick = int(data.get("tick", 0))
        if state.current.answer:
            state.previous_answers.append(state.current.answer)
            if len(state.previous_answers) > MAX_PREVIOUS_ANSWERS:
                del state.previous_answers[0]
        state.tick = tick
        state.current = TickRecord(tick=tick)
    elif phase == "provider":
        state.operational.provider_started_us = t
    elif phase == "persist":
        state.ticks_completed += 1


def _run_started(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    limits = data.get("limits") or {}
    state.cognitive.run_limits = {str(k): float(v) for k, v in limits.items() if isinstance(v, int | float)}
    state.cognitive.token_budget_remaining = 1.0
    state.cognitive.budget_used_fraction = 0.0


def _run_finished(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    cog = state.cognitive
    cog.runs_finished += 1
    if data.get("reason") == "final_answer":
        cog.runs_completed += 1
    cog.completion_rate = cog.runs_completed / cog.runs_finished


def _run_errored(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    _outcome(state, False)


def _budget_updated(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    cog = state.cognitive
    budget = data.get("budget") or {}
    limits = cog.run_limits
    pairs = (
        ("tokens_remaining", "tokens", 1.0),
        ("cost_remaining_usd", "cost_usd", 1.0),
        ("tool_calls_remaining", "tool_calls", 1.0),
        ("time_remaining_ms", "time_s", 1000.0),
    )
    used = 0.0
    for key, limit_key, scale in pairs:
        limit = limits.get(limit_key, 0.0) * scale
        remaining = budget.get(key)
        if limit <= 0 or not isinstance(remaining, int | float):
            continue
        left = max(0.0, min(1.0, remaining / limit))
        used = max(used, 1.0 - left)
        if key == "tokens_remaining":
            cog.token_budget_remaining = left
    cog.budget_used_fraction = used


def _state_estimated(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    uncertainty = (data.get("state") or {}).get("uncertainty")
    if isinstance(uncertainty, int | float):
        state.cognitive.confidence = max(0.0, min(1.0, 1.0 - float(uncertainty)))


def _mode_changed(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    try:
        state.operating_mode = OperatingMode(str(data.get("mode")))
    except ValueError:
        return


# ------------------------------------------------------------------------------------------ cognition
def _assistant(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    op, cog, tick = state.operational, state.cognitive, state.current
    usage = data.get("usage") or {}
    input_tokens = int(usage.get("input_tokens", 0))
    cached = int(usage.get("cached_tokens", 0))
    output_tokens = int(usage.get("output_tokens", 0))
    stop = data.get("stop_reason")
    calls = data.get("tool_calls") or []
    if stop in _NOT_OUTCOMES:
        op.provider_started_us = None
        return
    if op.provider_started_us is not None:
        _latency(state, (t - op.provider_started_us) / 1000)
        tick.latency_ms = op.latencies_ms[-1]
        op.provider_started_us = None
    if stop == "error":
        _outcome(state, False)
        return
    _outcome(state, True)
    if input_tokens or cached:
        cog.context_utilisation = min(1.0, (input_tokens + cached) / cog.context_window)
    cog.tokens_used += input_tokens + output_tokens
    cog.turns_completed += 1
    cog.turns_since_compact += 1
    cog.tool_calls += len(calls)
    cog.tool_density = cog.tool_calls / cog.turns_completed
    tick.answer = str(data.get("content") or "")
    tick.final = not calls
    tick.input_tokens += input_tokens
    tick.output_tokens += output_tokens


def _compacted(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    cog = state.cognitive
    cog.turns_since_compact = 0
    after = data.get("tokens_after")
    if isinstance(after, int) and after > 0:
        cog.context_utilisation = min(1.0, after / cog.context_window)


def _memory_committed(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    cog = state.cognitive
    superseded = data.get("supersedes")
    if superseded in cog.memory_items:
        cog.memory_items.remove(superseded)
    memory_id = str(data.get("memory_id"))
    if memory_id not in cog.memory_items:
        cog.memory_items.append(memory_id)
    cog.memory_pressure = min(1.0, len(cog.memory_items) / cog.memory_capacity)


def _memory_tombstoned(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    cog = state.cognitive
    memory_id = data.get("memory_id")
    if memory_id in cog.memory_items:
        cog.memory_items.remove(memory_id)
    cog.memory_pressure = min(1.0, len(cog.memory_items) / cog.memory_capacity)


def _score(state: HomeostaticState, value: float) -> None:
    cog = state.cognitive
    previous = cog.quality
    cog.quality = QUALITY_ALPHA * max(0.0, min(1.0, value)) + (1 - QUALITY_ALPHA) * previous
    cog.quality_trend = cog.quality - previous
    cog.evaluations += 1


def _inline_eval(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    score = data.get("score")
    if isinstance(score, int | float):
        _score(state, float(score))


def _judge_eval(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    if data.get("error"):
        return
    scores = data.get("scores") or {}
    for name in sorted(scores):
        if isinstance(scores[name], int | float):
            _score(state, float(scores[name]))


# ---------------------------------------------------------------------------------------------- tools
def _tool_requested(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    name = str(data.get("tool_name"))
    signature = call_signature(name, data.get("arguments") or {})
    if state.recent_calls and state.recent_calls[-1] == signature:
        state.repeat_count += 1
    else:
        state.repeat_count = 1
    state.recent_calls.append(signature)
    if len(state.recent_calls) > MAX_RECENT_CALLS:
        del state.recent_calls[0]
    state.current.tool_calls.append(signature)
    state.current.requested[str(data.get("call_id"))] = is_file_write(name, data.get("capabilities") or ())


def _tool_started(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    tick = state.current
    tick.calls_started += 1
    if tick.requested.get(str(data.get("call_id"))):
        tick.mutations_started += 1


def _tool_completed(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    failed = bool(data.get("is_error"))
    _outcome(state, not failed)
    if failed:
        state.current.tool_errors += 1


def _tool_failed(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    call_id = str(data.get("call_id"))
    blocked = state.operational.blocked_calls
    if call_id in blocked:  # the controller refused it: regulation, not a tool error
        blocked.remove(call_id)
        return
    _outcome(state, False)
    state.current.tool_errors += 1


# ------------------------------------------------------------------------------------------ autonomic
def _gate_triggered(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    call_id = data.get("call_id")
    if data.get("action") == "block" and data.get("operation") == "tool_call" and call_id:
        blocked = state.operational.blocked_calls
        blocked.append(str(call_id))
        if len(blocked) > MAX_BLOCKED_CALLS:
            del blocked[0]


def _economic_mode_changed(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    try:
        mode = EconomicMode(str(data.get("mode")))
    except ValueError:
        return
    econ = state.economic
    econ.mode, econ.mode_since_us = mode, t
    ratio = data.get("ratio")
    econ.mode_ratio = float(ratio) if isinstance(ratio, int | float) else None


def _context_ruling(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    try:
        state.cognitive.ruling = ContextRuling(str(data.get("ruling")))
    except ValueError:
        return


# -------------------------------------------------------------------------------------------- finance
def _finance(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    """Any other ``finance.*`` event: only the balance and burn it may carry."""
    _wallet(state, data)


def _prune_costs(state: HomeostaticState, t: int) -> None:
    econ = state.economic
    econ.recent_costs = [(at, amount) for at, amount in econ.recent_costs if at > t - SPEND_WINDOW_US]
    econ.cost_last_5min_micro = sum(amount for _, amount in econ.recent_costs)


def _wallet(state: HomeostaticState, data: dict[str, Any]) -> None:
    econ = state.economic
    balance = data.get("balance_after_micro")
    if isinstance(balance, int):
        econ.balance_micro = balance
        burn = data.get("burn_per_hour_micro")
        econ.burn_per_hour_micro = int(burn) if isinstance(burn, int | float) else 0
    _derive_economics(state)


def _derive_economics(state: HomeostaticState) -> None:
    econ = state.economic
    econ.reserved_micro = sum(econ.open_reservations.values())
    econ.monthly_burn_micro = econ.burn_per_hour_micro * HOURS_PER_MONTH
    if econ.balance_micro is None or econ.burn_per_hour_micro <= 0:
        econ.runway_hours = None
    else:
        econ.runway_hours = max(0.0, econ.balance_micro / econ.burn_per_hour_micro)


def _reserved(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    state.economic.open_reservations[str(data.get("reservation_id"))] = int(data.get("amount_micro", 0))
    _wallet(state, data)


def _settled(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    econ = state.economic
    econ.open_reservations.pop(str(data.get("reservation_id")), None)
    amount = int(data.get("amount_micro", 0))
    econ.session_spend_micro += amount
    econ.recent_costs.append((t, amount))
    _prune_costs(state, t)
    _wallet(state, data)


def _released(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    state.economic.open_reservations.pop(str(data.get("reservation_id")), None)
    _wallet(state, data)


def _deposited(state: HomeostaticState, data: dict[str, Any], t: int) -> None:
    econ = state.economic
    amount = int(data.get("amount_micro", 0))
    econ.balance_micro = amount if econ.balance_micro is None else econ.balance_micro + amount
    _wallet(state, data)


_HANDLERS: dict[str, Callable[[HomeostaticState, dict[str, Any], int], None]] = {
    "phase.entered": _phase,
    "run.started": _run_started,
    "run.finished": _run_finished,
    "run.errored": _run_errored,
    "budget.updated": _budget_updated,
    "state.estimated": _state_estimated,
    "mode.changed": _mode_changed,
    "assistant.message": _assistant,
    "context.compacted": _compacted,
    "memory.committed": _memory_committed,
    "memory.tombstoned": _memory_tombstoned,
    "eval.inline_completed": _inline_eval,
    "eval.judge_completed": _judge_eval,
    "tool.call_requested": _tool_requested,
    "tool.call_started": _tool_started,
    "tool.call_completed": _tool_completed,
    "tool.call_failed": _tool_failed,
    "autonomic.gate_triggered": _gate_triggered,
    "autonomic.mode_changed": _economic_mode_changed,
    "autonomic.context_ruling": _context_ruling,
    "finance.reserved": _reserved,
    "finance.settled": _settled,
    "finance.released": _released,
    "finance.deposited": _deposited,
}
