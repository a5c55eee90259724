"""The prompt input: multi-line editing, history, slash-command and ``@file`` completion.

Enter sends; Shift+Enter, Ctrl+J or a trailing backslash start a new line. Up on the first line and Down
on the last walk the history of sent prompts. Tab completes the word under the cursor: a ``/command``
at the start, or an ``@path`` anywhere (relative to the workspace, directories first); candidates are
listed in the hint line below. The input only posts :class:`PromptInput.Submitted`; the app decides
whether it is a slash command or a turn.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea

MAX_CANDIDATES = 8
IGNORED_DIRS = frozenset({".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"})


def complete_path(workspace: Path, partial: str) -> list[str]:
    """Workspace paths starting with ``partial`` (directories end with ``/``), directories first, sorted."""
    head, _, stem = partial.rpartition("/")
    base = (workspace / head) if head else workspace
    try:
        entries = list(os.scandir(base))
    except OSError:
        return []
    found: list[tuple[bool, str]] = []
    for entry in entries:
        if not entry.name.startswith(stem) or entry.name in IGNORED_DIRS:
            continue
        if entry.name.startswith(".") and not stem.startswith("."):
            continue
        is_dir = entry.is_dir()
        path = f"{head}/{entry.name}" if head else entry.name
        found.append((not is_dir, path + ("/" if is_dir else "")))
    return [path for _, path in sorted(found)]


def common_prefix(words: Sequence[str]) -> str:
    return os.path.commonprefix(list(words)) if words else ""  # noqa: RUF071 - character prefixes, on purpose


class PromptArea(TextArea):
    """The editable area: Enter submits instead of inserting a newline (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # TextArea selects a line / everything on F6 / F7; here they stay the app's (branches, sessions),
        # which the prompt would otherwise hide whenever it has focus (almost always).
        Binding("f6", "app.branch_tree", show=False),
        Binding("f7", "app.sessions", show=False),
    ]

    @dataclass
    class Send(Message):
        text: str

    @dataclass
    class Complete(Message):
        pass

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            row, col = self.cursor_location
            line = self.document.get_line(row)
            if col > 0 and line[:col].endswith("\\"):
                self.replace("\n", (row, col - 1), (row, col))
                return
            self.post_message(self.Send(self.text))
            return
        if event.key in ("shift+enter", "ctrl+j"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "tab":
            event.stop()
            event.prevent_default()
            self.post_message(self.Complete())
            return
        await super()._on_key(event)


class PromptInput(Vertical):
    """The input box and its hint line; keeps the history of what was sent."""

    DEFAULT_CSS = """
    PromptInput { height: auto; max-height: 12; }
    PromptInput PromptArea { height: auto; min-height: 3; max-height: 10; border: round $primary 60%; }
    PromptInput PromptArea:focus { border: round $primary; }
    PromptInput .prompt--hint { height: 1; color: $text-muted; padding: 0 1; }
    """

    @dataclass
    class Submitted(Message):
        """The user sent ``text`` (already stripped; never empty)."""

        text: str

    def __init__(
        self,
        *,
        workspace: Path | None = None,
        commands: Callable[[], Sequence[str]] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.workspace = workspace or Path.cwd()
        self.commands = commands or (lambda: ())
        self.history: list[str] = []
        self._history_at: int | None = None
        self._draft = ""
        self.area = PromptArea(soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.hint = Static(
            "Enter send · Shift+Enter/Ctrl+J newline · Tab complete /commands @files", classes="prompt--hint"
        )

    def compose(self) -> ComposeResult:
        yield self.area
        yield self.hint

    @property
    def text(self) -> str:
        return self.area.text

    def focus_input(self) -> None:
        self.area.focus()

    def set_text(self, text: str) -> None:
        self.area.load_text(text)
        self.area.move_cursor(self.area.document.end)

    # ------------------------------------------------------------------------------- send, history
    def on_prompt_area_send(self, message: PromptArea.Send) -> None:
        message.stop()
        text = message.text.strip()
        if not text:
            return
        if not self.history or self.history[-1] != text:
            self.history.append(text)
        self._history_at = None
        self.area.clear()
        self.post_message(self.Submitted(text))

    def on_key(self, event: events.Key) -> None:
        area = self.area
        if event.key == "up" and area.cursor_at_first_line and self.history:
            event.stop()
            event.prevent_default()
            if self._history_at is None:
                self._draft = area.text
                self._history_at = len(self.history)
            self._history_at = max(0, self._history_at - 1)
            self.set_text(self.history[self._history_at])
        elif event.key == "down" and area.cursor_at_last_line and self._history_at is not None:
            event.stop()
            event.prevent_default()
            self._history_at += 1
            if self._history_at >= len(self.history):
                self._history_at = None
                self.set_text(self._draft)
            else:
                self.set_text(self.history[self._history_at])

    # ---------------------------------------------------------------------------------- completion
    def on_prompt_area_complete(self, message: PromptArea.Complete) -> None:
        message.stop()
        row, col = self.area.cursor_location
        line = self.area.document.get_line(row)
        start = col
        while start > 0 and not line[start - 1].isspace():
            start -= 1
        word = line[start:col]
        if word.startswith("@"):
            candidates = ["@" + c for c in complete_path(self.workspace, word[1:])]
        elif word.startswith("/") and row == 0 and start == 0:
            candidates = sorted(c for c in self.commands() if c.startswith(word))
        else:
            self.screen.focus_next()
            return
        if not candidates:
            self.hint.update(f"no completion for {word}")
            return
        completion = candidates[0] if len(candidates) == 1 else common_prefix(candidates)
        if len(candidates) == 1 and not completion.endswith("/"):
            completion += " "
        if len(completion) > len(word):
            self.area.replace(completion, (row, start), (row, col))
        shown = " ".join(candidates[:MAX_CANDIDATES]) + (" …" if len(candidates) > MAX_CANDIDATES else "")
        self.hint.update(shown if len(candidates) > 1 else f"completed {completion.strip()}")
