"""Themes: TOML files turned into Textual themes, the shipped ones plus the user's own.

The shipped themes live in ``themes/`` at the repository root (installed inside the wheel as
``life_tui/themes``); users drop more ``*.toml`` files in ``<config dir>/themes/`` (a user theme with a
shipped theme's name replaces it). A file holds the fields of :class:`textual.theme.Theme` (``name``,
``dark``, ``primary`` ... ``panel``) and an optional ``[variables]`` table of extra CSS variables. A broken
file is skipped and reported, never fatal: the app must open even when a theme does not.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from textual.theme import Theme

from life_tui import paths

DEFAULT_THEME = "life-dark"
COLOR_FIELDS: tuple[str, ...] = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "success",
    "warning",
    "error",
)


@dataclass
class ThemeSet:
    themes: dict[str, Theme] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """One line per theme file that could not be loaded (shown to the user as a notification)."""


def shipped_theme_dir() -> Path:
    """``themes/`` beside the package in a checkout, else the copy installed inside the package."""
    checkout = Path(__file__).resolve().parents[2] / "themes"
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("life_tui").joinpath("themes")))


def theme_from_toml(text: str, *, source: str) -> Theme:
    """A Textual theme from a theme file's text; ``ValueError`` says what is wrong."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source} is not valid TOML: {exc}") from None
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{source} needs a name")
    if not isinstance(raw.get("primary"), str):
        raise ValueError(f"{source} needs a primary colour")
    unknown = set(raw) - {"name", "dark", "variables", *COLOR_FIELDS}
    if unknown:
        raise ValueError(f"{source}: unknown keys {', '.join(sorted(unknown))}")
    variables = raw.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError(f"{source}: [variables] must be a table")

    def colour(key: str) -> str | None:
        value = raw.get(key)
        return None if value is None else str(value)

    theme = Theme(
        name=name,
        primary=str(raw["primary"]),
        secondary=colour("secondary"),
        warning=colour("warning"),
        error=colour("error"),
        success=colour("success"),
        accent=colour("accent"),
        foreground=colour("foreground"),
        background=colour("background"),
        surface=colour("surface"),
        panel=colour("panel"),
        boost=colour("boost"),
        dark=bool(raw.get("dark", True)),
        variables={str(k): str(v) for k, v in variables.items()},
    )
    try:
        theme.to_color_system()  # parses every colour: a typo fails here, not at first paint
    except Exception as exc:
        raise ValueError(f"{source}: {exc}") from None
    return theme


def load_dir(directory: Path, into: ThemeSet) -> None:
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.toml")):
        try:
            theme = theme_from_toml(path.read_text(encoding="utf-8"), source=str(path))
        except (OSError, ValueError) as exc:
            into.problems.append(str(exc))
            continue
        into.themes[theme.name] = theme


def load_themes(user_dir: Path | None = None) -> ThemeSet:
    """The shipped themes, then the user's (which may replace a shipped one by name)."""
    found = ThemeSet()
    load_dir(shipped_theme_dir(), found)
    load_dir(user_dir if user_dir is not None else paths.resolve().user_themes, found)
    return found
