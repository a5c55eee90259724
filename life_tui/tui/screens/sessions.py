"""The session picker: every session of the journal, most recent first, searchable by name, id and workspace.

Typing narrows the list (every word must appear in the name, the id or the workspace, case-insensitive);
Up/Down move through the matches without leaving the search; Enter opens the highlighted session: the
screen posts ``SessionOpenRequested`` to the app and dismisses with the session id. Escape closes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from life_tui.journal.catalog import SessionInfo
from life_tui.journal.view import JournalView
from life_tui.tui.messages import SessionOpenRequested


def matches(info: SessionInfo, query: str) -> bool:
    haystack = " ".join((info.name, info.session_id, info.workspace or "")).lower()
    return all(word in haystack for word in query.lower().split())


def session_line(info: SessionInfo) -> str:
    when = datetime.fromtimestamp(info.updated_at / 1_000_000, UTC).strftime("%Y-%m-%d %H:%M")
    state = " (closed)" if info.closed else ""
    return f"{info.name or '(unnamed)'}  {info.session_id}  {when}  {info.events} events  {info.workspace or ''}{state}"


class SessionPickerScreen(ModalScreen[str | None]):
    """Pick a session to open; dismisses with its id, or None."""

    DEFAULT_CSS = """
    SessionPickerScreen { align: center middle; }
    SessionPickerScreen > Vertical { width: 90%; height: 80%; border: round $accent; background: $surface; }
    SessionPickerScreen #sessions-title { height: 1; text-style: bold; padding: 0 1; }
    SessionPickerScreen OptionList { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("down", "move(1)", "Next", show=False, priority=True),
        Binding("up", "move(-1)", "Previous", show=False, priority=True),
    ]

    def __init__(self, journal: JournalView, *, current: str | None = None) -> None:
        super().__init__()
        self.sessions = journal.sessions()
        self.current = current
        self.shown: list[SessionInfo] = list(self.sessions)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Sessions ({len(self.sessions)})", id="sessions-title")
            yield Input(placeholder="search name, id or workspace…", id="sessions-search")
            yield OptionList(id="sessions-list")

    def on_mount(self) -> None:
        if not self.query(OptionList):  # closed before its widgets were mounted (dismissed at once, app shutdown)
            return
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, query: str) -> None:
        self.shown = [s for s in self.sessions if matches(s, query)]
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(Option(session_line(s), id=s.session_id) for s in self.shown)
        if self.shown:
            options.highlighted = 0
        self.query_one("#sessions-title", Static).update(f"Sessions ({len(self.shown)} of {len(self.sessions)})")

    @on(Input.Changed, "#sessions-search")
    def _search(self, changed: Input.Changed) -> None:
        self._fill(changed.value)

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if not self.shown:
            return
        at = options.highlighted if options.highlighted is not None else -delta
        options.highlighted = max(0, min(at + delta, len(self.shown) - 1))

    @property
    def highlighted(self) -> str | None:
        at = self.query_one(OptionList).highlighted
        return self.shown[at].session_id if at is not None and at < len(self.shown) else None

    @on(Input.Submitted, "#sessions-search")
    def _submitted(self, submitted: Input.Submitted) -> None:
        submitted.stop()
        self._open(self.highlighted)

    @on(OptionList.OptionSelected)
    def _selected(self, selected: OptionList.OptionSelected) -> None:
        selected.stop()
        self._open(selected.option.id)

    def _open(self, session_id: str | None) -> None:
        if session_id is None:
            return
        self.app.post_message(SessionOpenRequested(session_id))
        self.dismiss(session_id)
