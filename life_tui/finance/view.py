"""What the wallet looks like to a reader: balance, spend breakdown, burn, runway, entries, reservations.

The contract between the ledger (which folds ``finance.*`` events and enforces budgets) and its readers
(the wallet pane, ``life-tui wallet``, the MCP ``budget`` tool), kept apart so readers never depend on the
ledger's internals. Amounts are micro-credits (1 µc = $0.000001, USDC's 6 decimals).
"""

from __future__ import annotations

import msgspec

MICRO_PER_USD = 1_000_000


def to_micro(usd: float) -> int:
    return round(usd * MICRO_PER_USD)


def to_usd(micro: int) -> float:
    return micro / MICRO_PER_USD


class LedgerEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of the ledger: a deposit, a reservation, a settlement, a release or a refusal."""

    occurred_at: int
    kind: str
    """The event kind without its ``finance.`` prefix: deposited, reserved, settled, released, refused..."""
    amount_micro: int
    session_id: str = ""
    branch: str = ""
    seq: int = 0
    run_id: str | None = None
    model: str = ""
    reservation_id: str = ""
    note: str = ""


class InFlight(msgspec.Struct, kw_only=True):
    reservation_id: str
    amount_micro: int
    session_id: str
    branch: str
    run_id: str | None
    model: str
    reserved_at: int


class Budget(msgspec.Struct, kw_only=True):
    scope: str
    """``session``, ``day``, ``invocation`` or ``run``."""
    limit_micro: int
    spent_micro: int
    reserved_micro: int

    @property
    def available_micro(self) -> int:
        return self.limit_micro - self.spent_micro - self.reserved_micro


class WalletView(msgspec.Struct, kw_only=True):
    funded: bool
    """False: the wallet was never funded and no balance is enforced (budgets still are)."""
    deposits_micro: int = 0
    spent_micro: int = 0
    reserved_micro: int = 0
    balance_micro: int | None = None
    """Deposits less spend less reservations in flight (None when unfunded)."""
    spent_today_micro: int = 0
    burn_per_hour_micro: int = 0
    runway_hours: float | None = None
    by_session: dict[str, int] = {}
    by_branch: dict[str, int] = {}
    """Keyed ``session_id/branch``."""
    by_run: dict[str, int] = {}
    by_task: dict[str, int] = {}
    by_model: dict[str, int] = {}
    budgets: list[Budget] = []
    in_flight: list[InFlight] = []
    recent: list[LedgerEntry] = []
    """Newest last."""
    unpriced_models: list[str] = []
    """Models billed at the conservative rate because their price is unknown."""
