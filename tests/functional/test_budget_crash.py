"""B2: a real child process reserves durably, then is SIGKILLed before it settles (before the call
returned, mid-stream, or after the call's assistant.message was recorded). Reopening reconciles the
reservation from the journal: spend + reserved never drops below what the journal showed before the
crash (an interrupted call is settled at its full reservation, ``estimated``), a completed call is settled
at its recorded cost, and the day's window is not reset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from life_tui.finance.wallet import RECONCILED_COMPLETED, RECONCILED_INTERRUPTED, Wallet, load_ledger
from life_tui.journal import Journal, JournalOptions
from life_tui.journal.view import JournalReader
from life_tui.kernel import kinds as k
from life_tui.kernel.event import EventDraft

DAY_CAP = 1_000_000
EARLIER_SPEND = 100_000
RESERVED = 300_000
RECORDED_COST_USD = 0.006

CHILD = textwrap.dedent(
    """
    import sys, time
    from life_tui.finance.wallet import Wallet
    from life_tui.journal import Journal
    from life_tui.kernel import kinds as k
    from life_tui.kernel.event import EventDraft

    root, sid, mode = sys.argv[1:4]
    journal = Journal.open(root)
    wallet = Wallet.open(journal)

    def record(payload):
        draft = EventDraft(kind=payload.KIND, payload=payload, run_id="R2")
        wallet.apply([journal.append(sid, "main", draft)])

    answer = wallet.reserve(session_id=sid, branch="main", run_id="R2", amount_micro=int(sys.argv[4]),
                            model="claude-sonnet-4-5")
    assert isinstance(answer, k.CostReserved), answer
    record(answer)
    if mode == "stream":
        record(k.AssistantTextDelta(delta="half an ans"))
    if mode == "message":
        record(k.AssistantMessage(content="done", model="claude-sonnet-4-5",
                                  usage={"input_tokens": 1000, "output_tokens": 200}, cost_usd=float(sys.argv[5])))
    print("READY", flush=True)
    time.sleep(120)
    """
)


def prepare(root: Path) -> str:
    """A session that already spent $0.10 today, under a $1.00 day cap."""
    with Journal.open(root, options=JournalOptions(background=False)) as journal:
        sid = journal.create_session("b2").session_id
        wallet = Wallet.open(journal)
        wallet.set_budget("day", DAY_CAP)
        r = wallet.reserve(session_id=sid, branch="main", run_id="R1", amount_micro=EARLIER_SPEND, model="m")
        assert isinstance(r, k.CostReserved)
        settlement = wallet.settle(r.reservation_id, amount_micro=EARLIER_SPEND, model="m")
        for payload in (r, settlement):
            journal.append(sid, "main", EventDraft(kind=payload.KIND, payload=payload, run_id="R1"))
    return sid


def crash_child(root: Path, sid: str, mode: str) -> int:
    """Run the child until it says READY, read what the journal shows, then SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), sid, mode, str(RESERVED), str(RECORDED_COST_USD)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "READY", proc.stderr.read() if proc.stderr else line
        before = load_ledger(JournalReader.open(root))  # what any reader saw just before the crash
        assert before.reserved_micro == RESERVED
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return before.spent_micro + before.reserved_micro


@pytest.mark.parametrize("mode", ["reserved", "stream", "message"])
def test_b2_sigkill_between_reserve_and_settle(tmp_path: Path, mode: str) -> None:
    root = tmp_path / "journal"
    sid = prepare(root)
    committed_before = crash_child(root, sid, mode)
    assert committed_before == EARLIER_SPEND + RESERVED

    with Journal.open(root, options=JournalOptions(background=False)) as journal:
        wallet = Wallet.open(journal)
        assert len(wallet.reconciled) == 1
        settled = journal.read(sid, "main", kinds=[k.CostSettled.KIND])[-1]
        payload = settled.data()
        assert isinstance(payload, k.CostSettled) and settled.run_id == "R2"
        view = wallet.view()
        assert view.reserved_micro == 0 and view.in_flight == []
        if mode == "message":  # the call completed before the crash: billed at its recorded cost
            assert payload.reason == RECONCILED_COMPLETED and not payload.estimated
            assert (payload.amount_micro, payload.input_tokens, payload.output_tokens) == (6_000, 1000, 200)
            assert wallet.committed_micro() == EARLIER_SPEND + 6_000
        else:  # interrupted, usage unknown: the whole reservation is spent
            assert payload.reason == RECONCILED_INTERRUPTED and payload.estimated
            assert payload.amount_micro == RESERVED
            assert wallet.committed_micro() == committed_before
        # the day's window survived the restart: today's spend includes everything before the crash
        assert view.spent_today_micro == wallet.committed_micro()
        left = DAY_CAP - view.spent_today_micro
        over = wallet.reserve(session_id=sid, branch="main", run_id="R3", amount_micro=left + 1, model="m")
        assert isinstance(over, k.CostRefused) and over.limit == "day" and over.available_micro == left
        assert isinstance(
            wallet.reserve(session_id=sid, branch="main", run_id="R3", amount_micro=left, model="m"), k.CostReserved
        )

    with Journal.open(root, options=JournalOptions(background=False)) as journal:
        again = Wallet.open(journal)  # reconciled once: nothing left to reconcile, nothing counted twice
        assert again.reconciled == []
        assert again.view().spent_micro == (EARLIER_SPEND + 6_000 if mode == "message" else committed_before)
