"""Every filesystem location life-tui uses, in one place.

XDG base directories by default; ``LIFE_HOME`` overrides all of them (every test points it at a temporary
directory, so no test touches the user's real data). ``LIFE_JOURNAL`` moves only the journal. No other
module builds a path from the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "life-tui"


@dataclass(frozen=True, slots=True)
class Paths:
    data: Path
    config: Path
    cache: Path

    @property
    def journal(self) -> Path:
        override = os.environ.get("LIFE_JOURNAL")
        return Path(override).expanduser() if override else self.data / "journal"

    @property
    def blobs(self) -> Path:
        return self.journal / "blobs"

    @property
    def config_file(self) -> Path:
        return self.config / "config.toml"

    @property
    def user_themes(self) -> Path:
        return self.config / "themes"

    @property
    def user_skills(self) -> Path:
        return self.config / "skills"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser() if value else Path.home() / fallback


def resolve() -> Paths:
    """The locations for this process, read from the environment each call (tests change it)."""
    home = os.environ.get("LIFE_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(data=root / "data", config=root / "config", cache=root / "cache")
    return Paths(
        data=_xdg("XDG_DATA_HOME", ".local/share") / APP_NAME,
        config=_xdg("XDG_CONFIG_HOME", ".config") / APP_NAME,
        cache=_xdg("XDG_CACHE_HOME", ".cache") / APP_NAME,
    )
