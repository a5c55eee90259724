"""``life-tui wallet`` and its subcommands, run as a user runs them: the console script in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from life_tui.cli.wallet_cmds import money
from life_tui.errors import ExitCode
from life_tui.finance.wallet import Wallet
from life_tui.journal import Journal, JournalOptions
from life_tui.kernel import kinds as k
from life_tui.kernel.event import EventDraft

EXE = Path(sys.executable).with_name("life-tui")


def cli(*args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(  # noqa: PLW1510 - checked below
        [str(EXE), *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    return proc


def one_line_error(proc: subprocess.CompletedProcess[str], code: ExitCode) -> str:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("life-tui: ") and "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture
def spent(life_home: Path) -> tuple[str, str]:
    """A session with one settled call ($0.012345) and one reservation left open ($0.50, a dead process)."""
    cli("init")
    sid = cli("session", "new", "demo").stdout.strip()
    with Journal.open(life_home / "data" / "journal", options=JournalOptions(background=False)) as journal:
        wallet = Wallet.open(journal)
        done = wallet.reserve(session_id=sid, branch="main", run_id="R1", amount_micro=100_000, model="gpt-4.1")
        assert isinstance(done, k.CostReserved)
        settled = wallet.settle(done.reservation_id, amount_micro=12_345, model="gpt-4.1", input_tokens=10)
        dangling = wallet.reserve(session_id=sid, branch="main", run_id="R2", amount_micro=500_000, model="gpt-4.1")
        assert isinstance(dangling, k.CostReserved)
        for payload, run in ((done, "R1"), (settled, "R1"), (dangling, "R2")):
            journal.append(sid, "main", EventDraft(kind=payload.KIND, payload=payload, run_id=run))
    return sid, dangling.reservation_id


def test_money_shows_cents_or_every_micro_credit() -> None:
    assert [money(m) for m in (0, 5_000_000, 12_345, 1_230_000, -500_000, 7)] == [
        "$0.00",
        "$5.00",
        "$0.012345",
        "$1.23",
        "-$0.50",
        "$0.000007",
    ]


def test_wallet_shows_spend_and_in_flight_without_writing(spent: tuple[str, str]) -> None:
    sid, rid = spent
    text = cli("wallet").stdout
    assert "unmetered" in text
    assert "spent        $0.012345" in text
    assert f"{sid}/main" in text and "gpt-4.1" in text
    assert rid in text and "$0.50" in text  # a reader never reconciles: still in flight
    data = json.loads(cli("wallet", "--json").stdout)
    assert data["spent_micro"] == 12_345 and data["reserved_micro"] == 500_000 and data["funded"] is False
    assert data["by_branch"] == {f"{sid}/main": 12_345} and data["in_flight"][0]["reservation_id"] == rid
    scoped = json.loads(cli("wallet", "--session", sid[:8], "--json").stdout)
    assert scoped["by_session"] == {sid: 12_345}
    other = cli("session", "new", "other").stdout.strip()
    empty = json.loads(cli("wallet", "--session", other, "--json").stdout)
    assert empty["spent_micro"] == 0 and empty["in_flight"] == [] and empty["recent"] == []


def test_fund_reconciles_and_meters(spent: tuple[str, str]) -> None:
    out = cli("wallet", "fund", "2.5", "--note", "top up").stdout
    # the writer reconciled the dead reservation at its full amount: 2.5 - 0.012345 - 0.5
    assert out.strip() == "funded $2.50; balance $1.987655"
    data = json.loads(cli("wallet", "--json").stdout)
    assert (data["funded"], data["deposits_micro"], data["reserved_micro"]) == (True, 2_500_000, 0)
    assert data["balance_micro"] == 1_987_655
    kinds = [(e["kind"], e.get("note", "")) for e in data["recent"]]
    assert ("settled", "reconciled: interrupted, usage unknown") in kinds and ("deposited", "top up") in kinds
    assert "balance      $1.987655" in cli("wallet").stdout
    one_line_error(cli("wallet", "fund", "0", check=None), ExitCode.INVALID_INPUT)


def test_budget_set_list_clear(spent: tuple[str, str]) -> None:
    sid, _ = spent
    assert cli("wallet", "budget").stdout.startswith("no budgets")
    assert cli("wallet", "budget", "--day", "10").stdout.strip() == "day budget set to $10.00"
    assert cli("wallet", "budget", "--session", "demo", "1.5").stdout.strip() == f"session {sid} budget set to $1.50"
    listed = json.loads(cli("wallet", "budget", "--json").stdout)
    assert {b["scope"]: b["limit_micro"] for b in listed} == {"day": 10_000_000, f"session {sid}": 1_500_000}
    # the session's cap counts its spend and what the dead reservation was settled at (fund/budget reconcile)
    session_budget = next(b for b in listed if b["scope"].startswith("session"))
    assert session_budget["spent_micro"] == 512_345
    assert "limit $10.00" in cli("wallet", "budget").stdout
    assert cli("wallet", "budget", "--clear-day").stdout.strip() == "day budget cleared"
    assert cli("wallet", "budget", "--clear-session", sid).stdout.strip() == f"session {sid} budget cleared"
    assert json.loads(cli("wallet", "budget", "--json").stdout) == []


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--session", "X"), ExitCode.USAGE),
        (("3",), ExitCode.USAGE),
        (("--day", "1", "--clear-day"), ExitCode.USAGE),
        (("--day", "-1"), ExitCode.USAGE),
        (("--session", "no-such-session", "1"), ExitCode.NOT_FOUND),
    ],
)
def test_budget_errors_are_one_line(spent: tuple[str, str], args: tuple[str, ...], code: ExitCode) -> None:
    one_line_error(cli("wallet", "budget", *args, check=None), code)


def test_entries(spent: tuple[str, str]) -> None:
    sid, rid = spent
    rows = json.loads(cli("wallet", "entries", "--format", "json").stdout)
    assert [r["kind"] for r in rows] == ["reserved", "settled", "reserved"]
    assert rows[1]["micro"] == 12_345 and rows[1]["amount"] == "$0.012345" and rows[2]["reservation"] == rid
    assert len(json.loads(cli("wallet", "entries", "--limit", "1", "--format", "json").stdout)) == 1
    table = cli("wallet", "entries", "--session", sid).stdout.splitlines()
    assert table[0].startswith("time (UTC)") and len(table) == 4
    one_line_error(cli("wallet", "entries", "--session", "nope", check=None), ExitCode.NOT_FOUND)


def test_wallet_without_a_journal_says_how_to_start(life_home: Path) -> None:
    assert "life-tui init" in one_line_error(cli("wallet", check=None), ExitCode.NOT_FOUND)
