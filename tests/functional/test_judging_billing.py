"""LLM judges are billed like the loop's own calls (real sessions, scripted models with a declared cost or a
hosted model's price, a real journal and wallet): each judge call reserves its worst case in the session's
branch before it is made and settles at its reported usage after; a cap that refuses the reservation means
that judge is not run and says why, with the ledger left consistent; a failed call releases its
reservation, a cancelled one settles an estimate; free judges reserve nothing; the wallet shows the judges'
spend; a crash mid-judge is reconciled; and a replay of the session's runs leaves judging out."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fakes.cli import life
from fakes.rig import RuntimeRig, open_rig

from life_tui.errors import Conflict, ExitCode
from life_tui.evaluation.judges import judge_named
from life_tui.finance.billing import bill_micro, worst_case_micro
from life_tui.finance.pricing import price_for
from life_tui.finance.view import to_micro
from life_tui.finance.wallet import RECONCILED_INTERRUPTED, Wallet
from life_tui.journal import JournalReader
from life_tui.kernel.event import Event
from life_tui.runtime.billing import INPUT_MARGIN
from life_tui.runtime.context import estimate_tokens
from life_tui.runtime.judging import JUDGE_MAX_TOKENS, ProviderJudgeModel, judge_run, judging_event, read_turn
from life_tui.runtime.providers.base import ModelRequest, StreamItem, Usage
from life_tui.runtime.providers.scripted import ScriptedError, ScriptedProvider, ScriptedTurn
from life_tui.runtime.replay import replay_branch
from life_tui.runtime.session import Session

DONE = '{"completion": 0.9}'
PLAN = '{"coherence": 0.9, "completeness": 0.8, "logical_soundness": 0.7}'
BILLING = ("finance.reserved", "finance.settled", "finance.released", "finance.refused")


class HostedScripted(ScriptedProvider):
    """A scripted model that the price table prices like a hosted one (no declared cost: usage is billed)."""

    name = "openai"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[RuntimeRig]:
    async with open_rig(RuntimeRig, tmp_path, {"README.md": "# demo\n"}) as opened:
        yield opened


def billing(rig: RuntimeRig, session: Session, after: int = 0) -> list[Event]:
    return [e for e in rig.events(session, after) if e.kind in BILLING or e.kind == "eval.judge_completed"]


def consistent(session: Session, cap_micro: int) -> None:
    """Spend plus reservations in flight never above the session's cap; nothing left in flight."""
    view = session.wallet_view()
    assert view.in_flight == []
    assert session.wallet.committed_micro(session.session_id) <= cap_micro
    (budget,) = [b for b in view.budgets if b.scope == f"session {session.session_id}"]
    assert budget.limit_micro == cap_micro and budget.spent_micro + budget.reserved_micro <= cap_micro


async def test_a_judge_call_reserves_in_the_session_then_settles_and_the_wallet_shows_it(rig: RuntimeRig) -> None:
    session, provider = await rig.session(
        ScriptedTurn(text="Paris.", cost_usd=0.001), ScriptedTurn(text=DONE, cost_usd=0.002)
    )
    outcome = await session.submit("Capital of France?")
    before = rig.journal.head(session.session_id, session.branch)
    reserved_first: list[bool] = []
    stream = provider.stream

    def witnessed(request: ModelRequest) -> AsyncIterator[StreamItem]:
        reserved_first.append(any(e.kind == "finance.reserved" for e in rig.events(session, before)))
        return stream(request)

    provider.stream = witnessed  # type: ignore[method-assign]

    (result,) = await judge_run(session, judges=["task_completion"])

    assert reserved_first == [True]  # the reservation was durable before the judge's call was made
    assert result.error is None and result.scores == {"task_completion": 0.9} and result.cost_usd == 0.002
    reserved, settled, verdict = billing(rig, session, before)
    assert [e.kind for e in (reserved, settled, verdict)] == [
        "finance.reserved",
        "finance.settled",
        "eval.judge_completed",
    ]
    r, s = reserved.payload_dict(), settled.payload_dict()
    assert r["purpose"] == "judge:task_completion" and r["amount_micro"] == 2_000 and r["model"] == "scripted"
    assert s["reservation_id"] == r["reservation_id"] and s["amount_micro"] == 2_000
    assert s["task_id"] == "judge:task_completion" and s["output_tokens"] > 0
    # outside any run (the judged run's spend stays its own), in the session's branch, by the system
    assert {e.run_id for e in (reserved, settled, verdict)} == {None}
    assert {(e.session_id, e.branch, e.actor) for e in (reserved, settled)} == {(session.session_id, "main", "system")}
    assert len(provider.requests) == 2  # the run's call and the judge's

    view = session.wallet_view()
    assert view.spent_micro == 3_000 and view.by_task == {"judge:task_completion": 2_000}
    assert view.by_run == {outcome.run_id: 1_000} and view.in_flight == [] and view.by_model == {"scripted": 3_000}
    homeostasis = session.homeostasis
    assert homeostasis is not None and homeostasis.economic.session_spend_micro == 3_000  # the regulator saw it


async def test_a_hosted_judge_reserves_its_worst_case_and_settles_its_reported_usage(rig: RuntimeRig) -> None:
    usage = Usage(input_tokens=1_200, output_tokens=40)
    session, _ = await rig.session(
        ScriptedTurn(text="Paris.", usage=usage),
        ScriptedTurn(text=DONE, usage=usage),
        model="gpt-4o-mini",
        provider_class=HostedScripted,
    )
    await session.submit("Capital of France?")
    turn = await read_turn(session, None)
    judge = judge_named("task_completion")
    before = rig.journal.head(session.session_id, session.branch)

    (result,) = await judge_run(session, judges=["task_completion"])

    price, known = price_for("gpt-4o-mini", provider="openai")
    estimate = estimate_tokens(judge.system) + estimate_tokens(judge.prompt(turn))
    worst = worst_case_micro(price, input_tokens=math.ceil(estimate * INPUT_MARGIN), max_tokens=JUDGE_MAX_TOKENS)
    billed, _ = bill_micro((price, known), input_tokens=1_200, output_tokens=40)
    reserved, settled, _verdict = billing(rig, session, before)
    assert reserved.payload_dict()["amount_micro"] == worst > billed
    assert settled.payload_dict()["amount_micro"] == billed == 204  # 1200 x 0.15 + 40 x 0.6 µc
    assert (settled.payload_dict()["input_tokens"], settled.payload_dict()["output_tokens"]) == (1_200, 40)
    assert result.cost_usd == billed / 1_000_000 and result.model == "gpt-4o-mini"


async def test_a_session_budget_too_small_refuses_the_judge_which_is_not_run(rig: RuntimeRig) -> None:
    session, provider = await rig.session(
        ScriptedTurn(text="Paris.", cost_usd=0.001),
        ScriptedTurn(text=DONE, cost_usd=0.0004),  # fits what the cap leaves
        ScriptedTurn(text=PLAN, cost_usd=0.002),  # does not
    )
    cap = to_micro(0.0015)
    await session.set_budget(0.0015)
    await session.submit("Capital of France?")
    before = rig.journal.head(session.session_id, session.branch)

    done, plan = await judge_run(session, judges=["task_completion", "plan_quality"])

    assert done.error is None and done.cost_usd == 0.0004
    assert plan.scores == {} and plan.error is not None
    assert plan.error == (
        "not run: the judge's call may cost $0.002000 and the session budget leaves $0.000100 "
        "(raise the session's cap: `/budget USD`, or `life-tui wallet budget --session ID USD`)"
    )
    assert len(provider.requests) == 2 and provider.turns_used == 2  # the refused judge never called the model
    kinds = [(e.kind, e.payload_dict().get("purpose")) for e in billing(rig, session, before)]
    assert kinds == [
        ("finance.reserved", "judge:task_completion"),
        ("finance.settled", None),
        ("eval.judge_completed", None),
        ("finance.refused", "judge:plan_quality"),
        ("eval.judge_completed", None),
    ]
    refused = next(e.payload_dict() for e in rig.events(session, before) if e.kind == "finance.refused")
    assert (refused["limit"], refused["amount_micro"], refused["available_micro"]) == ("session", 2_000, 100)
    stored = [e.payload_dict() for e in rig.events(session, before) if e.kind == "eval.judge_completed"]
    assert stored[1]["evaluator"] == "plan_quality" and stored[1]["error"] == plan.error
    consistent(session, cap)
    assert session.wallet_view().spent_micro == 1_400
    assert any(line.kind == "refused" for line in session.wallet_view().recent)  # the durable refusal was applied


@pytest.mark.parametrize(
    ("cap", "says"),
    [
        ("balance", "the wallet balance leaves $0.000500 (fund the wallet: `life-tui wallet fund USD`)"),
        ("day", "the day budget leaves $0.000500 (raise the day's cap: `life-tui wallet budget --day USD`)"),
        ("invocation", "the invocation budget leaves $0.000500 (raise the run's --max-budget-usd)"),
    ],
)
async def test_every_cap_of_the_loop_also_refuses_judges(rig: RuntimeRig, cap: str, says: str) -> None:
    session, provider = await rig.session(
        ScriptedTurn(text="Paris.", cost_usd=0.001), ScriptedTurn(text=DONE, cost_usd=0.002)
    )
    await session.submit("Capital of France?")  # $0.001 spent
    if cap == "balance":
        await asyncio.to_thread(session.wallet.fund, to_micro(0.0015))
    elif cap == "day":
        await asyncio.to_thread(session.wallet.set_budget, "day", to_micro(0.0015))
    else:
        await session.limit_invocation(0.0005)

    (result,) = await judge_run(session, judges=["task_completion"])

    assert result.error is not None and result.error.endswith(says), result.error
    assert len(provider.requests) == 1
    refused = [e.payload_dict() for e in rig.events(session) if e.kind == "finance.refused"]
    assert [(r["limit"], r["purpose"]) for r in refused] == [(cap, "judge:task_completion")]
    assert session.wallet_view().in_flight == [] and session.wallet_view().spent_micro == 1_000


async def test_a_failed_judge_call_releases_its_reservation(rig: RuntimeRig) -> None:
    cap = to_micro(0.01)
    session, _ = await rig.session(
        ScriptedTurn(text="Paris.", cost_usd=0.001),
        ScriptedTurn(error=ScriptedError(message="overloaded", retryable=True, status=529), cost_usd=0.002),
        ScriptedTurn(text=PLAN, cost_usd=0.003),
    )
    await session.set_budget(0.01)
    await session.submit("Capital of France?")
    before = rig.journal.head(session.session_id, session.branch)

    failed, plan = await judge_run(session, judges=["task_completion", "plan_quality"])

    assert failed.error is not None and "overloaded" in failed.error and plan.error is None
    reserved, released, verdict, *rest = billing(rig, session, before)
    assert [reserved.kind, released.kind, verdict.kind] == [
        "finance.reserved",
        "finance.released",
        "eval.judge_completed",
    ]
    assert released.payload_dict() == {
        "reservation_id": reserved.payload_dict()["reservation_id"],
        "reason": "the call failed: scripted: overloaded",
    }
    assert [e.kind for e in rest] == ["finance.reserved", "finance.settled", "eval.judge_completed"]
    consistent(session, cap)
    assert session.wallet_view().spent_micro == 4_000  # the run and the second judge; nothing for the failure


async def test_a_cancelled_judge_call_settles_an_estimate_and_leaves_nothing_in_flight(rig: RuntimeRig) -> None:
    slow = ScriptedTurn(text="x" * 400, chunk_chars=8, delay_ms=20, cost_usd=0.002)  # a second in all
    session, _ = await rig.session(ScriptedTurn(text="Paris.", cost_usd=0.001), slow)
    await session.submit("Capital of France?")
    before = rig.journal.head(session.session_id, session.branch)

    task = asyncio.create_task(judge_run(session, judges=["task_completion"]))
    for _ in range(500):
        await asyncio.sleep(0.005)
        if any(e.kind == "finance.reserved" for e in rig.events(session, before)):
            break
    await asyncio.sleep(0.1)  # some of the reply has streamed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    reserved, settled = billing(rig, session, before)
    data = settled.payload_dict()
    assert settled.kind == "finance.settled" and data["reservation_id"] == reserved.payload_dict()["reservation_id"]
    assert data["estimated"] is True and data["output_tokens"] > 0 and data["task_id"] == "judge:task_completion"
    assert session.wallet_view().in_flight == []


async def test_a_free_judge_reserves_nothing(rig: RuntimeRig) -> None:
    session, _ = await rig.session(ScriptedTurn(text="Paris."), ScriptedTurn(text=DONE))
    await session.set_budget(0.0)  # even a zero cap does not stop a free call
    await session.submit("Capital of France?")
    (result,) = await judge_run(session, judges=["task_completion"])
    assert result.error is None and result.cost_usd == 0.0
    assert [e.kind for e in rig.events(session) if e.kind in BILLING] == []


async def test_a_judge_reservation_left_open_by_a_crash_is_reconciled_at_its_full_amount(rig: RuntimeRig) -> None:
    session, _ = await rig.session(ScriptedTurn(text="Paris."), ScriptedTurn(text=DONE, cost_usd=0.002))
    await session.submit("Capital of France?")
    call = ProviderJudgeModel(session.provider).billed(session, "task_completion")
    assert await call.reserve("system", "prompt") is None  # reserved, durably; then the process "dies"

    reopened = await asyncio.to_thread(Wallet.open, rig.journal)

    (settled,) = reopened.reconciled
    assert (settled.amount_micro, settled.estimated, settled.reason) == (2_000, True, RECONCILED_INTERRUPTED)
    assert reopened.view().in_flight == [] and reopened.view().spent_micro == 2_000


async def test_a_replay_of_the_runs_leaves_the_billed_judges_out(rig: RuntimeRig) -> None:
    usage = Usage(input_tokens=300, output_tokens=20)
    session, _ = await rig.session(
        ScriptedTurn(text="Paris.", usage=usage),
        ScriptedTurn(text=DONE, usage=usage),
        ScriptedTurn(error=ScriptedError(message="down")),
        ScriptedTurn(text="Rome.", usage=usage),
        model="gpt-4o-mini",
        provider_class=HostedScripted,
    )
    await session.submit("Capital of France?")
    await judge_run(session, judges=["task_completion"])  # billed: reserved, settled
    await judge_run(session, judges=["plan_quality"])  # fails: reserved, released
    await asyncio.to_thread(session.wallet.set_budget, "day", 0)  # on the wallet branch, not the session's
    await judge_run(session, judges=["task_completion"])  # refused
    await asyncio.to_thread(session.wallet.set_budget, "day", None)
    await session.submit("Capital of Italy?")
    events = rig.events(session)
    judged = [e.kind for e in events if judging_event(e)]
    assert judged == [
        "finance.reserved",
        "finance.settled",
        "eval.judge_completed",
        "finance.reserved",
        "finance.released",
        "eval.judge_completed",
        "finance.refused",
        "eval.judge_completed",
    ]
    assert sum(e.kind == "finance.reserved" and e.run_id is not None for e in events) == 2  # the runs' own

    report = await replay_branch(rig.journal, session.session_id)

    assert report.ok, report.divergence
    assert report.outcomes == ["final_answer", "final_answer"]


# ----------------------------------------------------------------------------------------- the CLI


def script(path: Path, *turns: tuple[str, float]) -> str:
    path.write_text(json.dumps({"model": "judge-model", "turns": [{"text": t, "cost_usd": c} for t, c in turns]}))
    return f"scripted:{path}"


def test_the_judge_command_bills_the_judges_and_reports_a_refusal(tmp_path: Path, life_home: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    life("--headless", "--provider", script(tmp_path / "agent.json", ("Paris.", 0.001)), "Capital of France?", cwd=ws)
    judge_model = script(tmp_path / "judge.json", (DONE, 0.002), (DONE, 0.002))

    first = json.loads(life("judge", "-j", "task_completion", "--provider", judge_model, "--json", cwd=ws).stdout)
    assert first["evaluations"][0]["error"] is None and first["evaluations"][0]["cost_usd"] == 0.002
    wallet: dict[str, Any] = json.loads(life("wallet", "--json", cwd=ws).stdout)
    assert wallet["spent_micro"] == 3_000 and wallet["by_task"] == {"judge:task_completion": 2_000}
    plain = life("wallet", cwd=ws).stdout.splitlines()
    assert plain[plain.index("by task") + 1].split() == ["judge:task_completion", "$0.002000"]

    sid = first["session_id"]
    life("wallet", "budget", "--session", sid, "0.004", cwd=ws)  # $0.003 spent: $0.001 left
    refused = life(
        "judge", "-j", "task_completion", "--provider", judge_model, cwd=ws, expect=ExitCode.BUDGET_EXHAUSTED
    )
    (row,) = [line.split(maxsplit=1) for line in refused.stdout.splitlines() if "task_completion" in line]
    assert row[1] == (
        "error: not run: the judge's call may cost $0.002000 and the session budget leaves $0.001000 "
        "(raise the session's cap: `/budget USD`, or `life-tui wallet budget --session ID USD`)"
    )

    reader = JournalReader.open(life_home / "data" / "journal")
    events = reader.read(sid)
    assert [e.payload_dict()["limit"] for e in events if e.kind == "finance.refused"] == ["session"]
    assert json.loads(life("wallet", "--json", cwd=ws).stdout)["spent_micro"] == 3_000


async def test_a_billed_judge_call_is_made_once(rig: RuntimeRig) -> None:
    session, provider = await rig.session(ScriptedTurn(text=DONE, cost_usd=0.002), ScriptedTurn(text=DONE))
    call = ProviderJudgeModel(session.provider).billed(session, "task_completion")
    assert (await call.complete("system", "prompt")).cost_usd == 0.002
    with pytest.raises(Conflict, match="already made"):
        await call.complete("system", "prompt")
    assert len(provider.requests) == 1
