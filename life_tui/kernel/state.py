"""State types of the contract: the agent state vector, budgets, operating modes and their estimation.

These are the values homeostasis and the runtime fold events into (Life's ``AgentStateVector`` and
``BudgetState``, reference/life-system.md §1.4-1.5). Mode estimation is the Life rule list, a pure
function so that replaying a session reproduces every mode change.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class OperatingMode(StrEnum):
    """What the agent should be doing now; estimated after every tick."""

    EXPLORE = "explore"
    EXECUTE = "execute"
    VERIFY = "verify"
    RECOVER = "recover"
    ASK_HUMAN = "ask_human"
    SLEEP = "sleep"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class BudgetState(msgspec.Struct, frozen=True, kw_only=True):
    """What a session may still spend. Defaults are Life's: 120k tokens, 300 s, $5, 48 tool calls, 8 errors."""

    tokens_remaining: int = 120_000
    time_remaining_ms: int = 300_000
    cost_remaining_usd: float = 5.0
    tool_calls_remaining: int = 48
    error_budget_remaining: int = 8

    @property
    def exhausted(self) -> list[str]:
        """Names of the budgets that have run out (empty when there is budget left)."""
        return [
            name
            for name, value in (
                ("tokens", self.tokens_remaining),
                ("time", self.time_remaining_ms),
                ("cost", self.cost_remaining_usd),
                ("tool_calls", self.tool_calls_remaining),
                ("errors", self.error_budget_remaining),
            )
            if value <= 0
        ]


class AgentStateVector(msgspec.Struct, frozen=True, kw_only=True):
    """The agent's vital signs (Life defaults: uncertainty 0.7 so a fresh session explores)."""

    progress: float = 0.0
    uncertainty: float = 0.7
    risk_level: RiskLevel = RiskLevel.LOW
    budget: BudgetState = BudgetState()
    error_streak: int = 0
    context_pressure: float = 0.1
    side_effect_pressure: float = 0.0
    human_dependency: float = 0.0


CIRCUIT_BREAKER_ERRORS = 3


def estimate_mode(state: AgentStateVector, pending_approvals: int = 0) -> OperatingMode:
    """Life's mode rules, first match wins: ask_human > recover > sleep > explore > verify > execute."""
    if pending_approvals > 0:
        return OperatingMode.ASK_HUMAN
    if state.error_streak >= CIRCUIT_BREAKER_ERRORS:
        return OperatingMode.RECOVER
    if state.progress >= 0.98:
        return OperatingMode.SLEEP
    if state.context_pressure > 0.8 or state.uncertainty > 0.65:
        return OperatingMode.EXPLORE
    if state.side_effect_pressure > 0.6:
        return OperatingMode.VERIFY
    return OperatingMode.EXECUTE


class SoulProfile(msgspec.Struct, frozen=True, kw_only=True):
    """Who the agent is: its name, personality, mission, goals and constraints."""

    name: str = "life"
    mission: str = "Run tool-mediated work safely and reproducibly."
    personality: str = ""
    goals: list[str] = []
    constraints: list[str] = []
    preferences: dict[str, str] = {}

    def persona_block(self) -> str:
        lines = [f"You are {self.name} — {self.mission}"]
        if self.personality:
            lines.append(f"Personality: {self.personality}")
        lines.extend(f"Goal: {goal}" for goal in self.goals)
        lines.extend(f"Constraint: {c}" for c in self.constraints)
        return "\n".join(lines)


class FileProvenance(msgspec.Struct, frozen=True):
    path: str
    sha256: str


class Provenance(msgspec.Struct, frozen=True, kw_only=True):
    """Where an observation came from: a range of events and the files it read."""

    event_start: int
    event_end: int
    files: list[FileProvenance] = []


class Observation(msgspec.Struct, frozen=True, kw_only=True):
    """Something the agent noticed, with the events it came from."""

    observation_id: str
    created_at: int
    text: str
    tags: list[str] = []
    provenance: Provenance | None = None
