"""``life-tui replay``: re-run a recorded session and report the first divergence, or continue it live."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from life_tui.cli.common import open_reader, open_writer
from life_tui.errors import ExitCode, UsageError
from life_tui.journal.catalog import MAIN


def replay(
    session: Annotated[str, typer.Argument(help="Session id, unique id prefix, name, or 'last'.")],
    branch: Annotated[str, typer.Option("--branch", "-b", help="Branch to replay.")] = MAIN,
    to: Annotated[int | None, typer.Option("--to", help="Replay only up to this seq.")] = None,
    rerun_tools: Annotated[
        bool, typer.Option("--rerun-tools", help="Run the (read-only) tools again instead of using recorded results.")
    ] = False,
    live_from: Annotated[
        int | None, typer.Option("--live-from", help="Fork at this seq and run the later user turns live.")
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Live provider for --live-from (name[:model]).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model for --live-from.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Re-run a session with its recorded responses (no spend) and report the first divergence."""
    if fmt not in ("text", "json"):
        raise UsageError(f"unknown format {fmt!r}", hint="use text or json")
    if live_from is not None:
        _live(session, branch, live_from, provider, model, fmt)
        return
    from life_tui.runtime.replay import replay_branch

    reader = open_reader()
    sid = reader.resolve_session(session)
    report = asyncio.run(replay_branch(reader, sid, branch, through=to, rerun_tools=rerun_tools))
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "session_id": report.session_id,
                    "branch": report.branch,
                    "through_seq": report.through_seq,
                    "turns": report.turns,
                    "compared": report.compared,
                    "reproduced": report.ok,
                    "divergence": None
                    if report.divergence is None
                    else {
                        "recorded_seq": report.divergence.recorded_seq,
                        "expected": report.divergence.expected,
                        "got": report.divergence.got,
                        "detail": report.divergence.detail,
                    },
                }
            )
        )
    elif report.ok:
        typer.echo(
            f"reproduced: {report.turns} turn(s), {report.compared} events of {sid}/{branch} "
            f"through #{report.through_seq}"
        )
    else:
        typer.echo(f"{report.divergence} after {report.compared} matching events")
    if not report.ok:
        raise typer.Exit(ExitCode.DIVERGED)


def _live(session: str, branch: str, at: int, spec: str | None, model: str | None, fmt: str) -> None:
    from life_tui.runtime.config import load_settings
    from life_tui.runtime.providers import build, choose
    from life_tui.runtime.replay import continue_live
    from life_tui.runtime.session import SessionOptions

    settings = load_settings()
    chosen = choose(spec, settings.defaults.provider, model or settings.defaults.model)
    with open_writer() as journal:
        sid = journal.resolve_session(session)
        live = build(chosen, base_url=settings.defaults.base_url)
        report = asyncio.run(
            continue_live(journal, sid, branch, at, live, options=SessionOptions(settings=settings, interactive=False))
        )
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "branch": report.branch,
                    "fork_seq": report.fork_seq,
                    "turns": report.turns,
                    "outcomes": report.outcomes,
                }
            )
        )
    else:
        typer.echo(
            f"forked {sid} at #{report.fork_seq} as {report.branch} and ran {report.turns} turn(s) live with "
            f"{chosen}: {', '.join(report.outcomes) or 'nothing to run'}"
        )


__all__ = ["replay"]
