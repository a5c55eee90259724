"""Projection folds with state snapshots, so reopening a long session does not re-decode every event.

A :class:`Projection` is a pure fold (``state = apply(state, event)``) with a name, a version and a way to
encode its state. :func:`fold` resumes from the newest usable snapshot (of the branch itself, or of an
ancestor at a seq inside the branch's view) whose recorded event hash still matches the journal, folds the
events after it, and stores a fresh snapshot when enough new events were folded. Snapshots are a cache:
a missing, stale or damaged one only costs a longer fold, never a wrong state (the hash check and a
BLAKE3 checksum guard both).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import blake3
import msgspec

from life_tui.errors import NotFound
from life_tui.journal.view import JournalView
from life_tui.kernel.event import Event

S = TypeVar("S")


class Projection(Protocol[S]):
    """A pure fold over a branch's events. Bump ``version`` whenever ``apply`` or the state shape changes."""

    name: str
    version: int

    def initial(self) -> S: ...

    def apply(self, state: S, event: Event) -> S: ...

    def encode(self, state: S) -> bytes: ...

    def decode(self, data: bytes) -> S: ...


class _Header(msgspec.Struct, frozen=True):
    projection: str
    version: int
    seq: int
    event_hash: str
    checksum: str


@dataclass(frozen=True)
class FoldResult(Generic[S]):
    state: S
    seq: int
    from_snapshot: int | None
    folded: int


class SnapshotStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, session_id: str, branch: str, name: str, version: int) -> Path:
        safe = blake3.blake3(branch.encode()).hexdigest()[:16]
        return self.root / session_id / f"{name}.v{version}.{safe}.snap"

    def save(
        self, session_id: str, branch: str, projection: Projection[S], state: S, seq: int, event_hash: str
    ) -> None:
        body = projection.encode(state)
        header = _Header(projection.name, projection.version, seq, event_hash, blake3.blake3(body).hexdigest())
        path = self._path(session_id, branch, projection.name, projection.version)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(msgspec.json.encode(header) + b"\n" + body)
        os.replace(tmp, path)

    def load(self, session_id: str, branch: str, projection: Projection[S]) -> tuple[S, int, str] | None:
        path = self._path(session_id, branch, projection.name, projection.version)
        try:
            data = path.read_bytes()
            head, _, body = data.partition(b"\n")
            header = msgspec.json.decode(head, type=_Header)
            if header.checksum != blake3.blake3(body).hexdigest():
                return None
            return projection.decode(body), header.seq, header.event_hash
        except (OSError, msgspec.MsgspecError, ValueError):
            return None


def fold(
    view: JournalView,
    projection: Projection[S],
    session_id: str,
    branch: str = "main",
    *,
    snapshots: SnapshotStore | None = None,
    save_after: int = 1_000,
) -> FoldResult[S]:
    """The projection's state at the branch head, resuming from the best snapshot available."""
    result: FoldResult[S] = fold_many(
        view, [projection], session_id, branch, snapshots=snapshots, save_after=save_after
    )[0]
    return result


def fold_many(
    view: JournalView,
    projections: Sequence[Projection[Any]],
    session_id: str,
    branch: str = "main",
    *,
    snapshots: SnapshotStore | None = None,
    save_after: int = 1_000,
) -> list[FoldResult[Any]]:
    """Several projections' states at the branch head in one read of the branch (a session opening folds
    its conversation and its homeostasis together), each resuming from its own best snapshot."""
    store = snapshots if snapshots is not None else SnapshotStore(view.layout.snapshots)
    info = view.branch(session_id, branch)
    starts = [_resume(view, store, p, session_id, branch, info.head) for p in projections]
    states = [state for state, _ in starts]
    seqs = [seq for _, seq in starts]
    folded = [0] * len(projections)
    for chunk in view.iter_chunks(session_id, branch, after=min(seqs, default=0), through=info.head):
        if not chunk:
            continue
        for i, projection in enumerate(projections):
            events = chunk if chunk[0].seq > seqs[i] else [e for e in chunk if e.seq > seqs[i]]
            state = states[i]
            for event in events:
                state = projection.apply(state, event)
            states[i] = state
            folded[i] += len(events)
            seqs[i] = max(seqs[i], chunk[-1].seq)
    results: list[FoldResult[Any]] = []
    for i, projection in enumerate(projections):
        seq = seqs[i]
        if folded[i] >= save_after and seq > 0:
            with contextlib.suppress(OSError):
                store.save(session_id, branch, projection, states[i], seq, view.hash_at(session_id, branch, seq))
        results.append(FoldResult(states[i], seq, starts[i][1] or None, folded[i]))
    return results


def _resume(
    view: JournalView, store: SnapshotStore, projection: Projection[S], session_id: str, branch: str, head: int
) -> tuple[S, int]:
    """Where folding ``projection`` starts: the newest valid snapshot on the branch's lineage, or nothing."""
    candidates = [(name, lo, hi) for name, lo, hi in reversed(view.ancestry(session_id, branch))]
    for name, _lo, hi in candidates:
        loaded = store.load(session_id, name, projection)
        if loaded is None:
            continue
        snap_state, snap_seq, snap_hash = loaded
        if snap_seq > min(hi, head) or snap_seq <= 0:
            continue
        try:
            if view.hash_at(session_id, branch, snap_seq) != snap_hash:
                continue
        except NotFound:
            continue
        return snap_state, snap_seq
    return projection.initial(), 0
