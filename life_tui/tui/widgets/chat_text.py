"""Assistant text in the chat: Markdown that streams while the answer arrives.

Kept out of ``chat_blocks.py`` so Textual's Markdown widget and its parser (markdown-it, ~50 ms of import)
load with the first answer instead of before the workstation's first frame (issue 6's start-up budget).
Text streams through Textual's ``MarkdownStream``: fragments are batched when they arrive faster than
they render, so a fast stream never blocks typing.
"""

from __future__ import annotations

from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownStream

from life_tui.tui.widgets.chat_model import Block


class TextBlock(Markdown):
    """Assistant text: appended through a Markdown stream while it streams, replaced when it is rewritten."""

    DEFAULT_CSS = """
    TextBlock { margin: 0; padding: 0 1; background: transparent; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.shown = ""
        self._stream: MarkdownStream | None = None

    def show(self, block: Block) -> None:
        text = block.text
        if text != self.shown:
            if not self.shown and block.done:
                self.call_later(self.update, text)  # a finished block (a reopened session): no streaming
            elif text.startswith(self.shown):
                if self._stream is None:
                    self._stream = Markdown.get_stream(self)
                self.call_later(self._stream.write, text[len(self.shown) :])
            else:
                self.call_later(self._replace, text)
            self.shown = text
        if block.done:
            self.call_later(self._finish)

    async def _replace(self, text: str) -> None:
        await self._finish()
        await self.update(text)

    async def on_unmount(self) -> None:
        """Removed (a branch switch, the app closing) while streaming: stop the stream's task with the widget,
        which would otherwise wait for fragments forever (nothing else stops it once the widget is gone)."""
        await self._finish()

    async def _finish(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()
