"""The journal (Life's Lago): the durable, append-only record every other part of life-tui folds over.

Write path: a checksummed, length-prefixed binary WAL with group commit (an append returns only once its
bytes are fsynced). Cold storage: immutable, sorted, zstd Parquet segments recorded with their BLAKE3
digests in an atomically replaced manifest, compacted in the background. Reads resolve a branch through
its ancestry (branches are pointers). DuckDB views serve SQL and are imported lazily, never on the write
path. Only this package knows file paths and SQL.
"""

from life_tui.journal.catalog import BranchInfo, SessionInfo
from life_tui.journal.store import Journal, JournalOptions
from life_tui.journal.view import JournalReader

__all__ = ["BranchInfo", "Journal", "JournalOptions", "JournalReader", "SessionInfo"]
