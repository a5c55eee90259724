"""Hysteresis gate, economic modes and context rulings: table-driven transitions, hold time, no flapping."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from life_tui.homeostasis.controller import Controller
from life_tui.homeostasis.fold import HomeostasisProjection
from life_tui.homeostasis.hysteresis import HysteresisGate
from life_tui.homeostasis.modes import ModeThresholds, decide_mode, decide_ruling
from life_tui.homeostasis.state import ContextRuling, Economic, EconomicMode, HomeostaticState
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Event, encode_payload

T0 = 1_700_000_000_000_000
SECOND = 1_000_000
BURN_PER_HOUR = 1_000
MONTHLY = BURN_PER_HOUR * 720


# ------------------------------------------------------------------------------------------ the gate
def test_gate_switches_on_at_enter_and_off_only_at_exit() -> None:
    gate = HysteresisGate(enter=0.6, exit=0.45)
    readings = [0.5, 0.6, 0.5, 0.46, 0.45, 0.59, 0.6]
    states = []
    for i, metric in enumerate(readings):
        gate = gate.step(metric, i)
        states.append(gate.active)
    assert states == [False, True, True, True, False, False, True]


def test_gate_holds_its_position_for_the_minimum_time() -> None:
    gate = HysteresisGate(enter=1.0, exit=0.0, min_hold_us=30 * SECOND).step(1.0, T0)
    assert gate.active and gate.last_transition_us == T0
    assert gate.evaluate(-1.0, T0 + 29 * SECOND) is True  # too soon
    assert gate.evaluate(-1.0, T0 + 30 * SECOND) is False


def test_gate_is_immutable_and_validates_thresholds() -> None:
    gate = HysteresisGate(enter=0.6, exit=0.45)
    assert gate.step(0.9, 1) is not gate and gate.active is False
    with pytest.raises(ValueError, match="exit < enter"):
        HysteresisGate(enter=0.5, exit=0.5)


def test_gate_on_an_oscillating_metric_switches_once_per_hold() -> None:
    gate = HysteresisGate(enter=0.6, exit=0.45, min_hold_us=10 * SECOND)
    switches = 0
    for i in range(100):  # 0.4 / 0.7 every second for 100 s
        after = gate.step(0.7 if i % 2 else 0.4, i * SECOND)
        switches += after.active is not gate.active
        gate = after
    assert 9 <= switches <= 11  # one per 10 s hold, not 100


# ----------------------------------------------------------------------------------- economic modes
def econ(
    ratio: float | None, mode: EconomicMode = EconomicMode.SOVEREIGN, since: int = 0, balance: int | None = None
) -> Economic:
    if ratio is None:
        return Economic(mode=mode, mode_since_us=since, balance_micro=balance, burn_per_hour_micro=0)
    return Economic(
        mode=mode,
        mode_since_us=since,
        balance_micro=round(ratio * MONTHLY) if balance is None else balance,
        burn_per_hour_micro=BURN_PER_HOUR,
        monthly_burn_micro=MONTHLY,
    )


S, C, H, Z = EconomicMode.SOVEREIGN, EconomicMode.CONSERVING, EconomicMode.HUSTLE, EconomicMode.HIBERNATE


@pytest.mark.parametrize(
    ("current", "ratio", "expected"),
    [
        (S, None, S),  # no burn: infinite ratio
        (S, 5.0, S),
        (S, 2.1, S),
        (S, 2.0, C),  # enter conserving at 2.0 and below
        (S, 1.5, C),
        (S, 0.5, H),  # straight to hustle
        (C, 2.1, C),  # inside the hysteresis band: stays
        (C, 2.2, S),  # leaves conserving at 2.2
        (C, 1.0, H),
        (C, 0.99, H),
        (H, 1.05, H),  # band 1.0-1.1
        (H, 1.1, C),
        (H, 1.5, C),
        (H, 3.0, S),  # straight up to sovereign
        (Z, 0.5, H),  # funded again: out of hibernation
        (Z, 1.5, C),
    ],
)
def test_mode_transitions(current: EconomicMode, ratio: float | None, expected: EconomicMode) -> None:
    assert decide_mode(econ(ratio, current), T0).mode is expected


@pytest.mark.parametrize("current", [S, C, H, Z])
@pytest.mark.parametrize("balance", [0, -5])
def test_hibernate_is_entered_at_once_at_or_below_zero(current: EconomicMode, balance: int) -> None:
    recent = T0 - SECOND  # a mode change a second ago does not delay hibernation
    decision = decide_mode(econ(1.0, current, since=recent, balance=balance), T0)
    assert decision.mode is Z and "hibernating" in decision.reason


def test_unmetered_wallet_is_sovereign_and_zero_balance_without_burn_hibernates() -> None:
    assert decide_mode(econ(None, S, balance=None), T0).mode is S
    assert decide_mode(econ(None, S, balance=0), T0).mode is Z


@pytest.mark.parametrize(("current", "ratio", "target"), [(S, 1.5, C), (C, 3.0, S), (H, 3.0, S), (Z, 3.0, S)])
def test_min_hold_time_delays_every_move_but_hibernation(
    current: EconomicMode, ratio: float, target: EconomicMode
) -> None:
    e = econ(ratio, current, since=T0)
    assert decide_mode(e, T0 + 29 * SECOND).mode is current
    assert "holding" in decide_mode(e, T0 + 29 * SECOND).reason
    assert decide_mode(e, T0 + 30 * SECOND).mode is target


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        ModeThresholds(conserving_enter=2.0, conserving_exit=1.9)


class Driver:
    """A session's finance events through the fold and the controller, recording the controller's
    transitions as events, the way the runtime adapter does."""

    def __init__(self) -> None:
        self.projection = HomeostasisProjection()
        self.state = self.projection.initial()
        self.controller = Controller()
        self.seq = 0
        self.changes: list[dict[str, Any]] = []

    def event(self, payload: k.Payload, t: int) -> None:
        self.seq += 1
        e = Event(f"e{self.seq}", "s", "main", self.seq, payload.KIND, t, payload=encode_payload(payload))
        self.state = self.projection.apply(self.state, e)

    def balance(self, balance: int, t: int) -> None:
        self.event(
            k.CostSettled(
                reservation_id=f"r{self.seq}",
                amount_micro=0,
                model="m",
                balance_after_micro=balance,
                burn_per_hour_micro=BURN_PER_HOUR,
            ),
            t,
        )
        for transition in self.controller.evaluate(self.state).transitions:
            if isinstance(transition, k.EconomicModeChanged):
                self.changes.append({"t": t, "mode": transition.mode})
            self.event(transition, t)


def test_a_balance_oscillating_inside_the_band_changes_the_mode_once() -> None:
    driver = Driver()
    for i in range(300):  # 1.9x / 2.1x monthly burn, every second for five minutes
        driver.balance(round((2.1 if i % 2 else 1.9) * MONTHLY), T0 + i * SECOND)
    assert [c["mode"] for c in driver.changes] == ["conserving"]


def test_a_balance_oscillating_across_the_band_is_held_at_most_once_per_hold_time() -> None:
    driver = Driver()
    for i in range(300):  # 1.9x / 2.5x: each reading crosses a threshold, but the mode waits 30 s
        driver.balance(round((2.5 if i % 2 else 1.9) * MONTHLY), T0 + i * SECOND)
    times = [c["t"] for c in driver.changes]
    assert 1 <= len(times) <= 300 // 30 + 1
    assert all(b - a >= 30 * SECOND for a, b in itertools.pairwise(times))


def test_draining_balance_walks_down_every_mode_in_order() -> None:
    driver = Driver()
    for i, ratio in enumerate([3.0, 1.8, 1.8, 0.9, 0.9, 0.0]):
        driver.balance(round(ratio * MONTHLY), T0 + i * 31 * SECOND)
    assert [c["mode"] for c in driver.changes] == ["conserving", "hustle", "hibernate"]
    assert driver.state.economic.mode is EconomicMode.HIBERNATE


# ---------------------------------------------------------------------------------------- rulings
def with_context(u: float, **cognitive: Any) -> HomeostaticState:
    state = HomeostaticState()
    state.cognitive.context_utilisation = u
    for name, value in cognitive.items():
        setattr(state.cognitive, name, value)
    return state


@pytest.mark.parametrize(
    ("u", "ruling", "target"),
    [
        (0.10, ContextRuling.BREATHE, None),
        (0.59, ContextRuling.BREATHE, None),
        (0.60, ContextRuling.DILATE, None),  # soft zone, quality good
        (0.84, ContextRuling.DILATE, None),
        (0.85, ContextRuling.COMPRESS, 0.35),
        (0.94, ContextRuling.COMPRESS, 0.35),
        (0.95, ContextRuling.EMERGENCY, 0.25),
        (1.00, ContextRuling.EMERGENCY, 0.25),
    ],
)
def test_context_rulings_at_their_thresholds(u: float, ruling: ContextRuling, target: float | None) -> None:
    decision = decide_ruling(with_context(u))
    assert (decision.ruling, decision.target) == (ruling, target)


@pytest.mark.parametrize(
    ("cognitive", "streak", "ruling"),
    [
        ({}, 2, ContextRuling.COMPRESS),  # error streak >= 2
        ({"quality": 0.6}, 0, ContextRuling.COMPRESS),  # quality below 0.65
        ({"quality_trend": -0.05}, 0, ContextRuling.COMPRESS),  # quality falling
        ({"turns_since_compact": 15, "tool_density": 1.0}, 0, ContextRuling.COMPRESS),
        ({"tool_density": 2.5, "quality": 0.7}, 0, ContextRuling.DILATE),  # deep work
        ({"quality": 0.7}, 0, ContextRuling.BREATHE),  # nothing to act on
    ],
)
def test_soft_zone_rules(cognitive: dict[str, Any], streak: int, ruling: ContextRuling) -> None:
    state = with_context(0.7, **cognitive)
    state.operational.error_streak = streak
    assert decide_ruling(state).ruling is ruling


def test_dilation_gate_has_hysteresis_between_045_and_060() -> None:
    assert decide_ruling(with_context(0.5)).ruling is ContextRuling.BREATHE  # below 0.60: not yet in the zone
    assert decide_ruling(with_context(0.5, ruling=ContextRuling.DILATE)).ruling is ContextRuling.DILATE  # stays in
    assert decide_ruling(with_context(0.45, ruling=ContextRuling.DILATE)).ruling is ContextRuling.BREATHE
