"""Merging the rules' decisions into one :class:`GatingProfile` (life-system §5.6): the most restrictive wins.

Per gate block > warn > allow; hibernate > hustle > conserving > sovereign; the smallest token cap and
tool-call caps; the cheapest model tier; any restriction restricts. Then the economic mode's own
consequences are applied (hibernate closes every gate and skips model calls; hustle narrows to the
cheapest model, at most five tool calls and two file mutations per tick, no shell, no network). Kept apart
from the rules so that each rule stays ignorant of the others and the merge is tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from life_tui.homeostasis.modes import SEVERITY
from life_tui.homeostasis.rules import BUDGET_TIER, STANDARD_TIER, RuleDecision
from life_tui.homeostasis.state import Action, ContextRuling, EconomicMode, Gate, GatingProfile

ACTION_SEVERITY: dict[Action, int] = {Action.ALLOW: 0, Action.WARN: 1, Action.BLOCK: 2}
TIER_ORDER: dict[str | None, int] = {None: 0, STANDARD_TIER: 1, BUDGET_TIER: 2}
HUSTLE_TOOL_CALLS = 5
HUSTLE_FILE_MUTATIONS = 2
TOOL_CALL_CAP = "max_tool_calls_per_tick"
FILE_MUTATION_CAP = "max_file_mutations_per_tick"


def _min(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


class _Builder:
    def __init__(self) -> None:
        self.profile = GatingProfile(gates={str(g): Action.ALLOW for g in Gate})
        self.reasons: dict[str, str] = {}
        self.gate_rules: dict[str, list[str]] = {}

    def gate(self, gate: Gate | str, action: Action, reason: str, rule: str) -> None:
        key = str(gate)
        current = self.profile.gates[key]
        if ACTION_SEVERITY[action] > ACTION_SEVERITY[current]:
            self.profile.gates[key] = action
            self.reasons[key] = reason
            self.gate_rules[key] = [rule]
        elif action is not Action.ALLOW and action is current and rule not in self.gate_rules.get(key, []):
            self.gate_rules.setdefault(key, []).append(rule)

    def limit(self, key: str, value: int | None, rule: str) -> None:
        """Note ``rule`` behind a per-tick cap (``gate_rules`` keeps them under the cap's field name)."""
        if value is not None and rule not in self.gate_rules.get(key, []):
            self.gate_rules.setdefault(key, []).append(rule)


def merge(decisions: Iterable[RuleDecision]) -> GatingProfile:
    """The profile the decisions add up to (an empty list gives the allow-all profile)."""
    b = _Builder()
    p = b.profile
    mode_rule = ""
    for d in decisions:
        p.rules.append(d.rule_id)
        p.rationale.append(f"{d.rule_id}: {d.rationale}")
        if d.economic_mode is not None and SEVERITY[d.economic_mode] >= SEVERITY[p.economic_mode]:
            p.economic_mode, mode_rule = d.economic_mode, f"{d.rule_id}: {d.rationale}"
        if d.ruling is not None:
            p.ruling = d.ruling
        if d.compact_target is not None:
            p.compact_target = d.compact_target if p.compact_target is None else min(p.compact_target, d.compact_target)
        p.max_tokens_next_turn = _min(p.max_tokens_next_turn, d.max_tokens_next_turn)
        if TIER_ORDER[d.preferred_model_tier] > TIER_ORDER[p.preferred_model_tier]:
            p.preferred_model_tier = d.preferred_model_tier
        p.max_tool_calls_per_tick = _min(p.max_tool_calls_per_tick, d.max_tool_calls_per_tick)
        p.max_file_mutations_per_tick = _min(p.max_file_mutations_per_tick, d.max_file_mutations_per_tick)
        b.limit(TOOL_CALL_CAP, d.max_tool_calls_per_tick, d.rule_id)
        b.limit(FILE_MUTATION_CAP, d.max_file_mutations_per_tick, d.rule_id)
        if d.restrict_expensive_tools:
            p.allow_expensive_tools = False
            b.gate(Gate.EXPENSIVE_MODEL, Action.BLOCK, d.rationale, d.rule_id)
            b.gate(Gate.SPECULATIVE_RESEARCH, Action.BLOCK, d.rationale, d.rule_id)
        if d.restrict_side_effects:
            p.allow_side_effects = False
            b.gate(Gate.FILE_WRITE, Action.BLOCK, d.rationale, d.rule_id)
            b.gate(Gate.SHELL, Action.BLOCK, d.rationale, d.rule_id)
        if d.preferred_model_tier is not None:
            action = Action.BLOCK if d.preferred_model_tier == BUDGET_TIER else Action.WARN
            b.gate(Gate.EXPENSIVE_MODEL, action, d.rationale, d.rule_id)
        if d.max_tool_calls_per_tick == 0:
            b.gate(Gate.TOOL_EXECUTION, Action.BLOCK, d.rationale, d.rule_id)
        for gate, action in d.gates.items():
            b.gate(gate, action, d.rationale, d.rule_id)
    _apply_mode(b, mode_rule)
    p.reasons, p.gate_rules = b.reasons, b.gate_rules
    return p


def _apply_mode(b: _Builder, why: str) -> None:
    p = b.profile
    rule = why.split(":", 1)[0] or "survival"
    if p.economic_mode is EconomicMode.HIBERNATE:
        p.skip_model = True
        p.allow_side_effects = False
        p.allow_expensive_tools = False
        p.max_tool_calls_per_tick = 0
        p.max_file_mutations_per_tick = 0
        b.limit(TOOL_CALL_CAP, 0, rule)
        b.limit(FILE_MUTATION_CAP, 0, rule)
        p.preferred_model_tier = BUDGET_TIER
        for gate in Gate:
            b.gate(gate, Action.BLOCK, why, rule)
    elif p.economic_mode is EconomicMode.HUSTLE:
        p.preferred_model_tier = BUDGET_TIER
        p.allow_expensive_tools = False
        p.max_tool_calls_per_tick = _min(p.max_tool_calls_per_tick, HUSTLE_TOOL_CALLS)
        p.max_file_mutations_per_tick = _min(p.max_file_mutations_per_tick, HUSTLE_FILE_MUTATIONS)
        b.limit(TOOL_CALL_CAP, HUSTLE_TOOL_CALLS, rule)
        b.limit(FILE_MUTATION_CAP, HUSTLE_FILE_MUTATIONS, rule)
        for gate in (Gate.EXPENSIVE_MODEL, Gate.SHELL, Gate.NETWORK, Gate.SPECULATIVE_RESEARCH):
            b.gate(gate, Action.BLOCK, why, rule)
    elif p.economic_mode is EconomicMode.CONSERVING:
        if TIER_ORDER[p.preferred_model_tier] < TIER_ORDER[STANDARD_TIER]:
            p.preferred_model_tier = STANDARD_TIER
        b.gate(Gate.EXPENSIVE_MODEL, Action.WARN, why, rule)
        b.gate(Gate.SPECULATIVE_RESEARCH, Action.WARN, why, rule)
    if p.ruling is not ContextRuling.COMPRESS and p.ruling is not ContextRuling.EMERGENCY:
        p.compact_target = None
