"""One line per event for the event log: what a person scanning the log wants to read for each kind.

Known kinds get a short sentence (the message text, the tool and its arguments, the file path...); any
other kind, including kinds this version does not know, shows its payload as compact JSON, so nothing is
hidden. Lines are cut to ``width`` on one line; the full event is one Enter away (the detail screen).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from life_tui.kernel.event import Event

Summariser = Callable[[dict[str, Any]], str]


def _text(value: Any) -> str:
    return " ".join(str(value).split())


def _args(data: dict[str, Any]) -> str:
    args = data.get("arguments") or {}
    shown = ", ".join(f"{k}={_text(v)[:40]}" for k, v in args.items()) if isinstance(args, dict) else _text(args)
    return f"{data.get('tool_name', '?')}({shown})"


def _usd(value: Any) -> str:
    return f" ${float(value):.4f}" if isinstance(value, int | float) else ""


_KNOWN: dict[str, Summariser] = {
    "user.message": lambda d: _text(d.get("content", "")),
    "assistant.message": lambda d: _text(d.get("content", "")) + _usd(d.get("cost_usd")),
    "assistant.text_delta": lambda d: _text(d.get("delta", "")),
    "assistant.reasoning_delta": lambda d: _text(d.get("delta", "")),
    "tool.call_requested": _args,
    "approval.requested": lambda d: f"{_args(d)} risk={d.get('risk', '?')}",
    "tool.call_started": lambda d: str(d.get("tool_name", "")),
    "tool.call_completed": lambda d: f"{d.get('tool_name', '')} → {_text(d.get('result', ''))}",
    "tool.call_failed": lambda d: f"{d.get('tool_name', '')} ✗ {_text(d.get('error', ''))}",
    "file.written": lambda d: f"{d.get('path', '')} ({d.get('size_bytes', 0)} bytes)",
    "file.deleted": lambda d: str(d.get("path", "")),
    "branch.created": lambda d: f"{d.get('name', '')} from {d.get('parent', '')} at {d.get('fork_seq', '')}",
    "phase.entered": lambda d: str(d.get("phase", "")),
    "mode.changed": lambda d: f"{d.get('previous', '')} → {d.get('mode', '')}",
    "run.finished": lambda d: str(d.get("reason", "")),
    "workspace.rewound": lambda d: f"to {d.get('to_seq', '')}: {', '.join(d.get('restored', {}))}",
}


def summary(event: Event, width: int = 200) -> str:
    """The event's one-line summary, at most ``width`` characters."""
    try:
        data = event.payload_dict()
    except ValueError:
        data = {}
    known = _KNOWN.get(event.kind)
    text = known(data) if known is not None else _text(json.dumps(data, ensure_ascii=False, sort_keys=True))
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
