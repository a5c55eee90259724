"""Printing for the CLI: tables, CSV and JSON for query results, and one-line event summaries.

Rich is used only when stdout is a terminal; pipes get plain, stable text so scripts can parse it.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from life_tui.kernel.clock import iso_utc
from life_tui.kernel.event import Event

OUTPUT_FORMATS = ("table", "csv", "json", "jsonl")


def is_tty() -> bool:
    return sys.stdout.isatty()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def print_rows(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table", *, title: str | None = None
) -> None:
    out = sys.stdout
    if fmt == "json":
        out.write(
            json.dumps([dict(zip(columns, map(_plain, r), strict=True)) for r in rows], ensure_ascii=False, indent=2)
            + "\n"
        )
    elif fmt == "jsonl":
        for r in rows:
            out.write(json.dumps(dict(zip(columns, map(_plain, r), strict=True)), ensure_ascii=False) + "\n")
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_cell(v) for v in r] for r in rows])
        out.write(buf.getvalue())
    elif is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_edge=False, header_style="bold")
        for c in columns:
            table.add_column(c, overflow="fold")
        for r in rows:
            table.add_row(*(_cell(v) for v in r))
        Console().print(table)
    else:
        widths = [max([len(c), *(len(_cell(r[i])) for r in rows)]) for i, c in enumerate(columns)]
        widths = [min(w, 80) for w in widths]
        out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip() + "\n")
        for r in rows:
            cells = [_cell(v).replace("\n", " ")[:80] for v in r]
            out.write("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() + "\n")


def short_time(us: int) -> str:
    return iso_utc(us)[:19].replace("T", " ")


def summarize(event: Event, width: int = 100) -> str:
    """A one-line description of an event's payload for ``life-tui log``."""
    try:
        data = event.payload_dict()
    except ValueError:
        return "(undecodable payload)"
    kind = event.kind
    text: str
    if kind in ("user.message", "assistant.message"):
        text = str(data.get("content", ""))
    elif kind.startswith("tool."):
        name = data.get("tool_name", "")
        detail = data.get("error") or data.get("result") or data.get("arguments") or ""
        text = f"{name} {json.dumps(detail, ensure_ascii=False) if not isinstance(detail, str) else detail}"
    elif kind in ("assistant.text_delta", "assistant.reasoning_delta"):
        text = str(data.get("delta", ""))
    elif kind == "session.created":
        text = str(data.get("name", ""))
    elif kind == "branch.created":
        text = f"{event.branch} from {data.get('parent')} at {data.get('fork_seq')}"
    else:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
