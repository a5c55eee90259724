"""Compare two branches side by side: what each did after the last event they share.

Each column lists the branch's conversation after the shared point (user and assistant messages), the
files its tools changed, its event count and its cost. The data is :func:`compare_branches`, a fold over
the journal. ``s`` swaps the columns; Escape closes.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from life_tui.journal.view import JournalView
from life_tui.tui.branch_summary import BranchSide, Comparison, compare_branches

MESSAGE_CHARS = 400


def side_text(side: BranchSide) -> Text:
    """One column: heading, files, then the conversation."""
    text = Text()
    text.append(f"{side.branch}\n", style="bold")
    text.append(f"{side.events} events · ${side.cost_usd:.4f}\n\n")
    text.append("Files changed\n", style="bold")
    if side.files:
        for path, what in sorted(side.files.items()):
            text.append(f"  {what:8} {path}\n")
    else:
        text.append("  (none)\n", style="dim")
    text.append("\nMessages\n", style="bold")
    if not side.messages:
        text.append("  (none)\n", style="dim")
    for role, content in side.messages:
        shown = content if len(content) <= MESSAGE_CHARS else content[:MESSAGE_CHARS] + "…"
        text.append(f"{role}: ", style="bold cyan" if role == "user" else "bold green")
        text.append(f"{shown}\n")
    return text


class CompareScreen(Screen[None]):
    """Two branches of one session, side by side."""

    DEFAULT_CSS = """
    CompareScreen #compare-title { height: 1; text-style: bold; padding: 0 1; background: $panel; }
    CompareScreen Horizontal { height: 1fr; }
    CompareScreen VerticalScroll { width: 1fr; border: round $secondary; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("s", "swap", "Swap sides"),
    ]

    def __init__(self, journal: JournalView, session_id: str, left: str, right: str) -> None:
        super().__init__()
        self.journal = journal
        self.session_id = session_id
        self.comparison: Comparison = compare_branches(journal, session_id, left, right)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), id="compare-title", markup=False)
            with Horizontal():
                with VerticalScroll(id="compare-left"):
                    yield Static(side_text(self.comparison.left), id="compare-left-text")
                with VerticalScroll(id="compare-right"):
                    yield Static(side_text(self.comparison.right), id="compare-right-text")

    def _title(self) -> str:
        c = self.comparison
        return f"{c.left.branch} vs {c.right.branch} · shared through event {c.common_seq}"

    def action_swap(self) -> None:
        c = self.comparison
        self.comparison = Comparison(c.common_seq, c.right, c.left)
        self.query_one("#compare-title", Static).update(self._title())
        self.query_one("#compare-left-text", Static).update(side_text(self.comparison.left))
        self.query_one("#compare-right-text", Static).update(side_text(self.comparison.right))
