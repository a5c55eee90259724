"""The write-ahead log: numbered files of checksummed, length-prefixed frames.

File: a 16-byte header (``LIFEWAL1`` + the file number, u64 LE), then frames. A frame carries one group
commit:

    magic u32 | body_len u32 | lsn u64 | body_crc32 u32 | header_crc32 u32 | body (JSON array of events)

``lsn`` numbers frames across files without gaps, so a stale or missing frame is detected. ``header_crc``
covers the first 20 header bytes, so a damaged length field is caught before it is trusted.

Recovery (:func:`scan`) reads frames until the end. A frame that does not validate is either a *torn
tail* (nothing valid follows it: an interrupted final write, repaired by truncation) or *corruption*
(a valid frame follows it: the damage is mid-log and is reported, never truncated away). The WAL is not
compressed: it only lives until its events are sealed, and compression costs 17-78% of append
throughput (journal-baselines.md §2).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FILE_MAGIC = b"LIFEWAL1"
FILE_HEADER = struct.Struct("<8sQ")
FRAME_MAGIC = 0x4C574631  # "1FWL" little endian
FRAME_HEADER = struct.Struct("<IIQII")
FRAME_PREFIX = struct.Struct("<IIQI")
MAX_FRAME = 256 * 1024 * 1024
_MAGIC_BYTES = struct.pack("<I", FRAME_MAGIC)


def wal_name(file_no: int) -> str:
    return f"{file_no:010d}.wal"


def wal_number(path: Path) -> int | None:
    stem, dot, ext = path.name.partition(".")
    return int(stem) if dot and ext == "wal" and stem.isdigit() else None


def file_header(file_no: int) -> bytes:
    return FILE_HEADER.pack(FILE_MAGIC, file_no)


def encode_frame(lsn: int, body: bytes) -> bytes:
    prefix = FRAME_PREFIX.pack(FRAME_MAGIC, len(body), lsn, zlib.crc32(body))
    return prefix + struct.pack("<I", zlib.crc32(prefix)) + body


def encode_body(encoded_events: list[bytes]) -> bytes:
    return b"[" + b",".join(encoded_events) + b"]"


@dataclass(frozen=True, slots=True)
class Frame:
    lsn: int
    offset: int
    body: bytes

    @property
    def end(self) -> int:
        return self.offset + FRAME_HEADER.size + len(self.body)


@dataclass(frozen=True, slots=True)
class Damage:
    """Where validation stopped. ``torn`` means nothing valid follows (safe to cut at ``offset``)."""

    offset: int
    reason: str
    torn: bool


@dataclass(frozen=True, slots=True)
class ScanResult:
    file_no: int | None
    frames: list[Frame]
    end: int
    damage: Damage | None


def _frame_at(data: bytes | memoryview, pos: int, expected_lsn: int | None) -> Frame | str:
    """The frame at ``pos`` or the reason it is not valid there."""
    size = len(data)
    if size - pos < FRAME_HEADER.size:
        return "incomplete frame header"
    magic, body_len, lsn, body_crc, header_crc = FRAME_HEADER.unpack_from(data, pos)
    if magic != FRAME_MAGIC:
        return "bad frame magic"
    if zlib.crc32(data[pos : pos + FRAME_PREFIX.size]) != header_crc:
        return "frame header checksum mismatch"
    if body_len > MAX_FRAME:
        return "frame length out of range"
    start = pos + FRAME_HEADER.size
    if start + body_len > size:
        return "frame body runs past the end of the file"
    body = bytes(data[start : start + body_len])
    if zlib.crc32(body) != body_crc:
        return "frame body checksum mismatch"
    if expected_lsn is not None and lsn != expected_lsn:
        return f"frame sequence {lsn} where {expected_lsn} was expected"
    return Frame(lsn, pos, body)


def _valid_frame_after(data: bytes, pos: int) -> bool:
    """Is there any complete, checksummed frame starting after ``pos``?"""
    search = pos + 1
    while True:
        found = data.find(_MAGIC_BYTES, search)
        if found < 0:
            return False
        if isinstance(_frame_at(data, found, None), Frame):
            return True
        search = found + 1


def scan(
    data: bytes, expected_lsn: int | None, limit: int | None = None, *, expected_file: int | None = None
) -> ScanResult:
    """Validate a WAL file's bytes. ``expected_lsn`` is the lsn its first frame must have (None: any).

    ``limit`` stops reading at that offset (readers use the writer's published durable offset).
    ``expected_file`` is the number the file's name gives; a header naming another file is damage.
    """
    if len(data) < FILE_HEADER.size:
        return ScanResult(None, [], 0, Damage(0, "incomplete file header", torn=True) if data else None)
    magic, file_no = FILE_HEADER.unpack_from(data, 0)
    if magic != FILE_MAGIC:
        torn = not any(data[: FILE_HEADER.size]) and not _valid_frame_after(data, 0)
        return ScanResult(None, [], 0, Damage(0, "bad file header", torn=torn))
    if expected_file is not None and file_no != expected_file:
        return ScanResult(None, [], 0, Damage(0, f"file header names file {file_no}", torn=False))
    view = data if limit is None else data[:limit]
    pos = FILE_HEADER.size
    frames: list[Frame] = []
    lsn = expected_lsn
    while pos < len(view):
        found = _frame_at(view, pos, lsn)
        if isinstance(found, str):
            # A frame that validates except for its lsn is complete: stale or out of order, not torn.
            torn = (
                limit is None
                and not isinstance(_frame_at(view, pos, None), Frame)
                and not _valid_frame_after(data, pos)
            )
            return ScanResult(file_no, frames, pos, Damage(pos, found, torn))
        frames.append(found)
        lsn = found.lsn + 1
        pos = found.end
    return ScanResult(file_no, frames, pos, None)


def iter_frames_from(data: bytes, start: int, expected_lsn: int | None) -> Iterator[Frame]:
    """Valid frames from offset ``start`` until the first one that does not validate (incremental reads)."""
    pos, lsn = start, expected_lsn
    while pos < len(data):
        found = _frame_at(data, pos, lsn)
        if isinstance(found, str):
            return
        yield found
        lsn = found.lsn + 1
        pos = found.end
