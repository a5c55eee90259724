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
_plain_decoder = msgspec.json.Decoder()


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
_PROMOTABLE_KEYS = (
    b'"usage"',
    b'"model"',
    b'"tool_name"',
    b'"tool"',
    b'"tokens"',
    b'"cost_usd"',
    b'"is_error"',
)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def promote(kind: str, payload: bytes) -> Promoted:
    """Extract the queried fields from a payload, whatever its kind (unknown kinds included)."""
    if not any(key in payload for key in _PROMOTABLE_KEYS):
        return _EMPTY
    try:
        data = _plain_decoder.decode(payload)
    except msgspec.DecodeError:
        return _EMPTY
    if not isinstance(data, dict):
        return _EMPTY
    raw_usage = data.get("usage")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    tokens_in = _int(usage.get("input_tokens", usage.get("prompt_tokens")))
    tokens_out = _int(usage.get("output_tokens", usage.get("completion_tokens")))
    cached = _int(usage.get("cached_tokens", usage.get("cache_read_tokens")))
    total = _int(data.get("tokens", usage.get("total_tokens")))
    if total is None and (tokens_in is not None or tokens_out is not None):
        total = (tokens_in or 0) + (tokens_out or 0)
    model = data.get("model")
    tool = data.get("tool_name", data.get("tool"))
    cost = data.get("cost_usd")
    is_error = data.get("is_error")
    return Promoted(
        model=model if isinstance(model, str) else None,
        tool=tool if isinstance(tool, str) else None,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        tokens_cached=cached,
        tokens=total,
        cost_usd=float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
        is_error=is_error if isinstance(is_error, bool) else None,
    )


def sort_key(event: Event) -> tuple[str, str, int]:
    return (event.session_id, event.branch, event.seq)


def events_to_table(events: Sequence[Event], *, elide_prev_hash: bool = True) -> pa.Table:
    """Arrow table of ``events`` in the given order (callers sort by (session, branch, seq) first)."""
    import pyarrow as pa

    cols: dict[str, list[Any]] = {name: [] for name in (*ENVELOPE_COLUMNS, *PROMOTED_COLUMNS)}
    prev_key: tuple[str, str] | None = None
    prev_hash_seen = ""
    for e in events:
        key = (e.session_id, e.branch)
        cols["session_id"].append(e.session_id)
        cols["branch"].append(e.branch)
        cols["seq"].append(e.seq)
        cols["event_id"].append(e.event_id)
        cols["kind"].append(e.kind)
        cols["occurred_at"].append(e.occurred_at)
        cols["actor"].append(e.actor)
        cols["agent_id"].append(e.agent_id)
        cols["tenant_id"].append(e.tenant_id)
        cols["run_id"].append(e.run_id)
        cols["parent_id"].append(e.parent_id)
        cols["trace_id"].append(e.trace_id)
        cols["span_id"].append(e.span_id)
        cols["schema_version"].append(e.schema_version)
        raw = bytes(e.payload)
        cols["payload"].append(raw.decode())
        chained = elide_prev_hash and key == prev_key and e.prev_hash == prev_hash_seen
        cols["prev_hash"].append(None if chained else e.prev_hash)
        cols["hash"].append(e.hash)
        p = promote(e.kind, raw)
        cols["model"].append(p.model)
        cols["tool"].append(p.tool)
        cols["tokens_in"].append(p.tokens_in)
        cols["tokens_out"].append(p.tokens_out)
        cols["tokens_cached"].append(p.tokens_cached)
        cols["tokens"].append(p.tokens)
        cols["cost_usd"].append(p.cost_usd)
        cols["is_error"].append(p.is_error)
        prev_key, prev_hash_seen = key, e.hash
    sch = schema()
    return pa.Table.from_arrays([pa.array(cols[f.name], type=f.type) for f in sch], schema=sch)


def table_to_events(table: pa.Table) -> list[Event]:
    """Events from rows of the segment schema, restoring elided ``prev_hash`` values."""
    import pyarrow as pa

    n = table.num_rows
    if n == 0:
        return []

    def col(name: str) -> list[Any]:
        return table.column(name).to_pylist()  # type: ignore[no-any-return]

    occurred = table.column("occurred_at").cast(pa.int64()).to_pylist()
    payloads = table.column("payload").cast(pa.binary()).to_pylist()
    sessions, branches, seqs = col("session_id"), col("branch"), col("seq")
    ids, kinds, actors, agents, tenants = (
        col("event_id"),
        col("kind"),
        col("actor"),
        col("agent_id"),
        col("tenant_id"),
    )
    runs, parents, traces, spans = col("run_id"), col("parent_id"), col("trace_id"), col("span_id")
    versions, prevs, hashes = col("schema_version"), col("prev_hash"), col("hash")
    raw = msgspec.Raw
    out: list[Event] = []
    append = out.append
    last_hash = ""
    for i in range(n):
        prev = prevs[i]
        if prev is None:
            prev = last_hash
        append(
            Event(
                event_id=ids[i],
                session_id=sessions[i],
                branch=branches[i],
                seq=seqs[i],
                kind=kinds[i],
                occurred_at=occurred[i],
                actor=actors[i],
                agent_id=agents[i],
                tenant_id=tenants[i],
                run_id=runs[i],
                parent_id=parents[i],
                trace_id=traces[i],
                span_id=spans[i],
                schema_version=versions[i],
                payload=raw(payloads[i]),
                prev_hash=prev,
                hash=hashes[i],
            )
        )
        last_hash = hashes[i]
    return out


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
