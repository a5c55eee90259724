"""The manifest: which sealed segments exist, their digests, and where the WAL takes over.

It is the journal's commit point for sealing and compaction. It is replaced atomically (temp file,
fsync, rename, fsync of the directory), and carries its own BLAKE3 checksum so a damaged manifest is
reported rather than half-read. ``wal_start``/``next_lsn`` say which WAL file and frame follow the last
sealed event; ``catalog`` is the catalog folded through exactly that point.

Segment digests are BLAKE3 over the whole file and are checked before any read of the segment
(:class:`DigestCache`): DuckDB silently returns changed data for ~75% of single bit flips in a Parquet
file (reliability-test-plan.md §1.8), so nothing reaches it unchecked.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import blake3
import msgspec

from life_tui.errors import JournalCorrupt
from life_tui.journal.catalog import Catalog

FORMAT = 1
_CHECK = b"\n#blake3:"


class SegmentSlice(msgspec.Struct, array_like=True, frozen=True):
    session_id: str
    branch: str
    row: int
    rows: int
    seq_min: int
    seq_max: int


class SegmentEntry(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    rows: int
    size: int
    digest: str
    created_at: int
    level: int = 0
    slices: list[SegmentSlice] = []


class Retired(msgspec.Struct, frozen=True):
    name: str
    retired_at: int


class Manifest(msgspec.Struct, kw_only=True):
    format: int = FORMAT
    generation: int = 0
    wal_start: int = 1
    next_lsn: int = 1
    next_segment: int = 1
    segments: list[SegmentEntry] = []
    retired: list[Retired] = []
    catalog: Catalog = msgspec.field(default_factory=Catalog)


_encoder = msgspec.json.Encoder(order="deterministic")
_decoder = msgspec.json.Decoder(Manifest)


def encode(manifest: Manifest) -> bytes:
    body = _encoder.encode(manifest)
    return body + _CHECK + blake3.blake3(body).hexdigest().encode() + b"\n"


def decode(data: bytes, path: Path) -> Manifest:
    body, sep, rest = data.rpartition(_CHECK)
    if not sep or blake3.blake3(body).hexdigest().encode() != rest.strip():
        raise JournalCorrupt(f"manifest {path} fails its checksum", path=str(path))
    try:
        manifest = _decoder.decode(body)
    except msgspec.MsgspecError as exc:
        raise JournalCorrupt(f"manifest {path} cannot be decoded: {exc}", path=str(path)) from exc
    if manifest.format != FORMAT:
        raise JournalCorrupt(f"manifest {path} has unknown format {manifest.format}", path=str(path))
    return manifest


def load(path: Path) -> Manifest:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Manifest()
    return decode(data, path)


def file_digest(path: Path) -> str:
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    hasher.update_mmap(path)
    return hasher.hexdigest()


class _Stamp(msgspec.Struct, array_like=True, frozen=True):
    size: int
    ino: int
    ctime_ns: int
    mtime_ns: int


class DigestCache:
    """Checks segment digests before reads, remembering files already proven in this process.

    A file proven by any process is also remembered on disk (``verified``) with its stat identity
    (size, inode, ctime, mtime): any write through the filesystem changes ctime, so a later process skips
    re-hashing only a file that has not been touched since it was proven, as git's index does. ``life-tui
    verify`` always re-hashes everything (for media errors that leave the stat identity unchanged).
    """

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._file = directory / "verified"
        self._lock = threading.Lock()
        self._proven: dict[str, _Stamp] = {}
        self._persisted: dict[str, tuple[str, _Stamp]] | None = None
        self._dirty = False

    def _load_persisted(self) -> dict[str, tuple[str, _Stamp]]:
        if self._persisted is None:
            try:
                raw = msgspec.json.decode(self._file.read_bytes(), type=dict[str, tuple[str, _Stamp]])
            except (OSError, msgspec.MsgspecError):
                raw = {}
            self._persisted = raw
        return self._persisted

    @staticmethod
    def _stamp(path: Path) -> _Stamp:
        st = os.stat(path)
        return _Stamp(st.st_size, st.st_ino, st.st_ctime_ns, st.st_mtime_ns)

    def check(self, entry: SegmentEntry, *, force: bool = False) -> Path:
        """Return the segment's path once its digest matches; raise :class:`JournalCorrupt` otherwise."""
        path = self._dir / entry.name
        try:
            stamp = self._stamp(path)
        except FileNotFoundError as exc:
            raise JournalCorrupt(f"segment {entry.name} is missing", path=str(path)) from exc
        with self._lock:
            if not force:
                if self._proven.get(entry.name) == stamp:
                    return path
                known = self._load_persisted().get(entry.name)
                if known is not None and known == (entry.digest, stamp):
                    self._proven[entry.name] = stamp
                    return path
        if stamp.size != entry.size or file_digest(path) != entry.digest:
            raise JournalCorrupt(
                f"segment {entry.name} does not match its manifest digest; it was not read",
                path=str(path),
                offset=0,
            )
        with self._lock:
            self._proven[entry.name] = stamp
            self._load_persisted()[entry.name] = (entry.digest, stamp)
            self._dirty = True
        return path

    def forget(self, names: list[str]) -> None:
        with self._lock:
            persisted = self._load_persisted()
            for name in names:
                self._proven.pop(name, None)
                if persisted.pop(name, None) is not None:
                    self._dirty = True

    def save(self) -> None:
        """Persist proofs (best effort: a lost cache only costs a re-hash)."""
        with self._lock:
            if not self._dirty or self._persisted is None:
                return
            data = msgspec.json.encode(self._persisted)
            self._dirty = False
        tmp = self._file.with_name(f"verified.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, self._file)
        except OSError:
            tmp.unlink(missing_ok=True)
