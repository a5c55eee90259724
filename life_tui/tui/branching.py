"""Branching for the workstation: what a pane needs to show a branch, and forking at an event to go on there.

The event log reads a branch by seq range and marks the events its parent gave it; :func:`branch_context`
builds that :class:`PaneContext` from the journal (ranged reads resolve inherited ranges there). Branching
from the keyboard is :func:`branch_at`: fork the shown branch at an event under a fresh name and return the
Session on the new branch; the app then shows it (``BranchAtRequested`` -> :func:`branch_at` -> reset the
panes with :func:`branch_context`). Kept out of ``app.py`` so the replay mode and the screens share it.
"""

from __future__ import annotations

from typing import Any

from life_tui.journal.view import JournalView
from life_tui.kernel.event import Event
from life_tui.runtime.session import Session
from life_tui.tui.panes import PaneContext


def branch_context(journal: JournalView, session_id: str, branch: str, **extras: Any) -> PaneContext:
    """A pane context that reads ``branch`` by range; events up to its fork point are marked inherited."""
    info = journal.branch(session_id, branch)

    def read_range(after: int, through: int) -> list[Event]:
        return journal.read(session_id, branch, after=after, through=through)

    return PaneContext(
        session_id=session_id,
        branch=branch,
        read_range=read_range,
        head=lambda: journal.head(session_id, branch),
        inherited_through=info.fork_seq if info.parent else 0,
        extras=dict(extras),
    )


def next_branch_name(journal: JournalView, session_id: str, stem: str = "branch") -> str:
    """``stem-1``, ``stem-2``...: the first name the session does not use yet."""
    taken = {b.name for b in journal.branches(session_id)}
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


async def branch_at(session: Session, seq: int, name: str | None = None) -> Session:
    """Fork ``session``'s branch at ``seq`` (a new name unless given) and return the Session on the fork."""
    chosen = name or next_branch_name(session.journal, session.session_id)
    return await session.fork(seq, chosen)
