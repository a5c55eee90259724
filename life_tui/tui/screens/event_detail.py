"""The event detail screen: one event's full envelope and payload as pretty JSON.

Opened with Enter from the event log (or anywhere an event is selected). It shows exactly what is stored
(the envelope fields, the payload decoded from its stored bytes, the hash chain link), so nothing the log
line abbreviates is hidden. ``b`` asks the app to branch at this event; Escape or ``q`` closes.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from life_tui.kernel.event import Event
from life_tui.tui.messages import BranchAtRequested


def event_document(event: Event) -> dict[str, Any]:
    """The event as plain JSON data, the payload decoded (not left as a string)."""
    document: dict[str, Any] = json.loads(event.to_json())
    return document


def pretty_json(event: Event) -> str:
    return json.dumps(event_document(event), indent=2, ensure_ascii=False)


class EventDetailScreen(ModalScreen[None]):
    """Full JSON of one event."""

    DEFAULT_CSS = """
    EventDetailScreen { align: center middle; }
    EventDetailScreen > Vertical {
        width: 90%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    EventDetailScreen #event-detail-title { height: 1; text-style: bold; }
    EventDetailScreen VerticalScroll { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("b", "branch", "Branch here"),
    ]

    def __init__(self, event: Event, *, inherited: bool = False) -> None:
        super().__init__()
        self.event = event
        self.inherited = inherited
        self.text = pretty_json(event)

    def compose(self) -> ComposeResult:
        origin = " · inherited from the parent branch" if self.inherited else ""
        title = f"event {self.event.seq} · {self.event.kind} · {self.event.time_iso}{origin}"
        with Vertical():
            yield Static(title, id="event-detail-title", markup=False)
            with VerticalScroll():
                yield Static(Syntax(self.text, "json", word_wrap=True, theme="ansi_dark"), id="event-detail-json")

    def action_branch(self) -> None:
        self.app.post_message(BranchAtRequested(self.event.seq))
        self.dismiss(None)
