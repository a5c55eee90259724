"""``life-tui session ...``: list, show, new, fork and delete sessions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from life_tui.cli.common import open_reader, open_writer
from life_tui.cli.output import print_rows, short_time
from life_tui.errors import UsageError
from life_tui.journal.catalog import MAIN

app = typer.Typer(help="Manage sessions.", no_args_is_help=True)
SessionArg = Annotated[str, typer.Argument(help="Session id, unique id prefix, name, or 'last'.")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, csv, json or jsonl.")]


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", "-a", help="Include deleted sessions.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """List sessions, most recently active first."""
    reader = open_reader()
    rows = []
    for s in reader.sessions(include_deleted=all_):
        status = "deleted" if s.tombstoned else "closed" if s.closed else "open"
        rows.append(
            (
                s.session_id,
                s.name,
                s.events,
                len(reader.branches(s.session_id)),
                short_time(s.updated_at),
                status,
            )
        )
    print_rows(["session", "name", "events", "branches", "updated (UTC)", "status"], rows, fmt)


@app.command()
def show(session: SessionArg, fmt: FormatOpt = "table") -> None:
    """Show a session and its branch tree."""
    reader = open_reader()
    sid = reader.resolve_session(session)
    s = reader.session(sid)
    if fmt == "table":
        typer.echo(f"session   {s.session_id}\nname      {s.name}\ncreated   {short_time(s.created_at)} UTC")
        typer.echo(f"updated   {short_time(s.updated_at)} UTC\nworkspace {s.workspace or '-'}\nevents    {s.events}")
        typer.echo(f"status    {'deleted' if s.tombstoned else 'closed' if s.closed else 'open'}\n")
    rows = [
        (
            b.name,
            b.parent or "",
            b.fork_seq if b.parent else "",
            b.head,
            b.own_events,
            short_time(b.updated_at),
            "deleted" if b.tombstoned else f"merged into {b.merged_into}" if b.merged_into else "",
        )
        for b in reader.branches(sid)
    ]
    print_rows(["branch", "parent", "fork at", "head", "own events", "updated (UTC)", "status"], rows, fmt)


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="A name for the session.")] = "untitled",
    workspace: Annotated[Path | None, typer.Option(help="Workspace directory (default: current directory).")] = None,
) -> None:
    """Create an empty session and print its id."""
    with open_writer(create=True) as journal:
        info = journal.create_session(name, workspace=str((workspace or Path.cwd()).resolve()))
    typer.echo(info.session_id)


@app.command()
def fork(
    session: SessionArg,
    name: Annotated[str | None, typer.Argument(help="Name of the new branch (default: fork-N).")] = None,
    at: Annotated[int | None, typer.Option("--at", help="Fork after this seq (default: the head).")] = None,
    from_branch: Annotated[str, typer.Option("--from", help="Branch to fork from.")] = MAIN,
) -> None:
    """Fork a session at an event into a new branch (O(1): nothing is copied)."""
    with open_writer() as journal:
        sid = journal.resolve_session(session)
        taken = {b.name for b in journal.branches(sid)}
        branch_name = name or next(f"fork-{i}" for i in range(1, len(taken) + 2) if f"fork-{i}" not in taken)
        seq = journal.head(sid, from_branch) if at is None else at
        info = journal.fork(sid, from_branch, seq, branch_name)
    typer.echo(f"{info.name} (forked from {from_branch} at {info.fork_seq})")


@app.command()
def delete(
    session: SessionArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a session: hidden from listings, never erased (a tombstone event)."""
    with open_writer() as journal:
        sid = journal.resolve_session(session)
        info = journal.session(sid)
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError("refusing to delete without confirmation", hint="pass --yes")
            typer.confirm(f"delete session {sid} ({info.name}, {info.events} events)?", abort=True)
        journal.tombstone_session(sid)
    typer.echo(f"deleted {sid} (its events stay in the journal; `session list --all` shows it)")
