"""Sealed segments: events as sorted, zstd-compressed Parquet, and back.

One schema serves sealed segments, the in-memory tail and DuckDB's ``events`` view. Besides the envelope
it carries *promoted* columns (model, tool, tokens, cost, is_error) extracted from payloads when the
segment is written, because a query over a promoted column is 47-155x faster than ``json_extract``
(journal-baselines.md §4). ``prev_hash`` is stored only where it does not equal the previous row's hash
on the same branch (the first row of each slice), so the chain costs one hash per event on disk.

pyarrow is imported lazily: writers import it only when they seal, and a process that only appends or
reads the WAL tail never pays for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from life_tui.journal.manifest import SegmentSlice
from life_tui.kernel.event import Event

if TYPE_CHECKING:
    import pyarrow as pa

ROW_GROUP_ROWS = 4_096
"""Small enough that reading one session's run of a sorted segment decompresses few rows it does not need."""
ZSTD_LEVEL = 1
COMPACT_ZSTD_LEVEL = 3

ENVELOPE_COLUMNS = (
    "session_id",
    "branch",
    "seq",
    "event_id",
    "kind",
    "occurred_at",
    "actor",
    "agent_id",
    "tenant_id",
    "run_id",
    "parent_id",
    "trace_id",
    "span_id",
    "schema_version",
    "payload",
    "prev_hash",
    "hash",
)
PROMOTED_COLUMNS = (
    "model",
    "tool",
    "tokens_in",
    "tokens_out",
    "tokens_cached",
    "tokens",
    "cost_usd",
    "is_error",
)
DICTIONARY_COLUMNS = ("session_id", "branch", "kind", "actor", "agent_id", "tenant_id", "model", "tool")
STATISTICS_COLUMNS = ("session_id", "branch", "seq", "occurred_at", "kind")


def schema() -> pa.Schema:
    import pyarrow as pa

    s, i64 = pa.string(), pa.int64()
    return pa.schema(
        [
            ("session_id", s),
            ("branch", s),
            ("seq", i64),
            ("event_id", s),
            ("kind", s),
            ("occurred_at", pa.timestamp("us", tz="UTC")),
            ("actor", s),
            ("agent_id", s),
            ("tenant_id", s),
            ("run_id", s),
            ("parent_id", s),
            ("trace_id", s),
            ("span_id", s),
            ("schema_version", pa.int32()),
            ("payload", s),
            ("prev_hash", s),
            ("hash", s),
            ("model", s),
            ("tool", s),
            ("tokens_in", i64),
            ("tokens_out", i64),
            ("tokens_cached", i64),
            ("tokens", i64),
            ("cost_usd", pa.float64()),
            ("is_error", pa.bool_()),
        ]
    )


@dataclass(frozen=True, slots=True)
class Promoted:
    model: str | None = None
    tool: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    tokens_cached: int | None = None
    tokens: int | None = None
    cost_usd: float | None = None
    is_error: bool | None = None


_EMPTY = Promoted()


class _PromoteView(msgspec.Struct):
    """Only the payload fields that become columns: decoding skips everything else without building it."""

    usage: Any = None
    model: Any = None
    tool_name: Any = None
    tool: Any = None
    tokens: Any = None
    cost_usd: Any = None
    is_error: Any = None


_view_decoder = msgspec.json.Decoder(_PromoteView)


def _int(value: Any) -> int | None:
    kind = type(value)
    return value if kind is int else int(value) if kind is float else None


def _first(mapping: dict[str, Any], a: str, b: str) -> Any:
    value = mapping.get(a)
    return mapping.get(b) if value is None else value


def promote(kind: str, payload: bytes) -> Promoted:
    """Extract the queried fields from a payload, whatever its kind (unknown kinds included)."""
    try:
        d = _view_decoder.decode(payload)
    except msgspec.MsgspecError:  # not an object, or not JSON: nothing to promote
        return _EMPTY
    usage, tokens, model, tool = d.usage, d.tokens, d.model, d.tool_name if d.tool_name is not None else d.tool
    if (
        usage is None
        and tokens is None
        and model is None
        and tool is None
        and d.cost_usd is None
        and d.is_error is None
    ):
        return _EMPTY
    tokens_in = tokens_out = cached = None
    if type(usage) is dict:
        tokens_in = _int(_first(usage, "input_tokens", "prompt_tokens"))
        tokens_out = _int(_first(usage, "output_tokens", "completion_tokens"))
        cached = _int(_first(usage, "cached_tokens", "cache_read_tokens"))
        if tokens is None:
            tokens = usage.get("total_tokens")
    total = _int(tokens)
    if total is None and (tokens_in is not None or tokens_out is not None):
        total = (tokens_in or 0) + (tokens_out or 0)
    cost = d.cost_usd
    return Promoted(
        model=model if type(model) is str else None,
        tool=tool if type(tool) is str else None,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        tokens_cached=cached,
        tokens=total,
        cost_usd=float(cost) if type(cost) in (int, float) else None,
        is_error=d.is_error if type(d.is_error) is bool else None,
    )


def sort_key(event: Event) -> tuple[str, str, int]:
    return (event.session_id, event.branch, event.seq)


def events_to_table(events: Sequence[Event], *, elide_prev_hash: bool = True) -> pa.Table:
    """Arrow table of ``events`` in the given order (callers sort by (session, branch, seq) first).

    Column by column (one comprehension each): sealing runs on a background thread but holds the GIL, so
    its Python work is kept small.
    """
    import pyarrow as pa

    payloads = [bytes(e.payload) for e in events]
    promoted = [promote(e.kind, raw) for e, raw in zip(events, payloads, strict=True)]
    prev_hashes: list[str | None] = [e.prev_hash for e in events]
    if elide_prev_hash:
        for i in range(1, len(events)):
            before, e = events[i - 1], events[i]
            if e.prev_hash == before.hash and e.branch == before.branch and e.session_id == before.session_id:
                prev_hashes[i] = None
    cols: dict[str, Any] = {
        name: [getattr(e, name) for e in events] for name in ENVELOPE_COLUMNS if name not in ("payload", "prev_hash")
    }
    cols["payload"] = pa.array(payloads, type=pa.binary()).cast(pa.string())
    cols["prev_hash"] = prev_hashes
    for name in PROMOTED_COLUMNS:
        cols[name] = [getattr(p, name) for p in promoted]
    sch = schema()
    return pa.Table.from_arrays(
        [c if isinstance(c, pa.Array) else pa.array(c, type=f.type) for f in sch for c in (cols[f.name],)], schema=sch
    )


def table_to_events(table: pa.Table) -> list[Event]:
    """Events from rows of the segment schema, restoring elided ``prev_hash`` values.

    Columns become Python lists once and events are built positionally (``Event`` fields are in schema
    order), which is several times faster than a per-row keyword call on a 10k-event replay.
    """
    import pyarrow as pa

    if table.num_rows == 0:
        return []
    hashes = table.column("hash").to_pylist()
    prevs = table.column("prev_hash").to_pylist()
    last = ""
    for i, prev in enumerate(prevs):
        if prev is None:
            prevs[i] = last
        last = hashes[i]
    columns = [table.column(name).to_pylist() for name in ENVELOPE_COLUMNS[:5]]
    columns.append(table.column("occurred_at").cast(pa.int64()).to_pylist())
    columns += [table.column(name).to_pylist() for name in ENVELOPE_COLUMNS[6:14]]
    columns.append(list(map(msgspec.Raw, table.column("payload").cast(pa.binary()).to_pylist())))
    columns += [prevs, hashes]
    # ENVELOPE_COLUMNS are session_id, branch, seq, event_id, kind; Event starts event_id, session_id, ...
    sessions, branches, seqs, ids, kinds = columns[:5]
    ordered = [ids, sessions, branches, seqs, kinds, *columns[5:]]
    return list(itertools.starmap(Event, zip(*ordered, strict=True)))


def write_parquet_bytes(table: pa.Table, *, level: int = ZSTD_LEVEL) -> bytes:
    """Serialise a sorted table as a Parquet file in memory (the caller writes it through the file layer)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        compression_level=level,
        row_group_size=ROW_GROUP_ROWS,
        use_dictionary=list(DICTIONARY_COLUMNS),
        write_statistics=list(STATISTICS_COLUMNS),
        write_page_checksum=True,
    )
    return sink.getvalue().to_pybytes()  # type: ignore[no-any-return]


def slices_of(events: Sequence[Event]) -> list[SegmentSlice]:
    """The per-branch runs of a sorted event list (seqs inside a run are contiguous)."""
    out: list[SegmentSlice] = []
    start = 0
    for i in range(1, len(events) + 1):
        if i == len(events) or sort_key(events[i])[:2] != sort_key(events[start])[:2]:
            first, last = events[start], events[i - 1]
            out.append(SegmentSlice(first.session_id, first.branch, start, i - start, first.seq, last.seq))
            start = i
    return out
