"""Journal commands: init, log, cat, branch, query, import, export, verify, doctor."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from life_tui import paths
from life_tui.cli.common import journal_root, open_reader, open_writer
from life_tui.cli.output import OUTPUT_FORMATS, is_tty, print_rows, short_time, summarize
from life_tui.errors import ExitCode, InvalidInput, UsageError
from life_tui.journal.catalog import MAIN
from life_tui.journal.lock import read_holder, writer_alive
from life_tui.kernel.event import Event, encode_event

SessionArg = Annotated[str, typer.Argument(help="Session id, unique id prefix, name, or 'last'.")]
BranchOpt = Annotated[str, typer.Option("--branch", "-b", help="Branch to read.")]


def init() -> None:
    """Create the journal (idempotent) and say where it lives."""
    with open_writer(create=True) as journal:
        count = len(journal.sessions())
    typer.echo(f"journal ready at {journal_root()} ({count} session{'s' if count != 1 else ''})")


def _log_line(e: Event, branch: str) -> str:
    mark = "^" if e.branch != branch else " "
    return f"{e.seq:>7}{mark} {short_time(e.occurred_at)}  {e.actor:<6} {e.kind:<26} {summarize(e)}"


def log(
    session: SessionArg,
    branch: BranchOpt = MAIN,
    kind: Annotated[list[str] | None, typer.Option("--kind", "-k", help="Only these kinds (repeatable).")] = None,
    after: Annotated[int, typer.Option(help="Start after this seq.")] = 0,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="At most this many events.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events as they are stored.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="text or jsonl (canonical events).")] = "text",
) -> None:
    """Print a branch's events (inherited ones marked ^), optionally following new ones."""
    if fmt not in ("text", "jsonl"):
        raise UsageError(f"unknown format {fmt!r}", hint="use text or jsonl")
    reader = open_reader()
    sid = reader.resolve_session(session)
    kinds = set(kind) if kind else None

    def emit(e: Event) -> None:
        if fmt == "jsonl":
            sys.stdout.buffer.write(encode_event(e) + b"\n")
        else:
            sys.stdout.write(_log_line(e, branch) + "\n")

    last = after
    printed = 0
    for chunk in reader.iter_chunks(sid, branch, after=after, kinds=kinds):
        for e in chunk:
            emit(e)
            printed += 1
            if limit is not None and printed >= limit:
                return
        last = max(last, chunk[-1].seq) if chunk else last
    last = max(last, reader.head(sid, branch))
    sys.stdout.flush()
    while follow:
        time.sleep(0.2)
        for e in reader.refresh():
            if e.session_id == sid and e.branch == branch and e.seq > last:
                last = e.seq
                if kinds is None or e.kind in kinds:
                    emit(e)
        sys.stdout.flush()


def cat(session: SessionArg, branch: BranchOpt = MAIN) -> None:
    """Print a session as a readable transcript (Markdown)."""
    from life_tui.journal.transcript import render_markdown

    reader = open_reader()
    sid = reader.resolve_session(session)
    text = render_markdown(reader.session(sid), branch, reader.iter_events(sid, branch))
    if is_tty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        sys.stdout.write(text)


def branch(
    session: SessionArg,
    name: Annotated[str, typer.Argument(help="Name of the new branch.")],
    at: Annotated[int | None, typer.Option("--at", help="Fork after this seq (default: the head).")] = None,
    from_branch: Annotated[str, typer.Option("--from", help="Branch to fork from.")] = MAIN,
) -> None:
    """Create a branch that shares the session up to --at and continues on its own (nothing is copied)."""
    with open_writer() as journal:
        sid = journal.resolve_session(session)
        seq = journal.head(sid, from_branch) if at is None else at
        info = journal.fork(sid, from_branch, seq, name)
    typer.echo(f"branch {info.name} of {sid} forked from {from_branch} at {info.fork_seq}")


def query(
    sql: Annotated[
        str | None,
        typer.Argument(help="SQL over the views events, sessions, branches, lineage, branch_events."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json or jsonl.")] = "table",
    schema: Annotated[bool, typer.Option("--schema", help="List the views and their columns.")] = False,
) -> None:
    """Run SQL over your journal with DuckDB (read-only; works while the app is running)."""
    if fmt not in OUTPUT_FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(OUTPUT_FORMATS)}")
    from life_tui.journal.sql import SqlSession

    session = SqlSession(open_reader(), for_sql=None if schema else sql)
    if schema:
        rows = [(view, col, typ) for view, cols in session.schema().items() for col, typ in cols]
        print_rows(["view", "column", "type"], rows, fmt)
        return
    if not sql:
        raise UsageError("no SQL given", hint='try: life-tui query "SELECT kind, count(*) FROM events GROUP BY 1"')
    result = session.rows(sql)
    if result is None:
        return
    print_rows(*result, fmt)


def import_(file: Annotated[Path, typer.Argument(help="A .jsonl (or .parquet) export.")]) -> None:
    """Import events exported by `life-tui export` exactly as they were (all or nothing)."""
    from life_tui.journal.transfer import import_file

    with open_writer(create=True) as journal:
        stored, present = import_file(journal, file)
    typer.echo(
        f"imported {stored} event{'s' if stored != 1 else ''}" + (f" ({present} already present)" if present else "")
    )


def export(
    session: SessionArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl (exact, re-importable), md or parquet.")] = "jsonl",
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Only this branch's view (default: every branch).")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
) -> None:
    """Write a session out as JSONL (round-trips exactly through import), Markdown or Parquet."""
    from life_tui.journal.transfer import export_session

    reader = open_reader()
    sid = reader.resolve_session(session)
    if output is None:
        if fmt == "parquet" and is_tty():
            raise UsageError("Parquet is binary", hint="pass --output FILE.parquet or redirect stdout")
        count = export_session(reader, sid, fmt, sys.stdout.buffer, branch=branch)
        sys.stdout.flush()
    else:
        tmp = output.with_name(output.name + ".partial")
        with open(tmp, "wb") as fh:
            count = export_session(reader, sid, fmt, fh, branch=branch)
        os.replace(tmp, output)
    print(f"exported {count} events", file=sys.stderr)


def verify() -> None:
    """Check every segment digest, WAL checksum, event hash and branch chain; report damage by place."""
    from life_tui.journal.verify import verify_journal

    root = journal_root()
    if not root.exists():
        raise InvalidInput(f"no journal at {root}", hint="run `life-tui init` first")
    report = verify_journal(root)
    for note in report.notes:
        typer.echo(f"note: {note}")
    for damage in report.damage:
        typer.echo(f"DAMAGE {damage}")
    summary = (
        f"{report.segments} segments, {report.wal_files} WAL files, {report.events} events, {report.branches} branches"
    )
    if report.ok:
        typer.echo(f"ok: {summary} verified")
        return
    typer.echo(f"{len(report.damage)} problem(s) in {summary}", err=True)
    raise typer.Exit(ExitCode.CORRUPT)


def _version(name: str) -> str:
    from importlib import metadata  # ~40 ms: only `doctor` needs it

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def doctor() -> None:
    """Describe the environment: versions, data locations, journal state and lock holder."""
    p = paths.resolve()
    root = journal_root()
    rows: list[tuple[str, str]] = [
        ("life-tui", _version("life-tui")),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
    ]
    rows += [(pkg, _version(pkg)) for pkg in ("msgspec", "pyarrow", "duckdb", "typer", "rich", "blake3", "zstandard")]
    rows += [
        ("data dir", str(p.data)),
        ("config dir", str(p.config)),
        ("journal", str(root) + ("" if root.exists() else "  (not created yet: run `life-tui init`)")),
        ("LIFE_HOME", os.environ.get("LIFE_HOME", "(unset)")),
        ("bubblewrap", shutil.which("bwrap") or "not found (the sandboxed shell needs it)"),
    ]
    if root.exists():
        lock = root / "LOCK"
        holder = read_holder(lock)
        alive = writer_alive(lock)
        rows.append(("writer", f"pid {holder.pid} ({holder.command})" if alive and holder else "none"))
        try:
            reader = open_reader()
            m = reader.manifest()
            size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
            rows += [
                ("sessions", str(len(reader.sessions()))),
                ("segments", f"{len(m.segments)} ({sum(s.rows for s in m.segments)} events sealed)"),
                ("WAL tail", f"{reader.tail_size()} events"),
                ("disk use", f"{size / 1e6:.1f} MB"),
            ]
        except Exception as exc:
            rows.append(("journal state", f"cannot be read: {exc}"))
    print_rows(["check", "value"], rows)
