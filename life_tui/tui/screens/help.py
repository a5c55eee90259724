"""The help screen: every key of the workstation (as currently mapped), every slash command, and how to remap.

The list is built from the live bindings, not from a hand-written table: the app's keys (``keys.py``,
after the user's ``[tui.keys]`` remapping), the keys of every pane and screen widget on the main screen
(the event log's, the replay bar's...), and the slash commands. So a key that exists is a key that is
listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from life_tui.tui.commands import SLASH_COMMANDS
from life_tui.tui.keys import describe_key

if TYPE_CHECKING:
    from textual.app import App


def key_rows(app: App[Any]) -> list[tuple[str, str, str]]:
    """``(where, keys, what)`` for every binding of the app and of every widget on the main screen."""
    keymap = app._keymap  # the remapped keys are only kept here
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    owners: list[object] = [app, *app.screen_stack[0].walk_children(with_self=True)]
    for owner in owners:
        bindings = getattr(owner, "_bindings", None)
        if bindings is None:
            continue
        where = "app" if owner is app else type(owner).__name__
        for key, found in bindings.key_to_bindings.items():
            for binding in found:
                keys = keymap.get(binding.id, key) if binding.id else key
                what = binding.description or binding.action
                if (where, what) in seen:
                    continue
                seen.add((where, what))
                rows.append((where, ", ".join(describe_key(k) for k in keys.split(",")), what))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "dismiss", "Close help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 100; max-width: 100%; height: 90%; border: round $primary;
        background: $surface; padding: 0 1; }
    HelpScreen .help--title { text-style: bold; color: $accent; margin-top: 1; }
    HelpScreen DataTable { height: auto; }
    """

    def __init__(self, app: App[Any]) -> None:
        super().__init__()
        self._rows = key_rows(app)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Keys", classes="help--title")
            keys: DataTable[str] = DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            keys.add_columns("where", "key", "does")
            for row in self._rows:
                keys.add_row(*row)
            yield keys
            yield Static("Slash commands (type in the input; Tab completes)", classes="help--title")
            slash: DataTable[str] = DataTable(id="help-slash", cursor_type="row", zebra_stripes=True)
            slash.add_columns("command", "does")
            for command in SLASH_COMMANDS:
                slash.add_row(command.usage, command.help)
            yield slash
            yield Static(
                'Remap keys in the config file, by binding id: [tui.keys] quit = "ctrl+x". '
                "Ctrl+P opens the command palette with every action. Esc closes this screen.",
                classes="help--title",
                markup=False,
            )

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
