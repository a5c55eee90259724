"""SQL views, snapshots and folds, blobs, import/export and verification over a real journal."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from life_tui.errors import BlobCorrupt, Conflict, InvalidInput, JournalCorrupt, NotFound
from life_tui.journal import Journal, JournalOptions, JournalReader
from life_tui.journal.blobs import BlobStore
from life_tui.journal.snapshots import SnapshotStore, fold, fold_many
from life_tui.journal.sql import SqlSession
from life_tui.journal.transfer import export_session, import_file, plan_import, read_jsonl
from life_tui.journal.verify import verify_journal
from life_tui.kernel.clock import FakeClock
from life_tui.kernel.event import Event, EventDraft


def _open(root: Path) -> Journal:
    return Journal.open(root, options=JournalOptions(background=False), clock=FakeClock(tick_us=1))


def _reply(i: int, model: str = "m1") -> EventDraft:
    return EventDraft(
        kind="assistant.message",
        payload={
            "content": f"answer {i}",
            "model": model,
            "usage": {"input_tokens": 100, "output_tokens": i},
            "cost_usd": 0.01,
        },
        actor="agent",
    )


@pytest.fixture
def populated(tmp_path: Path) -> tuple[Journal, str]:
    j = _open(tmp_path / "j")
    sid = j.create_session("demo", workspace="/w").session_id
    j.append(sid, "main", EventDraft(kind="user.message", payload={"content": "hi"}, actor="user"))
    j.append_batch(sid, "main", [_reply(i) for i in range(1, 6)])
    j.fork(sid, "main", 4, "alt")
    j.seal()
    j.append_batch(sid, "alt", [_reply(i, "m2") for i in range(10, 13)])
    j.append(sid, "main", EventDraft(kind="vendor.custom", payload={"tokens": 7}))
    yield j, sid
    j.close()


def test_sql_views_cover_segments_and_tail(populated: tuple[Journal, str]) -> None:
    j, _ = populated
    q = SqlSession(j)
    rows = q.query("SELECT kind, count(*) AS n, sum(tokens) AS t FROM events GROUP BY 1 ORDER BY 1")
    assert rows is not None
    got = {r["kind"]: (r["n"], r["t"]) for r in rows.to_pylist()}
    assert got["assistant.message"] == (8, sum(100 + i for i in (1, 2, 3, 4, 5, 10, 11, 12)))
    assert got["vendor.custom"] == (1, 7)  # promoted from an unknown kind too
    model = q.query("SELECT model, sum(cost_usd) AS c FROM events WHERE model IS NOT NULL GROUP BY 1 ORDER BY 1")
    assert model is not None and [r["model"] for r in model.to_pylist()] == ["m1", "m2"]


def test_sql_branch_view_resolves_ancestry_and_prev_hash(populated: tuple[Journal, str]) -> None:
    j, sid = populated
    q = SqlSession(j)
    table = q.query("SELECT seq, inherited, prev_hash, hash FROM branch_events WHERE view_branch = 'alt' ORDER BY seq")
    assert table is not None
    rows = table.to_pylist()
    assert [r["seq"] for r in rows] == list(range(1, j.head(sid, "alt") + 1))
    assert [r["inherited"] for r in rows] == [True] * 4 + [False] * (len(rows) - 4)
    expected = [e.prev_hash for e in j.read(sid, "alt")]
    assert [r["prev_hash"] for r in rows] == expected  # elided prev_hash values are restored by the view
    branches = q.query("SELECT branch, parent, fork_seq FROM branches ORDER BY branch")
    assert branches is not None and branches.to_pylist() == [
        {"branch": "alt", "parent": "main", "fork_seq": 4},
        {"branch": "main", "parent": None, "fork_seq": 0},
    ]


def test_bad_sql_is_a_clear_error(populated: tuple[Journal, str]) -> None:
    q = SqlSession(populated[0])
    with pytest.raises(InvalidInput, match="SQL error"):
        q.query("SELECT nope FROM events")
    assert "events" in q.schema()


def test_sql_refuses_a_damaged_segment(populated: tuple[Journal, str]) -> None:
    j, _ = populated
    seg = j.manifest().segments[0]
    path = j.layout.segments / seg.name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupt, match=seg.name):
        SqlSession(JournalReader.open(j.root))


class KindCounter:
    name = "kind-counter"
    version = 1

    def initial(self) -> dict[str, int]:
        return {}

    def apply(self, state: dict[str, int], event: Event) -> dict[str, int]:
        state[event.kind] = state.get(event.kind, 0) + 1
        return state

    def encode(self, state: dict[str, int]) -> bytes:
        return msgspec.json.encode(state)

    def decode(self, data: bytes) -> dict[str, int]:
        return msgspec.json.decode(data, type=dict[str, int])


def test_fold_resumes_from_a_snapshot_and_stays_correct(tmp_path: Path) -> None:
    j = _open(tmp_path / "j")
    sid = j.create_session("long").session_id
    for _ in range(5):
        j.append_batch(sid, "main", [_reply(i) for i in range(100)])
    store = SnapshotStore(tmp_path / "snaps")
    first = fold(j, KindCounter(), sid, snapshots=store, save_after=100)
    assert first.from_snapshot is None and first.folded == 501
    j.append_batch(sid, "main", [_reply(i) for i in range(10)])
    second = fold(j, KindCounter(), sid, snapshots=store, save_after=100)
    assert second.from_snapshot == 501 and second.folded == 10
    assert second.state == dict(Counter(e.kind for e in j.read(sid)))
    # a branch forked after the snapshot point reuses its parent's snapshot
    j.fork(sid, "main", 505, "b")
    forked = fold(j, KindCounter(), sid, "b", snapshots=store, save_after=10_000)
    assert forked.from_snapshot == 501 and forked.state == dict(Counter(e.kind for e in j.read(sid, "b")))
    # a branch forked before it cannot, and still folds correctly
    j.fork(sid, "main", 100, "early")
    early = fold(j, KindCounter(), sid, "early", snapshots=store)
    assert early.from_snapshot is None and early.state == dict(Counter(e.kind for e in j.read(sid, "early")))
    j.close()


class SeqSum(KindCounter):
    name = "seq-sum"

    def apply(self, state: dict[str, int], event: Event) -> dict[str, int]:
        state["sum"] = state.get("sum", 0) + event.seq
        return state


def test_fold_many_reads_once_and_resumes_each_projection_from_its_own_snapshot(tmp_path: Path) -> None:
    j = _open(tmp_path / "j")
    sid = j.create_session("long").session_id
    j.append_batch(sid, "main", [_reply(i) for i in range(300)])
    store = SnapshotStore(tmp_path / "snaps")
    fold(j, KindCounter(), sid, snapshots=store, save_after=100)  # only the kind counter has a snapshot (301)
    j.append_batch(sid, "main", [_reply(i) for i in range(50)])
    kinds, sums = fold_many(j, [KindCounter(), SeqSum()], sid, snapshots=store, save_after=10_000)
    assert (kinds.from_snapshot, kinds.folded, sums.from_snapshot, sums.folded) == (301, 50, None, 351)
    assert kinds.state == fold(j, KindCounter(), sid, snapshots=SnapshotStore(tmp_path / "none")).state
    assert sums.state == {"sum": sum(range(1, 352))} and kinds.seq == sums.seq == 351
    assert fold_many(j, [], sid) == []
    j.close()


def test_damaged_snapshot_is_ignored(tmp_path: Path) -> None:
    j = _open(tmp_path / "j")
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [_reply(i) for i in range(20)])
    store = SnapshotStore(tmp_path / "snaps")
    fold(j, KindCounter(), sid, snapshots=store, save_after=1)
    for snap in (tmp_path / "snaps").rglob("*.snap"):
        snap.write_bytes(snap.read_bytes()[:-3] + b"999")
    again = fold(j, KindCounter(), sid, snapshots=store)
    assert again.from_snapshot is None and again.state == {"session.created": 1, "assistant.message": 20}
    j.close()


def test_blob_store_dedups_verifies_and_rejects_bad_ids(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"x" * 100_000
    digest = store.put(data)
    assert store.put(data) == digest and store.get(digest) == data and store.has(digest)
    path = store.path(digest)
    assert path.parent.name == digest[:2] and path.name == digest[2:] + ".zst"
    assert path.stat().st_size < 1_000  # compressed
    assert not list(path.parent.glob("*.tmp"))
    with pytest.raises(NotFound):
        store.get("0" * 64)
    with pytest.raises(InvalidInput):
        store.get("../../etc/passwd")
    other = store.put(b"other content")
    path.write_bytes(store.path(other).read_bytes())
    with pytest.raises(BlobCorrupt):
        store.get(digest)


def test_export_import_export_is_byte_identical(populated: tuple[Journal, str], tmp_path: Path) -> None:
    j, sid = populated
    first = io.BytesIO()
    count = export_session(j, sid, "jsonl", first)
    assert count == sum(b.own_events for b in j.branches(sid))
    path = tmp_path / "s.jsonl"
    path.write_bytes(first.getvalue())
    other = _open(tmp_path / "other")
    assert import_file(other, path) == (count, 0)
    assert import_file(other, path) == (0, count)  # re-import is a no-op
    second = io.BytesIO()
    export_session(other, sid, "jsonl", second)
    assert second.getvalue() == first.getvalue()
    assert [e.hash for e in other.read(sid, "alt")] == [e.hash for e in j.read(sid, "alt")]
    other.close()


def test_import_validates_everything_before_storing_anything(populated: tuple[Journal, str], tmp_path: Path) -> None:
    j, sid = populated
    buf = io.BytesIO()
    export_session(j, sid, "jsonl", buf)
    lines = buf.getvalue().splitlines(keepends=True)
    target = _open(tmp_path / "t")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"".join(lines[:3]) + b"{not json\n" + b"".join(lines[3:]))
    with pytest.raises(InvalidInput, match="line 4"):
        import_file(target, bad)
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(b"".join(lines[:5]) + lines[5].replace(b"answer", b"ANSWER") + b"".join(lines[6:]))
    with pytest.raises(InvalidInput, match="hash"):
        import_file(target, tampered)
    gap = tmp_path / "gap.jsonl"
    gap.write_bytes(b"".join(lines[:2]) + b"".join(lines[3:]))
    with pytest.raises(InvalidInput, match="does not continue"):
        import_file(target, gap)
    assert target.sessions() == []  # nothing was stored by any failed import
    target.close()
    # a conflicting history for an existing session is refused
    events = read_jsonl(_write(tmp_path / "ok.jsonl", lines))
    j.append(sid, "main", EventDraft(kind="user.message", payload={"content": "diverged"}))
    clone = _open(tmp_path / "clone")
    import_file(clone, tmp_path / "ok.jsonl")
    clone.append(sid, "main", EventDraft(kind="user.message", payload={"content": "different"}))
    newer = io.BytesIO()
    export_session(j, sid, "jsonl", newer)
    with pytest.raises(Conflict):
        plan_import(clone, read_jsonl(_write(tmp_path / "newer.jsonl", newer.getvalue().splitlines(keepends=True))))
    assert len(events) == len(lines)
    clone.close()


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def test_markdown_and_parquet_exports(populated: tuple[Journal, str], tmp_path: Path) -> None:
    j, sid = populated
    md = io.BytesIO()
    export_session(j, sid, "md", md)
    text = md.getvalue().decode()
    assert text.startswith("# demo") and "## user" in text and "answer 3" in text
    pq_path = tmp_path / "s.parquet"
    with open(pq_path, "wb") as fh:
        n = export_session(j, sid, "parquet", fh, branch="alt")
    other = _open(tmp_path / "o")
    assert import_file(other, pq_path) == (n, 0)
    assert [e.hash for e in other.read(sid, "alt")] == [e.hash for e in j.read(sid, "alt")]
    other.close()
    with pytest.raises(InvalidInput, match="format"):
        export_session(j, sid, "xml", io.BytesIO())


def test_verify_reports_damage_by_place(populated: tuple[Journal, str]) -> None:
    j, _ = populated
    j.close()
    assert verify_journal(j.root).ok
    seg = j.manifest().segments[0]
    path = j.layout.segments / seg.name
    data = bytearray(path.read_bytes())
    data[100] ^= 0x40
    path.write_bytes(bytes(data))
    report = verify_journal(j.root)
    assert not report.ok and report.damage[0].where == "segment" and report.damage[0].path == seg.name
    wal_file = next(j.layout.wal.glob("*.wal"))
    raw = bytearray(wal_file.read_bytes())
    raw[30] ^= 0x01
    wal_file.write_bytes(bytes(raw))
    places = {d.where for d in verify_journal(j.root).damage}
    assert places == {"segment", "wal"}
