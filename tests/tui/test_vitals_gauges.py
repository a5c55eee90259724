"""The homeostasis gauges: readings and thresholds, colour classes, trends sampled at tick boundaries,
and replay (a reset with fewer events shows the earlier state). The pane folds with the controller's own
projection, so these events are the ones the loop records."""

from __future__ import annotations

from textual.app import App, ComposeResult
from vitals_support import EventMaker, context

from life_tui.homeostasis.state import (
    Cognitive,
    ContextRuling,
    Economic,
    EconomicMode,
    HomeostaticState,
    Operational,
)
from life_tui.kernel.event import Event
from life_tui.kernel.state import OperatingMode
from life_tui.tui.widgets.gauge_readings import ERROR_RATE, QUALITY, Level, Reading, readings
from life_tui.tui.widgets.gauges import GaugesPane
from life_tui.tui.widgets.sparkline import sparkline

WINDOW = 1000
"""A small context window, so a few hundred tokens move the context gauge."""


class GaugesApp(App[None]):
    def compose(self) -> ComposeResult:
        yield GaugesPane(id="gauges")


def by_key(state: HomeostaticState) -> dict[str, Reading]:
    return {r.key: r for section in readings(state).values() for r in section}


def test_thresholds_split_levels_at_their_cut_points() -> None:
    assert [ERROR_RATE.level(v) for v in (0.0, 0.19, 0.2, 0.49, 0.5)] == [
        Level.OK,
        Level.OK,
        Level.WARN,
        Level.WARN,
        Level.CRITICAL,
    ]
    assert [QUALITY.level(v) for v in (1.0, 0.8, 0.79, 0.5, 0.49)] == [
        Level.OK,
        Level.OK,
        Level.WARN,
        Level.WARN,
        Level.CRITICAL,
    ]


def test_readings_follow_the_regulators_own_rulings_and_modes() -> None:
    state = HomeostaticState(
        operational=Operational(error_rate=0.25, total_errors=1, total_successes=3, latencies_ms=[100.0]),
        cognitive=Cognitive(
            context_utilisation=0.9,
            ruling=ContextRuling.COMPRESS,
            runs_finished=2,
            completion_rate=0.5,
            run_limits={"tokens": 100.0},
            budget_used_fraction=0.95,
        ),
        economic=Economic(
            mode=EconomicMode.HIBERNATE, balance_micro=0, runway_hours=0.0, burn_per_hour_micro=2_500_000
        ),
        operating_mode=OperatingMode.RECOVER,
    )
    shown = by_key(state)
    levels = {key: reading.level for key, reading in shown.items()}
    assert levels["error_rate"] is Level.WARN
    assert levels["context"] is Level.CRITICAL
    assert shown["context"].text == "90% compress"
    assert levels["completion"] is Level.WARN
    assert levels["balance"] is Level.CRITICAL
    assert levels["runway"] is Level.CRITICAL
    assert levels["operating_mode"] is Level.CRITICAL
    assert (levels["budget"], shown["budget"].text) == (Level.CRITICAL, "95% used")
    assert shown["burn"].text == "$2.50/h"
    assert levels["quality"] is Level.IDLE  # nothing scored yet: no colour claims
    fresh = by_key(HomeostaticState())
    assert (fresh["budget"].level, fresh["error_rate"].level, fresh["balance"].text) == (
        Level.IDLE,
        Level.IDLE,
        "unmetered",
    )


def test_sparkline_draws_one_cell_per_sample_on_a_fixed_scale() -> None:
    assert sparkline([0.0, 0.5, 1.0], 5, low=0.0, high=1.0) == "  ▁▅█"
    assert sparkline([0.5, 0.5], 2, low=0.0, high=1.0) == "▅▅"  # steady stays level, not rescaled
    assert sparkline(range(20), 4) == "▁▃▆█"  # only the newest values
    assert sparkline([], 3) == "   "


async def test_gauge_colour_classes_change_at_thresholds() -> None:
    app = GaugesApp()
    async with app.run_test(size=(60, 30)) as pilot:
        pane = app.query_one(GaugesPane)
        pane.show(HomeostaticState(operational=Operational(error_rate=0.1, total_successes=9, total_errors=1)))
        await pilot.pause()
        errors = pane.gauge("error_rate")
        assert errors.has_class("-ok") and not errors.has_class("-critical")
        pane.show(HomeostaticState(operational=Operational(error_rate=0.6, total_successes=4, total_errors=6)))
        await pilot.pause()
        assert errors.has_class("-critical") and not errors.has_class("-ok")
        line = errors.render().plain
        assert line.startswith("errors") and "60%" in line
        bar = line[11:].split(" ")[0]
        assert set(bar) == {"━"} and len(bar) > 10


def run_events(maker: EventMaker, run_id: str, outcomes: list[bool], input_tokens: list[int]) -> list[Event]:
    """One run as the loop records it: per tick a provider call, a tool outcome and a budget update."""
    events = [maker.start_run(run_id, limits={"tokens": 1000.0, "cost_usd": 1.0})]
    for tick, (ok, used) in enumerate(zip(outcomes, input_tokens, strict=True), start=1):
        events.append(maker("phase.entered", {"phase": "provider", "tick": tick}))
        events.append(maker("assistant.message", {"content": "", "usage": {"input_tokens": used}}))
        kind = "tool.call_completed" if ok else "tool.call_failed"
        events.append(maker(kind, {"call_id": f"c{tick}", "tool_name": "t", "error": "boom"}))
        events.append(maker("budget.updated", {"budget": {"tokens_remaining": WINDOW - used}}))
    events.append(maker("run.finished", {"reason": "final_answer"}))
    return events


async def test_trends_sample_at_tick_boundaries_whatever_the_batching() -> None:
    maker = EventMaker()
    events = run_events(maker, "run-1", [True, False, False, True], [100, 300, 600, 800])
    app = GaugesApp()
    async with app.run_test(size=(60, 30)) as pilot:
        pane = app.query_one(GaugesPane)
        pane.reset(events[:1], context(context_window=WINDOW))
        for event in events[1:]:
            pane.apply([event])  # live: one event per delivery
        await pilot.pause()
        live_trend = pane.model.trend("context")
        live_text = pane.gauge("context").trend_text()
        assert live_trend == (0.1, 0.3, 0.6, 0.8, 0.8)  # 4 ticks + run.finished
        assert pane.gauge("budget").reading.text == "80% used"
        assert pane.gauge("budget").has_class("-warn")
        assert pane.gauge("completion").reading.text == "100%"
        pane.reset(events, context(context_window=WINDOW))  # reopened: everything in one batch
        await pilot.pause()
        assert pane.model.trend("context") == live_trend
        assert pane.gauge("context").trend_text() == live_text == "   ▁▃▅▇▇"


async def test_replay_reset_shows_the_state_at_the_replay_point() -> None:
    maker = EventMaker()
    events = run_events(maker, "run-1", [True, False, False, False], [100, 200, 300, 400])
    app = GaugesApp()
    async with app.run_test(size=(60, 30)) as pilot:
        pane = app.query_one(GaugesPane)
        pane.reset(events, context(context_window=WINDOW))
        await pilot.pause()
        assert pane.gauge("error_rate").reading.text == "38%"  # 3 failed tools of 8 outcomes
        assert pane.gauge("error_rate").has_class("-warn")
        assert len(pane.model.trend("error_rate")) == 5
        pane.reset(events[:5], context(context_window=WINDOW))  # replay at the first tick's budget update
        await pilot.pause()
        assert pane.gauge("error_rate").has_class("-ok")
        assert pane.gauge("context").reading.text == "10% breathe"
        assert pane.model.trend("error_rate") == (0.0,)
        assert pane.gauge("completion").reading.level is Level.IDLE  # the run has not finished there
