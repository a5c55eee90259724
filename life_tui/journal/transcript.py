"""A session as a readable transcript (Markdown), for ``life-tui cat`` and ``export --format md``.

Pure rendering over events: who said what, which tools ran with which arguments and results, forks,
merges and errors. Streaming deltas are folded into the message they belong to, so the transcript reads
like the conversation rather than like the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from life_tui.journal.catalog import SessionInfo
from life_tui.kernel.clock import iso_utc
from life_tui.kernel.event import Event

_MAX_RESULT = 2_000


def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _short(text: str, limit: int = _MAX_RESULT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"


def render_markdown(session: SessionInfo, branch: str, events: Iterable[Event]) -> str:
    out = [f"# {session.name or 'session'}", ""]
    out.append(f"- session: `{session.session_id}`  branch: `{branch}`")
    out.append(f"- created: {iso_utc(session.created_at)}")
    if session.workspace:
        out.append(f"- workspace: `{session.workspace}`")
    out.append("")
    pending_text: list[str] = []

    def flush_deltas() -> None:
        if pending_text:
            out.extend(["**assistant** (streamed)", "", "".join(pending_text), ""])
            pending_text.clear()

    for e in events:
        data: dict[str, Any] = e.payload_dict()
        kind = e.kind
        stamp = f"<sub>#{e.seq} · {iso_utc(e.occurred_at)}</sub>"
        if kind == "assistant.text_delta":
            pending_text.append(str(data.get("delta", "")))
            continue
        if kind == "assistant.message":
            pending_text.clear()
        else:
            flush_deltas()
        if kind == "user.message":
            out.extend([f"## user {stamp}", "", str(data.get("content", "")), ""])
        elif kind == "assistant.message":
            model = f" ({data['model']})" if data.get("model") else ""
            out.extend([f"## assistant{model} {stamp}", ""])
            if data.get("reasoning"):
                out.extend(["> " + line for line in str(data["reasoning"]).splitlines()] + [""])
            out.extend([str(data.get("content", "")), ""])
        elif kind == "tool.call_requested":
            args = json.dumps(data.get("arguments", {}), indent=2, ensure_ascii=False)
            out.extend([f"### tool call `{data.get('tool_name')}` {stamp}", "", _fence(args, "json"), ""])
        elif kind in ("tool.call_completed", "tool.call_failed"):
            status = "failed" if kind.endswith("failed") or data.get("is_error") else "ok"
            body = str(data.get("error") or data.get("result") or "")
            ms = data.get("duration_ms")
            took = f" in {float(ms):.0f} ms" if isinstance(ms, int | float) else ""
            out.extend([f"### tool result `{data.get('tool_name')}`: {status}{took} {stamp}", ""])
            if body:
                out.extend([_fence(_short(body)), ""])
        elif kind == "branch.created":
            out.extend(
                [
                    "---",
                    f"*branch `{e.branch}` forked from `{data.get('parent')}` at #{data.get('fork_seq')}* {stamp}",
                    "",
                ]
            )
        elif kind == "branch.merged":
            out.extend([f"*merged `{data.get('source')}` (through #{data.get('source_head_seq')})* {stamp}", ""])
        elif kind in ("error.raised", "run.errored"):
            out.extend([f"> **error**: {data.get('message') or data.get('error')} {stamp}", ""])
        elif kind == "context.compacted":
            out.extend(
                [
                    f"*context #{data.get('from_seq')}–#{data.get('to_seq')} compacted* {stamp}",
                    "",
                    str(data.get("summary", "")),
                    "",
                ]
            )
        elif kind in ("approval.requested", "approval.granted", "approval.denied", "approval.expired"):
            out.extend([f"*{kind.replace('.', ' ')}* {stamp}", ""])
        elif kind in ("session.closed", "session.tombstoned"):
            out.extend([f"*{kind.split('.')[1]}: {data.get('reason', '')}* {stamp}", ""])
    flush_deltas()
    return "\n".join(out).rstrip() + "\n"
