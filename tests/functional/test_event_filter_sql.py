"""The event log's filter answered by DuckDB (``journal.sql.matching_seqs``) matches exactly what the
pane's own scan (``EventFilter.matches`` over ranged reads) matches: over sealed segments and the tail,
on a forked branch (inherited events included, the parent's later events not), for kinds, kind prefixes,
text in the kind or the payload, any case, quotes and non-ASCII text."""

from __future__ import annotations

from pathlib import Path

import pytest

from life_tui.journal import Journal, JournalOptions
from life_tui.journal.sql import matching_seqs
from life_tui.kernel.event import EventDraft
from life_tui.tui.widgets.event_source import EventFilter, scan_index

WORDS = ["naïve café", "Read_File", 'say "hi"', "grep", "TODO: fix", "main.py"]


def drafts(start: int, count: int) -> list[EventDraft]:
    out: list[EventDraft] = []
    for i in range(start, start + count):
        word = WORDS[i % len(WORDS)]
        if i % 3 == 0:
            out.append(EventDraft(kind="user.message", payload={"content": f"{i}: {word}"}, actor="user"))
        elif i % 3 == 1:
            out.append(
                EventDraft(
                    kind="tool.call_requested",
                    payload={"call_id": f"c{i}", "tool_name": "read_file", "arguments": {"path": word}},
                )
            )
        else:
            out.append(EventDraft(kind="tool.call_completed", payload={"call_id": f"c{i}", "result": word * 2}))
    return out


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "j", options=JournalOptions(background=False, seal_events=50))


@pytest.mark.parametrize(
    "typed",
    [
        "read_file",
        "READ_FILE",
        "kind:tool.",
        "kind:user.message café",
        "kind:tool.call_completed kind:user.message todo",
        '"hi"',
        "tool.call",
        "nothing matches this",
        "kind:no.such",
    ],
)
def test_sql_filter_matches_the_scan(journal: Journal, typed: str) -> None:
    sid = journal.create_session("filter").session_id
    journal.append_batch(sid, "main", drafts(0, 120))
    journal.seal()  # most of main in a segment
    journal.fork(sid, "main", 90, "side")
    journal.append_batch(sid, "main", drafts(120, 30))  # main's later events: not in the side's view
    journal.append_batch(sid, "side", drafts(500, 40))  # the side's own events, in the tail
    wanted = EventFilter.parse(typed)
    for branch in ("main", "side"):
        head = journal.head(sid, branch)

        def read(after: int, through: int, branch: str = branch) -> list:  # type: ignore[type-arg]
            return journal.read(sid, branch, after=after, through=through)

        expected = scan_index(read, head, wanted)
        got = matching_seqs(journal, sid, branch, kinds=wanted.kinds, text=wanted.text, through=head)
        assert got == expected, (branch, typed)
        assert matching_seqs(journal, sid, branch, kinds=wanted.kinds, text=wanted.text, through=50) == [
            s for s in expected or [] if s <= 50
        ]
    journal.close()


def test_sql_filter_before_anything_is_sealed(journal: Journal) -> None:
    sid = journal.create_session("fresh").session_id
    journal.append_batch(sid, "main", drafts(0, 30))
    head = journal.head(sid)
    assert journal.manifest().segments == []
    got = matching_seqs(journal, sid, "main", kinds=("user.",), text="CAFÉ", through=head)
    assert got == [
        e.seq for e in journal.read(sid) if e.kind == "user.message" and "café" in e.payload_dict()["content"]
    ]
    assert got
    journal.close()
