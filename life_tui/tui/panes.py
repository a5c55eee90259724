"""The pane contract: every pane of the main screen is a fold over the shown branch's events.

The app (``app.py``) owns the panes and routes what the bridge delivers: ``reset`` when the shown branch
changes (opening a session, switching branch, jumping in replay mode) and ``apply`` for each batch of
newly stored events. A pane keeps only what it needs to draw and never reads the journal on its own for
events it was not given (the event log is the exception: it fetches row ranges through ``PaneContext``
so a million-event branch never becomes a million widgets). Replay mode works by resetting every pane
with the events up to the replay point, so a pane that folds correctly shows the past correctly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from life_tui.kernel.event import Event


@dataclass(frozen=True)
class PaneContext:
    """What a pane may know besides the events: where they come from and read-only accessors."""

    session_id: str
    branch: str
    context_window: int = 200_000
    read_range: Callable[[int, int], list[Event]] | None = None
    """Events of the shown branch with ``after < seq <= through`` (inherited ones included), for virtualised views."""
    head: Callable[[], int] | None = None
    """The shown branch's current last seq."""
    inherited_through: int = 0
    """Events with seq <= this come from the parent branch (0: none)."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Front-end data that is not in the branch's events (the global wallet view, settings...)."""


class Pane(Protocol):
    def reset(self, events: Sequence[Event], context: PaneContext) -> None: ...

    def apply(self, events: Sequence[Event]) -> None: ...
