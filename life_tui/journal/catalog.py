"""The catalog: sessions, branches and their heads, folded from events.

The catalog is derived state: a fold over every event, kept in memory, checkpointed into the manifest at
each seal and rebuilt on open from that checkpoint plus the WAL tail. It is what makes listing sessions,
assigning ``seq`` and resolving a branch's ancestry O(1) instead of a scan.

A branch is a pointer ``(session, name, parent, fork_seq)``: its view is the parent's view up to
``fork_seq`` followed by its own events, which continue the numbering at ``fork_seq + 1``.
"""

from __future__ import annotations

import msgspec

from life_tui.kernel.event import Event

MAIN = "main"
INFINITY = 1 << 62


class BranchInfo(msgspec.Struct, kw_only=True):
    session_id: str
    name: str
    parent: str | None
    fork_seq: int
    head: int
    head_hash: str
    created_at: int
    updated_at: int
    own_events: int = 0
    merged_into: str | None = None
    tombstoned: bool = False

    @property
    def length(self) -> int:
        """Events visible on this branch, inherited ones included."""
        return self.head


class SessionInfo(msgspec.Struct, kw_only=True):
    session_id: str
    name: str
    created_at: int
    updated_at: int
    workspace: str | None = None
    events: int = 0
    closed: bool = False
    tombstoned: bool = False


class Catalog(msgspec.Struct, kw_only=True):
    sessions: dict[str, SessionInfo] = {}
    branches: dict[str, dict[str, BranchInfo]] = {}

    def branch(self, session_id: str, name: str) -> BranchInfo | None:
        return self.branches.get(session_id, {}).get(name)

    def apply(self, e: Event) -> None:
        """Fold one durable event in. Events arrive in seq order per branch."""
        kind = e.kind
        if kind == "session.created":
            data = e.payload_dict()
            self.sessions[e.session_id] = SessionInfo(
                session_id=e.session_id,
                name=str(data.get("name", "")),
                workspace=data.get("workspace"),
                created_at=e.occurred_at,
                updated_at=e.occurred_at,
            )
            self.branches[e.session_id] = {
                MAIN: BranchInfo(
                    session_id=e.session_id,
                    name=MAIN,
                    parent=None,
                    fork_seq=0,
                    head=0,
                    head_hash="",
                    created_at=e.occurred_at,
                    updated_at=e.occurred_at,
                )
            }
        elif kind == "branch.created":
            data = e.payload_dict()
            self.branches[e.session_id][e.branch] = BranchInfo(
                session_id=e.session_id,
                name=e.branch,
                parent=str(data["parent"]),
                fork_seq=int(data["fork_seq"]),
                head=int(data["fork_seq"]),
                head_hash=e.prev_hash,
                created_at=e.occurred_at,
                updated_at=e.occurred_at,
            )
        info = self.branches[e.session_id][e.branch]
        info.head = e.seq
        info.head_hash = e.hash
        info.updated_at = e.occurred_at
        info.own_events += 1
        session = self.sessions[e.session_id]
        session.updated_at = e.occurred_at
        session.events += 1
        if kind == "session.closed":
            session.closed = True
        elif kind == "session.resumed":
            session.closed = False
        elif kind == "session.tombstoned":
            session.tombstoned = True
        elif kind == "branch.tombstoned":
            info.tombstoned = True
        elif kind == "branch.merged":
            source = self.branches[e.session_id].get(str(e.payload_dict().get("source")))
            if source is not None:
                source.merged_into = e.branch

    def ancestry(self, session_id: str, name: str) -> list[tuple[str, int, int]]:
        """The branch's view as own-event ranges, root first: ``(branch, after_seq, through_seq)``.

        Events of ``branch`` with ``after_seq < seq <= through_seq`` belong to the view; the ranges
        partition ``1..head`` without overlap.
        """
        ranges: list[tuple[str, int, int]] = []
        hi = INFINITY
        info = self.branch(session_id, name)
        while info is not None:
            lo = info.fork_seq
            if lo < hi:
                ranges.append((info.name, lo, hi))
                hi = lo
            info = self.branch(session_id, info.parent) if info.parent else None
        ranges.reverse()
        return ranges

    def copy(self) -> Catalog:
        return _catalog_decoder.decode(_encoder.encode(self))


_encoder = msgspec.msgpack.Encoder()
_catalog_decoder = msgspec.msgpack.Decoder(Catalog)
