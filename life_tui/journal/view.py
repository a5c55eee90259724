"""Reading the journal: the state both the writer and read-only readers hold, and the branch read path.

:class:`JournalView` holds the manifest, the catalog, the sealed-segment index and the unsealed tail, and
answers every read: list sessions and branches, read a branch's events (resolving its ancestry), fetch
one event. :class:`JournalReader` is a view for processes that do not hold the writer lock (``life-tui
query``, ``log --follow`` beside a running TUI): it never writes, stops at the writer's published durable
head, and :meth:`JournalReader.refresh` picks up what was appended or sealed since.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from life_tui.errors import JournalCorrupt, NotFound
from life_tui.journal import manifest as manifest_mod
from life_tui.journal import wal
from life_tui.journal.catalog import INFINITY, MAIN, BranchInfo, Catalog, SessionInfo
from life_tui.journal.layout import Layout, read_head
from life_tui.journal.lock import writer_alive
from life_tui.journal.manifest import DigestCache, Manifest, SegmentEntry, SegmentSlice
from life_tui.kernel.event import Event

if TYPE_CHECKING:
    import pyarrow.parquet as pq

Key = tuple[str, str]
_events_decoder = msgspec.json.Decoder(list[Event])
SYSTEM_SESSION = "00000000000000000000000000"


def decode_frame(frame: wal.Frame, path: Path | None = None) -> list[Event]:
    """The events of a checksummed frame; a body that passed its CRC but does not decode is corruption."""
    try:
        return _events_decoder.decode(frame.body)
    except msgspec.MsgspecError as exc:
        where = str(path) if path is not None else "WAL"
        raise JournalCorrupt(
            f"WAL frame at offset {frame.offset} of {where} does not decode: {exc}",
            path=where,
            offset=frame.offset,
        ) from None


class _Segments:
    """Open Parquet files of sealed segments, verified before first use, with their row-group offsets."""

    def __init__(self, digests: DigestCache, capacity: int = 64) -> None:
        self._digests = digests
        self._open: OrderedDict[str, tuple[pq.ParquetFile, list[int]]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def file(self, entry: SegmentEntry) -> tuple[pq.ParquetFile, list[int]]:
        with self._lock:
            hit = self._open.get(entry.name)
            if hit is not None:
                self._open.move_to_end(entry.name)
        if hit is not None:
            # An open file is re-checked on every use: a stat while it is unchanged since it was proven, a
            # fresh digest (and JournalCorrupt) once anything wrote to it.
            try:
                self._digests.check(entry)
            except JournalCorrupt:
                self.drop([entry.name])
                raise
            return hit
        import pyarrow.parquet as pq

        path = self._digests.check(entry)
        pf = pq.ParquetFile(path, memory_map=True)
        starts = [0]
        for i in range(pf.metadata.num_row_groups):
            starts.append(starts[-1] + pf.metadata.row_group(i).num_rows)
        with self._lock:
            self._open[entry.name] = (pf, starts)
            while len(self._open) > self._capacity:
                self._open.popitem(last=False)
        return pf, starts

    def drop(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                self._open.pop(name, None)

    def read_rows(self, entry: SegmentEntry, first: int, count: int, kinds: frozenset[str] | None) -> list[Event]:
        from life_tui.journal.segments import ENVELOPE_COLUMNS, table_to_events

        pf, starts = self.file(entry)
        lead = 1 if first > 0 else 0  # one row before, to restore an elided prev_hash
        lo, hi = first - lead, first + count
        groups = [i for i in range(len(starts) - 1) if starts[i] < hi and starts[i + 1] > lo]
        table = pf.read_row_groups(groups, columns=list(ENVELOPE_COLUMNS)).slice(lo - starts[groups[0]], hi - lo)
        events = table_to_events(table)[lead:]
        if kinds is not None:
            events = [e for e in events if e.kind in kinds]
        return events

    def read_cells(self, entry: SegmentEntry, row: int, columns: list[str]) -> dict[str, Any]:
        """A few columns of one row (reads only those columns of one row group)."""
        pf, starts = self.file(entry)
        group = next(i for i in range(len(starts) - 1) if starts[i] <= row < starts[i + 1])
        table = pf.read_row_group(group, columns=columns).slice(row - starts[group], 1)
        return {name: table.column(name)[0].as_py() for name in columns}


class JournalView:
    """Read access to one journal directory. Thread-safe: the writer's flusher updates it under a lock."""

    def __init__(self, root: Path) -> None:
        self.layout = Layout(Path(root))
        self._state_lock = threading.RLock()
        self._manifest = Manifest()
        self._catalog = Catalog()
        self._tail: dict[Key, list[Event]] = {}
        self._sealing: dict[Key, list[Event]] | None = None
        self._tail_count = 0
        self._index: dict[Key, list[tuple[SegmentEntry, SegmentSlice]]] = {}
        self._digests = DigestCache(self.layout.segments)
        self._segments = _Segments(self._digests)

    @property
    def root(self) -> Path:
        return self.layout.root

    # ------------------------------------------------------------------------------------ state setup
    def _install_manifest(self, manifest: Manifest) -> None:
        index: dict[Key, list[tuple[SegmentEntry, SegmentSlice]]] = {}
        for entry in manifest.segments:
            for sl in entry.slices:
                index.setdefault((sl.session_id, sl.branch), []).append((entry, sl))
        for slices in index.values():
            slices.sort(key=lambda pair: pair[1].seq_min)
        self._manifest = manifest
        self._index = index

    def _apply(self, events: Iterable[Event]) -> None:
        """Fold durable events into the catalog and the tail (caller holds ``_state_lock``)."""
        tail, catalog = self._tail, self._catalog
        count = 0
        for e in events:
            count += 1
            catalog.apply(e)
            key = (e.session_id, e.branch)
            bucket = tail.get(key)
            if bucket is None:
                tail[key] = [e]
            else:
                bucket.append(e)
        self._tail_count += count

    # --------------------------------------------------------------------------------- catalog reads
    def sessions(self, *, include_deleted: bool = False, include_system: bool = False) -> list[SessionInfo]:
        with self._state_lock:
            found = [msgspec.structs.replace(s) for s in self._catalog.sessions.values()]
        return sorted(
            (
                s
                for s in found
                if (include_deleted or not s.tombstoned) and (include_system or s.session_id != SYSTEM_SESSION)
            ),
            key=lambda s: s.updated_at,
            reverse=True,
        )

    def session(self, session_id: str) -> SessionInfo:
        with self._state_lock:
            info = self._catalog.sessions.get(session_id)
            if info is None:
                raise NotFound(
                    f"no session {session_id!r} in {self.root}",
                    hint="`life-tui session list` shows the sessions",
                )
            return msgspec.structs.replace(info)

    def resolve_session(self, ref: str) -> str:
        """A session id from an id, a unique id prefix, a unique name, or ``last`` (most recent)."""
        with self._state_lock:
            sessions = self._catalog.sessions
            if ref in sessions:
                return ref
            if ref in ("last", "-"):
                live = [s for s in sessions.values() if not s.tombstoned and s.session_id != SYSTEM_SESSION]
                if live:
                    return max(live, key=lambda s: s.updated_at).session_id
            upper = ref.upper()
            matches = [sid for sid in sessions if sid.startswith(upper)] if len(ref) >= 4 else []
            if not matches:
                matches = [sid for sid, s in sessions.items() if s.name == ref and not s.tombstoned]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise NotFound(f"{ref!r} matches {len(matches)} sessions", hint="give more characters of the id")
        raise NotFound(f"no session {ref!r} in {self.root}", hint="`life-tui session list` shows the sessions")

    def branches(self, session_id: str) -> list[BranchInfo]:
        self.session(session_id)
        with self._state_lock:
            found = [msgspec.structs.replace(b) for b in self._catalog.branches.get(session_id, {}).values()]
        return sorted(found, key=lambda b: (b.created_at, b.name))

    def branch(self, session_id: str, name: str = MAIN) -> BranchInfo:
        with self._state_lock:
            info = self._catalog.branch(session_id, name)
            if info is None:
                self.session(session_id)
                raise NotFound(
                    f"session {session_id} has no branch {name!r}",
                    hint=f"`life-tui session show {session_id}` lists its branches",
                )
            return msgspec.structs.replace(info)

    def head(self, session_id: str, branch: str = MAIN) -> int:
        return self.branch(session_id, branch).head

    def ancestry(self, session_id: str, branch: str = MAIN) -> list[tuple[str, int, int]]:
        """The branch's view as ``(branch, after_seq, through_seq)`` ranges of own events, root first."""
        self.branch(session_id, branch)
        with self._state_lock:
            return self._catalog.ancestry(session_id, branch)

    def catalog_copy(self) -> Catalog:
        with self._state_lock:
            return self._catalog.copy()

    def manifest(self) -> Manifest:
        with self._state_lock:
            return self._manifest

    # ----------------------------------------------------------------------------------- event reads
    def read(
        self,
        session_id: str,
        branch: str = MAIN,
        *,
        after: int = 0,
        through: int | None = None,
        kinds: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """Events of the branch's view with ``after < seq <= through`` in seq order (ancestors included)."""
        out: list[Event] = []
        for chunk in self.iter_chunks(session_id, branch, after=after, through=through, kinds=kinds):
            out.extend(chunk)
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    def iter_events(self, session_id: str, branch: str = MAIN, **kwargs: Any) -> Iterator[Event]:
        for chunk in self.iter_chunks(session_id, branch, **kwargs):
            yield from chunk

    def iter_chunks(
        self,
        session_id: str,
        branch: str = MAIN,
        *,
        after: int = 0,
        through: int | None = None,
        kinds: Iterable[str] | None = None,
    ) -> Iterator[list[Event]]:
        """The view in chunks (one per segment slice or tail run), so huge sessions stream."""
        kind_set = frozenset(kinds) if kinds is not None else None
        with self._state_lock:
            info = self._catalog.branch(session_id, branch)
            if info is None:
                self.branch(session_id, branch)  # raises NotFound with a helpful message
                return
            upper = min(through if through is not None else INFINITY, info.head)
            ranges = self._catalog.ancestry(session_id, branch)
        for name, lo, hi in ranges:
            start, stop = max(after, lo), min(upper, hi)
            if start < stop:
                yield from self._own_chunks(session_id, name, start, stop, kind_set)

    def _own_chunks(
        self, session_id: str, branch: str, after: int, through: int, kinds: frozenset[str] | None
    ) -> Iterator[list[Event]]:
        """Events of the branch itself (not inherited) with ``after < seq <= through``."""
        key = (session_id, branch)
        with self._state_lock:
            slices = list(self._index.get(key, ()))
            runs = [run for run in ((self._sealing or {}).get(key), self._tail.get(key)) if run]
        for entry, sl in slices:
            lo, hi = max(after + 1, sl.seq_min), min(through, sl.seq_max)
            if lo <= hi:
                yield self._segments.read_rows(entry, sl.row + lo - sl.seq_min, hi - lo + 1, kinds)
        for run in runs:
            first = run[0].seq
            lo, hi = max(after + 1, first), min(through, run[-1].seq)
            if lo <= hi:
                part = run[lo - first : hi - first + 1]
                yield part if kinds is None else [e for e in part if e.kind in kinds]

    def get(self, session_id: str, branch: str, seq: int) -> Event:
        """The event at ``seq`` in the branch's view."""
        found = self.read(session_id, branch, after=seq - 1, through=seq)
        if not found:
            raise NotFound(f"session {session_id} branch {branch!r} has no event {seq}")
        return found[0]

    def hash_at(self, session_id: str, branch: str, seq: int) -> str:
        """Hash of the event at ``seq`` in the view (``""`` for seq 0, the start of every chain)."""
        if seq == 0:
            return ""
        info = self.branch(session_id, branch)
        if seq == info.head:
            return info.head_hash
        return self.event_ref(session_id, branch, seq)[1]

    def event_ref(self, session_id: str, branch: str, seq: int) -> tuple[str, str]:
        """``(event_id, hash)`` of the event at ``seq`` in the view, reading two columns of one row group."""
        owner = next((name for name, lo, hi in self.ancestry(session_id, branch) if lo < seq <= hi), None)
        if owner is None or seq > self.head(session_id, branch):
            raise NotFound(f"session {session_id} branch {branch!r} has no event {seq}")
        key = (session_id, owner)
        with self._state_lock:
            slices = list(self._index.get(key, ()))
            runs = [run for run in ((self._sealing or {}).get(key), self._tail.get(key)) if run]
        for run in runs:
            if run[0].seq <= seq <= run[-1].seq:
                event = run[seq - run[0].seq]
                return event.event_id, event.hash
        for entry, sl in slices:
            if sl.seq_min <= seq <= sl.seq_max:
                cells = self._segments.read_cells(entry, sl.row + seq - sl.seq_min, ["event_id", "hash"])
                return str(cells["event_id"]), str(cells["hash"])
        raise NotFound(f"session {session_id} branch {branch!r} has no event {seq}")

    def tail_size(self) -> int:
        """Events in the unsealed tail (not counting a seal in progress)."""
        return self._tail_count

    def tail_events(self) -> list[Event]:
        """Every unsealed event (sealing buffer included), sorted by (session, branch, seq)."""
        with self._state_lock:
            buckets = [*(self._sealing or {}).items(), *self._tail.items()]
        merged: dict[Key, list[Event]] = {}
        for key, run in buckets:
            merged.setdefault(key, []).extend(run)
        return [e for key in sorted(merged) for e in merged[key]]

    def check_segment(self, entry: SegmentEntry) -> Path:
        """The segment's path once its digest is proven (re-hashed if the file changed since)."""
        return self._digests.check(entry)

    def verified_segment_paths(self) -> list[Path]:
        """Paths of all sealed segments, each digest-checked before it is returned."""
        return [self._digests.check(entry) for entry in self.manifest().segments]

    def save_digest_proofs(self) -> None:
        self._digests.save()


class JournalReader(JournalView):
    """A read-only view for processes that are not the writer. Never writes, never repairs."""

    def __init__(self, root: Path, *, salvage: bool = False) -> None:
        super().__init__(root)
        self._salvage = salvage
        self._manifest_stamp: tuple[int, int, int] | None = None
        self._wal_pos: dict[int, tuple[int, int]] = {}  # file -> (offset read, next lsn)
        self._loaded = False
        self._reloaded = False
        self.damage: list[str] = []

    @classmethod
    def open(cls, root: Path, *, salvage: bool = False) -> JournalReader:
        reader = cls(root, salvage=salvage)
        if not reader.layout.exists():
            raise NotFound(f"no journal at {root}", hint="run `life-tui init` first, or check LIFE_HOME")
        reader.refresh()
        return reader

    def _manifest_changed(self) -> bool:
        try:
            st = self.layout.manifest.stat()
        except FileNotFoundError:
            return self._manifest_stamp is not None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp != self._manifest_stamp:
            self._manifest_stamp = stamp
            return True
        return False

    def refresh(self) -> list[Event]:
        """Pick up what was made durable since the last call and return it: each branch's new events in seq
        order, none twice, events sealed since the last call included (the first call returns the tail)."""
        before = self._own_heads() if self._loaded else None
        self._reloaded = False
        for _attempt in range(20):
            try:
                fresh = self._refresh_once()
                break
            except FileNotFoundError:
                # A seal or compaction removed a file between our manifest read and our file read.
                self._manifest_stamp = None
                time.sleep(0.01)
        else:
            raise JournalCorrupt(f"the journal at {self.root} keeps changing under the reader", path=str(self.root))
        self._loaded = True
        if before is None or not self._reloaded:
            return fresh
        # A new manifest: the tail was re-read from its new start, and events may have moved into segments.
        return self._events_since(before)

    def _own_heads(self) -> dict[Key, int]:
        with self._state_lock:
            return {(sid, name): b.head for sid, per in self._catalog.branches.items() for name, b in per.items()}

    def _events_since(self, before: dict[Key, int]) -> list[Event]:
        out: list[Event] = []
        with self._state_lock:
            branches = [b for per in self._catalog.branches.values() for b in per.values()]
        for b in branches:
            old = before.get((b.session_id, b.name), b.fork_seq)
            if b.head > old:
                for chunk in self._own_chunks(b.session_id, b.name, old, b.head, None):
                    out.extend(chunk)
        return out

    def _refresh_once(self) -> list[Event]:
        if self._manifest_changed() or not self._wal_pos:
            self._reloaded = True
            manifest = manifest_mod.load(self.layout.manifest)
            with self._state_lock:
                dropped = {e.name for e in self._manifest.segments} - {e.name for e in manifest.segments}
                self._install_manifest(manifest)
                self._catalog = manifest.catalog.copy()
                self._tail = {}
                self._tail_count = 0
                self._wal_pos = {}
            self._segments.drop(dropped)
        manifest = self._manifest
        # A live writer publishes how far its WAL is durable; read no further than that.
        live = writer_alive(self.layout.lock)
        head = read_head(self.layout.head) if live else None
        for _ in range(50):
            if not live or head is not None:
                break
            time.sleep(0.001)  # caught the writer mid-update of HEAD: its checksum failed; look again
            head = read_head(self.layout.head)
        if live and head is None:
            return []  # never guess past the durable point: report nothing new until HEAD reads whole
        fresh: list[Event] = []
        files = sorted(
            n for p in self.layout.wal.glob("*.wal") if (n := wal.wal_number(p)) is not None and n >= manifest.wal_start
        )
        if files and files[0] != manifest.wal_start:
            # The manifest we hold is older than the WAL files left: a seal finished meanwhile. Reload.
            raise FileNotFoundError(self.layout.wal / wal.wal_name(manifest.wal_start))
        next_lsn = manifest.next_lsn
        for file_no in files:
            if head is not None and file_no > head.file_no:
                break
            limit = head.offset if head is not None and file_no == head.file_no else None
            offset, lsn = self._wal_pos.get(file_no, (0, next_lsn))
            path = self.layout.wal / wal.wal_name(file_no)
            data = path.read_bytes()
            if limit is not None:
                data = data[:limit]
            if offset == 0:
                result = wal.scan(data, lsn, expected_file=file_no)
                frames, end, damage = result.frames, result.end, result.damage
            else:
                frames = list(wal.iter_frames_from(data, offset, lsn))
                end = frames[-1].end if frames else offset
                damage = None
            batch = [e for f in frames for e in decode_frame(f)]
            with self._state_lock:
                self._apply(batch)
            fresh.extend(batch)
            next_lsn = frames[-1].lsn + 1 if frames else lsn
            self._wal_pos[file_no] = (end, next_lsn)
            if damage is not None:
                if damage.torn and head is None:
                    break  # an interrupted final write: the next writer to open repairs it
                if not self._salvage:
                    raise JournalCorrupt(
                        f"WAL file {path.name} is damaged at offset {damage.offset} ({damage.reason})",
                        path=str(path),
                        offset=damage.offset,
                    )
                self.damage.append(f"{path.name}@{damage.offset}: {damage.reason}")
                break
        return fresh
