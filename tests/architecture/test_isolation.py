"""Every test runs against its own LIFE_HOME (tests/conftest.py), never the user's data."""

from __future__ import annotations

import os
from pathlib import Path

from life_tui import paths


def test_life_home_is_a_fresh_temporary_directory(life_home: Path) -> None:
    assert os.environ["LIFE_HOME"] == str(life_home)
    assert "LIFE_JOURNAL" not in os.environ
    assert list(life_home.iterdir()) == []
    resolved = paths.resolve()
    for location in (resolved.data, resolved.config, resolved.cache, resolved.journal):
        assert location.is_relative_to(life_home)
