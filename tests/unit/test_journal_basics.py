"""The journal's everyday contract: sessions, appends and their hash chains, branches, tombstones, reads
that do not change across sealing, compaction and reopening, and subscriptions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import threading
from pathlib import Path

import msgspec
import pytest

from life_tui.errors import Conflict, InvalidInput, JournalClosed, JournalLocked, NotFound
from life_tui.journal import Journal, JournalOptions, JournalReader
from life_tui.kernel.clock import FakeClock
from life_tui.kernel.event import Event, EventDraft, encode_event, hash_is_valid

OPTS = JournalOptions(background=False, seal_on_close_min=1_000_000, compact_min_segments=2)


def msg(text: str, kind: str = "user.message") -> EventDraft:
    return EventDraft(kind=kind, payload={"content": text})


def open_journal(root: Path, **overrides: object) -> Journal:
    opts = dataclasses.replace(OPTS, **overrides) if overrides else OPTS  # type: ignore[arg-type]
    return Journal.open(root, options=opts, clock=FakeClock(tick_us=7))


@pytest.fixture
def j(tmp_path: Path) -> Journal:
    journal = open_journal(tmp_path / "journal")
    yield journal
    journal.close()


def texts(events: list[Event]) -> list[str]:
    return [e.payload_dict().get("content", e.kind) for e in events]


def assert_chain(events: list[Event]) -> None:
    """A branch view is one hash chain numbered 1..n, through inherited events."""
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    prev = ""
    for e in events:
        assert hash_is_valid(e), e
        assert e.prev_hash == prev, e.seq
        prev = e.hash


def snapshot(view: object, sid: str, branches: list[str]) -> dict[str, list[bytes]]:
    return {b: [encode_event(e) for e in view.read(sid, b)] for b in branches}  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------- sessions
def test_create_session_and_append(j: Journal) -> None:
    info = j.create_session("first", workspace="/tmp/w")
    assert info.name == "first"
    assert info.workspace == "/tmp/w"
    assert info.events == 1
    sid = info.session_id
    e = j.append(sid, "main", msg("hello"))
    assert e.seq == 2
    assert e.session_id == sid
    assert e.branch == "main"
    assert hash_is_valid(e)
    events = j.read(sid)
    assert [x.kind for x in events] == ["session.created", "user.message"]
    assert events[1] == e
    assert e.prev_hash == events[0].hash
    assert j.head(sid) == 2
    assert j.session(sid).events == 2
    assert [s.session_id for s in j.sessions()] == [sid]


def test_session_ids_and_lookup(j: Journal) -> None:
    a = j.create_session("alpha").session_id
    b = j.create_session("beta").session_id
    assert a != b
    assert j.resolve_session("alpha") == a
    assert j.resolve_session(b) == b
    assert j.resolve_session("last") == b
    with pytest.raises(NotFound):
        j.resolve_session("nope")
    with pytest.raises(NotFound):
        j.session("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    with pytest.raises(Conflict):
        j.create_session("again", session_id=a)
    with pytest.raises(InvalidInput):
        j.create_session("bad", session_id="not-a-ulid")


def test_append_to_unknown_session_or_branch(j: Journal) -> None:
    sid = j.create_session("s").session_id
    with pytest.raises(NotFound):
        j.append("01ARZ3NDEKTSV4RRFFQ69G5FAV", "main", msg("x"))
    with pytest.raises(NotFound):
        j.append(sid, "nope", msg("x"))
    assert j.head(sid) == 1


def test_append_batch_seq_and_hash_chain(j: Journal) -> None:
    sid = j.create_session("s").session_id
    single = j.append(sid, "main", msg("one"))
    batch = j.append_batch(sid, "main", [msg(f"b{i}") for i in range(5)])
    assert [e.seq for e in batch] == [3, 4, 5, 6, 7]
    assert batch[0].prev_hash == single.hash
    for a, b in itertools.pairwise(batch):
        assert b.prev_hash == a.hash
    assert j.append_batch(sid, "main", []) == []
    events = j.read(sid)
    assert_chain(events)
    assert events[2:] == batch


def test_event_fields_from_the_draft(j: Journal) -> None:
    sid = j.create_session("s").session_id
    draft = EventDraft(
        kind="user.message",
        payload={"content": "x"},
        actor="user",
        agent_id="a1",
        tenant_id="t1",
        run_id="r",
        parent_id="p",
        trace_id="tr",
        span_id="sp",
        occurred_at=123,
        event_id="01ARZ3NDEKTSV4RRFFQ69G5FAV",
    )
    e = j.append(sid, "main", draft)
    assert (e.actor, e.agent_id, e.tenant_id, e.run_id, e.parent_id, e.trace_id, e.span_id) == (
        "user",
        "a1",
        "t1",
        "r",
        "p",
        "tr",
        "sp",
    )
    assert e.occurred_at == 123
    assert e.event_id == "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    j.seal()
    assert j.read(sid)[-1] == e


# ------------------------------------------------------------------------------------------------ forks
def test_fork_inherits_parent_up_to_the_fork_point(j: Journal) -> None:
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg(f"m{i}") for i in range(2, 11)])  # main: 1..10
    main_before = j.read(sid)
    info = j.fork(sid, "main", 5, "b")
    assert (info.parent, info.fork_seq, info.head) == ("main", 5, 6)
    b_own = j.append(sid, "b", msg("b7"))
    assert b_own.seq == 7
    j.append(sid, "main", msg("m11"))  # the parent moving on does not change the fork
    view = j.read(sid, "b")
    assert view[:5] == main_before[:5]
    assert view[5].kind == "branch.created"
    assert view[5].seq == 6
    assert view[5].prev_hash == main_before[4].hash
    assert view[5].payload_dict()["fork_seq"] == 5
    assert view[6] == b_own
    assert_chain(view)
    assert j.read(sid, "main")[:10] == main_before
    assert len(j.read(sid, "main")) == 11


def test_nested_forks_including_inside_an_inherited_range(j: Journal) -> None:
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg(f"m{i}") for i in range(2, 11)])  # main 1..10
    j.fork(sid, "main", 5, "b")  # b: main 1..5, own 6..
    j.append_batch(sid, "b", [msg("b7"), msg("b8")])  # b 1..8
    main = j.read(sid, "main")
    b = j.read(sid, "b")
    # c forks b at 3: inside b's inherited range, so c sees main 1..3
    j.fork(sid, "b", 3, "c")
    j.append(sid, "c", msg("c5"))
    c = j.read(sid, "c")
    assert c[:3] == main[:3]
    assert [e.seq for e in c] == [1, 2, 3, 4, 5]
    assert c[3].prev_hash == main[2].hash
    # d forks b at 7: main 1..5, b 6..7, d 8..
    j.fork(sid, "b", 7, "d")
    j.append(sid, "d", msg("d9"))
    d = j.read(sid, "d")
    assert d[:5] == main[:5]
    assert d[5:7] == b[5:7]
    assert [e.branch for e in d] == ["main"] * 5 + ["b"] * 2 + ["d"] * 2
    # e forks d at 6 (d's view at 6 is b's own event 6)
    j.fork(sid, "d", 6, "e")
    e = j.read(sid, "e")
    assert e[:6] == d[:6]
    for view in (c, d, e, j.read(sid, "b")):
        assert_chain(view)
    anc = j.catalog_copy().ancestry(sid, "d")
    assert [(name, lo) for name, lo, _ in anc] == [("main", 0), ("b", 5), ("d", 7)]


def test_fork_at_zero_starts_an_empty_history(j: Journal) -> None:
    sid = j.create_session("s").session_id
    j.append(sid, "main", msg("m"))
    info = j.fork(sid, "main", 0, "fresh")
    assert info.head == 1
    view = j.read(sid, "fresh")
    assert [(e.seq, e.kind, e.prev_hash) for e in view] == [(1, "branch.created", "")]
    j.append(sid, "fresh", msg("x"))
    assert_chain(j.read(sid, "fresh"))


def test_fork_errors(j: Journal) -> None:
    sid = j.create_session("s").session_id
    j.append(sid, "main", msg("m"))  # head 2
    with pytest.raises(InvalidInput):
        j.fork(sid, "main", 3, "beyond")
    with pytest.raises(InvalidInput):
        j.fork(sid, "main", -1, "negative")
    with pytest.raises(InvalidInput):
        j.fork(sid, "main", 1, "bad name!")
    with pytest.raises(NotFound):
        j.fork(sid, "nope", 1, "x")
    j.fork(sid, "main", 2, "b")
    with pytest.raises(Conflict):
        j.fork(sid, "main", 1, "b")
    with pytest.raises(Conflict):
        j.fork(sid, "b", 1, "main")
    assert [b.name for b in j.branches(sid)] == ["main", "b"]
    assert j.head(sid) == 2  # failed forks wrote nothing


def test_merge_marker(j: Journal) -> None:
    sid = j.create_session("s").session_id
    j.fork(sid, "main", 1, "b")
    tip = j.append(sid, "b", msg("work"))
    marker = j.merge(sid, "b", "main")
    assert marker.kind == "branch.merged"
    assert marker.branch == "main"
    data = marker.payload_dict()
    assert (data["source"], data["source_head_seq"], data["source_head_hash"]) == ("b", 3, tip.hash)
    assert j.branch(sid, "b").merged_into == "main"
    with pytest.raises(InvalidInput):
        j.merge(sid, "main", "main")
    with pytest.raises(NotFound):
        j.merge(sid, "nope", "main")


def test_tombstones(j: Journal) -> None:
    sid = j.create_session("s").session_id
    other = j.create_session("other").session_id
    j.fork(sid, "main", 1, "b")
    with pytest.raises(InvalidInput):
        j.tombstone_branch(sid, "main")
    j.tombstone_branch(sid, "b")
    assert j.branch(sid, "b").tombstoned
    with pytest.raises(Conflict):
        j.append(sid, "b", msg("x"))
    assert [e.kind for e in j.read(sid, "b")][-1] == "branch.tombstoned"  # still readable
    j.tombstone_session(sid)
    assert [s.session_id for s in j.sessions()] == [other]
    assert {s.session_id for s in j.sessions(include_deleted=True)} == {sid, other}
    with pytest.raises(Conflict):
        j.append(sid, "main", msg("x"))
    assert j.read(sid)[-1].kind == "session.tombstoned"


def test_close_session_flag(j: Journal) -> None:
    sid = j.create_session("s").session_id
    j.close_session(sid)
    assert j.session(sid).closed


# ------------------------------------------------------------------------------ reads across storage
def _populate(j: Journal) -> tuple[str, list[str]]:
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg(f"m{i}") for i in range(20)])
    j.seal()
    j.fork(sid, "main", 10, "b")  # forks inside a sealed range
    j.append_batch(sid, "b", [msg(f"b{i}", kind="assistant.note") for i in range(5)])
    j.append_batch(sid, "main", [msg(f"m{i}") for i in range(20, 30)])
    j.seal()
    j.fork(sid, "b", 13, "c")  # b's own sealed events
    j.append(sid, "c", msg("c-tail"))
    j.append(sid, "main", msg("main-tail"))
    j.fork(sid, "main", 31, "d")  # forks inside the unsealed tail
    j.seal()
    j.append(sid, "d", msg("d-tail"))
    j.append(sid, "b", msg("b-tail"))
    return sid, ["main", "b", "c", "d"]


def test_reads_identical_across_seal_compact_and_reopen(tmp_path: Path) -> None:
    root = tmp_path / "journal"
    j = open_journal(root)
    sid, branches = _populate(j)
    before = snapshot(j, sid, branches)
    for view in before.values():
        assert_chain([msgspec.json.decode(b, type=Event) for b in view])
    assert len(j.manifest().segments) == 3
    j.seal()
    assert snapshot(j, sid, branches) == before
    assert j.compact() is not None
    assert len(j.manifest().segments) == 1
    assert snapshot(j, sid, branches) == before
    j.close()
    j = open_journal(root)
    assert snapshot(j, sid, branches) == before
    reader = JournalReader.open(root)
    assert snapshot(reader, sid, branches) == before
    j.append(sid, "main", msg("after"))
    reader.refresh()
    assert len(reader.read(sid)) == len(before["main"]) + 1
    j.close()


def test_reads_identical_before_and_after_seal_without_compaction(tmp_path: Path) -> None:
    root = tmp_path / "journal"
    j = open_journal(root)
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg(f"m{i}") for i in range(50)])
    j.fork(sid, "main", 25, "b")
    j.append_batch(sid, "b", [msg(f"b{i}") for i in range(10)])
    before = snapshot(j, sid, ["main", "b"])
    j.seal()
    assert j.tail_size() == 0
    assert snapshot(j, sid, ["main", "b"]) == before
    j.close()
    j = open_journal(root)
    assert snapshot(j, sid, ["main", "b"]) == before
    j.close()


def test_read_ranges_kinds_and_limit(tmp_path: Path) -> None:
    j = open_journal(tmp_path / "journal")
    sid, _ = _populate(j)
    full = j.read(sid, "b")
    for after, through in [(0, None), (3, 8), (9, 12), (10, 11), (14, 100), (0, 0), (5, 5)]:
        got = j.read(sid, "b", after=after, through=through)
        top = len(full) if through is None else through
        assert [e.seq for e in got] == list(range(after + 1, min(top, len(full)) + 1))
    notes = j.read(sid, "b", kinds=["assistant.note"])
    assert [e.seq for e in notes] == [12, 13, 14, 15, 16]
    assert j.read(sid, "b", kinds=["assistant.note"], after=13, limit=2) == notes[2:4]
    assert j.read(sid, "b", kinds=["nope"]) == []
    assert j.read(sid, "main", limit=3) == j.read(sid, "main")[:3]
    assert j.read(sid, "main", limit=0) == []
    assert j.get(sid, "c", 13) == full[12]
    assert j.hash_at(sid, "c", 13) == full[12].hash
    assert j.hash_at(sid, "c", 0) == ""
    with pytest.raises(NotFound):
        j.get(sid, "main", 999)
    j.close()


def test_unknown_kinds_round_trip_byte_exact(tmp_path: Path) -> None:
    root = tmp_path / "journal"
    j = open_journal(root)
    sid = j.create_session("s").session_id
    raws = [
        b'{ "z" : 1,  "a" : [1.50, 2e3, "\\u00e9"] }',
        '{"ünïcödé":"✓","n":null}'.encode(),
        b"[1,2,3]",
        b'"just a string"',
    ]
    stored = j.append_batch(sid, "main", [EventDraft(kind="plugin.future_kind", payload=msgspec.Raw(r)) for r in raws])
    assert [bytes(e.payload) for e in stored] == raws
    assert all(hash_is_valid(e) for e in stored)
    expected = [encode_event(e) for e in stored]

    def check(view: object) -> None:
        got = view.read(sid, kinds=["plugin.future_kind"])  # type: ignore[attr-defined]
        assert [bytes(e.payload) for e in got] == raws
        assert [encode_event(e) for e in got] == expected
        assert all(hash_is_valid(e) for e in got)

    check(j)
    j.close()
    j = open_journal(root)
    check(j)
    j.seal()
    check(j)
    j.close()
    j = open_journal(root)
    check(j)
    check(JournalReader.open(root))
    assert stored[0].data() == {"z": 1, "a": [1.5, 2000.0, "é"]}
    j.close()


# --------------------------------------------------------------------------------------- subscriptions
def test_subscription_history_then_live(j: Journal) -> None:
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg(f"h{i}") for i in range(10)])  # 1..11
    j.seal()
    j.append_batch(sid, "main", [msg(f"t{i}") for i in range(5)])  # 12..16 in the tail
    sub = j.subscribe(sid, "main", after=3)
    j.append_batch(sid, "main", [msg(f"l{i}") for i in range(4)])  # 17..20 live
    got = sub.drain()
    assert [e.seq for e in got] == list(range(4, 21))
    assert got == j.read(sid, after=3)
    j.append(sid, "main", msg("later"))
    e = sub.get(timeout=1)
    assert e is not None
    assert e.seq == 21
    assert sub.get(timeout=0) is None
    sub.close()


def test_subscription_filters(j: Journal) -> None:
    sid = j.create_session("s").session_id
    other = j.create_session("o").session_id
    j.fork(sid, "main", 1, "b")
    sub = j.subscribe(sid, "main", kinds=["assistant.note"])
    mains = j.subscribe(None)  # every session's main branch, live only
    everything = j.subscribe(None, None)
    j.append(sid, "main", msg("x"))
    j.append(sid, "main", msg("note", kind="assistant.note"))
    j.append(sid, "b", msg("other branch", kind="assistant.note"))
    j.append(other, "main", msg("other session", kind="assistant.note"))
    assert [texts([e]) for e in sub.drain()] == [["note"]]
    assert [e.session_id for e in mains.drain()] == [sid, sid, other]
    assert len(everything.drain()) == 4


def test_subscription_no_gaps_or_duplicates_under_concurrent_appends(j: Journal) -> None:
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg(f"pre{i}") for i in range(50)])
    stop = threading.Event()

    def writer() -> None:
        for i in range(200):
            j.append(sid, "main", msg(f"w{i}"))
        stop.set()

    t = threading.Thread(target=writer)
    t.start()
    subs = []
    while not stop.is_set() and len(subs) < 20:
        subs.append(j.subscribe(sid, "main", after=len(subs) * 3))
    t.join()
    final = j.read(sid)
    for sub in subs:
        got = sub.drain()
        first = got[0].seq
        assert [e.seq for e in got] == list(range(first, len(final) + 1))
        assert got == final[first - 1 :]
        sub.close()


async def test_subscription_async_iteration(tmp_path: Path) -> None:
    j = open_journal(tmp_path / "journal")
    sid = j.create_session("s").session_id
    j.append(sid, "main", msg("before"))
    sub = j.subscribe(sid, "main")
    seen: list[int] = []

    async def consume() -> None:
        async for e in sub:
            seen.append(e.seq)
            if e.seq == 6:
                return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.01)
    for i in range(4):
        await asyncio.to_thread(j.append, sid, "main", msg(f"live{i}"))
    await asyncio.wait_for(task, timeout=5)
    assert seen == [1, 2, 3, 4, 5, 6]
    # closing ends an idle async iteration
    sub2 = j.subscribe(sid, "main", after=6)

    async def idle() -> list[Event]:
        return [e async for e in sub2]

    task2 = asyncio.create_task(idle())
    await asyncio.sleep(0.01)
    sub2.close()
    assert await asyncio.wait_for(task2, timeout=5) == []
    j.close()


def test_on_durable_listener(j: Journal) -> None:
    batches: list[list[int]] = []
    remove = j.on_durable(lambda events: batches.append([e.seq for e in events]))
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg("a"), msg("b")])
    remove()
    j.append(sid, "main", msg("c"))
    assert batches == [[1], [2, 3]]


# ------------------------------------------------------------------------------------------ lifecycle
def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    j = open_journal(tmp_path / "journal")
    sid = j.create_session("s").session_id
    j.close()
    j.close()
    with pytest.raises(JournalClosed):
        j.append(sid, "main", msg("x"))


def test_single_writer_in_one_process(tmp_path: Path) -> None:
    root = tmp_path / "journal"
    j = open_journal(root)
    with pytest.raises(JournalLocked) as info:
        open_journal(root)
    assert info.value.holder_pid is not None
    j.close()
    open_journal(root).close()


def test_open_without_create(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        Journal.open(tmp_path / "none", create=False)
    with pytest.raises(NotFound):
        JournalReader.open(tmp_path / "none")


def test_seal_on_close_and_background_sealing(tmp_path: Path) -> None:
    root = tmp_path / "journal"
    j = Journal.open(root, options=JournalOptions(background=False, seal_on_close_min=10), clock=FakeClock())
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg(str(i)) for i in range(20)])
    before = j.read(sid)
    j.close()
    j = Journal.open(root, options=JournalOptions(background=True, seal_events=50), clock=FakeClock())
    assert len(j.manifest().segments) == 1
    assert j.read(sid) == before
    for i in range(60):
        j.append(sid, "main", msg(f"bg{i}"))
    deadline = threading.Event()
    for _ in range(100):
        if len(j.manifest().segments) >= 2:
            break
        deadline.wait(0.05)
    assert len(j.manifest().segments) >= 2
    assert_chain(j.read(sid))
    j.close()


def test_subscription_history_survives_a_seal_before_it_is_read(j: Journal) -> None:
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg(f"h{i}") for i in range(30)])  # 1..31, unsealed
    sub = j.subscribe(sid, "main", after=10)
    j.seal()
    j.append(sid, "main", msg("live"))
    j.seal()
    j.compact()
    got = sub.drain()
    assert [e.seq for e in got] == list(range(11, 33))
    assert got == j.read(sid, after=10)


def test_reader_refresh_returns_each_new_event_once_across_seals(tmp_path: Path) -> None:
    root = tmp_path / "journal"
    j = open_journal(root)
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg(f"a{i}") for i in range(5)])
    reader = JournalReader.open(root)
    start = reader.head(sid)
    returned: list[Event] = []
    for round_no in range(8):
        j.append_batch(sid, "main", [msg(f"r{round_no}.{i}") for i in range(3)])
        if round_no % 2:
            returned += reader.refresh()  # some events are seen in the WAL before they are sealed
        if round_no == 3:
            j.fork(sid, "main", 4, "side")
            j.append(sid, "side", msg("side"))
        j.seal()
        if round_no % 3 == 0:
            j.compact()
        j.append(sid, "main", msg(f"t{round_no}"))
        returned += reader.refresh()
    mains = [e for e in returned if e.branch == "main"]
    assert [e.seq for e in mains] == list(range(start + 1, j.head(sid) + 1))
    assert mains == j.read(sid, after=start)
    assert [e.seq for e in returned if e.branch == "side"] == [5, 6]
    j.close()


def test_reader_with_a_stale_manifest_reloads_instead_of_failing(tmp_path: Path) -> None:
    """A seal can finish between the reader's manifest check and its look at the WAL files."""
    root = tmp_path / "journal"
    j = open_journal(root)
    sid = j.create_session("s").session_id
    j.append_batch(sid, "main", [msg(f"a{i}") for i in range(5)])
    reader = JournalReader.open(root)
    j.seal()  # WAL 1 is gone; the reader still holds the manifest that starts there
    j.append(sid, "main", msg("after"))
    real = reader._manifest_changed
    stale = [True]

    def changed() -> bool:  # the first look misses the new manifest
        if stale:
            stale.pop()
            return False
        return real()

    reader._manifest_changed = changed  # type: ignore[method-assign]
    fresh = reader.refresh()
    assert [e.seq for e in fresh] == [7]
    assert reader.read(sid) == j.read(sid)
    j.close()
