"""``life-tui wallet ...``: the balance, spend, budgets and ledger entries, and funding and capping them.

Reading (``wallet``, ``wallet entries``, ``wallet budget`` without a change) folds the journal through a
read-only view, so it works beside a running TUI and shows dangling reservations as still in flight.
Changing (``wallet fund``, ``wallet budget --day ...``) takes the writer lock like every other write; the
wallet opened there reconciles what a dead process left reserved, as any writer does.
"""

from __future__ import annotations

import json
from typing import Annotated

import msgspec
import typer

from life_tui.cli.common import open_reader, open_writer
from life_tui.cli.output import print_rows, short_time
from life_tui.errors import UsageError
from life_tui.finance import ledger
from life_tui.finance.view import MICRO_PER_USD, Budget, WalletView, to_micro
from life_tui.finance.wallet import Wallet, load_ledger
from life_tui.kernel.clock import SystemClock

app = typer.Typer(help="The wallet: balance, spend, budgets and ledger entries.", invoke_without_command=True)
SessionOpt = Annotated[
    str | None, typer.Option("--session", "-s", help="Only this session (id, prefix, name, 'last').")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")]


def money(micro: int) -> str:
    """Dollars: cents when the amount is whole cents, else every micro-credit (``$0.000123``)."""
    sign = "-" if micro < 0 else ""
    whole, frac = divmod(abs(micro), MICRO_PER_USD)
    if frac % 10_000 == 0:
        return f"{sign}${whole}.{frac // 10_000:02d}"
    return f"{sign}${whole}.{frac:06d}"


def _current_view(session: str | None, recent: int) -> WalletView:
    reader = open_reader()
    sid = reader.resolve_session(session) if session is not None else None
    return ledger.view(load_ledger(reader), SystemClock().now_us(), session_id=sid, recent=recent)


def _print_json(data: object) -> None:
    typer.echo(json.dumps(msgspec.to_builtins(data), indent=2, ensure_ascii=False))


@app.callback()
def show(
    ctx: typer.Context,
    session: SessionOpt = None,
    as_json: JsonOpt = False,
    recent: Annotated[int, typer.Option("--recent", help="How many recent entries to show.")] = 10,
) -> None:
    """Show the balance, spend breakdown, burn rate, runway, budgets, reservations in flight and recent entries."""
    if ctx.invoked_subcommand is not None:
        return
    view = _current_view(session, recent)
    if as_json:
        _print_json(view)
        return
    for line in describe(view):
        typer.echo(line)


def describe(view: WalletView) -> list[str]:
    """The wallet as text lines (plain, stable: scripts may parse them)."""
    lines: list[str] = []
    if view.funded and view.balance_micro is not None:
        lines.append(
            f"balance      {money(view.balance_micro)} (deposits {money(view.deposits_micro)}, "
            f"spent {money(view.spent_micro)}, reserved {money(view.reserved_micro)})"
        )
    else:
        lines.append("balance      unmetered (never funded: only budgets apply; `life-tui wallet fund USD`)")
    lines.append(f"spent        {money(view.spent_micro)} (today, UTC: {money(view.spent_today_micro)})")
    lines.append(f"burn         {money(view.burn_per_hour_micro)}/h (settled spend of the last hour)")
    runway = "-" if view.runway_hours is None else f"{view.runway_hours:.1f} h"
    lines.append(f"runway       {runway}")
    lines.append("budgets" + ("      none (`life-tui wallet budget --day USD`)" if not view.budgets else ""))
    lines.extend(f"  {_budget_line(b)}" for b in view.budgets)
    tables = (
        ("by session", view.by_session),
        ("by branch", view.by_branch),
        ("by model", view.by_model),
        ("by task", view.by_task),
    )
    for title, table in tables:
        if table:
            lines.append(title)
            lines.extend(f"  {key:<40} {money(amount)}" for key, amount in sorted(table.items(), key=lambda kv: -kv[1]))
    if view.unpriced_models:
        lines.append(f"unpriced     {', '.join(view.unpriced_models)} (billed at the conservative rate)")
    lines.append("in flight" + ("    none" if not view.in_flight else ""))
    lines.extend(
        f"  {r.reservation_id}  {money(r.amount_micro)}  {r.session_id}/{r.branch}  {r.model}  "
        f"since {short_time(r.reserved_at)}"
        for r in view.in_flight
    )
    lines.append("recent" + ("       none" if not view.recent else ""))
    lines.extend(
        f"  {short_time(e.occurred_at)}  {e.kind:<10} {money(e.amount_micro):>12}  {e.model}  {e.note}".rstrip()
        for e in view.recent
    )
    return lines


def _budget_line(b: Budget) -> str:
    return (
        f"{b.scope:<40} limit {money(b.limit_micro)}  spent {money(b.spent_micro)}  "
        f"reserved {money(b.reserved_micro)}  left {money(b.available_micro)}"
    )


@app.command()
def fund(
    usd: Annotated[float, typer.Argument(help="Amount in US dollars (micro-credit precision).")],
    note: Annotated[str, typer.Option("--note", help="A note kept with the deposit.")] = "",
) -> None:
    """Add funds to the wallet; the first deposit turns metering on (calls beyond the balance are refused)."""
    amount = to_micro(usd)
    with open_writer(create=True) as journal:
        wallet = Wallet.open(journal)
        wallet.fund(amount, source="cli", note=note)
        balance = wallet.view().balance_micro
    typer.echo(f"funded {money(amount)}; balance {money(balance or 0)}")


@app.command()
def budget(
    usd: Annotated[float | None, typer.Argument(help="The cap for --session, in US dollars.")] = None,
    day: Annotated[float | None, typer.Option("--day", help="Cap all sessions' spend per UTC day (USD).")] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="Cap this session's spend: --session ID USD.")
    ] = None,
    clear_day: Annotated[bool, typer.Option("--clear-day", help="Remove the day cap.")] = False,
    clear_session: Annotated[str | None, typer.Option("--clear-session", help="Remove this session's cap.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set or clear a budget (one per call); without options, list the budgets in force."""
    chosen = [day is not None, session is not None, clear_day, clear_session is not None]
    if sum(chosen) > 1:
        raise UsageError("give one budget change at a time", hint="e.g. `wallet budget --day 10`")
    if session is not None and usd is None:
        raise UsageError("--session needs an amount", hint="`life-tui wallet budget --session ID USD`")
    if usd is not None and session is None:
        raise UsageError("an amount without --session", hint="use `--day USD` or `--session ID USD`")
    for amount in (day, usd):
        if amount is not None and amount < 0:
            raise UsageError(f"a budget cannot be negative (${amount})")
    if not any(chosen):
        budgets = _current_view(None, 0).budgets
        if as_json:
            _print_json(budgets)
        else:
            for line in [_budget_line(b) for b in budgets] or ["no budgets (`life-tui wallet budget --day USD`)"]:
                typer.echo(line)
        return
    with open_writer() as journal:
        wallet = Wallet.open(journal)
        if day is not None or clear_day:
            wallet.set_budget("day", None if clear_day else to_micro(day or 0.0))
            what = "day budget " + ("cleared" if clear_day else f"set to {money(to_micro(day or 0.0))}")
        else:
            ref = session if session is not None else clear_session
            assert ref is not None
            sid = journal.resolve_session(ref)
            limit = None if clear_session is not None else to_micro(usd or 0.0)
            wallet.set_budget("session", limit, session_id=sid)
            what = f"session {sid} budget " + ("cleared" if limit is None else f"set to {money(limit)}")
    typer.echo(what)


@app.command()
def entries(
    session: SessionOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many entries, newest last.")] = 50,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json or jsonl.")] = "table",
) -> None:
    """List the ledger's recent entries: deposits, budgets, reservations, settlements, releases, refusals."""
    if limit < 0:
        raise UsageError("--limit cannot be negative")
    view = _current_view(session, limit)
    rows = [
        (
            short_time(e.occurred_at),
            e.kind,
            money(e.amount_micro),
            e.amount_micro,
            f"{e.session_id}/{e.branch}" if e.session_id else "",
            e.run_id or "",
            e.model,
            e.reservation_id,
            e.note,
        )
        for e in view.recent
    ]
    columns = ["time (UTC)", "kind", "amount", "micro", "where", "run", "model", "reservation", "note"]
    print_rows(columns, rows, fmt)
