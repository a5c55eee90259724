"""The content-addressed blob store: large tool outputs and file contents, kept once each.

A blob's name is the SHA-256 of its content (hex); it is stored zstd-compressed at ``ab/cdef....zst``
(git-style fan-out), written to a temp file, fsynced and renamed into place, so a blob is either whole or
absent. Writing content that exists already is a no-op (dedup). Reads are verified against the name.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

import zstandard

from life_tui.errors import BlobCorrupt, InvalidInput, NotFound
from life_tui.journal.fs import FileLayer

LEVEL = 3
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    def __init__(self, root: Path, fs: FileLayer | None = None) -> None:
        self.root = Path(root)
        self.fs = fs or FileLayer()
        self._local = threading.local()

    def _compressor(self) -> zstandard.ZstdCompressor:
        c = getattr(self._local, "c", None)
        if c is None:
            c = self._local.c = zstandard.ZstdCompressor(level=LEVEL)
        return c

    def path(self, digest: str) -> Path:
        if not _HEX64.match(digest):
            raise InvalidInput(f"{digest!r} is not a blob id (64 lowercase hex characters of SHA-256)")
        return self.root / digest[:2] / f"{digest[2:]}.zst"

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256 hex digest. Durable on return."""
        digest = hashlib.sha256(data).hexdigest()
        final = self.path(digest)
        if final.exists():
            return digest
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f"{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            self.fs.write_file_durably(tmp, self._compressor().compress(data))
            self.fs.rename(tmp, final)
            self.fs.sync_dir(final.parent)
        finally:
            tmp.unlink(missing_ok=True)
        return digest

    def get(self, digest: str) -> bytes:
        path = self.path(digest)
        try:
            packed = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no blob {digest}") from None
        try:
            data = zstandard.ZstdDecompressor().decompress(packed)
        except zstandard.ZstdError as exc:
            raise BlobCorrupt(f"blob {digest} cannot be decompressed: {exc}", path=str(path)) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise BlobCorrupt(f"blob {digest} does not match its name", path=str(path))
        return data

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()
