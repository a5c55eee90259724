"""Crash, corruption and fault tests of the journal: reliability-test-plan.md §7, J1-J11 (per-commit tier).

The promise under test (§1.9): an append is acknowledged only after its record and every earlier one is
fsynced; after any crash, reopening yields exactly the acknowledged events, in order and byte-identical,
possibly followed by complete-but-unacknowledged ones, never a partial, duplicated or altered event. A torn
final WAL record is cut (and the cut is recorded); damage elsewhere is reported, never repaired away.

Sizes are for a 2-core CI machine. Seed counts scale with ``LIFE_CRASH_SCALE`` (nightly: 10), and a
failing seeded run prints its seed; ``LIFE_CRASH_SEED=<n>`` replays that single seed in J2.

The in-process power-loss tests (J2, J6, J11) replace the real fsync calls with no-ops: durability there is
decided by :class:`FaultyFileLayer`, which drops, tears or reorders whatever was not synced, so the real
syscall only costs time. J1, J3-J5, J7, J8 and J10 use the real file system end to end.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import errno
import json
import os
import random
import select
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from life_tui.errors import InvalidInput, JournalCorrupt, JournalFailed, JournalFull, JournalLocked, NotFound
from life_tui.journal import Journal, JournalOptions, JournalReader, wal
from life_tui.journal import manifest as manifest_mod
from life_tui.journal.faults import POWER_LOSS_MODES, Fault, FaultyFileLayer, SimulatedCrash
from life_tui.journal.fs import FileLayer
from life_tui.journal.view import SYSTEM_SESSION
from life_tui.kernel.clock import FakeClock
from life_tui.kernel.event import Event, EventDraft, encode_event, hash_is_valid
from life_tui.kernel.ids import new_ulid

SCALE = max(1, int(os.environ.get("LIFE_CRASH_SCALE", "1")))
OPTS = JournalOptions(background=False, seal_on_close_min=10**9, compact_min_segments=3)
REPAIRED = "journal.tail_repaired"


# ------------------------------------------------------------------------------------------- helpers
def draft(i: int, pad: int = 0) -> EventDraft:
    return EventDraft(kind="user.message", payload={"content": f"message {i}", "pad": "x" * pad})


def opts(**changes: object) -> JournalOptions:
    return dataclasses.replace(OPTS, **changes) if changes else OPTS  # type: ignore[arg-type]


def open_j(root: Path, fs: FileLayer | None = None, **changes: object) -> Journal:
    return Journal.open(root, options=opts(**changes), fs=fs, clock=FakeClock(tick_us=3))


def wal_paths(root: Path) -> list[Path]:
    return sorted((root / "wal").glob("*.wal"))


def frames_of(path: Path) -> list[wal.Frame]:
    result = wal.scan(path.read_bytes(), None)
    assert result.damage is None, result.damage
    return result.frames


def flip(path: Path, pos: int, bit: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(pos)
        byte = fh.read(1)[0]
        fh.seek(pos)
        fh.write(bytes([byte ^ (1 << bit)]))


def assert_chain(events: list[Event]) -> None:
    """No partial or altered record: seqs 1..n, every hash valid, every link to the previous event."""
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    prev = ""
    for e in events:
        assert hash_is_valid(e), f"seq {e.seq} has an invalid hash"
        assert e.prev_hash == prev, f"seq {e.seq} does not link to seq {e.seq - 1}"
        prev = e.hash


def check_acked(events: list[Event], acked: dict[int, str], in_flight: int) -> None:
    """Every acknowledged event is present and identical; at most the one batch in flight follows."""
    assert_chain(events)
    for seq, digest in acked.items():
        assert seq <= len(events), f"acknowledged seq {seq} is missing (only {len(events)} recovered)"
        assert events[seq - 1].hash == digest, f"acknowledged seq {seq} changed"
    last = max(acked, default=0)
    # a batch is one frame: all of it or none of it survives
    assert len(events) in (last, last + in_flight), (len(events), last, in_flight)


def repairs(view: Journal | JournalReader) -> list[Event]:
    try:
        return view.read(SYSTEM_SESSION, "main", kinds=[REPAIRED])
    except NotFound:
        return []


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*.tmp") if p.name != "verified.tmp")


@pytest.fixture
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real fsyncs are pure cost when FaultyFileLayer decides what a power loss keeps."""
    monkeypatch.setattr(os, "fdatasync", lambda fd: None)
    monkeypatch.setattr(os, "fsync", lambda fd: None)


# ============================================================================================ J1
# A child process appends in a tight loop and reports each acknowledgement over a pipe *after* append
# returns; the parent SIGKILLs it at a random moment and reopens.
_REC = struct.Struct("<cQ64s")  # kind, number, hash: R=ready (number = seed), I=intent (batch size), A=ack


def _j1_child(root: Path, seed: int, wfd: int) -> None:
    try:
        rng = random.Random(seed)
        options = JournalOptions(
            background=True,
            seal_events=rng.choice([120, 400, 10**9]),
            compact_min_segments=3,
            seal_on_close_min=10**9,
        )
        j = Journal.open(root, options=options)
        sid = j.create_session("kill", session_id=new_ulid()).session_id
        created = j.read(sid)[0]
        os.write(wfd, _REC.pack(b"R", seed, sid.encode().ljust(64)) + _REC.pack(b"A", 1, created.hash.encode()))
        i = 0
        while True:
            size = 1 if rng.random() < 0.6 else rng.randint(2, 6)
            os.write(wfd, _REC.pack(b"I", size, b""))
            events = j.append_batch(sid, "main", [draft(i + k, rng.randrange(400)) for k in range(size)])
            os.write(wfd, b"".join(_REC.pack(b"A", e.seq, e.hash.encode()) for e in events))
            i += size
    except BaseException as exc:  # report, never return into pytest
        with contextlib.suppress(OSError):
            os.write(wfd, _REC.pack(b"X", 0, repr(exc)[:64].encode()))
    finally:
        os._exit(0)


def _read_records(rfd: int, until: float, buf: bytearray, *, stop_after_ready: bool = False) -> bool:
    """Read into ``buf`` until the deadline (or EOF); True on EOF."""
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([rfd], [], [], left)
        if ready:
            chunk = os.read(rfd, 65536)
            if not chunk:
                return True
            buf += chunk
            if stop_after_ready and len(buf) >= _REC.size:
                return False


def _j1_run(root: Path, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(rfd)
        _j1_child(root, seed, wfd)
    os.close(wfd)
    buf = bytearray()
    try:
        eof = _read_records(rfd, time.monotonic() + 20, buf, stop_after_ready=True)
        assert not eof and buf[:1] == b"R", f"seed {seed}: the child did not start: {bytes(buf)!r}"
        delay = rng.uniform(0.02, 0.3)
        _read_records(rfd, time.monotonic() + delay, buf)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        _read_records(rfd, time.monotonic() + 5, buf)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        os.close(rfd)
    assert len(buf) % _REC.size == 0, f"seed {seed}: a pipe record was torn"
    records = [_REC.unpack_from(buf, off) for off in range(0, len(buf), _REC.size)]
    errors = [r for r in records if r[0] == b"X"]
    assert not errors, f"seed {seed}: the child failed: {errors[0][2]!r}"
    sid = records[0][2].decode().strip()
    acked = {seq: digest.decode() for kind, seq, digest in records if kind == b"A"}
    last_intent = max((i for i, r in enumerate(records) if r[0] == b"I"), default=-1)
    acks_after = sum(1 for r in records[last_intent + 1 :] if r[0] == b"A")
    in_flight = records[last_intent][1] if last_intent >= 0 and acks_after == 0 else 0

    start = time.monotonic()
    j = open_j(root)
    reopen = time.monotonic() - start
    try:
        events = j.read(sid)
        check_acked(events, acked, in_flight)
        assert reopen < 2.0, f"seed {seed}: reopen took {reopen:.2f} s"
        assert leftovers(root) == []
        manifest_mod.load(root / "MANIFEST")
        for e in repairs(j):  # a SIGKILL can at most tear the final record
            assert e.payload_dict()["wal_file"] == wal_paths(root)[-1].name
        # the recovered journal takes appends again
        extra = j.append(sid, "main", draft(-1))
        assert extra.seq == len(events) + 1
    finally:
        j.close()
    return {"acked": len(acked), "recovered": len(events), "reopen_s": reopen}


@pytest.mark.slow
def test_j1_sigkill_at_a_random_moment(tmp_path: Path) -> None:
    import pyarrow.parquet  # noqa: F401 - imported before fork so children seal without the import cost

    runs = 30 * SCALE
    stats = []
    for seed in range(runs):
        try:
            stats.append(_j1_run(tmp_path / f"run{seed}", seed))
        except AssertionError as exc:
            raise AssertionError(f"J1 failed for seed {seed}: {exc}") from exc
        shutil.rmtree(tmp_path / f"run{seed}")
    assert sum(s["acked"] for s in stats) > runs * 10, "the children barely appended: the test is not testing"
    print(
        f"J1: {runs} kills, {sum(s['acked'] for s in stats)} acks, max reopen {max(s['reopen_s'] for s in stats):.3f}s"
    )


# ============================================================================================ J2
def _j2_run(root: Path, seed: int) -> str:
    """One seeded simulated power loss; returns the damage mode used."""
    rng = random.Random(seed)
    fs = FaultyFileLayer(crash_at=rng.randint(1, 150))
    sid = new_ulid()
    branches = ["main"]
    acked: dict[str, dict[int, str]] = {"main": {}}
    in_flight: tuple[str, int] | None = None
    j: Journal | None = None
    try:
        j = open_j(root, fs, seal_events=10**9)
        in_flight = ("main", 1)
        j.create_session("power", session_id=sid)
        acked["main"][1] = j.read(sid)[0].hash
        in_flight = None
        for _step in range(70):
            roll = rng.random()
            if roll < 0.08:
                j.seal()
            elif roll < 0.12:
                j.compact()
            elif roll < 0.15 and len(branches) < 4:
                parent = rng.choice(branches)
                at = rng.randint(0, j.head(sid, parent))
                name = f"b{len(branches)}"
                in_flight = (name, 1)
                info = j.fork(sid, parent, at, name)
                in_flight = None
                branches.append(name)
                acked[name] = {s: h for s, h in acked[parent].items() if s <= at} | {info.head: info.head_hash}
            else:
                branch = rng.choice(branches)
                size = 1 if rng.random() < 0.7 else rng.randint(2, 5)
                in_flight = (branch, size)
                events = j.append_batch(sid, branch, [draft(_step, rng.randrange(700)) for _ in range(size)])
                in_flight = None
                acked[branch].update({e.seq: e.hash for e in events})
    except SimulatedCrash:
        pass
    if j is not None:
        j.abandon()
    mode = fs.power_loss(rng)

    j2 = open_j(root)
    try:
        if not acked["main"]:  # crashed before the session was acknowledged
            with contextlib.suppress(NotFound):
                check_acked(j2.read(sid), {}, 1)
            return mode
        for branch in branches:
            flying = in_flight[1] if in_flight and in_flight[0] == branch else 0
            check_acked(j2.read(sid, branch), acked[branch], flying)
        assert leftovers(root) == []
        for e in j2.read(sid):
            assert hash_is_valid(e)
        # the journal works after recovery, and what it writes survives the next reopen
        after = j2.append(sid, "main", draft(-1))
        if seed % 10 == 0:
            j2.seal()
    finally:
        j2.close()
    j3 = open_j(root)
    try:
        assert j3.read(sid)[-1] == after
        assert len(repairs(j3)) <= 1
    finally:
        j3.close()
    return mode


def _j2_seeds() -> list[int]:
    if "LIFE_CRASH_SEED" in os.environ:
        return [int(os.environ["LIFE_CRASH_SEED"])]
    return list(range(2000 * SCALE))


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(4))
def test_j2_simulated_power_loss(tmp_path: Path, no_fsync: None, chunk: int) -> None:
    seeds = _j2_seeds()[chunk::4]
    modes: dict[str, int] = {}
    for seed in seeds:
        root = tmp_path / f"seed{seed}"
        try:
            mode = _j2_run(root, seed)
        except (AssertionError, JournalCorrupt) as exc:
            raise AssertionError(f"J2 failed for seed {seed} (replay: LIFE_CRASH_SEED={seed}): {exc!r}") from exc
        modes[mode] = modes.get(mode, 0) + 1
        shutil.rmtree(root)
    if len(seeds) > 50:
        assert set(modes) == set(POWER_LOSS_MODES), modes


# ============================================================================================ J3
def _template(tmp_path: Path, *, last_batch: int = 2, pad: int = 40) -> tuple[Path, str, list[Event]]:
    root = tmp_path / "template"
    j = open_j(root)
    sid = j.create_session("tmpl", session_id=new_ulid()).session_id
    for i in range(10):
        j.append(sid, "main", draft(i, pad))
    j.append_batch(sid, "main", [draft(100 + i, pad) for i in range(last_batch)])
    events = j.read(sid)
    j.close()
    return root, sid, events


def _copy(template: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(template, dest)
    return dest


def _check_repaired(root: Path, sid: str, kept: list[Event], cut_at: int, discarded: bytes) -> None:
    (wal_file,) = wal_paths(root)
    original_prefix = wal_file.read_bytes()[:cut_at]
    j = open_j(root)
    try:
        assert j.read(sid) == kept
        found = repairs(j)
        assert len(found) == 1
        data = found[0].payload_dict()
        assert (data["wal_file"], data["offset"], data["discarded_bytes"]) == (wal_file.name, cut_at, len(discarded))
        saved = wal_file.with_name(f"{wal_file.name}.{cut_at}.broken.logged")  # recorded, so marked logged
        assert data["saved_as"] == saved.name
        assert saved.read_bytes() == discarded
        assert not list(wal_file.parent.glob("*.broken"))  # nothing left to record
        # cut exactly at the end of the previous record: the old bytes are untouched, new frames start there
        now = wal_file.read_bytes()
        assert now[:cut_at] == original_prefix
        assert cut_at in {f.offset for f in frames_of(wal_file)}
        after = j.append(sid, "main", draft(999))
        assert after.seq == len(kept) + 1
    finally:
        j.close()
    j = open_j(root)
    try:
        assert j.read(sid) == [*kept, after]
        assert len(repairs(j)) == 1  # the repair is not repeated
    finally:
        j.close()


@pytest.mark.slow
def test_j3_torn_final_record_at_every_offset(tmp_path: Path) -> None:
    template, sid, events = _template(tmp_path)
    (wal_file,) = wal_paths(template)
    data = wal_file.read_bytes()
    last = frames_of(wal_file)[-1]
    assert last.end == len(data)
    kept = events[:-2]  # the last frame is a batch of two: both go
    for k in range(len(data) - last.offset):
        root = _copy(template, tmp_path / "run")
        with open(wal_paths(root)[0], "r+b") as fh:
            fh.truncate(last.offset + k)
        if k == 0:  # cut on a frame boundary: nothing is torn, nothing to repair
            j = open_j(root)
            assert j.read(sid) == kept
            assert repairs(j) == []
            assert not list((root / "wal").glob("*.broken"))
            j.close()
            continue
        try:
            _check_repaired(root, sid, kept, last.offset, data[last.offset : last.offset + k])
        except AssertionError as exc:
            raise AssertionError(f"J3 failed when the last frame was cut after {k} bytes: {exc}") from exc


def test_j3_zero_filled_tail(tmp_path: Path) -> None:
    template, sid, events = _template(tmp_path)
    # preallocated space after the last record reads as zeros
    root = _copy(template, tmp_path / "prealloc")
    size = wal_paths(root)[0].stat().st_size
    with open(wal_paths(root)[0], "ab") as fh:
        fh.write(bytes(8192))
    _check_repaired(root, sid, events, size, bytes(8192))
    # the last record's blocks were allocated but never written
    root = _copy(template, tmp_path / "zeroed")
    last = frames_of(wal_paths(template)[0])[-1]
    with open(wal_paths(root)[0], "r+b") as fh:
        fh.seek(last.offset)
        fh.write(bytes(size - last.offset))
    _check_repaired(root, sid, events[:-2], last.offset, bytes(size - last.offset))


def test_j3_torn_file_header_of_a_new_wal_file(tmp_path: Path) -> None:
    template, sid, events = _template(tmp_path)
    for content in (b"", b"LIFEWAL1", bytes(16)):
        root = _copy(template, tmp_path / "run")
        (root / "wal" / wal.wal_name(2)).write_bytes(content)  # a rotation interrupted before the header
        j = open_j(root)
        try:
            assert j.read(sid) == events
            j.append(sid, "main", draft(5))
        finally:
            j.close()
        j = open_j(root)
        assert len(j.read(sid)) == len(events) + 1
        j.close()


# ============================================================================================ J4
def _frame_containing(frames: list[wal.Frame], pos: int) -> int:
    if pos < wal.FILE_HEADER.size:
        return 0
    return max(f.offset for f in frames if f.offset <= pos)


@pytest.mark.slow
def test_j4_mid_wal_bit_flip_is_reported_not_truncated(tmp_path: Path) -> None:
    template, sid, events = _template(tmp_path, last_batch=3, pad=10)
    (wal_file,) = wal_paths(template)
    frames = frames_of(wal_file)
    original = wal_file.read_bytes()
    seq_after_frame: dict[int, int] = {}
    seen = 0
    for f in frames:
        seq_after_frame[f.offset] = seen
        seen += len(msgspec.json.decode(f.body))
    runs = 1000 * SCALE
    for seed in range(runs):
        rng = random.Random(seed)
        root = _copy(template, tmp_path / "run")
        path = wal_paths(root)[0]
        pos = rng.randrange(0, frames[-1].offset)
        flip(path, pos, rng.randrange(8))
        damaged = path.read_bytes()
        damaged_at = _frame_containing(frames, pos)
        where = f"seed {seed}: bit flip at {pos}"
        with pytest.raises(JournalCorrupt) as info:
            open_j(root)
        assert info.value.path.endswith(path.name), where
        assert info.value.offset == damaged_at, where
        assert path.read_bytes() == damaged, f"{where}: the damaged WAL was modified"
        assert not list((root / "wal").glob("*.broken")), where
        with pytest.raises(JournalCorrupt):
            JournalReader.open(root)
        salvage = JournalReader.open(root, salvage=True)
        assert salvage.damage, where
        before = seq_after_frame[damaged_at] if damaged_at else 0
        if before == 0:
            assert salvage.sessions() == [], where
        else:
            assert salvage.read(sid) == events[:before], where
        shutil.rmtree(root)
    assert original == wal_file.read_bytes()


def test_j4_damage_in_an_earlier_wal_file_is_never_torn(tmp_path: Path) -> None:
    """A whole earlier WAL file precedes the last one: even its final frame cannot be an unfinished write."""
    root = tmp_path / "j"
    fs = FaultyFileLayer()
    j = open_j(root, fs)
    sid = j.create_session("two files").session_id
    for i in range(5):
        j.append(sid, "main", draft(i))
    fs.faults.append(Fault("write", nth=1, code=errno.EIO, path_contains=".parquet"))
    with pytest.raises(OSError):
        j.seal()  # rotated to WAL 2, but the segment was never published
    for i in range(3):
        j.append(sid, "main", draft(10 + i))
    events = j.read(sid)
    j.close()
    first, second = wal_paths(root)
    assert len(frames_of(second)) == 3
    last = frames_of(first)[-1]
    for cut in (last.offset + 5, last.end - 1):
        run = _copy(root, tmp_path / "run")
        with open(run / "wal" / first.name, "r+b") as fh:
            fh.truncate(cut)
        with pytest.raises(JournalCorrupt) as info:
            open_j(run)
        assert info.value.path.endswith(first.name)
        assert info.value.offset == last.offset
    run = _copy(root, tmp_path / "run")
    assert open_j(run).read(sid) == events


# ============================================================================================ J5
def _sealed_template(tmp_path: Path) -> tuple[Path, str, dict[str, list[bytes]], list[bytes]]:
    root = tmp_path / "sealed"
    j = open_j(root)
    sid = j.create_session("sealed").session_id
    j.append_batch(sid, "main", [draft(i, 30) for i in range(150)])
    j.fork(sid, "main", 100, "alt")
    j.append_batch(sid, "alt", [draft(i, 30) for i in range(20)])
    j.seal()
    j.append_batch(sid, "main", [draft(1000 + i) for i in range(5)])  # an unsealed tail
    views = {b: [encode_event(e) for e in j.read(sid, b)] for b in ("main", "alt")}
    tail_only = [encode_event(e) for e in j.read(sid, after=151)]
    j.close()
    return root, sid, views, tail_only


def _sql_session() -> type | None:
    try:
        from life_tui.journal.sql import SqlSession
    except ImportError:
        return None
    return SqlSession


@pytest.mark.slow
def test_j5_bit_flip_in_a_sealed_segment_is_refused(tmp_path: Path) -> None:
    template, sid, _views, tail_only = _sealed_template(tmp_path)
    (segment,) = (template / "segments").glob("*.parquet")
    size = segment.stat().st_size
    sql = _sql_session()
    runs = 300 * SCALE
    for seed in range(runs):
        rng = random.Random(seed)
        root = _copy(template, tmp_path / "run")
        path = root / "segments" / segment.name
        pos = rng.randrange(size)
        flip(path, pos, rng.randrange(8))
        where = f"seed {seed}: bit flip at {pos} of {size}"
        j = open_j(root)
        try:
            for branch in ("main", "alt"):
                with pytest.raises(JournalCorrupt) as info:
                    j.read(sid, branch)
                assert info.value.path.endswith(segment.name), where
            # reads that never touch the segment are still served, unchanged
            assert [encode_event(e) for e in j.read(sid, after=151)] == tail_only, where
        finally:
            j.close()
        reader = JournalReader.open(root)
        with pytest.raises(JournalCorrupt):
            reader.read(sid, "main")
        if sql is not None:
            with pytest.raises(JournalCorrupt):
                sql(reader)
        shutil.rmtree(root)


def test_j5_bit_flip_after_the_digest_was_proven(tmp_path: Path) -> None:
    """A proof remembered on disk or in memory does not cover a file changed after it was made."""
    template, sid, views, _ = _sealed_template(tmp_path)
    (segment,) = (template / "segments").glob("*.parquet")
    size = segment.stat().st_size
    for seed in range(20):
        rng = random.Random(seed)
        root = _copy(template, tmp_path / "run")
        path = root / "segments" / segment.name
        j = open_j(root)
        assert [encode_event(e) for e in j.read(sid)] == views["main"]  # proven now, and remembered on close
        j.close()
        flip(path, rng.randrange(size), rng.randrange(8))
        j = open_j(root)
        with pytest.raises(JournalCorrupt):
            j.read(sid)
        j.close()
        # a long-running process that already read the segment
        shutil.rmtree(root)
        root = _copy(template, tmp_path / "run")
        path = root / "segments" / segment.name
        j = open_j(root)
        assert [encode_event(e) for e in j.read(sid)] == views["main"]
        flip(path, rng.randrange(size), rng.randrange(8))
        try:
            got = [encode_event(e) for e in j.read(sid, "alt")]
        except JournalCorrupt:
            pass
        else:
            assert got == views["alt"], f"seed {seed}: altered events were served"
        finally:
            j.close()
        shutil.rmtree(root)


def test_j5_sql_views_refuse_a_damaged_segment(tmp_path: Path) -> None:
    sql = _sql_session()
    if sql is None:
        pytest.skip("TODO(J5): life_tui/journal/sql.py does not exist yet; re-enable when the SQL views land")
    template, sid, views, _ = _sealed_template(tmp_path)
    reader = JournalReader.open(template)
    session = sql(reader)
    rows = session.query("SELECT count(*) AS n FROM events WHERE session_id = ?", [sid])
    assert rows is not None
    assert rows.column("n").to_pylist() == [len(views["main"]) + 21]  # alt: branch.created + 20
    session.close()
    (segment,) = (template / "segments").glob("*.parquet")
    flip(segment, segment.stat().st_size // 2, 3)
    reader = JournalReader.open(template)
    with pytest.raises(JournalCorrupt):
        sql(reader)


def test_j5_open_sql_session_refuses_a_segment_changed_under_it(tmp_path: Path) -> None:
    sql = _sql_session()
    if sql is None:
        pytest.skip("TODO(J5): life_tui/journal/sql.py does not exist yet")
    template, _sid, _views, _ = _sealed_template(tmp_path)
    (segment,) = (template / "segments").glob("*.parquet")
    size = segment.stat().st_size
    query = "SELECT session_id, branch, seq, hash, payload FROM events ORDER BY session_id, branch, seq"
    good = None
    altered = 0
    for seed in range(20):
        rng = random.Random(seed)
        root = _copy(template, tmp_path / "run")
        session = sql(JournalReader.open(root))
        if good is None:
            good = session.query(query).to_pylist()
        flip(root / "segments" / segment.name, rng.randrange(size), rng.randrange(8))
        # refused (InvalidInput: DuckDB noticed by itself) is fine: nothing altered was returned
        with contextlib.suppress(JournalCorrupt, InvalidInput):
            altered += session.query(query).to_pylist() != good
        session.close()
    assert altered == 0, f"{altered} of 20 queries silently returned altered rows"


# ============================================================================================ J6
def _unsealed_template(tmp_path: Path, segments: int = 0) -> tuple[Path, str, dict[str, list[Event]]]:
    root = tmp_path / "unsealed"
    j = open_j(root, compact_min_segments=10**6)
    sid = j.create_session("seal").session_id
    for s in range(segments):
        j.append_batch(sid, "main", [draft(s * 100 + i) for i in range(10)])
        j.seal()
    j.append_batch(sid, "main", [draft(i, 20) for i in range(40)])
    j.fork(sid, "main", 20, "alt")
    j.append_batch(sid, "alt", [draft(i) for i in range(5)])
    j.append_batch(sid, "main", [draft(i) for i in range(3)])
    views = {b: j.read(sid, b) for b in ("main", "alt")}
    j.close()
    return root, sid, views


def _count_ops(template: Path, action: str) -> int:
    root = _copy(template, template.with_name("count"))
    fs = FaultyFileLayer()
    j = open_j(root, fs)
    before = fs.ops
    getattr(j, action)()
    ops = fs.ops - before
    j.close()
    shutil.rmtree(root)
    return ops


def _crash_walk(tmp_path: Path, template: Path, sid: str, views: dict[str, list[Event]], action: str) -> int:
    total = _count_ops(template, action)
    assert total >= 10
    runs = 0
    for n in range(1, total + 2):
        for variant, mode in enumerate(POWER_LOSS_MODES):
            rng = random.Random(n * 100 + variant)
            where = f"{action}: crash before op {n} of {total}, power loss {mode!r}"
            root = _copy(template, tmp_path / "run")
            fs = FaultyFileLayer()
            j = open_j(root, fs)
            fs.crash_at = fs.ops + n
            try:
                getattr(j, action)()
                assert n > total, where
            except SimulatedCrash:
                assert n <= total, where
            j.abandon()
            fs.power_loss(rng, mode)
            try:
                j = open_j(root)
            except JournalCorrupt as exc:
                raise AssertionError(f"{where}: {exc}") from exc
            try:
                assert leftovers(root) == [], where
                manifest = manifest_mod.load(root / "MANIFEST")
                for branch, expected in views.items():
                    assert j.read(sid, branch) == expected, where
                # each event is stored exactly once across segments and WAL
                sealed = sum(sl.rows for e in manifest.segments for sl in e.slices if sl.session_id == sid)
                unsealed = sum(1 for e in j.tail_events() if e.session_id == sid)
                assert sealed + unsealed == sum(len(v) for v in (views["main"], views["alt"][20:])), where
                assert {p.name for p in (root / "segments").glob("*.parquet")} >= {e.name for e in manifest.segments}
                extra = j.append(sid, "main", draft(-1))
                j.seal()
                assert j.read(sid) == [*views["main"], extra], where
            finally:
                j.close()
            j = open_j(root)
            assert j.read(sid, "alt") == views["alt"], where
            assert j.read(sid)[-1] == extra, where
            j.close()
            runs += 1
    return runs


@pytest.mark.slow
def test_j6_crash_at_every_step_of_a_seal(tmp_path: Path, no_fsync: None) -> None:
    template, sid, views = _unsealed_template(tmp_path, segments=1)
    assert _crash_walk(tmp_path, template, sid, views, "seal") >= 50


@pytest.mark.slow
def test_j6_crash_at_every_step_of_a_compaction(tmp_path: Path, no_fsync: None) -> None:
    template, sid, views = _unsealed_template(tmp_path, segments=4)
    assert _crash_walk(tmp_path, template, sid, views, "compact") >= 50


def test_j6_crash_at_every_step_of_a_tail_repair(tmp_path: Path, no_fsync: None) -> None:
    """Recovery itself can be interrupted: a second reopen must still repair exactly once."""
    template, sid, events = _template(tmp_path)
    last = frames_of(wal_paths(template)[0])[-1]
    with open(wal_paths(template)[0], "r+b") as fh:
        fh.truncate(last.offset + 7)
    probe = FaultyFileLayer()
    open_j(_copy(template, tmp_path / "probe"), probe).close()
    total = probe.ops
    for n in range(1, total + 1):
        for variant, mode in enumerate(POWER_LOSS_MODES):
            root = _copy(template, tmp_path / "run")
            fs = FaultyFileLayer(crash_at=n)
            with pytest.raises(SimulatedCrash):
                open_j(root, fs)
            fs.power_loss(random.Random(n * 10 + variant), mode)
            j = open_j(root)
            try:
                assert j.read(sid) == events[:-2], (n, mode)
                # The original torn tail is recorded exactly once. A crash that tears recovery's own append
                # leaves a second, genuine torn tail behind it, which is recorded (once) as well.
                offsets = [e.payload_dict()["offset"] for e in repairs(j)]
                assert offsets.count(last.offset) == 1, (n, mode, offsets)
                assert len(offsets) == len(set(offsets)), (n, mode, offsets)
                assert all(o >= last.offset for o in offsets), (n, mode, offsets)
                j.append(sid, "main", draft(1))
            finally:
                j.close()


# ============================================================================================ J7
def test_j7_enospc_one_shot_at_every_append(tmp_path: Path) -> None:
    root = tmp_path / "j"
    fs = FaultyFileLayer()
    j = open_j(root, fs)
    sid = j.create_session("full").session_id
    acked = {1: j.read(sid)[0].hash}
    failures = 0
    for i in range(200):
        fs.faults[:] = [Fault("write", nth=1, code=errno.ENOSPC)] if i % 2 == 0 else []
        size = 1 if i % 3 else 3
        try:
            events = j.append_batch(sid, "main", [draft(i) for _ in range(size)])
        except JournalFull:
            failures += 1
            assert i % 2 == 0
            assert j.head(sid) == max(acked)
            continue
        assert i % 2 == 1
        acked.update({e.seq: e.hash for e in events})
    assert failures == 100
    assert not j.failed
    check_acked(j.read(sid), acked, 0)
    j.close()
    j = open_j(root)
    check_acked(j.read(sid), acked, 0)
    assert repairs(j) == []  # no partial record was left behind
    j.close()


@pytest.mark.parametrize("persistent", [True, False], ids=["persistent", "one-shot"])
def test_j7_enospc_at_write_n(tmp_path: Path, persistent: bool, no_fsync: None) -> None:
    """For every N: ENOSPC at the Nth write (once, or from then on); usable again once space is back.

    No power loss is simulated here, so skipping the real fsyncs changes nothing but the run time."""
    template = tmp_path / "template"
    j = open_j(template)
    sid = j.create_session("full").session_id
    created = j.read(sid)[0]
    j.close()
    for n in range(1, 201):
        root = _copy(template, tmp_path / "run")
        fs = FaultyFileLayer()
        j = open_j(root, fs)
        fs.faults.append(Fault("write", nth=n, code=errno.ENOSPC, persistent=persistent))
        acked = {1: created.hash}
        failed_at = None
        for i in range(n + 3):
            try:
                e = j.append(sid, "main", draft(i))
            except JournalFull:
                failed_at = failed_at or i + 1
                assert j.head(sid) == max(acked)
                continue
            acked[e.seq] = e.hash
        assert failed_at == n, (n, failed_at)
        assert not j.failed
        fs.faults.clear()  # space is free again: appends resume without a reopen
        resumed = j.append(sid, "main", draft(-1))
        acked[resumed.seq] = resumed.hash
        check_acked(j.read(sid), acked, 0)
        j.close()
        j = open_j(root)
        check_acked(j.read(sid), acked, 0)
        assert repairs(j) == []
        j.close()


class _PartialWriteThenFull(FaultyFileLayer):
    """Writes part of the Nth write to the WAL, then fails with ENOSPC, as a filling disk does."""

    def __init__(self, nth: int) -> None:
        super().__init__()
        self.nth = nth
        self.writes = 0

    def _raw_write(self, fd: int, data: memoryview, path: Path) -> int:
        if path.suffix == ".wal":
            self.writes += 1
            if self.writes == self.nth:
                super()._raw_write(fd, data[: max(1, len(data) // 2)], path)
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return super()._raw_write(fd, data, path)


def test_j7_partial_write_before_enospc_is_cut_back(tmp_path: Path) -> None:
    root = tmp_path / "j"
    fs = _PartialWriteThenFull(nth=6)
    j = open_j(root, fs)
    sid = j.create_session("partial").session_id  # WAL writes: header, session
    acked = {1: j.read(sid)[0].hash}
    for i in range(3):
        e = j.append(sid, "main", draft(i))
        acked[e.seq] = e.hash
    size = wal_paths(root)[0].stat().st_size
    with pytest.raises(JournalFull):
        j.append(sid, "main", draft(99, 500))
    assert wal_paths(root)[0].stat().st_size == size  # the half-written frame is gone
    e = j.append(sid, "main", draft(100))
    acked[e.seq] = e.hash
    j.close()
    j = open_j(root)
    check_acked(j.read(sid), acked, 0)
    assert repairs(j) == []
    j.close()


def test_j7_enospc_while_sealing(tmp_path: Path) -> None:
    root = tmp_path / "j"
    fs = FaultyFileLayer()
    j = open_j(root, fs)
    sid = j.create_session("seal full").session_id
    j.append_batch(sid, "main", [draft(i) for i in range(30)])
    for target in (".parquet", "MANIFEST", ".wal"):
        fs.faults[:] = [Fault("write", nth=1, code=errno.ENOSPC, persistent=True, path_contains=target)]
        with pytest.raises((OSError, JournalFull)):
            j.seal()
        fs.faults.clear()
        j.append(sid, "main", draft(1))
    expected = j.read(sid)
    assert_chain(expected)
    assert j.seal() is not None
    assert j.read(sid) == expected
    j.close()
    j = open_j(root)
    assert j.read(sid) == expected
    assert leftovers(root) == []
    j.close()


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("J7b needs root and mount(8) for a tmpfs")
    path.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"J7b cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_j7_real_full_tmpfs(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "mnt", "1m") as mnt:
        filler = mnt / "filler"
        filler.write_bytes(os.urandom(200 * 1024))
        root = mnt / "journal"
        j = Journal.open(root, options=opts(), clock=FakeClock())
        sid = j.create_session("tmpfs").session_id
        acked = {1: j.read(sid)[0].hash}
        full = 0
        for i in range(10_000):
            try:
                e = j.append(sid, "main", draft(i, 900))
            except JournalFull:
                full += 1
                if full == 3:
                    break
                continue
            acked[e.seq] = e.hash
        assert full == 3, "the tmpfs never filled up"
        assert not j.failed
        size = wal_paths(root)[-1].stat().st_size
        assert wal.scan(wal_paths(root)[-1].read_bytes(), None).damage is None  # no partial record
        filler.unlink()
        e = j.append(sid, "main", draft(-1, 900))  # space freed: no restart needed
        acked[e.seq] = e.hash
        assert wal_paths(root)[-1].stat().st_size > size
        check_acked(j.read(sid), acked, 0)
        j.close()
        j = Journal.open(root, options=opts(), clock=FakeClock())
        check_acked(j.read(sid), acked, 0)
        assert repairs(j) == []
        j.close()


# ============================================================================================ J8
@pytest.mark.parametrize("power_loss", [False, True], ids=["process-lives", "power-loss"])
def test_j8_fsync_failure_is_fatal(tmp_path: Path, power_loss: bool) -> None:
    root = tmp_path / "j"
    fs = FaultyFileLayer()
    j = open_j(root, fs)
    sid = j.create_session("eio").session_id
    acked = {1: j.read(sid)[0].hash}
    for i in range(10):
        e = j.append(sid, "main", draft(i))
        acked[e.seq] = e.hash
    fs.faults.append(Fault("fsync", nth=1, code=errno.EIO))
    with pytest.raises(JournalFailed):
        j.append(sid, "main", draft(100))
    assert j.failed
    ops = len(fs.log)
    for i in range(20):
        start = time.perf_counter()
        with pytest.raises(JournalFailed):
            j.append(sid, "main", draft(200 + i))
        assert time.perf_counter() - start < 0.01
    with pytest.raises(JournalFailed):
        j.seal()
    assert fs.log[ops:] == []  # it never wrote or synced again
    assert j.head(sid) == max(acked)  # the failed event was never made visible
    if power_loss:
        j.abandon()
        fs.power_loss(random.Random(1), "drop")
    else:
        j.close()
    j = open_j(root)
    # the unacknowledged event may survive (its write reached the page cache) but nothing else
    check_acked(j.read(sid), acked, 0 if power_loss else 1)
    e = j.append(sid, "main", draft(300))
    assert e.seq == len(j.read(sid))
    j.close()


def test_j8_fsync_failure_fails_every_concurrent_append(tmp_path: Path) -> None:
    root = tmp_path / "j"
    fs = FaultyFileLayer()
    j = open_j(root, fs)
    sid = j.create_session("eio").session_id
    fs.faults.append(Fault("fsync", nth=40, code=errno.EIO))
    acks: list[Event] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(t: int) -> None:
        for i in range(100):
            try:
                e = j.append(sid, "main", draft(t * 1000 + i))
            except JournalFailed as exc:
                with lock:
                    errors.append(exc)
                return
            with lock:
                acks.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 4
    assert j.failed
    acked = {e.seq: e.hash for e in acks}
    assert sorted(acked) == list(range(2, len(acks) + 2))
    j.abandon()
    fs.power_loss(random.Random(0), "drop")
    j = open_j(root)
    check_acked(j.read(sid), acked | {1: j.read(sid)[0].hash}, 0)
    j.close()


def test_j8_failed_directory_fsync_while_sealing_loses_nothing(tmp_path: Path, no_fsync: None) -> None:
    """The manifest rename may or may not be durable after its directory fsync fails: the journal must not
    go on as if it knew which (it would reuse the segment name the on-disk manifest points at)."""
    for target in ("segments", "root", "wal"):
        for n in range(1, 25):
            root = tmp_path / f"{target}-{n}"
            fs = FaultyFileLayer()
            j = open_j(root, fs)
            sid = j.create_session("dir fsync").session_id
            acked = {e.seq: e.hash for e in [*j.read(sid), *j.append_batch(sid, "main", [draft(i) for i in range(20)])]}
            path = {"segments": str(root / "segments"), "root": str(root), "wal": str(root / "wal")}[target]
            fs.faults.append(_DirFault(path))
            with pytest.raises((OSError, JournalFailed)):
                j.seal()
            fs.faults.clear()
            try:
                for i in range(3):
                    e = j.append(sid, "main", draft(100 + i))
                    acked[e.seq] = e.hash
                fs.crash_at = fs.ops + n  # crash somewhere in the retry
                j.seal()
                j.append(sid, "main", draft(7))
            except (JournalFailed, SimulatedCrash):
                pass
            j.abandon()
            fs.power_loss(random.Random(n), "keep" if n % 2 else "drop")
            try:
                j = open_j(root)
                check_acked(j.read(sid), acked, 1)
            except (AssertionError, JournalCorrupt) as exc:
                raise AssertionError(f"fsync of {target} failed, then a crash before op {n}: {exc!r}") from exc
            j.close()
            shutil.rmtree(root)


class _DirFault(Fault):
    def __init__(self, path: str) -> None:
        super().__init__("fsync_dir", nth=1, code=errno.EIO)
        self.path = path

    def check(self, op: str, path: Path) -> bool:
        return op == "fsync_dir" and str(path) == self.path and super().check(op, path)


# ============================================================================================ J9
_J9_READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from life_tui.errors import NotFound
    from life_tui.journal import JournalReader
    from life_tui.kernel.event import hash_is_valid

    root, sid, min_seq, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    stop = root.parent / "stop"
    reader = JournalReader.open(root)
    errors, last, prev, refreshes, via_refresh = [], 0, "", 0, {}
    first = reader.head(sid)  # refresh() returns what became durable after this
    out.with_suffix(".ready").write_text("")
    if first < min_seq:
        errors.append(f"started after ack {min_seq} but saw only {first}")
    sql_checks = 0
    try:
        from life_tui.journal.sql import SqlSession
    except ImportError:
        SqlSession = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stopping = stop.exists()
        fresh = reader.refresh()
        refreshes += 1
        for e in fresh:
            if e.session_id == sid and e.branch == "main":
                if e.seq in via_refresh:
                    errors.append(f"refresh() returned seq {e.seq} twice")
                via_refresh[e.seq] = e.hash
        try:
            events = reader.read(sid, after=last)
        except NotFound:
            events = []
        for e in events:
            if e.seq != last + 1:
                errors.append(f"seq {e.seq} after {last}")
            if not hash_is_valid(e) or e.prev_hash != prev:
                errors.append(f"seq {e.seq} is partial or altered")
            last, prev = e.seq, e.hash
        if SqlSession is not None and refreshes % 15 == 0:
            s = SqlSession(reader)
            n = s.query("SELECT count(*) AS n FROM events WHERE session_id = ?", [sid]).column("n")[0].as_py()
            s.close()
            if n != reader.head(sid):
                errors.append(f"SQL saw {n} events, the reader {reader.head(sid)}")
            sql_checks += 1
        if stopping:
            break
        time.sleep(0.005)
    gaps = [s for s in range(first + 1, last + 1) if s not in via_refresh]
    out.write_text(json.dumps({"last": last, "prev": prev, "errors": errors[:20], "first": first,
                               "refreshes": refreshes, "sql": sql_checks, "refresh_gaps": gaps[:20]}))
    """
)


@pytest.mark.slow
def test_j9_concurrent_writers_and_tailing_readers(tmp_path: Path) -> None:
    root = tmp_path / "journal"
    j = Journal.open(root, options=JournalOptions(seal_events=500, compact_min_segments=3, seal_on_close_min=10**9))
    sid = j.create_session("busy").session_id
    threads_n, per_thread = 4, 1000
    acks: list[int] = [1]
    ack_lock = threading.Lock()
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def spawn_reader(k: int) -> None:
        with ack_lock:
            min_seq = max(acks)
        out = tmp_path / f"reader{k}.json"
        cmd = [sys.executable, "-c", _J9_READER, str(root), sid, str(min_seq), str(out)]
        procs.append((subprocess.Popen(cmd, stderr=subprocess.PIPE), out))

    def wait_ready(k: int) -> None:
        deadline = time.monotonic() + 30
        while not (tmp_path / f"reader{k}.ready").exists():
            assert procs[k][0].poll() is None, procs[k][0].communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.01)

    for k in range(2):  # two readers tail from the start
        spawn_reader(k)
    for k in range(2):
        wait_ready(k)
    by_thread: dict[int, list[int]] = {t: [] for t in range(threads_n)}

    def writer(t: int) -> None:
        for i in range(per_thread):
            e = j.append(sid, "main", EventDraft(kind="user.message", payload={"content": f"{t}:{i}", "t": t, "i": i}))
            by_thread[t].append(e.seq)
            with ack_lock:
                acks.append(e.seq)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(threads_n)]
    for t in threads:
        t.start()
    while len(acks) < 1000 and any(t.is_alive() for t in threads):
        time.sleep(0.005)
    spawn_reader(2)  # one more joins midway and must see at least every event acknowledged before it
    wait_ready(2)
    for t in threads:
        t.join()
    final = j.read(sid)
    assert_chain(final)
    assert len(final) == 1 + threads_n * per_thread
    for t, seqs in by_thread.items():
        assert seqs == sorted(seqs)
        assert [e.payload_dict()["i"] for e in final if e.payload_dict().get("t") == t] == list(range(per_thread))
    assert len(j.manifest().segments) >= 1, "nothing was sealed while the readers tailed"
    (root.parent / "stop").write_text("")
    for proc, out in procs:
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err.decode()[-2000:]
        report = json.loads(out.read_text())
        print("J9 reader:", {k: v for k, v in report.items() if k != "prev"})
        assert report["errors"] == [], report
        assert report["last"] == len(final), report
        assert report["prev"] == final[-1].hash
        assert report["refresh_gaps"] == [], report
    j.close()


# ============================================================================================ J10
_J10_HOLDER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from life_tui.journal import Journal, JournalOptions
    from life_tui.kernel.event import EventDraft

    root = Path(sys.argv[1])
    j = Journal.open(root, options=JournalOptions(background=False))
    sid = j.create_session("holder").session_id
    for i in range(5):
        j.append(sid, "main", EventDraft(kind="user.message", payload={"content": str(i)}))
    print("ready", os.getpid(), sid, flush=True)
    for line in sys.stdin:
        if line.strip() == "fds":
            for p in [root / "LOCK", root / "MANIFEST", *sorted((root / "wal").iterdir())]:
                if p.exists():
                    os.close(os.open(p, os.O_RDONLY))
            fd = os.open(root / "LOCK", os.O_RDWR)
            os.close(fd)
            print("done", flush=True)
    """
)


def _start_holder(root: Path) -> tuple[subprocess.Popen[str], int, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _J10_HOLDER, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line[:1] == ["ready"], line
    return proc, int(line[1]), line[2]


def _expect_locked(root: Path, pid: int) -> None:
    start = time.monotonic()
    with pytest.raises(JournalLocked) as info:
        open_j(root)
    assert time.monotonic() - start < 1.0
    assert info.value.holder_pid == pid
    assert str(pid) in str(info.value)


def test_j10_two_processes_one_journal(tmp_path: Path) -> None:
    root = tmp_path / "journal"
    proc, pid, sid = _start_holder(root)
    try:
        assert pid == proc.pid
        _expect_locked(root, pid)
        # readers are welcome beside the writer
        assert len(JournalReader.open(root).read(sid)) == 6
        # closing other descriptors of the journal's files in A does not release A's lock
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("fds\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"
        _expect_locked(root, pid)
        start = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        while True:
            try:
                j = open_j(root)
                break
            except JournalLocked:
                assert time.monotonic() - start < 2.0, "the lock outlived the killed writer"
                time.sleep(0.01)
        assert time.monotonic() - start < 2.0
        try:
            events = j.read(sid)
            assert len(events) == 6
            assert_chain(events)
        finally:
            j.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_j10_lock_released_on_close_and_by_abandon(tmp_path: Path) -> None:
    root = tmp_path / "journal"
    j = open_j(root)
    fd = os.open(root / "LOCK", os.O_RDONLY)  # an extra descriptor in the same process
    os.close(fd)
    with pytest.raises(JournalLocked) as info:
        open_j(root)
    assert info.value.holder_pid == os.getpid()
    j.abandon()
    open_j(root).close()


# ============================================================================================ J11
class JournalModel(RuleBasedStateMachine):
    """The journal against a list model: per branch, the hashes of its view in seq order."""

    def __init__(self) -> None:
        super().__init__()
        self.base = Path(_J11_DIR) / f"m{next(_J11_COUNTER)}"
        self.fs = FaultyFileLayer()
        self.j = open_j(self.base, self.fs, compact_min_segments=2)
        self.sid = self.j.create_session("model").session_id
        self.model: dict[str, list[str]] = {"main": [self.j.read(self.sid)[0].hash]}
        self.kinds: dict[str, list[str]] = {"main": ["session.created"]}
        self.forks = 0

    def _branch(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(self.model)), label="branch")

    def _reopen(self) -> None:
        self.fs = FaultyFileLayer()
        self.j = open_j(self.base, self.fs, compact_min_segments=2)

    @rule(data=st.data(), size=st.integers(1, 4), kind=st.sampled_from(["user.message", "x.note"]))
    def append(self, data: st.DataObject, size: int, kind: str) -> None:
        _J11_STATS["append"] += 1
        branch = self._branch(data)
        drafts = [EventDraft(kind=kind, payload={"i": len(self.model[branch]) + k}) for k in range(size)]
        events = (
            self.j.append_batch(self.sid, branch, drafts) if size > 1 else [self.j.append(self.sid, branch, drafts[0])]
        )
        assert [e.seq for e in events] == list(range(len(self.model[branch]) + 1, len(self.model[branch]) + size + 1))
        self.model[branch] += [e.hash for e in events]
        self.kinds[branch] += [kind] * size

    @precondition(lambda self: len(self.model) < 6)
    @rule(data=st.data())
    def fork(self, data: st.DataObject) -> None:
        _J11_STATS["fork"] += 1
        parent = self._branch(data)
        at = data.draw(st.integers(0, len(self.model[parent])), label="at")
        name = f"f{self.forks}"
        self.forks += 1
        info = self.j.fork(self.sid, parent, at, name)
        self.model[name] = [*self.model[parent][:at], info.head_hash]
        self.kinds[name] = [*self.kinds[parent][:at], "branch.created"]

    @rule()
    def seal(self) -> None:
        _J11_STATS["seal"] += 1
        self.j.seal()

    @rule()
    def compact(self) -> None:
        _J11_STATS["compact"] += 1
        self.j.compact()

    @rule()
    def reopen(self) -> None:
        _J11_STATS["reopen"] += 1
        self.j.close()
        self._reopen()

    @rule(data=st.data(), ops=st.integers(1, 12), mode=st.sampled_from(POWER_LOSS_MODES), seed=st.integers(0, 2**16))
    def crash(self, data: st.DataObject, ops: int, mode: str, seed: int) -> None:
        _J11_STATS["crash"] += 1
        branch = self._branch(data)
        size = data.draw(st.integers(1, 3), label="size")
        self.fs.crash_at = self.fs.ops + ops
        flying = 0
        try:
            for _ in range(3):
                if data.draw(st.booleans(), label="seal first"):
                    self.j.seal()
                flying = size
                events = self.j.append_batch(
                    self.sid, branch, [EventDraft(kind="x.note", payload={}) for _ in range(size)]
                )
                flying = 0
                self.model[branch] += [e.hash for e in events]
                self.kinds[branch] += ["x.note"] * size
        except SimulatedCrash:
            pass
        self.j.abandon()
        self.fs.power_loss(random.Random(seed), mode)
        self._reopen()
        got = self.j.read(self.sid, branch)
        expected = self.model[branch]
        assert [e.hash for e in got[: len(expected)]] == expected
        assert len(got) in (len(expected), len(expected) + flying)
        if len(got) > len(expected):  # complete but unacknowledged: it stays
            self.model[branch] += [e.hash for e in got[len(expected) :]]
            self.kinds[branch] += ["x.note"] * flying

    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        _J11_STATS["read"] += 1
        branch = self._branch(data)
        expected = self.model[branch]
        after = data.draw(st.integers(0, len(expected)), label="after")
        limit = data.draw(st.none() | st.integers(0, 5), label="limit")
        got = self.j.read(self.sid, branch, after=after, limit=limit)
        want = expected[after:] if limit is None else expected[after : after + limit]
        assert [e.hash for e in got] == want
        assert all(hash_is_valid(e) for e in got)
        notes = self.j.read(self.sid, branch, kinds=["x.note"])
        assert [e.hash for e in notes] == [
            h for h, k in zip(expected, self.kinds[branch], strict=True) if k == "x.note"
        ]

    @rule()
    def read_everything_from_another_process_view(self) -> None:
        _J11_STATS["read_everything_from_another_process_view"] += 1
        reader = JournalReader.open(self.base)
        for branch, expected in self.model.items():
            assert [e.hash for e in reader.read(self.sid, branch)] == expected

    @invariant()
    def heads_match(self) -> None:
        for branch, expected in self.model.items():
            info = self.j.branch(self.sid, branch)
            assert (info.head, info.head_hash) == (len(expected), expected[-1])

    def teardown(self) -> None:
        self.j.close()
        shutil.rmtree(self.base, ignore_errors=True)


_J11_DIR = ""
_J11_COUNTER = iter(range(10**9))
_J11_STATS: collections.Counter[str] = collections.Counter()


@pytest.mark.slow
def test_j11_stateful_model(tmp_path: Path, no_fsync: None) -> None:
    global _J11_DIR
    _J11_DIR = str(tmp_path)
    run_state_machine_as_test(
        JournalModel,
        settings=settings(
            max_examples=200 * SCALE,
            stateful_step_count=50,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            print_blob=True,
        ),
    )
    print("J11 rules run:", dict(_J11_STATS))
    assert _J11_STATS["crash"] >= 20 and _J11_STATS["seal"] >= 20, _J11_STATS
