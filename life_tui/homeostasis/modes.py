"""Which economic mode and which context ruling the folded state calls for (life-system §5.4-5.5).

Both are decisions with memory: the economic mode moves through hysteresis gates (an entry and an exit
ratio per boundary and a minimum hold time of event time) so a balance hovering at a boundary cannot make
it flap, and the context ruling's soft zone has its own dilation gate (0.60 in, 0.45 out). The memory is the
mode or ruling currently in force, which the fold only changes when the controller's transition event is
recorded; these functions read it and answer what it should be now. Apart from the rules so the thresholds
can be tested on their own, table by table.
"""

from __future__ import annotations

import msgspec

from life_tui.homeostasis.hysteresis import HysteresisGate
from life_tui.homeostasis.state import ContextRuling, Economic, EconomicMode, HomeostaticState

SEVERITY: dict[EconomicMode, int] = {
    EconomicMode.SOVEREIGN: 0,
    EconomicMode.CONSERVING: 1,
    EconomicMode.HUSTLE: 2,
    EconomicMode.HIBERNATE: 3,
}


class ModeThresholds(msgspec.Struct, frozen=True, kw_only=True):
    """Ratios of balance over monthly burn: a mode is entered at or below ``*_enter`` and left above
    ``*_exit``; no move (but into hibernate) within ``min_hold_us`` of the last one."""

    conserving_enter: float = 2.0
    conserving_exit: float = 2.2
    hustle_enter: float = 1.0
    hustle_exit: float = 1.1
    min_hold_us: int = 30_000_000

    def __post_init__(self) -> None:
        if not 0 < self.hustle_enter < self.hustle_exit <= self.conserving_enter < self.conserving_exit:
            raise ValueError("mode thresholds must satisfy 0 < hustle_enter < hustle_exit <= conserving_enter < exit")


DEFAULT_MODE_THRESHOLDS = ModeThresholds()


class ModeDecision(msgspec.Struct, frozen=True, kw_only=True):
    mode: EconomicMode
    ratio: float | None
    """Balance over monthly burn (None: infinite, or an unmetered wallet)."""
    reason: str


def economic_ratio(econ: Economic) -> float | None:
    """Balance over monthly burn; None when it is infinite (no burn, or an unmetered wallet)."""
    if econ.balance_micro is None or econ.monthly_burn_micro <= 0:
        return None
    return econ.balance_micro / econ.monthly_burn_micro


def _describe(ratio: float | None) -> str:
    return "no burn rate or an unmetered wallet (infinite runway)" if ratio is None else f"{ratio:.2f}x monthly burn"


def decide_mode(econ: Economic, now_us: int, thresholds: ModeThresholds = DEFAULT_MODE_THRESHOLDS) -> ModeDecision:
    """The mode the wallet calls for now, given the mode in force and when it was entered."""
    ratio = economic_ratio(econ)
    current = econ.mode
    if econ.balance_micro is not None and econ.balance_micro <= 0:
        reason = f"the balance is {econ.balance_micro} µc: hibernating until the wallet is funded"
        return ModeDecision(mode=EconomicMode.HIBERNATE, ratio=ratio, reason=reason)
    pressure = 0.0 if ratio is None else 1.0 / ratio
    since = econ.mode_since_us if econ.mode_since_us > 0 else None
    wanted = _gated_mode(current, pressure, thresholds, since=None, now_us=now_us)
    target = _gated_mode(current, pressure, thresholds, since=since, now_us=now_us)
    if target is current:
        reason = f"{current.value}: {_describe(ratio)}"
        if wanted is not current:
            reason += f" (holding: the last mode change was too recent to move to {wanted.value})"
    else:
        direction = "fell" if SEVERITY[target] > SEVERITY[current] else "rose"
        reason = f"{current.value} -> {target.value}: the balance {direction} to {_describe(ratio)}"
    return ModeDecision(mode=target, ratio=ratio, reason=reason)


def _gated_mode(
    current: EconomicMode, pressure: float, thresholds: ModeThresholds, *, since: int | None, now_us: int
) -> EconomicMode:
    """The mode after the two boundary gates see ``pressure`` (monthly burn over balance); ``since`` None
    ignores the hold time. Leaving hibernate (the balance is positive again) waits for the hold too."""
    severity = SEVERITY[current]
    conserving = HysteresisGate(
        enter=1 / thresholds.conserving_enter,
        exit=1 / thresholds.conserving_exit,
        min_hold_us=thresholds.min_hold_us,
        active=severity >= 1,
        last_transition_us=since,
    )
    if not conserving.held(now_us):
        return current
    hustle = HysteresisGate(
        enter=1 / thresholds.hustle_enter,
        exit=1 / thresholds.hustle_exit,
        min_hold_us=thresholds.min_hold_us,
        active=severity >= 2,
        last_transition_us=since,
    )
    if hustle.evaluate(pressure, now_us):
        return EconomicMode.HUSTLE
    return EconomicMode.CONSERVING if conserving.evaluate(pressure, now_us) else EconomicMode.SOVEREIGN


class RulingThresholds(msgspec.Struct, frozen=True, kw_only=True):
    soft: float = 0.60
    soft_exit: float = 0.45
    compress: float = 0.85
    emergency: float = 0.95
    compress_target: float = 0.35
    emergency_target: float = 0.25


DEFAULT_RULING_THRESHOLDS = RulingThresholds()


class RulingDecision(msgspec.Struct, frozen=True, kw_only=True):
    ruling: ContextRuling
    target: float | None
    """Compact toward this fraction of the window (compress, emergency)."""
    reason: str


def decide_ruling(state: HomeostaticState, thresholds: RulingThresholds = DEFAULT_RULING_THRESHOLDS) -> RulingDecision:
    """Breathe / dilate / compress / emergency from context utilisation and, in the soft zone, from the
    error streak, the quality of recent work and how deep the work is (tool density)."""
    cog = state.cognitive
    u = cog.context_utilisation
    pct = f"context at {u:.0%} of the window"
    if u >= thresholds.emergency:
        return RulingDecision(ruling=ContextRuling.EMERGENCY, target=thresholds.emergency_target, reason=pct)
    if u >= thresholds.compress:
        return RulingDecision(ruling=ContextRuling.COMPRESS, target=thresholds.compress_target, reason=pct)
    dilation = HysteresisGate(
        enter=thresholds.soft, exit=thresholds.soft_exit, active=cog.ruling != ContextRuling.BREATHE
    )
    if not dilation.evaluate(u, state.last_event_us):
        return RulingDecision(ruling=ContextRuling.BREATHE, target=None, reason=pct)

    def compress(why: str) -> RulingDecision:
        return RulingDecision(ruling=ContextRuling.COMPRESS, target=thresholds.compress_target, reason=f"{pct}, {why}")

    if state.operational.error_streak >= 2:
        return compress(f"{state.operational.error_streak} errors in a row")
    if cog.quality_trend < -0.02 or cog.quality < 0.65:
        return compress(f"quality is falling ({cog.quality:.2f}, trend {cog.quality_trend:+.3f})")
    if cog.turns_since_compact >= 15 and cog.tool_density < 2.0:
        return compress(f"{cog.turns_since_compact} turns since the last compaction")
    if cog.tool_density >= 2.0 and cog.quality_trend >= 0:
        return RulingDecision(ruling=ContextRuling.DILATE, target=None, reason=f"{pct}, deep work (tool density)")
    if cog.quality_trend >= 0 and cog.quality >= 0.75:
        return RulingDecision(ruling=ContextRuling.DILATE, target=None, reason=f"{pct}, work is going well")
    return RulingDecision(ruling=ContextRuling.BREATHE, target=None, reason=pct)
