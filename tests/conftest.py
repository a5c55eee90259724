"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def life_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty ``LIFE_HOME``, so no test reads or writes the user's real data.

    ``LIFE_JOURNAL`` is removed too: with it unset, the journal is ``$LIFE_HOME/data/journal``.
    Subprocesses started by a test inherit both.
    """
    home = tmp_path_factory.mktemp("life-home")
    monkeypatch.setenv("LIFE_HOME", str(home))
    monkeypatch.delenv("LIFE_JOURNAL", raising=False)
    return home
