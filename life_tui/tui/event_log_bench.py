"""Measurements of the event log at scale, for ``bench/tui.py`` (run by hand, never in the timed suite).

:func:`build_branch` writes a one-branch session of ``events`` events through the real journal (sealed into
Parquet segments as the journal's own maintenance would); :func:`measure` opens it the way the
workstation does (a journal reader, the pane reset with :func:`branch_context`) in a headless app and
reports: the time from opening the journal to the first frame drawn at the branch's end, and the time to
move the cursor one page (the action plus drawing every visible line), as a median and a p95 over many
pages, both cold (blocks read from segments) and warm; and a page key pressed through Pilot next to an
unbound key pressed the same way (Pilot's own round trip, which dominates that figure).
``python -m life_tui.tui.event_log_bench DIR`` builds the journal once in DIR (kept for later runs) and
prints the figures as JSON.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from life_tui.journal.store import Journal, JournalOptions
from life_tui.journal.view import JournalReader
from life_tui.kernel.event import Actor, EventDraft
from life_tui.tui.branching import branch_context

KINDS = (
    ("user.message", Actor.USER, lambda i: {"content": f"question {i}: how does part {i % 97} work?"}),
    ("assistant.text_delta", Actor.AGENT, lambda i: {"delta": f"part {i % 97} works by "}),
    (
        "tool.call_requested",
        Actor.AGENT,
        lambda i: {"call_id": f"c{i}", "tool_name": "read_file", "arguments": {"path": f"src/mod_{i % 500}.py"}},
    ),
    (
        "tool.call_completed",
        Actor.TOOL,
        lambda i: {
            "call_id": f"c{i}",
            "tool_name": "read_file",
            "result": "1:ab|def f():\n2:cd|    return 1",
            "duration_ms": 3.0,
        },
    ),
)


def build_branch(root: Path, events: int = 1_000_000, batch: int = 4_096) -> tuple[str, float]:
    """A session with ``events`` events on ``main`` in a fresh journal at ``root``; returns (id, seconds)."""
    started = time.perf_counter()
    options = JournalOptions(background=False, seal_events=100_000, compact_target_rows=1_000_000)
    journal = Journal.open(root, options=options)
    try:
        session_id = journal.create_session("bench-event-log", workspace=str(root)).session_id
        written = 1
        while written < events:
            n = min(batch, events - written)
            drafts = [
                EventDraft(kind=kind, payload=make(written + i), actor=actor)
                for i in range(n)
                for kind, actor, make in (KINDS[(written + i) % len(KINDS)],)
            ]
            journal.append_batch(session_id, "main", drafts)
            written += n
            if journal.tail_size() >= options.seal_events:
                journal.seal()
        journal.seal()
        while journal.compact() is not None:
            pass
    finally:
        journal.close()
    return session_id, time.perf_counter() - started


async def measure(
    root: Path, session_id: str, *, pages: int = 200, size: tuple[int, int] = (160, 48)
) -> dict[str, Any]:
    """Open-to-end and page-move timings of the event log over the journal at ``root``."""
    from textual.app import App, ComposeResult

    from life_tui.tui.widgets.event_log import EventLogPane

    class Bench(App[None]):
        def compose(self) -> ComposeResult:
            yield EventLogPane()

    app = Bench()
    async with app.run_test(size=size) as pilot:
        pane = app.query_one(EventLogPane)
        await pilot.pause()
        started = time.perf_counter()
        reader = JournalReader.open(root)
        pane.reset([], branch_context(reader, session_id, "main"))
        rows = pane.rows
        height = rows.scrollable_content_region.height
        drawn = [rows.render_line(y) for y in range(height)]  # the first frame's lines
        await pilot.pause()
        open_s = time.perf_counter() - started
        if rows.selected_seq != reader.head(session_id, "main") or not drawn:
            raise RuntimeError("the event log did not open at the end of the branch")

        def page(direction: int) -> float:
            t = time.perf_counter()
            rows.action_page(direction)
            for y in range(height):
                rows.render_line(y)
            return time.perf_counter() - t

        cold = [page(-1) for _ in range(pages)]
        for _ in range(pages):
            rows.action_page(1)
        warm = [page(-1) for _ in range(pages)]
        pressed: list[float] = []
        idle: list[float] = []
        rows.focus()
        for _ in range(20):
            t = time.perf_counter()
            await pilot.press("pageup")
            pressed.append(time.perf_counter() - t)
            t = time.perf_counter()
            await pilot.press("f24")  # bound to nothing: what Pilot's own round trip costs
            idle.append(time.perf_counter() - t)
    return {
        "events": reader.head(session_id, "main"),
        "open_to_end_s": round(open_s, 4),
        "page_cold_median_ms": round(statistics.median(cold) * 1000, 3),
        "page_cold_p95_ms": round(sorted(cold)[int(len(cold) * 0.95)] * 1000, 3),
        "page_warm_median_ms": round(statistics.median(warm) * 1000, 3),
        "pilot_pageup_median_ms": round(statistics.median(pressed) * 1000, 3),
        "pilot_unbound_key_median_ms": round(statistics.median(idle) * 1000, 3),
        "visible_rows": height,
        "ranged_reads": rows.window.reads,
    }


def main(argv: list[str]) -> None:
    root = Path(argv[1] if len(argv) > 1 else "bench-event-log-journal")
    events = int(argv[2]) if len(argv) > 2 else 1_000_000
    marker = root / "bench-session-id"
    built_s = None
    if not marker.exists():
        session_id, built_s = build_branch(root, events)
        marker.write_text(session_id)
    figures = asyncio.run(measure(root, marker.read_text().strip()))
    figures["build_s"] = round(built_s, 1) if built_s is not None else "reused"
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main(sys.argv)
