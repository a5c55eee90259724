"""What each homeostasis gauge shows: its value, its fill and its level, from a HomeostaticState.

Pure and Textual-free so the thresholds are tested as plain data: a level is ``ok``, ``warn`` or
``critical`` (``idle`` for a gauge with nothing to judge yet) and the widget maps levels to CSS classes
whose colours are theme variables. The thresholds follow the regulator's own cut points where it has
them (context rulings, evaluation labels, economic modes) so the colours change where behaviour does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from life_tui.homeostasis.state import ContextRuling, EconomicMode, HomeostaticState
from life_tui.kernel.state import OperatingMode
from life_tui.tui.widgets import figures


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    CRITICAL = "critical"
    IDLE = "idle"
    """Nothing to judge yet (no outcomes, no runs, an unmetered wallet)."""
    INFO = "info"
    """A figure that is shown but never judged (uptime, burn)."""


@dataclass(frozen=True)
class Threshold:
    """Cut points of a value; ``rising`` means higher is worse (error rate), else lower is worse (quality)."""

    warn: float
    critical: float
    rising: bool = True

    def level(self, value: float) -> Level:
        if self.rising:
            return Level.CRITICAL if value >= self.critical else Level.WARN if value >= self.warn else Level.OK
        return Level.CRITICAL if value < self.critical else Level.WARN if value < self.warn else Level.OK


ERROR_RATE = Threshold(warn=0.2, critical=0.5)
LATENCY_P95_MS = Threshold(warn=10_000.0, critical=30_000.0)
MEMORY_PRESSURE = Threshold(warn=0.7, critical=0.9)
CONFIDENCE = Threshold(warn=0.5, critical=0.25, rising=False)
COMPLETION = Threshold(warn=0.8, critical=0.5, rising=False)
QUALITY = Threshold(warn=0.8, critical=0.5, rising=False)
"""The inline evaluators' labels: good >= 0.8, warning >= 0.5, critical below."""
BUDGET_USE = Threshold(warn=0.75, critical=0.9)
"""The most used of the run's limits (the fold's ``budget_used_fraction``)."""
RUNWAY_HOURS = Threshold(warn=24.0, critical=1.0, rising=False)

RULING_LEVEL = {
    ContextRuling.BREATHE: Level.OK,
    ContextRuling.DILATE: Level.WARN,
    ContextRuling.COMPRESS: Level.CRITICAL,
    ContextRuling.EMERGENCY: Level.CRITICAL,
}
ECONOMIC_LEVEL = {
    EconomicMode.SOVEREIGN: Level.OK,
    EconomicMode.CONSERVING: Level.WARN,
    EconomicMode.HUSTLE: Level.WARN,
    EconomicMode.HIBERNATE: Level.CRITICAL,
}
OPERATING_LEVEL = {
    OperatingMode.EXPLORE: Level.OK,
    OperatingMode.EXECUTE: Level.OK,
    OperatingMode.VERIFY: Level.OK,
    OperatingMode.RECOVER: Level.CRITICAL,
    OperatingMode.ASK_HUMAN: Level.WARN,
    OperatingMode.SLEEP: Level.IDLE,
}


@dataclass(frozen=True)
class Reading:
    """One gauge line: ``fraction`` fills the bar (None: a text-only gauge); ``sample`` feeds the trend."""

    key: str
    label: str
    text: str
    level: Level
    fraction: float | None = None
    sample: float | None = None
    scale: tuple[float, float] | None = (0.0, 1.0)
    """The trend's fixed scale; None: the trend scales to its own recent values."""


def _fraction(key: str, label: str, value: float, threshold: Threshold, note: str = "") -> Reading:
    text = figures.percent(value) + (f" {note}" if note else "")
    return Reading(key, label, text, threshold.level(value), fraction=min(max(value, 0.0), 1.0), sample=value)


def operational(state: HomeostaticState) -> list[Reading]:
    ops = state.operational
    outcomes = ops.total_errors + ops.total_successes
    error_level = ERROR_RATE.level(ops.error_rate) if outcomes else Level.IDLE
    latency_text = (
        " ".join(
            f"{name} {figures.duration_ms(ms)}"
            for name, ms in (("p50", ops.latency_p50_ms), ("p95", ops.latency_p95_ms), ("p99", ops.latency_p99_ms))
        )
        if ops.latencies_ms
        else "no calls yet"
    )
    latency_level = LATENCY_P95_MS.level(ops.latency_p95_ms) if ops.latencies_ms else Level.IDLE
    return [
        Reading("error_rate", "errors", figures.percent(ops.error_rate), error_level, ops.error_rate, ops.error_rate),
        Reading("latency", "latency", latency_text, latency_level, None, ops.latency_p95_ms, scale=None),
        Reading("uptime", "uptime", figures.duration_s(ops.uptime_s), Level.INFO, None, None),
    ]


def cognitive(state: HomeostaticState) -> list[Reading]:
    cog = state.cognitive
    context = Reading(
        "context",
        "context",
        f"{figures.percent(cog.context_utilisation)} {cog.ruling.value}",
        RULING_LEVEL[cog.ruling],
        min(max(cog.context_utilisation, 0.0), 1.0),
        cog.context_utilisation,
    )
    completion = _fraction("completion", "completion", cog.completion_rate, COMPLETION)
    if not cog.runs_finished:
        completion = Reading("completion", "completion", "no runs yet", Level.IDLE, None, None)
    quality = _fraction("quality", "quality", cog.quality, QUALITY)
    if not cog.evaluations:
        quality = Reading("quality", "quality", "not scored", Level.IDLE, None, None)
    return [
        context,
        _fraction("memory", "memory", cog.memory_pressure, MEMORY_PRESSURE),
        _fraction("confidence", "confidence", cog.confidence, CONFIDENCE),
        completion,
        quality,
    ]


def economic(state: HomeostaticState) -> list[Reading]:
    eco = state.economic
    mode_level = ECONOMIC_LEVEL[eco.mode]
    balance_level = Level.IDLE if eco.balance_micro is None else mode_level
    balance_sample = None if eco.balance_micro is None else eco.balance_micro / figures.MICRO_PER_USD
    runway_level = (
        Level.IDLE
        if eco.balance_micro is None
        else Level.OK
        if eco.runway_hours is None
        else RUNWAY_HOURS.level(eco.runway_hours)
    )
    burn = f"{figures.money(eco.burn_per_hour_micro)}/h"
    if eco.reserved_micro:
        burn += f" ({figures.money(eco.reserved_micro)} reserved)"
    return [
        Reading("balance", "balance", figures.money(eco.balance_micro), balance_level, None, balance_sample, None),
        Reading("burn", "burn", burn, Level.INFO, None, eco.burn_per_hour_micro / figures.MICRO_PER_USD, None),
        Reading("runway", "runway", figures.runway(eco.runway_hours), runway_level, None, None),
    ]


def regulation(state: HomeostaticState) -> list[Reading]:
    cog = state.cognitive
    if not cog.run_limits:
        budget_reading = Reading("budget", "budget", "no run yet", Level.IDLE, None, None)
    else:
        used = cog.budget_used_fraction
        budget_reading = Reading(
            "budget", "budget", f"{figures.percent(used)} used", BUDGET_USE.level(used), used, used
        )
    mode = state.operating_mode
    return [
        Reading("operating_mode", "mode", mode.value.replace("_", " "), OPERATING_LEVEL[mode]),
        Reading("economic_mode", "economy", state.economic.mode.value, ECONOMIC_LEVEL[state.economic.mode]),
        budget_reading,
    ]


SECTIONS = ("operational", "cognitive", "economic", "regulation")


def readings(state: HomeostaticState) -> dict[str, list[Reading]]:
    """Every gauge, grouped by pillar (and the regulation summary), in display order."""
    return {
        "operational": operational(state),
        "cognitive": cognitive(state),
        "economic": economic(state),
        "regulation": regulation(state),
    }
