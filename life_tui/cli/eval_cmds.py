"""``life-tui judge``: run the LLM-as-judge evaluators on a finished turn and print their scores.

The front end only chooses what to judge and prints; reading the turn, asking the model and journaling
each ``eval.judge_completed`` verdict is :mod:`life_tui.runtime.judging`'s job, so the scores printed are
the scores stored.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from life_tui.cli.common import journal_root
from life_tui.errors import ExitCode
from life_tui.evaluation.facts import label_for
from life_tui.evaluation.judges import JUDGE_NAMES, judge_named, select
from life_tui.journal.catalog import MAIN
from life_tui.journal.store import Journal
from life_tui.kernel.kinds import JudgeEvaluation


def judge(
    session: Annotated[str, typer.Argument(help="Session id, unique id prefix, name, or 'last'.")] = "last",
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Branch (default: the most recently active).")
    ] = None,
    run: Annotated[
        str | None, typer.Option("--run", help="Run id or unique prefix (default: the last finished run).")
    ] = None,
    judges: Annotated[
        list[str] | None,
        typer.Option(
            "--judge", "-j", help=f"A judge to run (repeatable; default: all that apply): {', '.join(JUDGE_NAMES)}."
        ),
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Judge model as name[:model] (default: the configured provider).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Ask a model to judge a finished turn (JSON-only verdicts); each verdict is journaled as an eval event."""
    for name in judges or []:
        judge_named(name)  # an unknown name fails before anything is opened
    report = asyncio.run(_judge(session, branch, run, judges or None, provider))
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(_text(report))
    evaluations = report["evaluations"]
    if evaluations and all(e["refused"] for e in evaluations):
        raise typer.Exit(ExitCode.BUDGET_EXHAUSTED)  # no verdict because no judge could be paid for
    if evaluations and all(e["error"] for e in evaluations):
        raise typer.Exit(ExitCode.ERROR)


async def _judge(
    ref: str, branch: str | None, run: str | None, judges: list[str] | None, spec: str | None
) -> dict[str, Any]:
    from life_tui.runtime.config import load_settings
    from life_tui.runtime.judging import find_run, judge_transcript, transcript
    from life_tui.runtime.providers import build, choose
    from life_tui.runtime.session import Session, SessionOptions

    settings = load_settings()
    chosen = choose(spec, None if spec else settings.defaults.provider, None if spec else settings.defaults.model)
    journal = await asyncio.to_thread(Journal.open, journal_root())
    try:
        sid = journal.resolve_session(ref)
        if branch is None:
            live = [b for b in journal.branches(sid) if not b.tombstoned]
            branch = max(live, key=lambda b: b.updated_at).name if live else MAIN
        # Read and check first: a wrong run or judge fails before the session is opened (which records that).
        events = await asyncio.to_thread(journal.read, sid, branch)
        turn = transcript(events, find_run(events, run))
        select(judges, turn)
        provider = build(chosen, base_url=settings.defaults.base_url)
        opened = await Session.open(
            journal, sid, branch=branch, provider=provider, options=SessionOptions(settings=settings, interactive=False)
        )
        try:
            results = await judge_transcript(opened, turn, judges)
        finally:
            await opened.close()
    finally:
        await asyncio.to_thread(journal.close)
    evaluated = {r.evaluator for r in results}
    skipped = [
        {"judge": name, "reason": "needs knowledge context" if judge_named(name).needs_knowledge else "does not apply"}
        for name in JUDGE_NAMES
        if not judges and name not in evaluated
    ]
    return {
        "session_id": sid,
        "branch": branch,
        "run_id": turn.run_id,
        "provider": str(chosen),
        "evaluations": [_row(r) for r in results],
        "skipped": skipped,
    }


def _row(result: JudgeEvaluation) -> dict[str, Any]:
    from life_tui.runtime.judging import was_refused  # the runtime is imported lazily (start-up time)

    return {
        "judge": result.evaluator,
        "scores": result.scores,
        "labels": {name: label_for(value) for name, value in result.scores.items()},
        "explanation": result.explanation,
        "model": result.model,
        "cost_usd": result.cost_usd,
        "duration_ms": result.duration_ms,
        "error": result.error,
        "refused": was_refused(result),
    }


def _short(score: str, judge: str) -> str:
    """``plan_quality.coherence`` under plan_quality prints as ``coherence``; a judge's only score as nothing."""
    name = "" if score == judge else score.removeprefix(f"{judge}.")
    return f"{name} " if name else ""


def _text(report: dict[str, Any]) -> str:
    lines = [f"judged run {report['run_id']} of {report['session_id']}/{report['branch']} with {report['provider']}"]
    for row in report["evaluations"]:
        if row["error"]:
            lines.append(f"  {row['judge']:<22} error: {row['error']}")
            continue
        scores = "  ".join(
            f"{_short(name, row['judge'])}{value:.2f} {row['labels'][name]}" for name, value in row["scores"].items()
        )
        lines.append(f"  {row['judge']:<22} {scores}")
        if row["explanation"]:
            lines.append(f"  {'':<22} {row['explanation']}")
    if not report["evaluations"]:
        lines.append("  no judge applies to this run")
    for skip in report["skipped"]:
        lines.append(f"  {skip['judge']:<22} skipped: {skip['reason']}")
    cost = sum(row["cost_usd"] for row in report["evaluations"])
    if cost:
        lines.append(f"judging cost ${cost:.6f}")
    return "\n".join(lines)


__all__ = ["judge"]
