"""What the branch tree and the compare screen show, folded from the journal (no Textual here).

A branch is a pointer (parent, fork point); its view is its parent's view up to the fork point followed by
its own events. :func:`summarise_branches` gives each branch's fork point, length and cost (its own spend
and its whole view's); :func:`compare_branches` finds where two branches stop sharing events and folds
what each did after that point: the conversation, the files its tools changed, its cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from life_tui.journal.catalog import MAIN
from life_tui.journal.view import JournalView
from life_tui.kernel.event import Event

COST_KINDS = ("assistant.message",)
MESSAGE_KINDS = ("user.message", "assistant.message")
FILE_KINDS = ("file.written", "file.deleted", "workspace.rewound")


def _cost(events: list[Event]) -> float:
    total = 0.0
    for e in events:
        value = e.payload_dict().get("cost_usd")
        if isinstance(value, int | float):
            total += float(value)
    return total


@dataclass(frozen=True)
class BranchSummary:
    name: str
    parent: str | None
    fork_seq: int
    head: int
    """Events in the branch's view (inherited ones included)."""
    own_events: int
    own_cost_usd: float
    cost_usd: float
    """Cost of the whole view (the parent's spend up to the fork point plus the branch's own)."""
    tombstoned: bool = False
    merged_into: str | None = None


def summarise_branches(journal: JournalView, session_id: str) -> list[BranchSummary]:
    """Every branch of the session, ``main`` first, then by creation."""
    out = []
    for info in journal.branches(session_id):
        whole = journal.read(session_id, info.name, kinds=COST_KINDS)
        own = [e for e in whole if e.seq > info.fork_seq] if info.parent else whole
        out.append(
            BranchSummary(
                name=info.name,
                parent=info.parent,
                fork_seq=info.fork_seq,
                head=info.head,
                own_events=info.own_events,
                own_cost_usd=_cost(own),
                cost_usd=_cost(whole),
                tombstoned=info.tombstoned,
                merged_into=info.merged_into,
            )
        )
    return sorted(out, key=lambda s: (s.name != MAIN,))


def children_of(summaries: list[BranchSummary]) -> dict[str | None, list[BranchSummary]]:
    """Branches by parent name (``None``: the root), each list in creation order."""
    tree: dict[str | None, list[BranchSummary]] = {}
    for s in summaries:
        tree.setdefault(s.parent, []).append(s)
    return tree


def common_seq(journal: JournalView, session_id: str, a: str, b: str) -> int:
    """The last seq both branches' views share (0: nothing but both start empty)."""
    heads = (journal.head(session_id, a), journal.head(session_id, b))
    common = 0
    for (name_a, lo_a, hi_a), (name_b, lo_b, hi_b) in zip(
        journal.ancestry(session_id, a), journal.ancestry(session_id, b), strict=False
    ):
        if name_a != name_b or lo_a != lo_b:
            break
        common = min(hi_a, hi_b, *heads)
        if hi_a != hi_b:
            break
    return common


@dataclass
class BranchSide:
    """What one branch did after the shared point."""

    branch: str
    events: int = 0
    messages: list[tuple[str, str]] = field(default_factory=list)
    """``(role, text)`` in order."""
    files: dict[str, str] = field(default_factory=dict)
    """Path -> what happened last (written, deleted, rewound)."""
    cost_usd: float = 0.0


@dataclass(frozen=True)
class Comparison:
    common_seq: int
    left: BranchSide
    right: BranchSide


def _side(journal: JournalView, session_id: str, branch: str, after: int) -> BranchSide:
    side = BranchSide(branch)
    for e in journal.iter_events(session_id, branch, after=after):
        side.events += 1
        if e.kind in MESSAGE_KINDS:
            role = "user" if e.kind == "user.message" else "assistant"
            side.messages.append((role, str(e.payload_dict().get("content", ""))))
        elif e.kind in ("file.written", "file.deleted"):
            side.files[str(e.payload_dict().get("path", ""))] = e.kind.split(".")[1]
        elif e.kind == "workspace.rewound":
            for path in e.payload_dict().get("restored", {}):
                side.files[str(path)] = "rewound"
    side.cost_usd = _cost(journal.read(session_id, branch, after=after, kinds=COST_KINDS))
    return side


def compare_branches(journal: JournalView, session_id: str, left: str, right: str) -> Comparison:
    """Both branches after the last event they share."""
    common = common_seq(journal, session_id, left, right)
    return Comparison(common, _side(journal, session_id, left, common), _side(journal, session_id, right, common))
