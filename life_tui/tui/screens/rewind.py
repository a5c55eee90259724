"""Rewind confirmation: what restoring the workspace files to an event would change, then do it on ``y``.

The plan is the dry run of :mod:`life_tui.runtime.rewind` (files to restore, create or remove, paths left
alone because they already match, paths refused and why); nothing is written until the user confirms.
Confirming applies it through the session, which journals ``workspace.rewound`` with backups (so the
rewind itself can be rewound). Dismisses with the recorded event's seq, or None when cancelled.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from life_tui.errors import LifeError
from life_tui.runtime.rewind import RewindPlan, apply_rewind, preview_rewind
from life_tui.runtime.session import Session


class RewindScreen(ModalScreen[int | None]):
    """Preview, then confirm, a rewind of the workspace files to event ``to_seq``."""

    DEFAULT_CSS = """
    RewindScreen { align: center middle; }
    RewindScreen > Vertical { width: 80%; height: 70%; border: round $warning; background: $surface; padding: 0 1; }
    RewindScreen #rewind-title { height: 1; text-style: bold; }
    RewindScreen #rewind-help { height: 1; color: $text-muted; }
    RewindScreen VerticalScroll { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Rewind"),
        Binding("n,escape", "dismiss", "Cancel"),
    ]

    def __init__(self, session: Session, to_seq: int) -> None:
        super().__init__()
        self.session = session
        self.to_seq = to_seq
        self.plan: RewindPlan | None = None
        # Kept, not queried: the plan may arrive after the screen closed, or closed before its widgets were
        # mounted (dismissed at once, the app shutting down); updating a Static that is not shown is harmless.
        self._plan_text = Static("working out what would change…", id="rewind-plan", markup=False)
        self._help_text = Static("", id="rewind-help", markup=False)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Rewind workspace files to event {self.to_seq}", id="rewind-title", markup=False)
            with VerticalScroll():
                yield self._plan_text
            yield self._help_text

    def on_mount(self) -> None:
        self._plan()

    @work(exclusive=True, group="rewind")
    async def _plan(self) -> None:
        try:
            self.plan = await preview_rewind(self.session, self.to_seq)
        except LifeError as exc:
            self._show(f"{exc}", "Esc: close")
            return
        if self.plan.empty:
            lines = self.plan.describe() or ["no file changed by tools after this event"]
            self._show("\n".join(["nothing to rewind:", *lines]), "Esc: close")
        else:
            self._show("\n".join(self.plan.describe()), "y: rewind these files · n/Esc: cancel")

    def _show(self, body: str, help_text: str) -> None:
        self._plan_text.update(body)
        self._help_text.update(help_text)

    async def action_confirm(self) -> None:
        plan = self.plan
        if plan is None or plan.empty:
            return
        try:
            event = await apply_rewind(self.session, plan, reason=f"rewound to event {self.to_seq} by the user")
        except LifeError as exc:
            self.app.notify(f"{exc}", title="rewind failed", severity="error")
            self.dismiss(None)
            return
        self.app.notify(f"{len(plan.changes)} file(s) restored to event {self.to_seq}")
        self.dismiss(event.seq)
