"""The journal's file layer: every byte the journal writes or syncs goes through :class:`FileLayer`.

It exists as a seam. Production uses the real calls below; the crash and fault tests substitute
:class:`life_tui.journal.faults.FaultyFileLayer`, which counts operations, fails the Nth one with a chosen
errno, "crashes" at a chosen point and then damages unsynced writes the way a power loss can. Keeping the
seam this narrow (open/write/sync/truncate/rename/unlink) is what makes those tests honest: there is no
other way for the journal to touch its files.
"""

from __future__ import annotations

import os
from pathlib import Path


class FileLayer:
    """Real file operations. Methods take and return plain fds and paths; no buffering happens here."""

    def open_append(self, path: Path) -> int:
        """Open (creating if needed) for appending; returns an fd positioned at the end."""
        self._before("open", path)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)

    def write(self, fd: int, data: bytes, path: Path) -> None:
        """Write all of ``data``; a short write is retried; errors propagate as ``OSError``."""
        self._before("write", path)
        view = memoryview(data)
        while view:
            written = self._raw_write(fd, view, path)
            view = view[written:]

    def _raw_write(self, fd: int, data: memoryview, path: Path) -> int:
        return os.write(fd, data)

    def sync(self, fd: int, path: Path) -> None:
        """Make everything written to ``fd`` durable (fdatasync)."""
        self._before("fsync", path)
        os.fdatasync(fd)

    def truncate(self, fd: int, size: int, path: Path) -> None:
        self._before("truncate", path)
        os.ftruncate(fd, size)

    def close(self, fd: int) -> None:
        os.close(fd)

    def rename(self, src: Path, dst: Path) -> None:
        self._before("rename", dst)
        os.replace(src, dst)

    def sync_dir(self, path: Path) -> None:
        self._before("fsync_dir", path)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def unlink(self, path: Path) -> None:
        self._before("unlink", path)
        path.unlink(missing_ok=True)

    def write_file_durably(self, path: Path, data: bytes) -> None:
        """Create ``path`` with ``data`` and fsync it (no rename; callers publish with :meth:`rename`)."""
        fd = self.open_append(path)
        try:
            self.truncate(fd, 0, path)
            self.write(fd, data, path)
            self.sync(fd, path)
        finally:
            self.close(fd)

    def replace_durably(self, path: Path, data: bytes) -> None:
        """Atomically replace ``path`` with ``data``: temp file, fsync, rename, fsync of the directory."""
        tmp = path.with_name(path.name + ".tmp")
        self.write_file_durably(tmp, data)
        self.rename(tmp, path)
        self.sync_dir(path.parent)

    def _before(self, op: str, path: Path) -> None:
        """Hook for fault injection; the real layer does nothing."""
