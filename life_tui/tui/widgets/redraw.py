"""Redraw only what changed: the panes' shared guard against needless repaints and layouts.

Every ``Static.update`` repaints the widget and, by default, lays out the whole screen; a pane that
redraws its text for each live batch (up to 30 a second while an answer streams) makes every frame a
full-screen one (issue 6's frame budget: 50 ms). :func:`show_content` updates a ``Static`` only when the
new content differs from what it shows. Textual's ``Content`` equality compares the plain text only, so
two contents count as the same here when their text *and* their style spans are equal.
"""

from __future__ import annotations

from textual.content import Content
from textual.visual import VisualType
from textual.widgets import Static


def same_content(shown: VisualType, wanted: Content | str) -> bool:
    """True when ``shown`` draws exactly as ``wanted`` would (same text, same styles)."""
    if isinstance(shown, str) and isinstance(wanted, str):
        return shown == wanted
    if isinstance(shown, Content) and isinstance(wanted, Content):
        return shown.plain == wanted.plain and shown.spans == wanted.spans
    return False


def show_content(static: Static, content: Content | str, *, layout: bool = True) -> bool:
    """Update ``static`` with ``content`` unless it already shows exactly that; True when it was updated.

    ``layout=False`` for a widget whose size cannot change with its text (a fixed height and width)."""
    if same_content(static.content, content):
        return False
    static.update(content, layout=layout)
    return True
