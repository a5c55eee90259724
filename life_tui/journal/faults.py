"""A file layer that fails on purpose: the in-package fake behind the journal's crash and fault tests.

:class:`FaultyFileLayer` counts every operation of :class:`~life_tui.journal.fs.FileLayer`. It can

* fail the Nth matching operation with an errno, once or from then on (``Fault``), e.g. ENOSPC on the 5th
  write or EIO on the 2nd fsync;
* crash before operation N (``crash_at``): it raises :class:`SimulatedCrash` (a ``BaseException``, so no
  ``except Exception`` in the journal can swallow it) and refuses every later operation;
* after a crash, damage what was not yet durable the way a power loss may (:meth:`power_loss`): drop the
  unsynced writes, keep a prefix of them, tear the last one at 512-byte granularity, or keep a random
  subset in any order (holes read as zeros); renames whose directory was not synced may be undone.

It ships inside the package (not under tests/) so plugins and later subsystems can reuse it.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from life_tui.journal.fs import FileLayer

POWER_LOSS_MODES = ("keep", "drop", "prefix", "tear", "reorder")


class SimulatedCrash(BaseException):
    """The process 'died' here. Raised by the faulty layer; the test then abandons the journal."""


@dataclass
class Fault:
    """Fail the ``nth`` operation named ``op`` (None: any op) with ``code``; ``persistent`` keeps failing."""

    op: str | None
    nth: int
    code: int = errno_codes.EIO
    persistent: bool = False
    path_contains: str | None = None
    seen: int = 0
    fired: bool = False

    def check(self, op: str, path: Path) -> bool:
        if (self.op is not None and op != self.op) or (
            self.path_contains is not None and self.path_contains not in str(path)
        ):
            return False
        self.seen += 1
        if self.fired and self.persistent:
            return True
        if self.seen == self.nth:
            self.fired = True
            return True
        return False


@dataclass
class _Write:
    offset: int
    data: bytes


@dataclass
class FaultyFileLayer(FileLayer):
    faults: list[Fault] = field(default_factory=list)
    crash_at: int | None = None
    ops: int = 0
    dead: bool = False
    log: list[tuple[str, str]] = field(default_factory=list)
    _fd_paths: dict[int, Path] = field(default_factory=dict)
    _unsynced: dict[Path, list[_Write]] = field(default_factory=dict)
    _pending_renames: list[tuple[Path, bytes | None]] = field(default_factory=list)

    # ------------------------------------------------------------------ the hook every op goes through
    def _before(self, op: str, path: Path) -> None:
        if self.dead:
            raise SimulatedCrash(f"after crash: {op} {path}")
        self.ops += 1
        self.log.append((op, str(path)))
        if self.crash_at is not None and self.ops >= self.crash_at:
            self.dead = True
            raise SimulatedCrash(f"crash before op {self.ops}: {op} {path}")
        for fault in self.faults:
            if fault.check(op, path):
                raise OSError(fault.code, f"injected {errno_codes.errorcode.get(fault.code, fault.code)}", str(path))

    # ------------------------------------------------------------------ tracking what is not yet durable
    def open_append(self, path: Path) -> int:
        fd = super().open_append(path)
        self._fd_paths[fd] = path
        return fd

    def _raw_write(self, fd: int, data: memoryview, path: Path) -> int:
        offset = os.fstat(fd).st_size
        written = os.write(fd, data)
        self._unsynced.setdefault(path, []).append(_Write(offset, bytes(data[:written])))
        return written

    def sync(self, fd: int, path: Path) -> None:
        super().sync(fd, path)
        self._unsynced.pop(path, None)

    def truncate(self, fd: int, size: int, path: Path) -> None:
        super().truncate(fd, size, path)
        writes = self._unsynced.get(path)
        if writes:
            self._unsynced[path] = [w for w in writes if w.offset < size]

    def close(self, fd: int) -> None:
        self._fd_paths.pop(fd, None)
        super().close(fd)

    def rename(self, src: Path, dst: Path) -> None:
        old = dst.read_bytes() if dst.exists() else None
        super().rename(src, dst)
        if src in self._unsynced:
            self._unsynced[dst] = self._unsynced.pop(src)
        self._pending_renames.append((dst, old))

    def sync_dir(self, path: Path) -> None:
        super().sync_dir(path)
        self._pending_renames = [(dst, old) for dst, old in self._pending_renames if dst.parent != path]

    # ------------------------------------------------------------------ damage after a crash
    def abandon_fds(self) -> None:
        """Close every fd this layer opened, as the kernel does when a process dies."""
        for fd in list(self._fd_paths):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fd_paths.clear()

    def power_loss(self, rng: random.Random, mode: str | None = None) -> str:
        """Damage unsynced state as a power loss could; returns the mode used (chosen by ``rng`` if None)."""
        mode = mode or rng.choice(POWER_LOSS_MODES)
        self.abandon_fds()
        if mode == "keep":
            self._unsynced.clear()
            self._pending_renames.clear()
            return mode
        for path, writes in self._unsynced.items():
            if not path.exists() or not writes:
                continue
            base = min(w.offset for w in writes)
            if mode == "drop":
                kept: list[_Write] = []
            elif mode == "prefix":
                kept = writes[: rng.randint(0, len(writes))]
            elif mode == "tear":
                cut = rng.randint(0, len(writes) - 1)
                last = writes[cut]
                keep_bytes = rng.randint(0, len(last.data) // 512) * 512
                kept = [*writes[:cut], _Write(last.offset, last.data[:keep_bytes])]
            else:  # reorder: any subset survives; what is missing before a survivor reads as zeros
                kept = [w for w in writes if rng.random() < 0.5]
            end = max((w.offset + len(w.data) for w in kept), default=base)
            with open(path, "r+b") as fh:
                fh.truncate(base)
                fh.truncate(end)
                for w in kept:
                    fh.seek(w.offset)
                    fh.write(w.data)
        for dst, old in reversed(self._pending_renames):
            if rng.random() < 0.5:
                if old is None:
                    dst.unlink(missing_ok=True)
                else:
                    dst.write_bytes(old)
        self._unsynced.clear()
        self._pending_renames.clear()
        return mode
