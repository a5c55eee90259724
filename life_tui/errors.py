"""One exception hierarchy for the whole package.

Every error a user can meet derives from :class:`LifeError` and carries two sentences: what happened and
what to do. Front ends print ``str(error)`` (one line) and exit with ``error.exit_code``; they never show a
traceback for a ``LifeError``. Keeping them in one module lets the CLI, the TUI and the MCP server map
errors the same way without importing each other's layers.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of ``life-tui``. Scripts may rely on these numbers; they never change meaning."""

    OK = 0
    """The command did what was asked."""
    ERROR = 1
    """An unexpected internal error (a bug); the message names it."""
    USAGE = 2
    """The command line was wrong: unknown option, missing argument, malformed value."""
    NOT_FOUND = 3
    """A named session, branch, event or blob does not exist."""
    INVALID_INPUT = 4
    """Input data was rejected (a malformed import line, bad SQL, a bad name); nothing was stored."""
    LOCKED = 5
    """Another process holds the journal's writer lock; the message names it."""
    CORRUPT = 6
    """Stored data failed a checksum or digest; it was not served. Run ``life-tui verify`` for details."""
    FULL = 7
    """The disk is full; nothing was lost, free space and retry."""
    FAILED = 8
    """The journal refused writes after an I/O failure (for example a failed fsync); reopen to recover."""
    CONFLICT = 9
    """The request conflicts with stored state (a branch or session that exists already, a closed session)."""
    BUDGET_EXHAUSTED = 10
    """Headless: a run stopped because a budget ran out (cost, tokens, time, tool calls or errors)."""
    MAX_TURNS = 11
    """Headless: a run stopped after ``--max-turns`` model turns without a final answer."""
    DENIED = 12
    """Headless: the run finished, but a tool call was denied (approval needed and nobody could give it:
    headless "ask" means deny unless ``--yes``; or a rule or the mode refused it)."""
    PROVIDER = 13
    """Headless: the model provider failed (after its retries); the message names the error."""
    NOT_CONFIGURED = 14
    """No model provider is configured; the message says how to configure one (``--provider scripted:demo``
    runs the built-in scripted demo)."""
    BLOCKED = 15
    """Headless: regulation (homeostasis) blocked the run."""
    DIVERGED = 16
    """``life-tui replay``: the replay did not reproduce the recording; the message names the first divergence."""
    MCP_SERVER = 17
    """An MCP server failed to start, died, or broke the protocol (``life-tui mcp test``)."""
    INTERRUPTED = 130
    """Interrupted by the user (Ctrl+C)."""


class LifeError(Exception):
    """Base of every error life-tui raises on purpose.

    ``hint`` says what the user can do about it; ``exit_code`` is what a CLI exits with.
    """

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(LifeError):
    exit_code = ExitCode.USAGE


class NotFound(LifeError):
    exit_code = ExitCode.NOT_FOUND


class InvalidInput(LifeError):
    exit_code = ExitCode.INVALID_INPUT


class Conflict(LifeError):
    exit_code = ExitCode.CONFLICT


class JournalError(LifeError):
    """Base of the journal's own errors."""


class JournalLocked(JournalError):
    exit_code = ExitCode.LOCKED

    def __init__(self, message: str, *, holder_pid: int | None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.holder_pid = holder_pid


class JournalCorrupt(JournalError):
    """Stored bytes failed verification. ``path`` and ``offset`` name the damage."""

    exit_code = ExitCode.CORRUPT

    def __init__(self, message: str, *, path: str, offset: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "run `life-tui verify` for a full report; nothing damaged was served")
        self.path = path
        self.offset = offset


class JournalFull(JournalError):
    exit_code = ExitCode.FULL


class JournalFailed(JournalError):
    """The writer stopped acknowledging after an I/O failure it cannot prove harmless."""

    exit_code = ExitCode.FAILED


class JournalClosed(JournalError):
    exit_code = ExitCode.FAILED


class BlobCorrupt(JournalCorrupt):
    pass
