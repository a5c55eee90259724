"""The homeostatic state: the three pillars (operational, cognitive, economic) a session's events fold into.

These types are the contract between the controller (which folds and decides), the runtime (which
enforces), and the front ends (gauges, ``life-tui state``, the MCP ``budget`` tool), so they live apart from
the fold itself. Plain msgspec Structs: cheap to copy, to snapshot and to print as JSON.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from life_tui.kernel.state import OperatingMode


class EconomicMode(StrEnum):
    """Balance over monthly burn: sovereign > 2x, conserving 1-2x, hustle 0-1x, hibernate at or below 0."""

    SOVEREIGN = "sovereign"
    CONSERVING = "conserving"
    HUSTLE = "hustle"
    HIBERNATE = "hibernate"


class ContextRuling(StrEnum):
    """What to do about context: breathe (< 0.60 of the window), dilate, compress (>= 0.85), emergency (>= 0.95)."""

    BREATHE = "breathe"
    DILATE = "dilate"
    COMPRESS = "compress"
    EMERGENCY = "emergency"


class Action(StrEnum):
    """A gate's answer; the most restrictive of the rules' answers wins (block > warn > allow)."""

    ALLOW = "allow"
    WARN = "warn"
    BLOCK = "block"


class Gate(StrEnum):
    EXPENSIVE_MODEL = "expensive_model"
    CHEAP_MODEL = "cheap_model"
    TOOL_EXECUTION = "tool_execution"
    FILE_WRITE = "file_write"
    SHELL = "shell"
    NETWORK = "network"
    SPECULATIVE_RESEARCH = "speculative_research"
    LONG_CONTEXT = "long_context"
    REPEAT_CALL = "repeat_call"


class Operational(msgspec.Struct, kw_only=True):
    error_rate: float = 0.0
    """Errors over outcomes in the rolling window (the last ``window`` tool and model outcomes)."""
    window: int = 20
    outcomes: list[bool] = []
    """The rolling window itself, oldest first (True: success)."""
    error_streak: int = 0
    total_errors: int = 0
    total_successes: int = 0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    latency_p99_ms: float = 0.0
    latencies_ms: list[float] = []
    """The last provider-call latencies the percentiles are computed from (bounded)."""
    started_at_us: int = 0
    uptime_s: float = 0.0
    provider_started_us: int | None = None
    """When the pending provider call began (its ``phase.entered(provider)``), for its latency."""
    blocked_calls: list[str] = []
    """Call ids the controller blocked: their ``tool.call_failed`` is regulation, not a tool error."""


class Cognitive(msgspec.Struct, kw_only=True):
    context_utilisation: float = 0.0
    context_window: int = 200_000
    ruling: ContextRuling = ContextRuling.BREATHE
    memory_pressure: float = 0.0
    """Active memory items over the memory block's capacity, in [0, 1]."""
    confidence: float = 0.3
    """1 - the state vector's uncertainty."""
    completion_rate: float = 1.0
    """Runs that ended in a final answer over runs finished."""
    runs_finished: int = 0
    runs_completed: int = 0
    quality: float = 1.0
    """Evaluation scores folded as an exponential moving average (alpha 0.3)."""
    quality_trend: float = 0.0
    evaluations: int = 0
    turns_completed: int = 0
    turns_since_compact: int = 0
    tool_density: float = 0.0
    """Tool calls per model turn."""
    tokens_used: int = 0
    tool_calls: int = 0
    memory_items: list[str] = []
    """Ids of the session's active (committed, not superseded or withdrawn) memory entries."""
    memory_capacity: int = 50
    token_budget_remaining: float = 1.0
    """The run's token budget left, as a fraction of its limit (``budget.updated`` over ``run.started``)."""
    budget_used_fraction: float = 0.0
    """The most used of the run's budgets (tokens, cost, tool calls, time), in [0, 1]."""
    run_limits: dict[str, float] = {}


class Economic(msgspec.Struct, kw_only=True):
    mode: EconomicMode = EconomicMode.SOVEREIGN
    mode_since_us: int = 0
    balance_micro: int | None = None
    """The wallet balance as last observed (None: an unmetered wallet, never funded)."""
    burn_per_hour_micro: int = 0
    monthly_burn_micro: int = 0
    runway_hours: float | None = None
    """Balance over burn rate (None: infinite, or unmetered)."""
    session_spend_micro: int = 0
    reserved_micro: int = 0
    cost_last_5min_micro: int = 0
    recent_costs: list[tuple[int, int]] = []
    """(time µs, micro-credits) of recent settlements, for the 5-minute spend velocity."""
    open_reservations: dict[str, int] = {}
    """Reservations not yet settled or released, by id (their sum is ``reserved_micro``)."""
    mode_ratio: float | None = None
    """Balance over monthly burn when the mode was last decided (None: infinite)."""


class TickRecord(msgspec.Struct, kw_only=True):
    """What happened in the current tick (a model turn and its tool calls), for the inline evaluations."""

    tick: int = 0
    answer: str = ""
    final: bool = False
    tool_calls: list[str] = []
    """Signatures of this tick's tool requests, in order."""
    tool_errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float | None = None
    calls_started: int = 0
    """Tool calls that passed their gates and ran (the per-tick cap counts these)."""
    mutations_started: int = 0
    """Of those, the ones that write files or memory."""
    requested: dict[str, bool] = {}
    """This tick's requested call ids -> whether the call mutates (files or memory)."""


class HomeostaticState(msgspec.Struct, kw_only=True):
    operational: Operational = msgspec.field(default_factory=Operational)
    cognitive: Cognitive = msgspec.field(default_factory=Cognitive)
    economic: Economic = msgspec.field(default_factory=Economic)
    operating_mode: OperatingMode = OperatingMode.EXPLORE
    last_seq: int = 0
    last_event_us: int = 0
    recent_calls: list[str] = []
    """Signatures (tool name + arguments hash) of the latest tool calls, newest last, for doom-loop detection."""
    repeat_count: int = 0
    """How many times in a row the newest signature has been requested."""
    tick: int = 0
    ticks_completed: int = 0
    """``phase.entered(persist)`` events folded: the ticks whose evaluation is due."""
    current: TickRecord = msgspec.field(default_factory=TickRecord)
    previous_answers: list[str] = []
    """Earlier assistant texts (bounded, newest last), this tick's excluded."""


class GatingProfile(msgspec.Struct, kw_only=True):
    """The merged answer of the rules: per gate allow/warn/block, plus the economic knobs."""

    gates: dict[str, Action] = {}
    economic_mode: EconomicMode = EconomicMode.SOVEREIGN
    ruling: ContextRuling = ContextRuling.BREATHE
    compact_target: float | None = None
    """Compact toward this fraction of the window (compress / emergency rulings)."""
    max_tokens_next_turn: int | None = None
    preferred_model_tier: str | None = None
    """``budget`` (the cheapest model), ``standard`` or None (no preference)."""
    max_tool_calls_per_tick: int | None = None
    max_file_mutations_per_tick: int | None = None
    allow_side_effects: bool = True
    allow_expensive_tools: bool = True
    skip_model: bool = False
    rationale: list[str] = []
    rules: list[str] = []
    """Ids of the rules that fired."""
    reasons: dict[str, str] = {}
    """Per gate that is not ``allow``: why (the rationale of the rule that set it)."""
    gate_rules: dict[str, list[str]] = {}
    """Per gate that is not ``allow``: the ids of the rules behind its action (and, under the field names
    ``max_tool_calls_per_tick`` / ``max_file_mutations_per_tick``, the rules behind those caps)."""

    def action(self, gate: Gate | str) -> Action:
        return self.gates.get(str(gate), Action.ALLOW)
