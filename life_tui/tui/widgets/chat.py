"""The chat pane: the conversation of the shown branch, as a scrolling column of block widgets.

A pane (``reset`` + ``apply``): the :class:`~life_tui.tui.widgets.chat_model.Transcript` folds the events
and says which blocks changed; this widget mounts a widget per new block and redraws the changed ones.
It keeps the view pinned to the bottom while the user has not scrolled away (``anchor``), shows only the
last ``MAX_BLOCKS`` blocks of a long session (the event log has everything), and focuses an approval
prompt as soon as one appears so a single key answers it.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.containers import VerticalScroll
from textual.widget import Widget

from life_tui.kernel.event import Event
from life_tui.tui.panes import PaneContext
from life_tui.tui.widgets.chat_blocks import ApprovalPrompt, BlobReader, NoticeBlock, ToolCard, widget_for
from life_tui.tui.widgets.chat_model import Block, Transcript

MAX_BLOCKS = 300
"""Blocks kept on screen; older ones are summarised by one notice (a widget per block would not scale)."""


class ChatPane(VerticalScroll):
    """The conversation; a fold over the shown branch's events."""

    DEFAULT_CSS = """
    ChatPane { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    ChatPane > .chat--empty { color: $text-muted; padding: 1 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.transcript = Transcript()
        self.context = PaneContext(session_id="", branch="")
        self._widgets: dict[int, Widget] = {}

    @property
    def read_blob(self) -> BlobReader | None:
        reader = self.context.extras.get("read_blob")
        return reader if callable(reader) else None

    def on_mount(self) -> None:
        self.anchor()

    # ---------------------------------------------------------------------------------- the fold
    def reset(self, events: Sequence[Event], context: PaneContext) -> None:
        self.context = context
        self.transcript = Transcript()
        self.transcript.apply(events)
        self._widgets = {}
        self.remove_children()
        blocks = self.transcript.blocks
        first = max(0, len(blocks) - MAX_BLOCKS)
        if first:
            hidden = NoticeBlock()
            self.mount(hidden)
            hidden.show(Block("notice", 0, text=f"{first} earlier blocks are in the event log", done=True))
        self._mount_blocks(range(first, len(blocks)))
        self.scroll_end(animate=False, immediate=False)

    def apply(self, events: Sequence[Event]) -> None:
        touched = self.transcript.apply(events)
        new = sorted(i for i in touched if i not in self._widgets)
        for index in sorted(touched - set(new)):
            self._show(index)
        self._mount_blocks(new)

    # ------------------------------------------------------------------------------------ widgets
    def _mount_blocks(self, indexes: Sequence[int] | range) -> None:
        if not indexes:
            return
        widgets = []
        for index in indexes:
            widget = widget_for(self.transcript.blocks[index], self.read_blob)
            self._widgets[index] = widget
            widgets.append(widget)
        self.mount_all(widgets)
        for index in indexes:
            self._show(index)

    def _show(self, index: int) -> None:
        widget = self._widgets.get(index)
        if widget is None:
            return
        block = self.transcript.blocks[index]
        if isinstance(widget, ToolCard) and not widget.is_mounted:
            self.call_after_refresh(self._show_card, widget, block)
            return
        widget.show(block)  # type: ignore[attr-defined]
        if isinstance(widget, ToolCard) and widget.prompt is not None:
            self.call_after_refresh(self._focus_prompt, widget.prompt)

    def _show_card(self, card: ToolCard, block: Block) -> None:
        if not card.is_attached:  # a reset (a branch switch) removed the card before it was drawn
            return
        card.show(block)
        if card.prompt is not None:
            self.call_after_refresh(self._focus_prompt, card.prompt)

    def _focus_prompt(self, prompt: ApprovalPrompt) -> None:
        if prompt.is_attached:
            prompt.focus()
            self.scroll_to_widget(prompt, animate=False)

    def open_prompts(self) -> list[ApprovalPrompt]:
        return list(self.query(ApprovalPrompt))
