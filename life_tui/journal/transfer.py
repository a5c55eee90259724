"""Import and export: sessions out as JSONL, Markdown or Parquet, and JSONL or Parquet back in.

JSONL is the exchange format: one canonical event per line, byte-identical to what the journal hashes,
so export -> import -> export reproduces the file exactly and every chain link is checked on the way in.
An import is validated completely before anything is stored: a malformed line, a broken chain or a
conflicting event fails the whole import with the line number, and the journal is left as it was.
Re-importing events that are already stored (same seq, same hash) is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import msgspec

from life_tui.errors import Conflict, InvalidInput, NotFound
from life_tui.journal.catalog import MAIN, BranchInfo
from life_tui.journal.store import Journal
from life_tui.journal.transcript import render_markdown
from life_tui.journal.view import JournalView
from life_tui.kernel.event import Event, decode_event, encode_event, hash_is_valid

FORMATS = ("jsonl", "md", "parquet")


def branch_order(branches: list[BranchInfo]) -> list[BranchInfo]:
    """Parents before children (creation order among siblings), so an import can rebuild every fork."""
    children: dict[str | None, list[BranchInfo]] = {}
    for b in branches:
        children.setdefault(b.parent, []).append(b)
    ordered: list[BranchInfo] = []
    stack = sorted(children.get(None, []), key=lambda b: (b.created_at, b.name), reverse=True)
    while stack:
        b = stack.pop()
        ordered.append(b)
        stack.extend(sorted(children.get(b.name, []), key=lambda c: (c.created_at, c.name), reverse=True))
    return ordered


def _own_only(view: JournalView, session_id: str, b: BranchInfo) -> Iterator[Event]:
    for e in view.iter_events(session_id, b.name, after=b.fork_seq):
        if e.branch == b.name:
            yield e


def export_session(view: JournalView, session_id: str, fmt: str, out: IO[bytes], *, branch: str | None = None) -> int:
    """Write a session to ``out`` in ``fmt``; returns the number of events written."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if branch is None:
        events: Iterable[Event] = (
            e for b in branch_order(view.branches(session_id)) for e in _own_only(view, session_id, b)
        )
    else:
        events = view.iter_events(session_id, branch)
    if fmt == "jsonl":
        count = 0
        for e in events:
            out.write(encode_event(e) + b"\n")
            count += 1
        return count
    if fmt == "md":
        listed = list(events if branch is not None else view.iter_events(session_id, MAIN))
        out.write(render_markdown(view.session(session_id), branch or MAIN, listed).encode())
        return len(listed)
    import pyarrow.parquet as pq

    from life_tui.journal.segments import events_to_table

    listed = list(events)
    pq.write_table(events_to_table(listed, elide_prev_hash=False), out, compression="zstd")
    return len(listed)


def read_jsonl(path: Path) -> list[Event]:
    events: list[Event] = []
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                events.append(decode_event(line))
            except msgspec.MsgspecError as exc:
                raise InvalidInput(
                    f"{path.name} line {number}: not an event ({exc})", hint="nothing was imported"
                ) from None
    return events


def read_parquet(path: Path) -> list[Event]:
    import pyarrow.parquet as pq

    from life_tui.journal.segments import table_to_events

    try:
        return table_to_events(pq.read_table(path))
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise InvalidInput(f"{path.name} is not an events Parquet file ({exc})", hint="nothing was imported") from None


def plan_import(journal: JournalView, events: list[Event]) -> tuple[list[Event], int]:
    """Validate every event against the journal and the file; returns (events to store, already stored)."""
    heads: dict[tuple[str, str], tuple[int, str]] = {}
    new: list[Event] = []
    skipped = 0
    for number, e in enumerate(events, 1):
        where = f"event {number} ({e.session_id}/{e.branch} seq {e.seq})"
        if not hash_is_valid(e):
            raise InvalidInput(f"{where}: its hash does not match its content", hint="nothing was imported")
        key = (e.session_id, e.branch)
        if key not in heads:
            try:
                stored = journal.branch(*key)
                heads[key] = (stored.head, stored.head_hash)
            except NotFound:
                if e.kind == "session.created" and e.seq == 1 and e.prev_hash == "":
                    heads[key] = (0, "")
                elif e.kind == "branch.created":
                    heads[key] = (e.seq - 1, e.prev_hash)
                else:
                    raise InvalidInput(
                        f"{where}: the file does not create branch {e.branch!r} before using it",
                        hint="export whole sessions, or import the parent session first",
                    ) from None
        seq, head_hash = heads[key]
        if e.seq <= seq:
            existing = journal.hash_at(e.session_id, e.branch, e.seq)
            if existing != e.hash:
                raise Conflict(f"{where}: a different event is already stored there", hint="nothing was imported")
            skipped += 1
            continue
        if e.seq != seq + 1 or e.prev_hash != head_hash:
            raise InvalidInput(
                f"{where}: does not continue its branch (expected seq {seq + 1})", hint="nothing was imported"
            )
        heads[key] = (e.seq, e.hash)
        new.append(e)
    return new, skipped


def import_file(journal: Journal, path: Path) -> tuple[int, int]:
    """Import a JSONL or Parquet export; returns (events stored, events already present)."""
    if not path.exists():
        raise InvalidInput(f"no file {path}")
    events = read_parquet(path) if path.suffix == ".parquet" else read_jsonl(path)
    new, skipped = plan_import(journal, events)
    return journal.import_events(new), skipped
