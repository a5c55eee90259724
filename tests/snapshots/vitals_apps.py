"""Small apps showing one vitals pane each over hand-made events (fixed ids and times), for snapshots."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.widget import Widget

from life_tui.finance.view import Budget, WalletView
from life_tui.kernel.event import Event, encode_payload
from life_tui.tui.panes import PaneContext
from life_tui.tui.widgets.gauges import GaugesPane
from life_tui.tui.widgets.traces import TracesPane
from life_tui.tui.widgets.wallet import WalletPane

T0_US = 1_763_683_200_000_000
SESSION = "01SNAPSHOTVITALS000000000"


class Events:
    """Numbered events of one branch, ``at_ms`` after T0."""

    def __init__(self) -> None:
        self.items: list[Event] = []
        self.run_id: str | None = None

    def add(self, kind: str, at_ms: float, **payload: Any) -> None:
        seq = len(self.items) + 1
        self.items.append(
            Event(
                f"01SNAPEVENT{seq:015d}",
                SESSION,
                "main",
                seq,
                kind,
                T0_US + round(at_ms * 1000),
                run_id=self.run_id,
                payload=encode_payload(payload),
            )
        )


def busy_session() -> list[Event]:
    """Two runs: tool failures and successes, rising context, billed calls, an open reservation."""
    ev = Events()
    clock = 0.0
    for run, (prompt, outcomes) in enumerate(
        [("summarise the repo", [True, False, True]), ("fix the failing test", [False, False, True, True])], start=1
    ):
        ev.run_id = f"run-{run}"
        ev.add("user.message", clock, content=prompt)
        ev.add("run.started", clock + 1, provider="scripted", model="demo", limits={"tokens": 20000.0, "cost_usd": 1.0})
        clock += 2
        for tick, ok in enumerate(outcomes, start=1):
            ev.add("phase.entered", clock, phase="context", tick=tick)
            ev.add("phase.entered", clock + 5, phase="provider", tick=tick)
            rid = f"res-{run}-{tick}"
            ev.add("finance.reserved", clock + 5, reservation_id=rid, amount_micro=40_000, model="demo-large")
            used = 3000 * (run + tick)
            cost = 2_000 * tick + 1_000 * run
            ev.add(
                "assistant.message",
                clock + 400 + 150 * tick,
                content="",
                model="demo-large",
                usage={"input_tokens": used, "output_tokens": 200},
                cost_usd=cost / 1_000_000,
                tool_calls=[{"id": f"c{run}{tick}", "name": "bash", "arguments": {}}],
            )
            ev.add(
                "finance.settled",
                clock + 401 + 150 * tick,
                reservation_id=rid,
                amount_micro=cost,
                model="demo-large",
                input_tokens=used,
                output_tokens=200,
                balance_after_micro=4_000_000 - 10_000 * (run * 4 + tick),
                burn_per_hour_micro=900_000,
            )
            clock += 410 + 150 * tick
            ev.add("phase.entered", clock, phase="tools", tick=tick)
            ev.add("tool.call_requested", clock + 1, call_id=f"c{run}{tick}", tool_name="bash", arguments={})
            ev.add("tool.call_started", clock + 2, call_id=f"c{run}{tick}", tool_name="bash", sandboxed=True)
            kind = "tool.call_completed" if ok else "tool.call_failed"
            ev.add(kind, clock + 250, call_id=f"c{run}{tick}", tool_name="bash", error="exit 1", duration_ms=248.0)
            clock += 260
            ev.add("phase.entered", clock, phase="persist", tick=tick)
            ev.add("budget.updated", clock + 1, budget={"tokens_remaining": 20000 - used, "cost_remaining_usd": 0.9})
            clock += 5
        ev.add("run.finished", clock, reason="final_answer", turns=len(outcomes))
        clock += 1000
    ev.add("finance.reserved", clock, reservation_id="res-open", amount_micro=40_000, model="demo-large")
    return ev.items


WALLET = WalletView(
    funded=True,
    deposits_micro=5_000_000,
    spent_micro=1_040_000,
    balance_micro=3_920_000,
    burn_per_hour_micro=900_000,
    runway_hours=3_920_000 / 900_000,
    by_session={SESSION: 62_000},
    budgets=[Budget(scope="day", limit_micro=2_000_000, spent_micro=1_040_000, reserved_micro=40_000)],
)


class PaneApp(App[None]):
    """One pane filling the screen, reset with :func:`busy_session`."""

    def __init__(self, pane: Widget, context: PaneContext | None = None) -> None:
        super().__init__()
        self.pane = pane
        self.context = context or PaneContext(session_id=SESSION, branch="main", context_window=40_000)

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_mount(self) -> None:
        self.pane.reset(busy_session(), self.context)  # type: ignore[attr-defined]


def gauges_app() -> PaneApp:
    return PaneApp(GaugesPane(id="gauges"))


def wallet_app() -> PaneApp:
    context = PaneContext(session_id=SESSION, branch="main", extras={"wallet": WALLET})
    return PaneApp(WalletPane(id="wallet"), context)


def traces_app() -> PaneApp:
    return PaneApp(TracesPane(id="traces"))
