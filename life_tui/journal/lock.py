"""The single-writer lock: ``flock`` on ``LOCK``, with the holder's identity written inside it.

``flock`` locks belong to the open file description, so (unlike classic POSIX ``fcntl`` locks) closing
some other descriptor of the file does not release them, and the kernel releases them when the holder
dies, so a SIGKILLed writer never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from pathlib import Path

import msgspec

from life_tui.errors import JournalLocked


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    pid: int
    host: str
    command: str
    since: float


class WriterLock:
    """Held for the lifetime of a writer; :meth:`release` (or process death) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path) -> WriterLock:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = read_holder(path)
            who = f"pid {holder.pid} ({holder.command})" if holder else "another process"
            raise JournalLocked(
                f"the journal at {path.parent} is being written by {who}",
                holder_pid=holder.pid if holder else None,
                hint="close that process, or use a read-only command (query, log, cat, export, verify)",
            ) from None
        info = Holder(pid=os.getpid(), host=socket.gethostname(), command=" ".join(sys.argv)[:200], since=time.time())
        os.ftruncate(fd, 0)
        os.pwrite(fd, msgspec.json.encode(info), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def abandon(self) -> None:
        """Drop the descriptor without unlocking explicitly (what process death does)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_holder(path: Path) -> Holder | None:
    try:
        return msgspec.json.decode(path.read_bytes(), type=Holder)
    except (OSError, msgspec.MsgspecError):
        return None


def writer_alive(path: Path) -> bool:
    """Is some process holding the writer lock right now?"""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
