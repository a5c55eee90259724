"""WAL framing: encoding, scanning, and the torn-versus-corrupt decision recovery depends on.

A torn tail (nothing valid follows the bad bytes) may be cut; anything else is corruption and must be
reported. These tests pin that classification byte by byte, because a wrong answer either loses
acknowledged events (corruption treated as torn) or refuses to open after an ordinary crash.
"""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

import pytest

from life_tui.journal import wal


def _body(i: int) -> bytes:
    return wal.encode_body([b'{"n":%d,"text":"event %d"}' % (i, i)])


def build(n: int, *, file_no: int = 1, first_lsn: int = 1) -> tuple[bytes, list[int]]:
    """A WAL file with ``n`` frames; returns the bytes and each frame's start offset."""
    data = bytearray(wal.file_header(file_no))
    starts = []
    for i in range(n):
        starts.append(len(data))
        data += wal.encode_frame(first_lsn + i, _body(i))
    return bytes(data), starts


# ------------------------------------------------------------------------------------------ encoding
def test_frame_layout_and_header_checksum() -> None:
    body = b'[{"a":1}]'
    frame = wal.encode_frame(7, body)
    magic, body_len, lsn, body_crc, header_crc = wal.FRAME_HEADER.unpack_from(frame, 0)
    assert magic == wal.FRAME_MAGIC
    assert (body_len, lsn) == (len(body), 7)
    assert body_crc == zlib.crc32(body)
    assert header_crc == zlib.crc32(frame[: wal.FRAME_PREFIX.size])
    assert frame[wal.FRAME_HEADER.size :] == body
    assert len(frame) == wal.FRAME_HEADER.size + len(body)


def test_file_header_round_trip() -> None:
    header = wal.file_header(42)
    assert len(header) == wal.FILE_HEADER.size == 16
    assert wal.FILE_HEADER.unpack(header) == (wal.FILE_MAGIC, 42)


def test_encode_body_is_a_json_array() -> None:
    assert wal.encode_body([b"1", b'{"x":2}']) == b'[1,{"x":2}]'
    assert wal.encode_body([]) == b"[]"


def test_wal_names() -> None:
    assert wal.wal_name(3) == "0000000003.wal"
    assert wal.wal_number(Path("x") / "0000000003.wal") == 3
    assert wal.wal_number(Path("0000000003.wal.123.broken")) is None
    assert wal.wal_number(Path("HEAD")) is None


# -------------------------------------------------------------------------------------------- scanning
def test_scan_empty_and_header_only() -> None:
    assert wal.scan(b"", 1) == wal.ScanResult(None, [], 0, None)
    result = wal.scan(wal.file_header(5), 1)
    assert result.file_no == 5
    assert result.frames == []
    assert result.damage is None
    assert result.end == 16


def test_scan_reads_every_frame_with_continuous_lsns() -> None:
    data, starts = build(10, first_lsn=33)
    result = wal.scan(data, 33)
    assert result.damage is None
    assert [f.lsn for f in result.frames] == list(range(33, 43))
    assert [f.offset for f in result.frames] == starts
    assert result.end == len(data)
    assert [f.body for f in result.frames] == [_body(i) for i in range(10)]
    for a, b in zip(result.frames, result.frames[1:], strict=False):
        assert a.end == b.offset


def test_scan_with_any_first_lsn() -> None:
    data, _ = build(3, first_lsn=9)
    assert [f.lsn for f in wal.scan(data, None).frames] == [9, 10, 11]


def test_scan_limit_stops_at_published_head() -> None:
    data, starts = build(5)
    result = wal.scan(data, 1, limit=starts[3])
    assert [f.lsn for f in result.frames] == [1, 2, 3]
    assert result.damage is None
    assert result.end == starts[3]


@pytest.mark.parametrize("cut_into", ["header", "body"])
def test_torn_final_frame_is_torn(cut_into: str) -> None:
    data, starts = build(4)
    last = starts[-1]
    cut = last + (10 if cut_into == "header" else wal.FRAME_HEADER.size + 3)
    result = wal.scan(data[:cut], 1)
    assert [f.lsn for f in result.frames] == [1, 2, 3]
    assert result.damage is not None
    assert result.damage.torn
    assert result.damage.offset == last
    assert result.end == last


def test_every_truncation_of_the_last_frame_is_torn_at_its_start() -> None:
    data, starts = build(3)
    last = starts[-1]
    for cut in range(last + 1, len(data)):
        result = wal.scan(data[:cut], 1)
        assert result.damage is not None, cut
        assert result.damage.torn, cut
        assert result.damage.offset == last, cut
        assert len(result.frames) == 2, cut
    # cutting exactly on a frame boundary leaves a valid, shorter log
    assert wal.scan(data[:last], 1).damage is None


def test_zero_filled_tail_is_torn() -> None:
    data, _ = build(3)
    result = wal.scan(data + bytes(4096), 1)
    assert len(result.frames) == 3
    assert result.damage is not None
    assert result.damage.torn
    assert result.damage.offset == len(data)
    assert result.damage.reason == "bad frame magic"


def test_zeroed_final_frame_is_torn() -> None:
    data, starts = build(3)
    zeroed = data[: starts[-1]] + bytes(len(data) - starts[-1])
    result = wal.scan(zeroed, 1)
    assert result.damage is not None
    assert result.damage.torn
    assert result.damage.offset == starts[-1]


def test_damage_before_a_valid_frame_is_corruption() -> None:
    data, starts = build(5)
    flipped = bytearray(data)
    flipped[starts[1] + wal.FRAME_HEADER.size + 2] ^= 0x10
    result = wal.scan(bytes(flipped), 1)
    assert result.damage is not None
    assert not result.damage.torn
    assert result.damage.offset == starts[1]
    assert result.damage.reason == "frame body checksum mismatch"
    assert [f.lsn for f in result.frames] == [1]


@pytest.mark.parametrize("seed", range(200))
def test_any_single_bit_flip_before_the_last_frame_is_corruption(seed: int) -> None:
    data, starts = build(6)
    rng = random.Random(seed)
    pos = rng.randrange(starts[0], starts[-1])
    flipped = bytearray(data)
    flipped[pos] ^= 1 << rng.randrange(8)
    result = wal.scan(bytes(flipped), 1)
    damaged = max(s for s in starts if s <= pos)
    assert result.damage is not None
    assert not result.damage.torn
    assert result.damage.offset == damaged
    assert [f.offset for f in result.frames] == [s for s in starts if s < damaged]


@pytest.mark.parametrize("seed", range(100))
def test_bit_flip_in_the_last_frame_is_torn(seed: int) -> None:
    data, starts = build(4)
    rng = random.Random(seed)
    pos = rng.randrange(starts[-1], len(data))
    flipped = bytearray(data)
    flipped[pos] ^= 1 << rng.randrange(8)
    result = wal.scan(bytes(flipped), 1)
    assert result.damage is not None
    assert result.damage.torn
    assert result.damage.offset == starts[-1]


def test_header_checksum_guards_the_length_field() -> None:
    data, starts = build(3)
    bad = bytearray(data)
    # claim a huge body; without the header checksum this would swallow everything after
    struct.pack_into("<I", bad, starts[0] + 4, 10_000)
    result = wal.scan(bytes(bad), 1)
    assert result.damage is not None
    assert result.damage.reason == "frame header checksum mismatch"
    assert not result.damage.torn
    assert result.damage.offset == starts[0]


def test_length_out_of_range_with_a_valid_header_checksum() -> None:
    prefix = wal.FRAME_PREFIX.pack(wal.FRAME_MAGIC, wal.MAX_FRAME + 1, 1, 0)
    frame = prefix + struct.pack("<I", zlib.crc32(prefix))
    result = wal.scan(wal.file_header(1) + frame, 1)
    assert result.damage is not None
    assert result.damage.reason == "frame length out of range"


def test_lsn_gap_is_detected() -> None:
    header = wal.file_header(1)
    frames = [wal.encode_frame(1, _body(0)), wal.encode_frame(3, _body(1)), wal.encode_frame(4, _body(2))]
    data = header + b"".join(frames)
    result = wal.scan(data, 1)
    assert [f.lsn for f in result.frames] == [1]
    assert result.damage is not None
    assert "sequence 3 where 2" in result.damage.reason
    assert not result.damage.torn


def test_wrong_first_lsn_is_detected() -> None:
    data, _ = build(3, first_lsn=5)
    result = wal.scan(data, 4)
    assert result.frames == []
    assert result.damage is not None
    assert result.damage.offset == 16
    assert not result.damage.torn


def test_complete_final_frame_with_unexpected_lsn_is_not_torn() -> None:
    """A checksummed, complete frame is not an interrupted write: cutting it would silently drop data."""
    header = wal.file_header(1)
    data = header + wal.encode_frame(1, _body(0)) + wal.encode_frame(3, _body(1))
    result = wal.scan(data, 1)
    assert result.damage is not None
    assert "sequence 3 where 2" in result.damage.reason
    assert not result.damage.torn
    # the same for a stale (repeated) frame at the end
    data = header + wal.encode_frame(1, _body(0)) + wal.encode_frame(1, _body(0))
    result = wal.scan(data, 1)
    assert result.damage is not None
    assert not result.damage.torn


def test_bad_file_header() -> None:
    data, _ = build(2)
    bad = b"NOTAWAL!" + data[8:]
    result = wal.scan(bad, 1)
    assert result.damage is not None
    assert result.damage.offset == 0
    assert not result.damage.torn  # valid frames follow
    # a zeroed header with nothing valid after it is an unfinished file creation
    zero = wal.scan(bytes(16), 1)
    assert zero.damage is not None
    assert zero.damage.torn
    short = wal.scan(b"LIFE", 1)
    assert short.damage is not None
    assert short.damage.torn
    assert short.damage.reason == "incomplete file header"


def test_file_number_in_the_header_is_checked() -> None:
    data, _ = build(2, file_no=3)
    assert wal.scan(data, 1, expected_file=3).damage is None
    result = wal.scan(data, 1, expected_file=4)
    assert result.damage is not None
    assert result.damage.offset == 0
    assert not result.damage.torn
    assert result.frames == []


def test_limit_never_classifies_as_torn() -> None:
    data, starts = build(3)
    torn = data[:-5]
    # a reader bounded by the writer's durable head must not see damage inside it as an unfinished write
    result = wal.scan(torn, 1, limit=len(torn))
    assert result.damage is not None
    assert not result.damage.torn
    assert result.damage.offset == starts[-1]


def test_iter_frames_from_resumes_mid_file() -> None:
    data, starts = build(6)
    frames = list(wal.iter_frames_from(data, starts[2], 3))
    assert [f.lsn for f in frames] == [3, 4, 5, 6]
    assert list(wal.iter_frames_from(data, starts[2], 4)) == []  # wrong lsn: stops at once
    torn = data[:-1]
    assert [f.lsn for f in wal.iter_frames_from(torn, starts[2], 3)] == [3, 4, 5]
    assert list(wal.iter_frames_from(data, len(data), 7)) == []
