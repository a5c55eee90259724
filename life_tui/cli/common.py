"""What every command shares: where the journal is, and opening it for reading or writing."""

from __future__ import annotations

from pathlib import Path

from life_tui import paths
from life_tui.journal.store import Journal
from life_tui.journal.view import JournalReader

_journal_override: Path | None = None


def set_journal_override(path: Path | None) -> None:
    global _journal_override
    _journal_override = path


def journal_root() -> Path:
    return _journal_override if _journal_override is not None else paths.resolve().journal


def open_reader() -> JournalReader:
    """A read-only view: never blocks on, nor is blocked by, a running writer."""
    return JournalReader.open(journal_root())


def open_writer(*, create: bool = False) -> Journal:
    return Journal.open(journal_root(), create=create)
