"""The messages the workstation's panes exchange (the bridge posts the runtime's; panes post their own).

Panes are folds: a pane shows what the events it was given say, so the same pane serves a live session, a
reopened one, and replay mode (which resets every pane and feeds it the events up to the replay point).
A pane never reaches into a sibling: it posts one of these and the app routes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from life_tui.kernel.event import Event


@dataclass
class EventsStored(Message):
    """Durable events of the shown branch, in order (live: as the journal stores them)."""

    events: list[Event]


@dataclass
class EventsReset(Message):
    """Start over from these events (a branch switch, a reopened session, a replay jump)."""

    events: list[Event]
    session_id: str
    branch: str


@dataclass
class EventSelected(Message):
    """The user selected event ``seq`` of the shown branch (in the event log or the chat)."""

    seq: int


@dataclass
class BranchAtRequested(Message):
    """Fork the shown branch at ``seq`` and continue there."""

    seq: int


@dataclass
class BranchSwitchRequested(Message):
    branch: str


@dataclass
class SessionOpenRequested(Message):
    session_id: str
    branch: str = "main"


@dataclass
class ReplayPositionChanged(Message):
    """Replay mode moved to ``seq`` (every pane shows the state at that point)."""

    seq: int
    total: int
