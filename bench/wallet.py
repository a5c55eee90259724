"""How long opening the wallet takes: folding every ``finance.*`` event of a large journal.

Builds a journal of ``--sessions`` sessions with ``--events`` events in all (one model call in every
``--call-every`` events: a reservation and a settlement), seals it into Parquet segments, then times, in
fresh reader views:

* ``branch reads``: each branch's own events read with a kind filter (every row decoded);
* ``duckdb``: :func:`life_tui.finance.wallet.finance_events`, which once segments exist reads the same
  events through DuckDB over the ``events`` view, filtered by kind in SQL (the first run pays DuckDB's
  import, as a cold CLI does).

Run by hand: ``.venv/bin/python bench/wallet.py [--events 100000]``. Results go to stdout.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from life_tui.finance.ledger import FINANCE_KINDS, fold_events
from life_tui.finance.wallet import finance_events
from life_tui.journal import Journal, JournalOptions
from life_tui.journal.view import JournalReader
from life_tui.kernel import kinds as k
from life_tui.kernel.event import EventDraft


def build(root: Path, sessions: int, events: int, call_every: int) -> int:
    calls = 0
    per_session = events // sessions
    with Journal.open(root, options=JournalOptions(background=False, seal_events=50_000)) as journal:
        for s in range(sessions):
            sid = journal.create_session(f"bench-{s}").session_id
            drafts: list[EventDraft] = []
            for i in range(per_session):
                if i % call_every == 0:
                    rid = f"r{s}-{i}"
                    reserved = k.CostReserved(reservation_id=rid, amount_micro=50_000, model="m")
                    settled = k.CostSettled(reservation_id=rid, amount_micro=1_234, model="m")
                    drafts += [
                        EventDraft(kind=reserved.KIND, payload=reserved, run_id=f"run{i}"),
                        EventDraft(kind=settled.KIND, payload=settled, run_id=f"run{i}"),
                    ]
                    calls += 1
                else:
                    drafts.append(EventDraft(kind="assistant.text_delta", payload={"delta": "x" * 40}))
                if len(drafts) >= 1000:
                    journal.append_batch(sid, "main", drafts)
                    drafts = []
            journal.append_batch(sid, "main", drafts)
        journal.seal()
    return calls


def time_branch_reads(root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    view = JournalReader.open(root)
    found = []
    for session in view.sessions(include_system=True):
        for branch in view.branches(session.session_id):
            found += view.read(session.session_id, branch.name, after=branch.fork_seq, kinds=FINANCE_KINDS)
    return time.perf_counter() - start, fold_events(found).spent_micro


def time_duckdb(root: Path) -> tuple[float, int]:
    """What ``Wallet.open`` does once segments exist (DuckDB's first import is in the first run)."""
    start = time.perf_counter()
    state = fold_events(finance_events(JournalReader.open(root)))
    return time.perf_counter() - start, state.spent_micro


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--call-every", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="life-bench-wallet-"))
    try:
        calls = build(work / "journal", args.sessions, args.events, args.call_every)
        print(f"journal: {args.events} events, {args.sessions} sessions, {calls} calls ({2 * calls} finance events)")
        for name, timer in (("branch reads", time_branch_reads), ("duckdb", time_duckdb)):
            runs = [timer(work / "journal") for _ in range(3)]
            best = min(t for t, _ in runs)
            print(
                f"{name:<14} first {runs[0][0] * 1000:8.1f} ms, best of 3 {best * 1000:8.1f} ms (spent {runs[0][1]} µc)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
