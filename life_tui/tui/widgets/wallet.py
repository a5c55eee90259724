"""The wallet pane: balance, spend for the session / branch / turn, burn and runway, ledger, reservations.

Two sources, kept apart on purpose. The shown branch's ``finance.*`` events are folded here
(:class:`BranchLedger`): spend of the branch (inherited history included: what reaching this point cost),
of the latest turn, the reservations still in flight and the ledger lines, so replay mode shows them as
they were. The wallet as a whole (deposits, other sessions, day budgets) is not in the branch's events:
the app passes the global :class:`~life_tui.finance.view.WalletView` in ``PaneContext.extras["wallet"]``
(or later through :meth:`WalletPane.show_wallet`), and without it the balance and burn fall back to what
the branch's last reservation or settlement recorded.

A batch with no ``finance.*`` event and no new turn changes nothing here, so it draws nothing; a line
whose text is unchanged is not redrawn; and while the pane is off screen (another vitals tab, a hidden
side pane) it only folds, drawing once it is shown (issue 6: no frame over 50 ms while an answer streams).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from life_tui.finance.view import WalletView
from life_tui.kernel.event import Event
from life_tui.tui.panes import PaneContext
from life_tui.tui.widgets import figures
from life_tui.tui.widgets.redraw import show_content

LEDGER_LINES = 50
MODEL_CELLS = 18
FINANCE_PREFIX = "finance."


@dataclass(frozen=True)
class Line:
    """One ledger line of the branch."""

    seq: int
    occurred_at: int
    kind: str
    amount_micro: int
    model: str = ""
    note: str = ""


@dataclass
class Reserved:
    reservation_id: str
    amount_micro: int
    model: str
    run_id: str | None
    reserved_at: int


@dataclass
class BranchLedger:
    """The finance facts of one branch's events, folded in order."""

    spent_micro: int = 0
    by_run: dict[str, int] = field(default_factory=dict)
    last_run: str | None = None
    in_flight: dict[str, Reserved] = field(default_factory=dict)
    lines: deque[Line] = field(default_factory=lambda: deque(maxlen=LEDGER_LINES))
    balance_micro: int | None = None
    """The balance the branch's latest reservation or settlement recorded (None: never recorded)."""
    burn_per_hour_micro: int = 0
    refused: int = 0

    def apply(self, event: Event) -> bool:
        """Fold ``event``; True when it changed a figure or a line (a finance event, or a new turn)."""
        if event.kind == "run.started" and event.run_id:
            self.last_run = event.run_id
            return True
        if not event.kind.startswith(FINANCE_PREFIX):
            return False
        data = event.payload_dict()
        kind = event.kind.removeprefix(FINANCE_PREFIX)
        amount = int(data.get("amount_micro") or 0)
        model = str(data.get("model") or "")
        note = ""
        if kind == "reserved":
            rid = str(data.get("reservation_id", ""))
            self.in_flight[rid] = Reserved(rid, amount, model, event.run_id, event.occurred_at)
        elif kind == "settled":
            self.in_flight.pop(str(data.get("reservation_id", "")), None)
            self.spent_micro += amount
            if event.run_id:
                self.by_run[event.run_id] = self.by_run.get(event.run_id, 0) + amount
            tokens_in, tokens_out = int(data.get("input_tokens") or 0), int(data.get("output_tokens") or 0)
            if tokens_in or tokens_out:
                note = f"{figures.tokens(tokens_in)} in / {figures.tokens(tokens_out)} out"
            if data.get("estimated"):
                note = f"{note}, estimated" if note else "estimated"
        elif kind == "released":
            held = self.in_flight.pop(str(data.get("reservation_id", "")), None)
            amount, model = (held.amount_micro, held.model) if held is not None else (0, model)
            note = str(data.get("reason") or "")
        elif kind == "refused":
            self.refused += 1
            note = str(data.get("reason") or f"over the {data.get('limit', '?')} limit")
        elif kind == "budget_set":
            limit = data.get("limit_micro")
            note = f"{data.get('scope', '?')} cap " + ("removed" if limit is None else figures.money(int(limit)))
            amount = int(limit or 0)
        elif kind == "deposited":
            note = str(data.get("note") or data.get("source") or "")
        if data.get("balance_after_micro") is not None:
            self.balance_micro = int(data["balance_after_micro"])
        if "burn_per_hour_micro" in data:
            self.burn_per_hour_micro = int(data["burn_per_hour_micro"] or 0)
        self.lines.append(Line(event.seq, event.occurred_at, kind, amount, model, note))
        return True

    @property
    def turn_spent_micro(self) -> int:
        return self.by_run.get(self.last_run, 0) if self.last_run is not None else 0


def runway_hours(balance_micro: int | None, burn_per_hour_micro: int) -> float | None:
    if balance_micro is None or burn_per_hour_micro <= 0:
        return None
    return max(balance_micro, 0) / burn_per_hour_micro


class WalletPane(VerticalScroll):
    """Money at a glance: what is left, what this session, branch and turn cost, and every ledger line."""

    DEFAULT_CSS = """
    WalletPane { height: 1fr; padding: 0 1; }
    WalletPane > .wallet--heading { color: $text-accent; text-style: bold; margin-top: 1; }
    WalletPane > #wallet-summary { height: auto; }
    WalletPane > .wallet--list { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.can_focus = True
        self.ledger = BranchLedger()
        self.wallet: WalletView | None = None
        self.session_id = ""
        self.branch = ""
        self._stale = False
        """Something changed while the pane was off screen: draw when it is shown."""

    def compose(self) -> ComposeResult:
        yield Static(id="wallet-summary")
        yield Static("In flight", classes="wallet--heading")
        yield Static(id="wallet-in-flight", classes="wallet--list")
        yield Static("Ledger", classes="wallet--heading")
        yield Static(id="wallet-ledger", classes="wallet--list")

    def on_mount(self) -> None:
        self._draw()

    def on_show(self) -> None:
        if self._stale:
            self._draw()

    # ------------------------------------------------------------------------------------- pane
    def reset(self, events: Sequence[Event], context: PaneContext) -> None:
        self.ledger = BranchLedger()
        self.session_id, self.branch = context.session_id, context.branch
        wallet = context.extras.get("wallet")
        self.wallet = wallet if isinstance(wallet, WalletView) else None
        for event in events:
            self.ledger.apply(event)
        self._draw()

    def apply(self, events: Sequence[Event]) -> None:
        changed = False
        for event in events:
            changed = self.ledger.apply(event) or changed
        if changed:
            self._draw()

    def show_wallet(self, wallet: WalletView | None) -> None:
        """The global wallet changed (another session spent, a deposit): redraw with it."""
        self.wallet = wallet
        self._draw()

    # ------------------------------------------------------------------------------------ figures
    @property
    def balance_micro(self) -> int | None:
        if self.wallet is not None:
            return self.wallet.balance_micro
        return self.ledger.balance_micro

    @property
    def burn_per_hour_micro(self) -> int:
        return self.wallet.burn_per_hour_micro if self.wallet is not None else self.ledger.burn_per_hour_micro

    @property
    def session_spent_micro(self) -> int | None:
        """All branches of the session: only the global wallet knows (None without it)."""
        if self.wallet is None:
            return None
        return self.wallet.by_session.get(self.session_id, 0)

    # ------------------------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        if not self.is_mounted:
            return
        if not self.is_on_screen:
            self._stale = True
            return
        self._stale = False
        show_content(self.query_one("#wallet-summary", Static), self._summary())
        show_content(self.query_one("#wallet-in-flight", Static), self._in_flight())
        show_content(self.query_one("#wallet-ledger", Static), self._lines())

    def _summary(self) -> Content:
        balance, burn = self.balance_micro, self.burn_per_hour_micro
        runway = self.wallet.runway_hours if self.wallet is not None else runway_hours(balance, burn)
        session = self.session_spent_micro
        rows: list[Content] = [
            Content.assemble(
                ("balance  ", "$text-muted"),
                (
                    figures.money(balance),
                    "bold $text-success" if balance is None or balance > 0 else "bold $text-error",
                ),
                ("   burn ", "$text-muted"),
                f"{figures.money(burn)}/h",
                ("   runway ", "$text-muted"),
                figures.runway(runway) if balance is not None else "-",
            ),
            Content.assemble(
                ("spend    ", "$text-muted"),
                ("session ", "$text-muted"),
                figures.money(session) if session is not None else "-",
                ("  branch ", "$text-muted"),
                figures.money(self.ledger.spent_micro),
                ("  turn ", "$text-muted"),
                figures.money(self.ledger.turn_spent_micro),
            ),
        ]
        if self.wallet is not None and self.wallet.budgets:
            parts = [
                f"{b.scope} {figures.money(b.spent_micro + b.reserved_micro)} of {figures.money(b.limit_micro)}"
                for b in self.wallet.budgets
            ]
            rows.append(Content.assemble(("budgets  ", "$text-muted"), " · ".join(parts)))
        if self.ledger.refused:
            rows.append(Content.styled(f"{self.ledger.refused} call(s) refused over a limit", "$text-error"))
        return Content("\n").join(rows)

    def _in_flight(self) -> Content:
        if not self.ledger.in_flight:
            return Content.styled("nothing reserved", "$text-muted")
        return Content("\n").join(
            Content.assemble(
                (figures.clock_time(r.reserved_at), "$text-muted"),
                f"  {figures.money(r.amount_micro):>10}  ",
                (r.model or "?", "$text-secondary"),
            )
            for r in self.ledger.in_flight.values()
        )

    def _lines(self) -> Content:
        if not self.ledger.lines:
            return Content.styled("no spend on this branch yet", "$text-muted")
        styles = {"refused": "$text-error", "deposited": "$text-success", "reserved": "$text-muted"}
        return Content("\n").join(
            Content.assemble(
                (figures.clock_time(line.occurred_at), "$text-muted"),
                (f"  {line.kind:<10}", styles.get(line.kind, "")),
                f"{figures.money(line.amount_micro):>10}  ",
                (line.model[:MODEL_CELLS].ljust(MODEL_CELLS), "$text-secondary"),
                (f"  {line.note}" if line.note else "", "$text-muted"),
            )
            for line in reversed(self.ledger.lines)
        )
