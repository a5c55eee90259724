"""Full verification of a journal: every digest, every checksum, every hash and every chain link.

``life-tui verify`` runs this. Unlike normal reads it trusts nothing cached: each segment is re-hashed
(catching media errors that leave a file's stat identity unchanged), each WAL frame is checked, each event's
hash is recomputed, and each branch's chain is followed from its fork point to its head. Damage is
reported by place (segment and row, WAL file and offset, or session/branch/seq), and verification goes on
past it so one report lists everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from life_tui.errors import JournalCorrupt, JournalError
from life_tui.journal import manifest as manifest_mod
from life_tui.journal import wal
from life_tui.journal.layout import Layout
from life_tui.journal.view import JournalReader, decode_frame
from life_tui.kernel.event import hash_is_valid


@dataclass(frozen=True)
class Damage:
    where: str
    """``manifest``, ``segment``, ``wal`` or ``chain``."""
    path: str
    position: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where} {self.path} at {self.position}: {self.problem}"


@dataclass
class VerifyReport:
    segments: int = 0
    wal_files: int = 0
    events: int = 0
    branches: int = 0
    damage: list[Damage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damage


def verify_journal(root: Path) -> VerifyReport:
    report = VerifyReport()
    lay = Layout(root)
    try:
        manifest = manifest_mod.load(lay.manifest)
    except JournalCorrupt as exc:
        report.damage.append(Damage("manifest", str(lay.manifest), "whole file", exc.message))
        return report
    damaged_segments: set[str] = set()
    for entry in manifest.segments:
        report.segments += 1
        path = lay.segments / entry.name
        if not path.exists():
            report.damage.append(Damage("segment", entry.name, "whole file", "missing"))
            damaged_segments.add(entry.name)
            continue
        if manifest_mod.file_digest(path) != entry.digest:
            report.damage.append(
                Damage("segment", entry.name, "whole file", "BLAKE3 digest does not match the manifest")
            )
            damaged_segments.add(entry.name)
            continue
        import pyarrow.parquet as pq

        from life_tui.journal.segments import table_to_events

        try:
            events = table_to_events(pq.read_table(path))
        except Exception as exc:
            report.damage.append(Damage("segment", entry.name, "whole file", f"unreadable: {exc}"))
            continue
        for row, event in enumerate(events):
            report.events += 1
            if not hash_is_valid(event):
                report.damage.append(
                    Damage("segment", entry.name, f"row {row}", f"event {event.event_id} fails its hash")
                )
    lsn = manifest.next_lsn
    files = sorted(n for p in lay.wal.glob("*.wal") if (n := wal.wal_number(p)) is not None and n >= manifest.wal_start)
    for position, file_no in enumerate(files):
        report.wal_files += 1
        path = lay.wal / wal.wal_name(file_no)
        result = wal.scan(path.read_bytes(), lsn)
        for frame in result.frames:
            for event in decode_frame(frame):
                report.events += 1
                if not hash_is_valid(event):
                    report.damage.append(
                        Damage(
                            "wal",
                            path.name,
                            f"frame at offset {frame.offset}",
                            f"event {event.event_id} fails its hash",
                        )
                    )
        if result.frames:
            lsn = result.frames[-1].lsn + 1
        if result.damage is not None:
            if result.damage.torn and position == len(files) - 1:
                report.notes.append(
                    f"{path.name}: torn final record at offset {result.damage.offset}; the next writer cuts it"
                )
            else:
                report.damage.append(Damage("wal", path.name, f"offset {result.damage.offset}", result.damage.reason))
    if report.damage:
        return report
    try:
        reader = JournalReader.open(root)
    except JournalError as exc:
        report.damage.append(Damage("chain", str(root), "open", exc.message))
        return report
    catalog = reader.catalog_copy()
    for session_id, branches in catalog.branches.items():
        for name, info in branches.items():
            report.branches += 1
            expected = reader.hash_at(session_id, info.parent, info.fork_seq) if info.parent else ""
            seq = info.fork_seq
            try:
                for event in reader.iter_events(session_id, name, after=info.fork_seq):
                    if event.seq != seq + 1 or event.prev_hash != expected:
                        report.damage.append(
                            Damage(
                                "chain",
                                f"{session_id}/{name}",
                                f"seq {event.seq}",
                                "does not link to the event before it",
                            )
                        )
                        break
                    seq, expected = event.seq, event.hash
            except JournalError as exc:
                report.damage.append(Damage("chain", f"{session_id}/{name}", f"after seq {seq}", exc.message))
                continue
            if seq != info.head:
                report.damage.append(
                    Damage("chain", f"{session_id}/{name}", f"seq {seq}", f"ends before its head {info.head}")
                )
    return report
