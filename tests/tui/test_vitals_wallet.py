"""The wallet pane: branch and turn spend, reservations in flight, ledger lines, the balance from the
global wallet view or, without it, from the branch's own finance events; replay resets."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static
from vitals_support import SESSION, EventMaker, context

from life_tui.finance.view import Budget, WalletView
from life_tui.kernel.event import Event
from life_tui.tui.widgets.wallet import WalletPane


class WalletApp(App[None]):
    def compose(self) -> ComposeResult:
        yield WalletPane(id="wallet")


def text(app: WalletApp, widget_id: str) -> str:
    return str(app.query_one(f"#{widget_id}", Static).content)


def billed_runs(maker: EventMaker) -> list[Event]:
    """Two runs: the first settles $0.012 and $0.003, the second $0.020 and leaves a reservation open."""
    events = [maker.start_run("run-1")]
    events.append(maker("finance.reserved", {"reservation_id": "r1", "amount_micro": 50_000, "model": "m-large"}))
    events.append(
        maker(
            "finance.settled",
            {
                "reservation_id": "r1",
                "amount_micro": 12_000,
                "model": "m-large",
                "input_tokens": 1200,
                "output_tokens": 300,
                "balance_after_micro": 9_988_000,
                "burn_per_hour_micro": 2_000_000,
            },
        )
    )
    events.append(maker("finance.reserved", {"reservation_id": "r2", "amount_micro": 40_000, "model": "m-large"}))
    events.append(maker("finance.settled", {"reservation_id": "r2", "amount_micro": 3_000, "model": "m-large"}))
    events.append(maker("run.finished", {"reason": "final_answer"}))
    events.append(maker.start_run("run-2"))
    events.append(maker("finance.reserved", {"reservation_id": "r3", "amount_micro": 30_000, "model": "m-small"}))
    events.append(maker("finance.settled", {"reservation_id": "r3", "amount_micro": 20_000, "model": "m-small"}))
    events.append(maker("finance.reserved", {"reservation_id": "r4", "amount_micro": 60_000, "model": "m-small"}))
    events.append(maker("finance.reserved", {"reservation_id": "r5", "amount_micro": 70_000, "model": "m-small"}))
    events.append(maker("finance.released", {"reservation_id": "r5", "reason": "provider failed"}))
    events.append(
        maker("finance.refused", {"amount_micro": 90_000, "limit": "session", "available_micro": 1_000, "model": "m"})
    )
    return events


async def test_branch_and_turn_spend_in_flight_and_ledger_lines() -> None:
    app = WalletApp()
    async with app.run_test(size=(90, 30)) as pilot:
        pane = app.query_one(WalletPane)
        pane.reset(billed_runs(EventMaker()), context())
        await pilot.pause()
        assert (pane.ledger.spent_micro, pane.ledger.turn_spent_micro) == (35_000, 20_000)
        assert list(pane.ledger.in_flight) == ["r4"]
        summary = text(app, "wallet-summary")
        assert "branch $0.0350" in summary and "turn $0.0200" in summary
        assert "session -" in summary  # only the global wallet knows the other branches
        assert "balance  $9.99" in summary and "burn $2.00/h" in summary and "runway 4h59m" in summary
        assert "1 call(s) refused" in summary
        assert "$0.0600  m-small" in text(app, "wallet-in-flight")
        ledger = text(app, "wallet-ledger").splitlines()
        assert ledger[0].split()[1:3] == ["refused", "$0.0900"]  # newest first
        assert ledger[1].split()[1:3] == ["released", "$0.0700"]
        assert "1.2k in / 300 out" in ledger[-2]
        assert len(ledger) == 10


async def test_the_global_wallet_view_supplies_balance_session_spend_and_budgets() -> None:
    wallet = WalletView(
        funded=True,
        deposits_micro=20_000_000,
        balance_micro=5_000_000,
        burn_per_hour_micro=1_000_000,
        runway_hours=5.0,
        by_session={SESSION: 1_250_000},
        budgets=[Budget(scope="session", limit_micro=5_000_000, spent_micro=1_250_000, reserved_micro=0)],
    )
    app = WalletApp()
    async with app.run_test(size=(90, 30)) as pilot:
        pane = app.query_one(WalletPane)
        pane.reset(billed_runs(EventMaker()), context(wallet=wallet))
        await pilot.pause()
        summary = text(app, "wallet-summary")
        assert "balance  $5.00" in summary and "runway 5h00m" in summary
        assert "session $1.25" in summary and "branch $0.0350" in summary
        assert "session $1.25 of $5.00" in summary
        pane.show_wallet(WalletView(funded=False, by_session={SESSION: 2_000_000}))
        await pilot.pause()
        summary = text(app, "wallet-summary")
        assert "balance  unmetered" in summary and "session $2.00" in summary and "runway -" in summary


async def test_replay_reset_shows_the_ledger_at_the_replay_point() -> None:
    events = billed_runs(EventMaker())
    app = WalletApp()
    async with app.run_test(size=(90, 30)) as pilot:
        pane = app.query_one(WalletPane)
        pane.reset(events, context())
        pane.reset(events[:2], context())  # replay just after the first reservation
        await pilot.pause()
        assert pane.ledger.spent_micro == 0
        assert list(pane.ledger.in_flight) == ["r1"]
        assert "balance  unmetered" in text(app, "wallet-summary")
        assert len(text(app, "wallet-ledger").splitlines()) == 1
        pane.apply(events[2:3])
        await pilot.pause()
        assert "nothing reserved" in text(app, "wallet-in-flight")
        assert "branch $0.0120" in text(app, "wallet-summary")


async def test_an_empty_branch_says_so() -> None:
    app = WalletApp()
    async with app.run_test(size=(60, 20)) as pilot:
        app.query_one(WalletPane).reset([], context())
        await pilot.pause()
        assert "no spend on this branch yet" in text(app, "wallet-ledger")
        assert "branch $0.00" in text(app, "wallet-summary")
