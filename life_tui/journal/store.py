"""The writer: durable appends with group commit, recovery, sealing and compaction.

Promise (reliability-test-plan.md §1.9): an append is acknowledged only after its record and every
earlier one is fsynced. After any crash, reopening yields exactly the acknowledged events, in order and
byte-identical, possibly followed by complete-but-unacknowledged ones; never a partial, duplicated or
altered event. A torn final WAL record is cut on reopen (a ``.broken`` copy is kept and a
``journal.tail_repaired`` event recorded); damage anywhere else raises :class:`JournalCorrupt`. A failed
fsync is fatal: the writer stops acknowledging until reopened. ENOSPC fails the append (``JournalFull``),
the WAL is cut back to its last durable frame, and appends resume once space is free.

Group commit is leader-based: appenders stamp and encode their events under a short lock, then one of
them (the holder of the flush lock) writes every pending group in one frame and one fdatasync, and wakes
the others. With one appender this is one fsync per call; with many, throughput grows with concurrency.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blake3
import msgspec

from life_tui.errors import (
    Conflict,
    InvalidInput,
    JournalClosed,
    JournalCorrupt,
    JournalError,
    JournalFailed,
    JournalFull,
    NotFound,
)
from life_tui.journal import manifest as manifest_mod
from life_tui.journal import segments as seg
from life_tui.journal import wal
from life_tui.journal.catalog import MAIN, BranchInfo, Catalog, SessionInfo
from life_tui.journal.fs import FileLayer
from life_tui.journal.layout import DurableHead, HeadPublisher
from life_tui.journal.lock import WriterLock
from life_tui.journal.manifest import Manifest, Retired, SegmentEntry, SegmentSlice
from life_tui.journal.subscribe import Subscription, SubscriptionHub
from life_tui.journal.view import SYSTEM_SESSION, JournalView, Key, decode_frame
from life_tui.kernel import kinds as k
from life_tui.kernel.clock import Clock, SystemClock
from life_tui.kernel.event import (
    Actor,
    Event,
    EventDraft,
    encode_event,
    encode_payload,
    hash_is_valid,
    seal_event,
)
from life_tui.kernel.ids import is_ulid, new_ulid

log = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_catalog_decoder = msgspec.msgpack.Decoder(Catalog)
_catalog_encoder = msgspec.msgpack.Encoder()


@dataclass(frozen=True)
class JournalOptions:
    seal_events: int = 10_000
    """Seal the tail into a Parquet segment once it holds this many events."""
    seal_on_close_min: int = 1_000
    """On close, seal the tail if it holds at least this many events (smaller tails stay in the WAL)."""
    compact_min_segments: int = 4
    """Compact once this many small segments exist."""
    compact_target_rows: int = 100_000
    """Compaction merges small segments into files of about this many rows."""
    retire_grace_s: float = 600.0
    """How long compacted-away segments stay on disk for readers that still hold an older manifest."""
    background: bool = True
    """Seal and compact in a background thread (tests turn this off to drive them step by step)."""


@dataclass
class StagedBatch:
    """Events stamped (seq, time, hash) and queued for the next WAL commit; durable once ``done`` without
    ``error``. :meth:`Journal.stage_batch` hands one out, :meth:`Journal.commit` waits for it."""

    events: list[Event] = field(default_factory=list)
    encoded: list[bytes] = field(default_factory=list)
    done: bool = False
    error: BaseException | None = None


def check_name(name: str, what: str = "branch") -> str:
    if not _NAME.match(name):
        raise InvalidInput(
            f"{what} name {name!r} is not allowed",
            hint="use 1-64 letters, digits, '.', '_', '-' or '/', starting with a letter or digit",
        )
    return name


class Journal(JournalView):
    """The single writer of a journal directory. Open with :meth:`open`; use as a context manager."""

    def __init__(self, root: Path, *, options: JournalOptions, fs: FileLayer, clock: Clock) -> None:
        super().__init__(root)
        self.options = options
        self.fs = fs
        self.clock = clock
        self._lock = threading.Lock()  # stamping and the pending queue
        self._flush_lock = threading.Lock()  # one WAL writer at a time
        self._maint_lock = threading.Lock()  # one seal or compaction at a time
        self._pending: list[StagedBatch] = []
        self._pending_heads: dict[Key, tuple[int, str]] = {}
        self._failed: JournalError | None = None
        self._closed = False
        self._wal_fd = -1
        self._wal_no = 0
        self._wal_size = 0
        self._next_lsn = 1
        self._lock_handle: WriterLock | None = None
        self._head_pub: HeadPublisher | None = None
        self.hub = SubscriptionHub(self)
        self._wake = threading.Event()
        self._maint_thread: threading.Thread | None = None
        self.repairs: list[k.JournalTailRepaired] = []

    # ------------------------------------------------------------------------------ open and recover
    @classmethod
    def open(
        cls,
        root: Path | str,
        *,
        options: JournalOptions | None = None,
        fs: FileLayer | None = None,
        clock: Clock | None = None,
        create: bool = True,
    ) -> Journal:
        """Open (creating it if ``create``) and recover the journal at ``root``; takes the writer lock."""
        journal = cls(
            Path(root),
            options=options or JournalOptions(),
            fs=fs or FileLayer(),
            clock=clock or SystemClock(),
        )
        if not create and not journal.layout.exists():
            raise NotFound(f"no journal at {root}", hint="run `life-tui init` first, or check LIFE_HOME")
        journal.layout.make_dirs()
        journal._lock_handle = WriterLock.acquire(journal.layout.lock)
        try:
            journal._recover()
        except BaseException:
            journal._release_handles()
            raise
        if journal.options.background:
            journal._maint_thread = threading.Thread(target=journal._maintenance, name="journal-maint", daemon=True)
            journal._maint_thread.start()
        return journal

    def _recover(self) -> None:
        lay = self.layout
        manifest = manifest_mod.load(lay.manifest)
        self._cleanup(manifest)
        with self._state_lock:
            self._install_manifest(manifest)
            self._catalog = manifest.catalog.copy()
            self._tail = {}
            self._tail_count = 0
        files = sorted(
            n for p in lay.wal.glob("*.wal") if (n := wal.wal_number(p)) is not None and n >= manifest.wal_start
        )
        lsn = manifest.next_lsn
        last_file, last_size = manifest.wal_start, wal.FILE_HEADER.size  # a new file gets its header below
        for position, file_no in enumerate(files):
            path = lay.wal / wal.wal_name(file_no)
            data = path.read_bytes()
            result = wal.scan(data, lsn, expected_file=file_no)
            is_last = position == len(files) - 1
            if result.damage is not None:
                if not result.damage.torn or not is_last:
                    raise JournalCorrupt(
                        f"WAL file {path.name} is damaged at offset {result.damage.offset} ({result.damage.reason})",
                        path=str(path),
                        offset=result.damage.offset,
                        hint="nothing was truncated; `life-tui verify` reports the damage, "
                        "`life-tui verify --salvage` keeps the events before it",
                    )
                self._repair_tail(path, data, result.damage.offset, file_no)
            events = [e for f in result.frames for e in decode_frame(f)]
            self._check_recovered(events, path)
            with self._state_lock:
                self._apply(events)
            if result.frames:
                lsn = result.frames[-1].lsn + 1
            last_file, last_size = file_no, max(result.end, wal.FILE_HEADER.size)
        self._next_lsn = lsn
        path = lay.wal / wal.wal_name(last_file)
        self._wal_no = last_file
        self._wal_fd = self.fs.open_append(path)
        if not files or (last_size == wal.FILE_HEADER.size and path.stat().st_size < wal.FILE_HEADER.size):
            self.fs.truncate(self._wal_fd, 0, path)
            self.fs.write(self._wal_fd, wal.file_header(last_file), path)
            self.fs.sync(self._wal_fd, path)
            self.fs.sync_dir(lay.wal)
        self._wal_size = last_size
        self._head_pub = HeadPublisher(lay.head)
        self._publish_head()
        self._record_repairs()

    def _check_recovered(self, events: list[Event], path: Path) -> None:
        """Recovered events must continue their branch's chain exactly; anything else is corruption."""
        heads: dict[Key, tuple[int, str]] = {}
        for e in events:
            key = (e.session_id, e.branch)
            if key in heads:
                head = heads[key]
            elif (info := self._catalog.branch(*key)) is not None:
                head = (info.head, info.head_hash)
            elif e.kind in ("session.created", "branch.created"):
                head = (e.seq - 1, e.prev_hash)
            else:
                raise JournalCorrupt(f"WAL file {path.name} holds an event of an unknown branch {key}", path=str(path))
            if e.seq != head[0] + 1 or e.prev_hash != head[1]:
                raise JournalCorrupt(f"WAL file {path.name} breaks the chain of {key} at seq {e.seq}", path=str(path))
            heads[key] = (e.seq, e.hash)

    def _repair_tail(self, path: Path, data: bytes, offset: int, file_no: int) -> None:
        broken = path.with_name(f"{path.name}.{offset}.broken")
        self.fs.write_file_durably(broken, data[offset:])
        self.fs.sync_dir(path.parent)
        fd = self.fs.open_append(path)
        try:
            self.fs.truncate(fd, offset, path)
            self.fs.sync(fd, path)
        finally:
            self.fs.close(fd)
        log.warning("cut a torn final record from %s at offset %d (%d bytes)", path.name, offset, len(data) - offset)

    def _record_repairs(self) -> None:
        """Journal every cut tail not recorded yet (``*.broken``), then mark its copy ``*.broken.logged``.

        Recording happens after recovery, so a crash or a full disk in between only delays it to the next
        open: the durable ``.broken`` copy is the to-do list, and an event already recorded for it (a crash
        between the append and the rename) is not recorded again. Exactly once, never lost.
        """
        pending = sorted(self.layout.wal.glob("*.broken"))
        if not pending:
            return
        recorded: set[str] = set()
        if self._catalog.branch(SYSTEM_SESSION, MAIN) is not None:
            recorded = {
                str(e.payload_dict().get("saved_as"))
                for e in self.read(SYSTEM_SESSION, MAIN, kinds=[k.JournalTailRepaired.KIND])
            }
        for broken in pending:
            wal_file, _, rest = broken.name.partition(".wal.")
            offset = int(rest.split(".", 1)[0]) if rest.split(".", 1)[0].isdigit() else 0
            logged = broken.with_name(broken.name + ".logged")
            repair = k.JournalTailRepaired(
                wal_file=f"{wal_file}.wal", offset=offset, discarded_bytes=broken.stat().st_size, saved_as=logged.name
            )
            if logged.name not in recorded:
                if self._catalog.branch(SYSTEM_SESSION, MAIN) is None:
                    self.create_session("journal", session_id=SYSTEM_SESSION)
                self.append(SYSTEM_SESSION, MAIN, EventDraft(kind=repair.KIND, payload=repair, actor=Actor.SYSTEM))
                self.repairs.append(repair)
            self.fs.rename(broken, logged)

    def _cleanup(self, manifest: Manifest) -> None:
        """Remove leftovers of interrupted seals and compactions; none of them is referenced."""
        lay = self.layout
        referenced = {e.name for e in manifest.segments}
        now = self.clock.now_us()
        keep_retired = {r.name for r in manifest.retired if now - r.retired_at < self.options.retire_grace_s * 1e6}
        for path in lay.segments.iterdir():
            name = path.name
            if name.endswith(".tmp") or (
                name.endswith(".parquet") and name not in referenced and name not in keep_retired
            ):
                path.unlink(missing_ok=True)
        for path in lay.wal.glob("*.wal"):
            number = wal.wal_number(path)
            if number is not None and number < manifest.wal_start:
                path.unlink(missing_ok=True)
        lay.manifest.with_name(lay.manifest.name + ".tmp").unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------- appending
    def append(self, session_id: str, branch: str, draft: EventDraft) -> Event:
        """Append one event; returns it (with seq and hash) once it is durable."""
        return self.append_batch(session_id, branch, [draft])[0]

    def append_batch(self, session_id: str, branch: str, drafts: Sequence[EventDraft]) -> list[Event]:
        """Append several events to one branch in one commit; all or none become durable."""
        if not drafts:
            return []
        return self._commit(self._submit([(session_id, branch, d, None) for d in drafts]))

    def stage_batch(self, session_id: str, branch: str, drafts: Sequence[EventDraft]) -> StagedBatch:
        """Stamp ``drafts`` and queue them for the next commit without waiting for the disk.

        The events (with their seq, time and hash) are known at once; they are durable, and visible to
        readers, only once :meth:`commit` (or any later commit, which writes everything staged before it)
        has returned. For a writer that folds its own events as it makes them and waits for durability
        only where it must, such as before a side effect (the runtime's event writer). Raises what
        :meth:`append_batch` raises for a closed journal or a deleted branch.
        """
        if not drafts:
            return StagedBatch(done=True)
        return self._submit([(session_id, branch, d, None) for d in drafts])

    def commit(self, staged: StagedBatch) -> list[Event]:
        """Wait until ``staged`` is durable (writing it, with everything staged before it, if nobody has);
        raises the write error if it could not be stored (then nothing staged after it was stored either)."""
        return self._commit(staged)

    def _check_writable(self) -> None:
        if self._closed:
            raise JournalClosed("the journal is closed", hint="open it again")
        if self._failed is not None:
            raise JournalFailed(
                f"the journal stopped accepting writes after an I/O failure: {self._failed}",
                hint="close and reopen it; recovery keeps every acknowledged event",
            )

    def _submit(self, items: list[tuple[str, str, EventDraft | Event, tuple[int, str] | None]]) -> StagedBatch:
        group = StagedBatch()
        with self._lock:
            self._check_writable()
            staged: dict[Key, tuple[int, str]] = {}
            for session_id, branch, item, base in items:
                key = (session_id, branch)
                head = staged.get(key)
                if head is None:  # first event of this branch in the call: resolve and check once
                    head = self._pending_heads.get(key)
                    if base is not None:
                        if head is not None or self._catalog.branch(session_id, branch) is not None:
                            raise Conflict(f"session {session_id} already has a branch {branch!r}")
                        head = base
                    elif head is None:
                        head = self._durable_head(session_id, branch)
                    else:  # a head assigned earlier in this process: the branch may have been deleted since
                        self._check_not_deleted(session_id, branch)
                event, encoded = self._stamp(session_id, branch, item, head)
                staged[key] = (event.seq, event.hash)
                group.events.append(event)
                group.encoded.append(encoded)
            self._pending_heads.update(staged)
            self._pending.append(group)
        return group

    def _durable_head(self, session_id: str, branch: str) -> tuple[int, str]:
        with self._state_lock:
            info = self._catalog.branch(session_id, branch)
            session = self._catalog.sessions.get(session_id)
            if info is None:
                self.branch(session_id, branch)  # raises NotFound
            if info is None or session is None:
                raise NotFound(f"session {session_id} has no branch {branch!r}")
            self._check_not_deleted(session_id, branch)
            return info.head, info.head_hash

    def _check_not_deleted(self, session_id: str, branch: str) -> None:
        with self._state_lock:
            session = self._catalog.sessions.get(session_id)
            info = self._catalog.branch(session_id, branch)
            if session is not None and session.tombstoned:
                raise Conflict(f"session {session_id} was deleted", hint="deleted sessions are read-only")
            if info is not None and info.tombstoned:
                raise Conflict(f"branch {branch!r} was deleted", hint="deleted branches are read-only")

    def _stamp(
        self, session_id: str, branch: str, item: EventDraft | Event, head: tuple[int, str]
    ) -> tuple[Event, bytes]:
        if isinstance(item, Event):  # an imported, already-stamped event: it must continue the chain
            if item.seq != head[0] + 1 or item.prev_hash != head[1]:
                raise InvalidInput(
                    f"event {item.event_id} (seq {item.seq}) does not continue {session_id}/{branch} at seq {head[0]}"
                )
            if not hash_is_valid(item):
                raise InvalidInput(f"event {item.event_id} has a hash that does not match its content")
            return item, encode_event(item)
        now = item.occurred_at if item.occurred_at is not None else self.clock.now_us()
        event = Event(
            event_id=item.event_id or new_ulid(now // 1000),
            session_id=session_id,
            branch=branch,
            seq=head[0] + 1,
            kind=item.kind,
            occurred_at=now,
            actor=item.actor,
            agent_id=item.agent_id,
            tenant_id=item.tenant_id,
            run_id=item.run_id,
            parent_id=item.parent_id,
            trace_id=item.trace_id,
            span_id=item.span_id,
            payload=encode_payload(item.payload),
            prev_hash=head[1],
        )
        return seal_event(event)

    def _commit(self, group: StagedBatch) -> list[Event]:
        while not group.done:
            with self._flush_lock:
                if self._still_pending(group):
                    with self._lock:
                        batch, self._pending = self._pending, []
                    if batch:
                        self._flush(batch)
        if group.error is not None:
            raise group.error
        return group.events

    @staticmethod
    def _still_pending(group: StagedBatch) -> bool:
        """Re-read ``done`` after taking the flush lock (another thread may have flushed the group)."""
        return not group.done

    def _flush(self, batch: list[StagedBatch]) -> None:
        """Write pending groups as one frame and sync it (caller holds the flush lock)."""
        encoded = [e for g in batch for e in g.encoded]
        frame = wal.encode_frame(self._next_lsn, wal.encode_body(encoded))
        path = self.layout.wal / wal.wal_name(self._wal_no)
        try:
            self.fs.write(self._wal_fd, frame, path)
            self.fs.sync(self._wal_fd, path)
        except OSError as exc:
            self._fail_pending(batch, self._write_error(exc, path))
            return
        self._wal_size += len(frame)
        self._next_lsn += 1
        self._publish_head()
        events = [e for g in batch for e in g.events]
        with self._state_lock:
            self._apply(events)
            tail = self._tail_count
        for g in batch:
            g.done = True
        self.hub.publish(events)
        if self.options.background and tail >= self.options.seal_events:
            self._wake.set()

    def _write_error(self, exc: OSError, path: Path) -> JournalError:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            try:  # cut any partial frame so the WAL ends on its last durable frame
                self.fs.truncate(self._wal_fd, self._wal_size, path)
            except OSError as again:
                self._failed = JournalFailed(f"could not cut a partial write after a full disk: {again}")
                return self._failed
            return JournalFull(
                f"the disk holding {self.root} is full; the append was not stored",
                hint="free some space and retry; everything stored before is intact",
            )
        self._failed = JournalFailed(f"{exc.strerror or exc} while writing {path.name}")
        return self._failed

    def _fail_pending(self, batch: list[StagedBatch], error: JournalError) -> None:
        """Fail ``batch`` and every group queued behind it (their seqs chained on the failed events)."""
        with self._lock:
            later, self._pending = self._pending, []
            self._pending_heads.clear()
        for g in (*batch, *later):
            g.error = error
            g.done = True

    def _publish_head(self) -> None:
        if self._head_pub is not None:
            self._head_pub.publish(DurableHead(self._wal_no, self._wal_size, self._next_lsn - 1))

    # ------------------------------------------------------------------------- sessions and branches
    def create_session(
        self,
        name: str,
        *,
        workspace: str | None = None,
        config: dict[str, Any] | None = None,
        session_id: str | None = None,
        actor: str = Actor.USER,
    ) -> SessionInfo:
        """Create a session with its ``main`` branch; the first event is ``session.created``."""
        sid = session_id or new_ulid(self.clock.now_us() // 1000)
        if session_id is not None and not is_ulid(session_id):
            raise InvalidInput(f"session id {session_id!r} is not a ULID")
        if self._catalog.sessions.get(sid) is not None:
            raise Conflict(f"session {sid} exists already")
        payload = k.SessionCreated(name=name, workspace=workspace, config=config or {})
        draft = EventDraft(kind=payload.KIND, payload=payload, actor=actor)
        self._commit(self._submit([(sid, MAIN, draft, (0, ""))]))
        return self.session(sid)

    def fork(self, session_id: str, from_branch: str, at_seq: int, name: str, *, actor: str = Actor.USER) -> BranchInfo:
        """Create branch ``name`` whose view is ``from_branch`` up to ``at_seq``. O(1): nothing is copied."""
        check_name(name)
        parent = self.branch(session_id, from_branch)
        if not 0 <= at_seq <= parent.head:
            raise InvalidInput(
                f"cannot fork {from_branch!r} at event {at_seq}: it has events 1..{parent.head}",
                hint="pick a seq shown by `life-tui log`",
            )
        if self._catalog.branch(session_id, name) is not None:
            raise Conflict(f"session {session_id} already has a branch {name!r}", hint="choose another name")
        fork_id, fork_hash = self.event_ref(session_id, from_branch, at_seq) if at_seq else (None, "")
        payload = k.BranchCreated(name=name, parent=from_branch, fork_seq=at_seq, fork_event_id=fork_id)
        draft = EventDraft(kind=payload.KIND, payload=payload, actor=actor)
        base = (at_seq, fork_hash)
        self._commit(self._submit([(session_id, name, draft, base)]))
        return self.branch(session_id, name)

    def merge(self, session_id: str, source: str, target: str = MAIN, *, actor: str = Actor.USER) -> Event:
        """Record that ``source`` (up to its head) is merged into ``target``: a marker event on the target."""
        if source == target:
            raise InvalidInput("a branch cannot be merged into itself")
        src = self.branch(session_id, source)
        self.branch(session_id, target)
        payload = k.BranchMerged(source=source, source_head_seq=src.head, source_head_hash=src.head_hash)
        return self.append(session_id, target, EventDraft(kind=payload.KIND, payload=payload, actor=actor))

    def close_session(self, session_id: str, reason: str = "closed") -> Event:
        payload = k.SessionClosed(reason=reason)
        return self.append(session_id, MAIN, EventDraft(kind=payload.KIND, payload=payload, actor=Actor.USER))

    def tombstone_session(self, session_id: str, reason: str = "deleted by user") -> Event:
        """Hide a session from listings. Its events stay stored and exportable."""
        payload = k.SessionTombstoned(reason=reason)
        return self.append(session_id, MAIN, EventDraft(kind=payload.KIND, payload=payload, actor=Actor.USER))

    def tombstone_branch(self, session_id: str, branch: str, reason: str = "deleted by user") -> Event:
        if branch == MAIN:
            raise InvalidInput("the main branch cannot be deleted", hint="delete the session instead")
        payload = k.BranchTombstoned(reason=reason)
        return self.append(session_id, branch, EventDraft(kind=payload.KIND, payload=payload, actor=Actor.USER))

    def import_events(self, events: Iterable[Event], *, batch: int = 1024) -> int:
        """Store already-stamped events (from an export) exactly as they are, verifying every chain link."""
        count = 0
        chunk: list[tuple[str, str, EventDraft | Event, tuple[int, str] | None]] = []
        seen_new: set[Key] = set()
        for e in events:
            key = (e.session_id, e.branch)
            base = None
            if (
                key not in seen_new
                and e.kind in ("session.created", "branch.created")
                and self._catalog.branch(*key) is None
            ):
                if chunk:  # the parent's events must be durable before the fork is checked against them
                    count += len(self._commit(self._submit(chunk)))
                    chunk = []
                if e.kind == "session.created" and e.seq != 1:
                    raise InvalidInput(f"event {e.event_id}: session.created must be seq 1")
                if e.kind == "branch.created":
                    data = e.payload_dict()
                    expected = self.hash_at(e.session_id, str(data.get("parent")), int(data.get("fork_seq", -1)))
                    if e.prev_hash != expected:
                        raise InvalidInput(f"event {e.event_id}: the fork does not match its parent's event")
                base = (e.seq - 1, e.prev_hash)
                seen_new.add(key)
            chunk.append((e.session_id, e.branch, e, base))
            if len(chunk) >= batch:
                count += len(self._commit(self._submit(chunk)))
                chunk = []
        if chunk:
            count += len(self._commit(self._submit(chunk)))
        return count

    # --------------------------------------------------------------------------------- subscriptions
    def subscribe(
        self,
        session_id: str | None,
        branch: str | None = MAIN,
        *,
        after: int = 0,
        kinds: Iterable[str] | None = None,
    ) -> Subscription:
        """Events of a branch after seq ``after``, then every new one as it becomes durable.

        ``session_id=None`` follows every session (live events only).
        """
        return self.hub.subscribe(session_id, branch, after=after, kinds=kinds)

    # ---------------------------------------------------------------------------- sealing, compaction
    def seal(self) -> SegmentEntry | None:
        """Seal every unsealed event into a Parquet segment now (normally done in the background)."""
        with self._maint_lock:
            return self._seal()

    def _rotate(self) -> tuple[dict[Key, list[Event]], bytes, int, int] | None:
        """Start a new WAL file and hand the old tail to the sealer (caller holds the maint lock)."""
        with self._flush_lock:
            self._check_writable()
            with self._state_lock:
                if not self._tail:
                    return None
            new_no = self._wal_no + 1
            path = self.layout.wal / wal.wal_name(new_no)
            fd = self.fs.open_append(path)
            try:
                self.fs.truncate(fd, 0, path)
                self.fs.write(fd, wal.file_header(new_no), path)
                self.fs.sync(fd, path)
                self.fs.sync_dir(self.layout.wal)
            except OSError:
                self.fs.close(fd)
                self.fs.unlink(path)
                raise
            self.fs.close(self._wal_fd)
            self._wal_fd, self._wal_no, self._wal_size = fd, new_no, wal.FILE_HEADER.size
            with self._state_lock:
                sealing, self._tail, self._sealing = self._tail, {}, self._tail
                self._tail_count = 0
                catalog = _catalog_encoder.encode(self._catalog)
            self._publish_head()
            return sealing, catalog, new_no, self._next_lsn

    def _seal(self) -> SegmentEntry | None:
        rotated = self._rotate()
        if rotated is None:
            return None
        sealing, catalog_bytes, wal_start, next_lsn = rotated
        try:
            events = [e for key in sorted(sealing) for e in sealing[key]]
            table = seg.events_to_table(events)
            data = seg.write_parquet_bytes(table)
            entry = self._publish_segment(data, events, level=0)
            old = self._manifest
            new = Manifest(
                generation=old.generation + 1,
                wal_start=wal_start,
                next_lsn=next_lsn,
                next_segment=old.next_segment + 1,
                segments=[*old.segments, entry],
                retired=old.retired,
                catalog=_catalog_decoder.decode(catalog_bytes),
            )
            self._commit_manifest(new)
        except BaseException:
            with self._state_lock:  # the events are still in the WAL; keep serving them from memory
                for key, run in sealing.items():
                    self._tail[key] = run + self._tail.get(key, [])
                    self._tail_count += len(run)
                self._sealing = None
            raise
        with self._state_lock:
            self._sealing = None
        for path in self.layout.wal.glob("*.wal"):
            number = wal.wal_number(path)
            if number is not None and number < wal_start:
                self.fs.unlink(path)
        return entry

    def _publish_segment(
        self,
        data: bytes,
        events: Sequence[Event] | None,
        *,
        level: int,
        slices: list[SegmentSlice] | None = None,
    ) -> SegmentEntry:
        name = f"seg-{self._manifest.next_segment:08d}.parquet"
        final = self.layout.segments / name
        tmp = final.with_name(name + ".tmp")
        self.fs.write_file_durably(tmp, data)
        self.fs.rename(tmp, final)
        self.fs.sync_dir(self.layout.segments)
        if slices is None:
            assert events is not None
            slices = seg.slices_of(events)
        return SegmentEntry(
            name=name,
            rows=sum(s.rows for s in slices),
            size=len(data),
            digest=blake3.blake3(data).hexdigest(),
            created_at=self.clock.now_us(),
            level=level,
            slices=slices,
        )

    def _commit_manifest(self, new: Manifest) -> None:
        path = self.layout.manifest
        tmp = path.with_name(path.name + ".tmp")
        self.fs.write_file_durably(tmp, manifest_mod.encode(new))  # a failure here publishes nothing
        self.fs.rename(tmp, path)
        try:
            self.fs.sync_dir(path.parent)
        except OSError as exc:
            # The rename may or may not be durable: the on-disk manifest is unknown, and going on from the
            # old one would reuse the segment name the new one points at. Only a reopen can tell.
            self._failed = JournalFailed(f"{exc.strerror or exc} while publishing the manifest")
            raise self._failed from exc
        with self._state_lock:
            self._install_manifest(new)

    def compact(self) -> SegmentEntry | None:
        """Merge small segments into one larger, globally sorted segment (normally in the background)."""
        with self._maint_lock:
            return self._compact()

    def _compact(self) -> SegmentEntry | None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        opts = self.options
        small = [e for e in self._manifest.segments if e.rows < opts.compact_target_rows // 2]
        if len(small) < opts.compact_min_segments:
            return None
        chosen: list[SegmentEntry] = []
        for entry in small:
            if chosen and sum(c.rows for c in chosen) + entry.rows > opts.compact_target_rows:
                break
            chosen.append(entry)
        if len(chosen) < 2:
            return None
        tables = [pq.read_table(self._digests.check(e)) for e in chosen]
        table = pa.concat_tables(tables).sort_by(
            [("session_id", "ascending"), ("branch", "ascending"), ("seq", "ascending")]
        )
        data = seg.write_parquet_bytes(table, level=seg.COMPACT_ZSTD_LEVEL)
        slices = _slices_of_table(table)
        entry = self._publish_segment(data, None, level=max(e.level for e in chosen) + 1, slices=slices)
        gone = {e.name for e in chosen}
        old = self._manifest
        now = self.clock.now_us()
        grace = int(opts.retire_grace_s * 1e6)
        retired = [r for r in old.retired if now - r.retired_at < grace]
        expired = [r.name for r in old.retired if now - r.retired_at >= grace]
        new = Manifest(
            generation=old.generation + 1,
            wal_start=old.wal_start,
            next_lsn=old.next_lsn,
            next_segment=old.next_segment + 1,
            segments=[*(e for e in old.segments if e.name not in gone), entry],
            retired=[*retired, *(Retired(name, now) for name in sorted(gone))],
            catalog=old.catalog,
        )
        self._commit_manifest(new)
        self._segments.drop(gone)
        for name in expired:
            self.fs.unlink(self.layout.segments / name)
        self._digests.forget([*gone, *expired])
        return entry

    def _maintenance(self) -> None:
        while not self._closed:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            if self._closed or self._failed is not None:
                return
            try:
                with self._maint_lock:
                    if self.is_closed:
                        return
                    if self.tail_size() >= self.options.seal_events:
                        self._seal()
                    while self._compact() is not None:
                        pass
            except JournalError as exc:
                log.error("background sealing stopped: %s", exc)
            except OSError as exc:
                log.error("background sealing failed, will retry: %s", exc)
                self._wake.wait(timeout=5.0)

    # ----------------------------------------------------------------------------------------- close
    def close(self) -> None:
        """Seal a large tail, stop the background thread and release the lock. Idempotent."""
        if self._closed:
            return
        try:
            with self._maint_lock:
                if self._failed is None and self.tail_size() >= self.options.seal_on_close_min:
                    try:
                        self._seal()
                    except (OSError, JournalError) as exc:
                        log.error("sealing on close failed (the events stay in the WAL): %s", exc)
                self._closed = True
        finally:
            self._closed = True
            self._wake.set()
            if self._maint_thread is not None and self._maint_thread is not threading.current_thread():
                self._maint_thread.join(timeout=30)
            self.hub.close_all()
            self._digests.save()
            self._release_handles()

    def abandon(self) -> None:
        """Drop everything without another write, as if the process had died (crash tests)."""
        self._closed = True
        self._wake.set()
        self.hub.close_all()
        if self._wal_fd >= 0:
            with contextlib.suppress(OSError):
                self.fs.close(self._wal_fd)
            self._wal_fd = -1
        if self._head_pub is not None:
            self._head_pub.close()
        if self._lock_handle is not None:
            self._lock_handle.abandon()
        if self._maint_thread is not None and self._maint_thread is not threading.current_thread():
            self._maint_thread.join(timeout=30)

    def _release_handles(self) -> None:
        if self._wal_fd >= 0:
            self.fs.close(self._wal_fd)
            self._wal_fd = -1
        if self._head_pub is not None:
            self._head_pub.close()
        if self._lock_handle is not None:
            self._lock_handle.release()
            self._lock_handle = None

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def failed(self) -> bool:
        return self._failed is not None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def on_durable(self, callback: Callable[[list[Event]], None]) -> Callable[[], None]:
        """Call ``callback`` with every batch of newly durable events (on the flushing thread)."""
        return self.hub.add_listener(callback)


def _slices_of_table(table: Any) -> list[SegmentSlice]:
    sessions = table.column("session_id").to_pylist()
    branches = table.column("branch").to_pylist()
    seqs = table.column("seq").to_pylist()
    out: list[SegmentSlice] = []
    start = 0
    for i in range(1, len(seqs) + 1):
        if i == len(seqs) or sessions[i] != sessions[start] or branches[i] != branches[start]:
            out.append(SegmentSlice(sessions[start], branches[start], start, i - start, seqs[start], seqs[i - 1]))
            start = i
    return out
