"""The workstation's key table: every app-level key, its action, and the user's remapping from the config.

One table (``APP_KEYS``) is the source of the app's ``BINDINGS``, the help screen and the command palette,
so a key can never be bound without being listed. Each binding has a stable id; ``[tui.keys]`` in the
config file maps ids to other keys (``quit = "ctrl+x"``), applied with Textual's keymap so widget
bindings with the same ids follow too. Validation lives here because ``Settings.tui`` is an untyped table
the runtime does not interpret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from textual.binding import Binding

from life_tui.errors import InvalidInput


@dataclass(frozen=True)
class KeySpec:
    """One remappable key: ``id`` is what ``[tui.keys]`` names, ``action`` what it does."""

    id: str
    key: str
    action: str
    description: str
    show: bool = True
    priority: bool = False

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.description, show=self.show, id=self.id, priority=self.priority)


APP_KEYS: tuple[KeySpec, ...] = (
    KeySpec("quit", "ctrl+q", "quit", "Quit", priority=True),
    KeySpec("help", "f1", "help", "Help"),
    KeySpec("palette", "ctrl+p", "command_palette", "Commands", show=False),
    KeySpec("cancel", "escape", "cancel_turn", "Cancel turn", show=False),
    KeySpec("toggle-events", "f2", "toggle_pane('events')", "Event log"),
    KeySpec("toggle-vitals", "f3", "toggle_pane('vitals')", "Vitals"),
    KeySpec("toggle-chat", "f4", "toggle_pane('chat')", "Chat", show=False),
    KeySpec("replay", "f5", "replay", "Replay"),
    KeySpec("branch-tree", "f6", "branch_tree", "Branches"),  # the prompt hands F6/F7 on (prompt_input.py)
    KeySpec("sessions", "f7", "sessions", "Sessions"),
    KeySpec("compare", "f8", "compare", "Compare", show=False),
    KeySpec("fullscreen", "f11", "fullscreen", "Full screen"),
    KeySpec("next-theme", "f9", "next_theme", "Theme", show=False),
)
"""The app-wide keys. Panes add their own (listed by the help screen from their ``BINDINGS``)."""


def app_bindings() -> list[Binding]:
    return [spec.binding() for spec in APP_KEYS]


def keymap_from(tui_settings: Mapping[str, Any]) -> dict[str, str]:
    """The ``[tui.keys]`` table as a Textual keymap (binding id -> keys), checked for unknown ids and types.

    Ids of pane bindings are accepted too (they are only known once the panes exist), so the check is on
    the shape: a string id mapped to a non-empty string of comma-separated keys.
    """
    raw = tui_settings.get("keys", {})
    if not isinstance(raw, Mapping):
        raise InvalidInput('[tui.keys] must be a table of binding id = "key"', hint='for example quit = "ctrl+x"')
    keymap: dict[str, str] = {}
    for binding_id, keys in raw.items():
        if not isinstance(keys, str) or not keys.strip():
            raise InvalidInput(
                f'[tui.keys] {binding_id} must be a key name such as "ctrl+x" (got {keys!r})',
                hint='several keys are separated by commas: "ctrl+x,f10"',
            )
        keymap[str(binding_id)] = keys.strip()
    return keymap


def describe_key(key: str) -> str:
    """A key as people write it (``ctrl+q`` -> ``Ctrl+Q``)."""
    return "+".join(part.capitalize() if len(part) > 1 else part.upper() for part in key.split("+"))
