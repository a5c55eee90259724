"""Where the journal keeps its files, and the published durable head that readers stop at.

journal/
  LOCK              writer lock (flock) + holder identity
  MANIFEST          sealed segments, WAL start, catalog checkpoint (atomically replaced)
  wal/0000000001.wal  frames; wal/HEAD the writer's last durable (file, offset, lsn)
  segments/seg-00000001.parquet   sealed, immutable; segments/verified = digest proofs
  snapshots/        projection state checkpoints (a cache; safe to delete)
  blobs/ab/cdef...  content-addressed blobs
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

_HEAD = struct.Struct("<QQQI")


@dataclass(frozen=True, slots=True)
class Layout:
    root: Path

    @property
    def lock(self) -> Path:
        return self.root / "LOCK"

    @property
    def manifest(self) -> Path:
        return self.root / "MANIFEST"

    @property
    def wal(self) -> Path:
        return self.root / "wal"

    @property
    def head(self) -> Path:
        return self.wal / "HEAD"

    @property
    def segments(self) -> Path:
        return self.root / "segments"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    def exists(self) -> bool:
        return self.manifest.exists() or self.wal.is_dir()

    def make_dirs(self) -> None:
        for d in (self.root, self.wal, self.segments, self.snapshots, self.blobs):
            d.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True, slots=True)
class DurableHead:
    file_no: int
    offset: int
    lsn: int


def encode_head(head: DurableHead) -> bytes:
    body = _HEAD.pack(head.file_no, head.offset, head.lsn, 0)[:-4]
    return body + struct.pack("<I", zlib.crc32(body))


def read_head(path: Path) -> DurableHead | None:
    """The writer's published durable point, or None when absent or torn (caller retries)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(_HEAD.size)
    except FileNotFoundError:
        return None
    if len(data) != _HEAD.size:
        return None
    file_no, offset, lsn, crc = _HEAD.unpack(data)
    if zlib.crc32(data[:-4]) != crc:
        return None
    return DurableHead(file_no, offset, lsn)


class HeadPublisher:
    """Writes the durable head in place after each group commit (a hint for readers; no fsync needed)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def publish(self, head: DurableHead) -> None:
        os.pwrite(self._fd, encode_head(head), 0)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
