"""The Life default rules one by one, their merge into a gating profile, and the controller's tool verdicts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from life_tui.homeostasis.controller import Controller
from life_tui.homeostasis.operations import call_signature
from life_tui.homeostasis.profile import merge
from life_tui.homeostasis.rules import (
    DEFAULT_RULES,
    BudgetExhaustion,
    ContextPressure,
    DoomLoop,
    ErrorStreak,
    EvalQuality,
    RuleDecision,
    SpendVelocity,
    Survival,
    TokenExhaustion,
)
from life_tui.homeostasis.state import Action, ContextRuling, EconomicMode, Gate, GatingProfile, HomeostaticState
from life_tui.kernel import kinds as k

T0 = 1_700_000_000_000_000
Setup = Callable[[HomeostaticState], None]


def state_with(setup: Setup) -> HomeostaticState:
    state = HomeostaticState(last_event_us=T0)
    setup(state)
    return state


def wallet(ratio: float) -> Setup:
    def setup(s: HomeostaticState) -> None:
        s.economic.burn_per_hour_micro, s.economic.monthly_burn_micro = 1000, 720_000
        s.economic.balance_micro = round(ratio * 720_000)

    return setup


def nothing(s: HomeostaticState) -> None:
    return None


def spent(amount: int) -> Setup:
    def setup(s: HomeostaticState) -> None:
        s.economic.cost_last_5min_micro = amount

    return setup


def tokens_left(fraction: float) -> Setup:
    def setup(s: HomeostaticState) -> None:
        s.cognitive.token_budget_remaining = fraction

    return setup


def context(u: float) -> Setup:
    def setup(s: HomeostaticState) -> None:
        s.cognitive.context_utilisation = u

    return setup


def outcomes(*ok: bool) -> Setup:
    def setup(s: HomeostaticState) -> None:
        s.operational.outcomes = list(ok)
        s.operational.error_rate = ok.count(False) / len(ok)

    return setup


def quality(value: float, evaluations: int = 5) -> Setup:
    def setup(s: HomeostaticState) -> None:
        s.cognitive.quality, s.cognitive.evaluations = value, evaluations

    return setup


def repeats(count: int) -> Setup:
    def setup(s: HomeostaticState) -> None:
        s.recent_calls = [call_signature("grep", {"pattern": "x"})] * count
        s.repeat_count = count

    return setup


# (rule, state set-up, fires, what the decision must contain)
RULE_TABLE: list[tuple[object, Setup, dict[str, object] | None]] = [
    (Survival(), nothing, None),
    (Survival(), wallet(5.0), None),
    (Survival(), wallet(1.5), {"economic_mode": EconomicMode.CONSERVING, "preferred_model_tier": "standard"}),
    (Survival(), wallet(0.5), {"economic_mode": EconomicMode.HUSTLE, "restrict_expensive_tools": True}),
    (Survival(), wallet(0.0), {"economic_mode": EconomicMode.HIBERNATE, "preferred_model_tier": "budget"}),
    (SpendVelocity(), spent(500_000), None),
    (SpendVelocity(), spent(500_001), {"preferred_model_tier": "budget", "max_tokens_next_turn": 2048}),
    (BudgetExhaustion(), tokens_left(0.2), None),
    (BudgetExhaustion(), tokens_left(0.19), {"max_tokens_next_turn": 1024, "restrict_expensive_tools": True}),
    (ContextPressure(), context(0.3), None),
    (ContextPressure(), context(0.7), {"ruling": ContextRuling.DILATE, "compact_target": None}),
    (ContextPressure(), context(0.9), {"ruling": ContextRuling.COMPRESS, "compact_target": 0.35}),
    (ContextPressure(), context(0.96), {"ruling": ContextRuling.EMERGENCY, "max_tokens_next_turn": 2048}),
    (TokenExhaustion(), tokens_left(0.1), None),
    (TokenExhaustion(), tokens_left(0.05), {"max_tool_calls_per_tick": 2, "max_tokens_next_turn": 1024}),
    (ErrorStreak(), outcomes(False, False, False, False), None),  # fewer than 5 outcomes
    (ErrorStreak(), outcomes(True, True, True, True, True, True, True, False, False, False), None),  # 30%: not over
    (
        ErrorStreak(),
        outcomes(True, True, True, False, False),
        {"restrict_side_effects": True, "max_tool_calls_per_tick": 3},
    ),
    (EvalQuality(), quality(0.3, evaluations=2), None),  # too few evaluations
    (EvalQuality(), quality(0.65), None),
    (EvalQuality(), quality(0.5), {"gates": {Gate.EXPENSIVE_MODEL: Action.WARN}}),
    (EvalQuality(), quality(0.3), {"preferred_model_tier": "budget", "max_tool_calls_per_tick": 3}),
    (DoomLoop(), repeats(2), None),
    (DoomLoop(), repeats(3), {"gates": {Gate.REPEAT_CALL: Action.BLOCK}}),
]


@pytest.mark.parametrize(("rule", "setup", "expected"), RULE_TABLE)
def test_rule(
    rule: Callable[[HomeostaticState], RuleDecision | None], setup: Setup, expected: dict[str, object] | None
) -> None:
    decision = rule(state_with(setup))
    if expected is None:
        assert decision is None
        return
    assert decision is not None and decision.rule_id == type(rule).rule_id  # type: ignore[attr-defined]
    assert decision.rationale
    for name, value in expected.items():
        assert getattr(decision, name) == value, name


def test_every_default_rule_has_a_distinct_id() -> None:
    ids = [type(r).rule_id for r in DEFAULT_RULES]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 8


def test_doom_loop_tells_the_model_to_try_something_else() -> None:
    decision = DoomLoop()(state_with(repeats(3)))
    assert decision is not None
    assert (
        "grep" in decision.rationale
        and "will not change" in decision.rationale
        and "something else" in decision.rationale
    )


# -------------------------------------------------------------------------------------------- merge
def d(rule_id: str, **fields: object) -> RuleDecision:
    return RuleDecision(rule_id=rule_id, rationale=f"because {rule_id}", **fields)  # type: ignore[arg-type]


def test_merge_of_nothing_allows_everything() -> None:
    profile = merge([])
    assert all(profile.action(g) is Action.ALLOW for g in Gate)
    assert (profile.economic_mode, profile.skip_model, profile.max_tokens_next_turn) == (
        EconomicMode.SOVEREIGN,
        False,
        None,
    )


def test_merge_most_restrictive_wins() -> None:
    profile = merge(
        [
            d(
                "a",
                gates={Gate.SHELL: Action.WARN, Gate.NETWORK: Action.BLOCK},
                max_tokens_next_turn=2048,
                preferred_model_tier="standard",
                max_tool_calls_per_tick=3,
            ),
            d(
                "b",
                gates={Gate.SHELL: Action.BLOCK, Gate.NETWORK: Action.WARN},
                max_tokens_next_turn=1024,
                preferred_model_tier="budget",
                max_tool_calls_per_tick=5,
            ),
            d("c", restrict_side_effects=True),
        ]
    )
    assert profile.action(Gate.SHELL) is Action.BLOCK and profile.gate_rules["shell"] == ["b", "c"]
    assert profile.action(Gate.NETWORK) is Action.BLOCK and profile.reasons["network"] == "because a"
    assert profile.action(Gate.FILE_WRITE) is Action.BLOCK and not profile.allow_side_effects
    assert profile.max_tokens_next_turn == 1024
    assert profile.preferred_model_tier == "budget" and profile.action(Gate.EXPENSIVE_MODEL) is Action.BLOCK
    assert profile.max_tool_calls_per_tick == 3
    assert profile.rules == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        ([EconomicMode.CONSERVING, EconomicMode.HUSTLE], EconomicMode.HUSTLE),
        ([EconomicMode.HIBERNATE, EconomicMode.CONSERVING], EconomicMode.HIBERNATE),
        ([EconomicMode.SOVEREIGN, EconomicMode.CONSERVING], EconomicMode.CONSERVING),
    ],
)
def test_merge_takes_the_most_severe_mode(modes: list[EconomicMode], expected: EconomicMode) -> None:
    assert merge([d(f"r{i}", economic_mode=m) for i, m in enumerate(modes)]).economic_mode is expected


def test_hibernate_skips_the_model_and_blocks_every_gate() -> None:
    profile = merge([d("survival", economic_mode=EconomicMode.HIBERNATE)])
    assert profile.skip_model and all(profile.action(g) is Action.BLOCK for g in Gate)
    assert (profile.max_tool_calls_per_tick, profile.max_file_mutations_per_tick) == (0, 0)


def test_hustle_narrows_model_tools_shell_and_network() -> None:
    profile = merge([d("survival", economic_mode=EconomicMode.HUSTLE), d("x", max_tool_calls_per_tick=3)])
    assert profile.preferred_model_tier == "budget" and not profile.skip_model
    assert (profile.max_tool_calls_per_tick, profile.max_file_mutations_per_tick) == (3, 2)
    assert profile.action(Gate.SHELL) is Action.BLOCK and profile.action(Gate.NETWORK) is Action.BLOCK
    assert profile.action(Gate.FILE_WRITE) is Action.ALLOW and profile.action(Gate.TOOL_EXECUTION) is Action.ALLOW


def test_conserving_prefers_a_cheaper_model_and_warns() -> None:
    profile = merge([d("survival", economic_mode=EconomicMode.CONSERVING)])
    assert profile.preferred_model_tier == "standard" and profile.action(Gate.EXPENSIVE_MODEL) is Action.WARN


# ------------------------------------------------------------------------------------- controller
def test_controller_reports_transitions_only_when_they_change_the_state() -> None:
    controller = Controller()
    state = state_with(wallet(0.5))
    evaluation = controller.evaluate(state)
    assert evaluation.transitions == (
        k.EconomicModeChanged(
            previous="sovereign", mode="hustle", reason=evaluation.profile.rationale[0].split(": ", 1)[1], ratio=0.5
        ),
    )
    state.economic.mode, state.economic.mode_since_us = EconomicMode.HUSTLE, T0
    assert controller.evaluate(state).transitions == ()
    state.cognitive.context_utilisation = 0.9
    (ruling,) = controller.evaluate(state).transitions
    assert ruling == k.ContextRuling(
        ruling="compress", previous="breathe", utilisation=0.9, target=0.35, reason=ruling.reason
    )


ToolCase = tuple[Setup, str, bool, tuple[str, ...], int, int, Action, str]
TOOL_TABLE: list[ToolCase] = [
    (nothing, "bash", False, ("exec:cmd:ls",), 0, 0, Action.ALLOW, ""),
    (wallet(0.5), "bash", False, ("exec:cmd:ls",), 0, 0, Action.BLOCK, "shell"),
    (wallet(0.5), "fetch", True, ("net:egress:example.com",), 0, 0, Action.BLOCK, "network"),
    (wallet(0.5), "read_file", True, ("fs:read:a",), 4, 0, Action.ALLOW, ""),
    (wallet(0.5), "read_file", True, ("fs:read:a",), 5, 0, Action.BLOCK, "tool_execution"),  # hustle: 5 per tick
    (wallet(0.5), "write_file", False, ("fs:write:a",), 2, 1, Action.ALLOW, ""),
    (wallet(0.5), "write_file", False, ("fs:write:a",), 2, 2, Action.BLOCK, "file_write"),  # 2 mutations per tick
    (wallet(0.0), "read_file", True, ("fs:read:a",), 0, 0, Action.BLOCK, "tool_execution"),
    (wallet(1.5), "fetch", True, ("net:egress:example.com",), 0, 0, Action.WARN, "speculative_research"),
    (
        outcomes(True, True, False, False, False),
        "memory_write",
        False,
        ("memory:write:session",),
        0,
        0,
        Action.BLOCK,
        "file_write",
    ),
    (outcomes(True, True, False, False, False), "deploy", False, (), 0, 0, Action.BLOCK, "tool_execution"),
    (outcomes(True, True, False, False, False), "grep", True, ("fs:read:.",), 0, 0, Action.ALLOW, ""),
]


@pytest.mark.parametrize(("setup", "name", "read_only", "caps", "calls", "mutations", "action", "gate"), TOOL_TABLE)
def test_tool_verdicts(
    setup: Setup,
    name: str,
    read_only: bool,
    caps: tuple[str, ...],
    calls: int,
    mutations: int,
    action: Action,
    gate: str,
) -> None:
    controller = Controller()
    state = state_with(setup)
    profile = controller.evaluate(state).profile
    verdict = controller.tool_decision(
        state, profile, name, read_only, caps, call_signature(name, {}), calls, mutations
    )
    assert (verdict.action, verdict.gate) == (action, gate)
    if action is not Action.ALLOW:
        assert verdict.reason and verdict.rules


def test_the_third_identical_call_is_blocked_and_a_different_one_is_not() -> None:
    controller = Controller()
    signature = call_signature("grep", {"pattern": "x"})
    for count, expected in [(1, Action.ALLOW), (2, Action.ALLOW), (3, Action.BLOCK), (4, Action.BLOCK)]:
        state = state_with(repeats(count))
        profile = controller.evaluate(state).profile
        verdict = controller.tool_decision(state, profile, "grep", True, (), signature, 0, 0)
        assert verdict.action is expected, count
    other = call_signature("grep", {"pattern": "y"})
    state = state_with(repeats(3))
    state.recent_calls.append(other)
    state.repeat_count = 1
    assert (
        controller.tool_decision(state, controller.evaluate(state).profile, "grep", True, (), other, 0, 0).action
        is Action.ALLOW
    )


def test_gating_profile_action_defaults_to_allow() -> None:
    assert GatingProfile().action("no_such_gate") is Action.ALLOW
