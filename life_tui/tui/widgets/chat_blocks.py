"""The chat pane's block widgets: a user turn, streamed Markdown, dimmed reasoning, tool cards, notices.

Each widget draws one :class:`~life_tui.tui.widgets.chat_model.Block` and redraws itself from it with
``show(block)``; the chat pane decides which blocks changed. Assistant text is a ``TextBlock``
(``chat_text.py``, streamed Markdown), loaded with the first answer rather than at start-up: Textual's
Markdown and its parser cost ~50 ms of import, and the first frame has a budget (issue 6). A tool card
carries the inline approval prompt: approve once, for the session, or deny, with the exact arguments on
screen; the answer goes up as :class:`ApprovalAnswered`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Collapsible, Static

from life_tui.tui.widgets.chat_model import Block, FileChange

if TYPE_CHECKING:
    from life_tui.tui.widgets.chat_text import TextBlock

BlobReader = Callable[[str], bytes]
STATUS_ICONS = {
    "requested": "○",
    "awaiting approval": "?",
    "running": "◐",
    "done": "✓",
    "failed": "✗",
    "denied": "⊘",
    "expired": "⌛",
}
MAX_OUTPUT_CHARS = 20_000
"""A card shows at most this much output (the full result stays in the journal and the event log)."""


@dataclass
class ApprovalAnswered(Message):
    """The user answered an approval prompt: ``decision`` is ``once``, ``session`` or ``deny``."""

    approval_id: str
    decision: str


class UserBlock(Static):
    DEFAULT_CSS = """
    UserBlock { margin: 1 0 0 0; padding: 0 1; border-left: thick $primary; color: $text; }
    """

    def show(self, block: Block) -> None:
        self.update(Content(block.text))


class NoticeBlock(Static):
    DEFAULT_CSS = """
    NoticeBlock { color: $text-muted; padding: 0 1; }
    NoticeBlock.-error { color: $error; }
    """

    def show(self, block: Block) -> None:
        self.set_class(block.is_error, "-error")
        self.update(Content(f"· {block.text}"))


class ReasoningBlock(Collapsible):
    """Reasoning: dimmed, open while it streams, folded once the answer starts."""

    DEFAULT_CSS = """
    ReasoningBlock { padding: 0; margin: 0; border: none; background: transparent; }
    ReasoningBlock Static { color: $text-muted; text-style: italic; padding: 0 1; }
    """

    def __init__(self) -> None:
        self.body = Static()
        super().__init__(self.body, title="reasoning", collapsed=False)

    def show(self, block: Block) -> None:
        self.body.update(Content(block.text))
        if block.done and not self.collapsed:
            self.collapsed = True
        words = len(block.text.split())
        self.title = f"reasoning ({words} words)"


class ApprovalPrompt(Vertical, can_focus=True):
    """Approve once / for the session / deny, with the exact arguments of the call shown above the choices."""

    BINDINGS = [  # noqa: RUF012 - Textual's own class-variable convention
        Binding("y", "answer('once')", "Approve once", id="approve-once"),
        Binding("s", "answer('session')", "Approve for session", id="approve-session"),
        Binding("n", "answer('deny')", "Deny", id="deny"),
    ]
    DEFAULT_CSS = """
    ApprovalPrompt { height: auto; border: round $warning; padding: 0 1; }
    ApprovalPrompt:focus-within, ApprovalPrompt:focus { border: round $accent; }
    ApprovalPrompt .approval--args { color: $text; }
    ApprovalPrompt Horizontal { height: auto; }
    ApprovalPrompt Button { min-width: 10; margin: 0 1 0 0; }
    """

    def __init__(self, approval_id: str, tool_name: str, arguments_text: str, risk: str) -> None:
        super().__init__()
        self.approval_id = approval_id
        self._header = f"Allow {tool_name}? (risk {risk})  y: once · s: this session · n: deny"
        self._arguments = arguments_text

    def compose(self) -> ComposeResult:
        yield Static(Content.styled(self._header, "bold $warning"))
        yield Static(Content(self._arguments), classes="approval--args")
        with Horizontal():
            yield Button("Approve once", id="approve-once", variant="success", compact=True)
            yield Button("This session", id="approve-session", variant="primary", compact=True)
            yield Button("Deny", id="deny", variant="error", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        decision = {"approve-once": "once", "approve-session": "session", "deny": "deny"}[event.button.id or "deny"]
        self.action_answer(decision)

    def action_answer(self, decision: str) -> None:
        self.post_message(ApprovalAnswered(self.approval_id, decision))


def diff_content(change: FileChange, read_blob: BlobReader) -> Content:
    """A file change as a coloured unified diff (added lines green, removed red, hunks in the accent)."""
    before = read_blob(change.before_blob).decode("utf-8", "replace") if change.before_blob else ""
    after = read_blob(change.after_blob).decode("utf-8", "replace") if change.after_blob else ""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), f"a/{change.path}", f"b/{change.path}", lineterm=""
    )
    styled: list[Content] = []
    for line in lines:
        if line.startswith(("+++", "---")):
            styled.append(Content.styled(line, "bold"))
        elif line.startswith("+"):
            styled.append(Content.styled(line, "$success"))
        elif line.startswith("-"):
            styled.append(Content.styled(line, "$error"))
        elif line.startswith("@@"):
            styled.append(Content.styled(line, "$accent"))
        else:
            styled.append(Content(line))
    return Content("\n").join(styled) if styled else Content(f"{change.path}: no textual change")


class ToolCard(Vertical):
    """A tool call: name, status and duration; arguments and output fold away; diffs for file changes."""

    DEFAULT_CSS = """
    ToolCard { height: auto; border: round $panel-lighten-2; padding: 0 1; margin: 0 0 0 2; }
    ToolCard.-failed { border: round $error; }
    ToolCard.-done { border: round $success 50%; }
    ToolCard Collapsible { padding: 0; margin: 0; border: none; background: transparent; }
    ToolCard .tool--output { color: $text-muted; }
    """

    def __init__(self, read_blob: BlobReader | None) -> None:
        super().__init__()
        self.read_blob = read_blob
        self.header = Static(classes="tool--header")
        self.arguments = Static()
        self.output = Static(classes="tool--output")
        self.output_fold = Collapsible(self.output, title="output", collapsed=True)
        self.prompt: ApprovalPrompt | None = None
        self._diffs_shown = 0

    def compose(self) -> ComposeResult:
        yield self.header
        yield Collapsible(self.arguments, title="arguments", collapsed=True)
        yield self.output_fold

    def show(self, block: Block) -> None:
        icon = STATUS_ICONS.get(block.status, "·")
        duration = f" {block.duration_ms:.0f} ms" if block.duration_ms is not None else ""
        summary = _one_line(block.arguments_text(), 60)
        outcome = f"  [{block.approval.outcome}]" if block.approval is not None and block.approval.outcome else ""
        self.header.update(
            Content.assemble(
                (f"{icon} ", ""),
                (block.tool_name, "bold"),
                (f" {summary}", "$text-muted"),
                (f"  {block.status}{duration}", "$error" if block.is_error else "$text-muted"),
                (outcome, "$warning"),
            )
        )
        self.arguments.update(Content(block.arguments_text()))
        self.set_class(block.status == "failed", "-failed")
        self.set_class(block.status == "done", "-done")
        if block.output:
            self.output.update(Content(block.output[:MAX_OUTPUT_CHARS]))
            lines = block.output.count("\n") + 1
            self.output_fold.title = f"output ({lines} lines)" + (" (error)" if block.is_error else "")
        self._show_diffs(block)
        self._show_approval(block)

    def _show_diffs(self, block: Block) -> None:
        if self.read_blob is None:
            return
        for change in block.files[self._diffs_shown :]:
            try:
                body = diff_content(change, self.read_blob)
            except OSError as exc:
                body = Content(f"{change.path}: the diff is unavailable ({exc})")
            self.mount(Collapsible(Static(body, classes="tool--diff"), title=f"diff {change.path}", collapsed=False))
        self._diffs_shown = len(block.files)

    def _show_approval(self, block: Block) -> None:
        approval = block.approval
        if approval is not None and approval.open and self.prompt is None:
            args = Block("tool", 0, arguments=approval.arguments).arguments_text()
            self.prompt = ApprovalPrompt(approval.approval_id, block.tool_name, args, approval.risk)
            self.mount(self.prompt)
        elif self.prompt is not None and (approval is None or not approval.open):
            self.prompt.remove()
            self.prompt = None


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def widget_for(block: Block, read_blob: BlobReader | None) -> Widget:
    """A fresh widget for ``block`` (the chat pane calls ``show`` on it once mounted)."""
    if block.kind == "user":
        return UserBlock()
    if block.kind == "text":
        from life_tui.tui.widgets.chat_text import TextBlock

        return TextBlock()
    if block.kind == "reasoning":
        return ReasoningBlock()
    if block.kind == "tool":
        return ToolCard(read_blob)
    return NoticeBlock()


def __getattr__(name: str) -> type[TextBlock]:
    """``chat_blocks.TextBlock`` still names the text widget, loaded on first use (see the module docstring)."""
    if name == "TextBlock":
        from life_tui.tui.widgets.chat_text import TextBlock

        return TextBlock
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
