"""What ``life-tui --headless`` prints: the four output formats, built from the journal's durable events.

Every renderer is fed the branch's events from a subscription, in seq order and only once they are durable,
so what is printed is what was stored (never the loop's memory):

- ``text``: the assistant's text as it streams, on stdout; tool activity and approvals as short lines on
  stderr; a newline at the end of each run.
- ``json``: one result object at the end of the invocation (:func:`result_record`).
- ``stream-json``: NDJSON in the shape Claude Code's ``--output-format stream-json`` made common: a
  ``system/init`` record, an ``assistant`` record per assistant message (text, thinking and ``tool_use``
  blocks, usage), a ``user`` record per tool result (``tool_result`` blocks), ``system/approval_request``
  records, and a ``result`` record per run. With ``--include-partial-messages`` the text and reasoning
  deltas come as ``stream_event`` records too.
- ``events``: the journal's events themselves, one canonical encoding (``encode_event``) per line.

:class:`RunTally` folds one run's events (``run.started`` .. ``run.finished``) into the numbers a result
record reports; the driver adds what only the loop's outcome knows (how many calls were denied).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import msgspec

from life_tui.errors import ExitCode
from life_tui.kernel.event import Event, encode_event

OUTPUT_FORMATS = ("text", "json", "stream-json", "events")
INPUT_FORMATS = ("text", "stream-json")

SUBTYPES = {
    "final_answer": "success",
    "max_turns": "error_max_turns",
    "budget": "error_max_budget",  # error_max_budget_usd when the cost budget ran out
    "blocked": "error_blocked",
    "cancelled": "error_cancelled",
    "error": "error_during_execution",
}
"""``result.subtype`` per run stop reason (Claude Code's names where it has one)."""

_encoder = msgspec.json.Encoder()


class Output:
    """stdout as bytes, flushed per write; a closed pipe silences it instead of failing the run."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer
        self.closed = False

    def write(self, data: bytes | str) -> None:
        if self.closed:
            return
        raw = data.encode("utf-8") if isinstance(data, str) else data
        try:
            self._stream.write(raw)
            self._stream.flush()
        except (BrokenPipeError, ValueError):
            self.closed = True

    def record(self, value: dict[str, Any]) -> None:
        self.write(_encoder.encode(value) + b"\n")


def note(line: str) -> None:
    """One line of activity or diagnostics on stderr (never on stdout, which belongs to the format)."""
    try:
        sys.stdout.flush()
        sys.stderr.write(line.rstrip("\n") + "\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass


def short(value: Any, width: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ------------------------------------------------------------------------------------------- results
@dataclass
class RunTally:
    """One run's numbers, folded from its events."""

    run_id: str | None = None
    started_at: int = 0
    finished_at: int = 0
    reason: str | None = None
    final_answer: str | None = None
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    model: str | None = None
    provider_failed: bool = False
    errors: list[str] = field(default_factory=list)
    denials: list[dict[str, Any]] = field(default_factory=list)
    _asked: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, e: Event) -> None:
        kind = e.kind
        if kind == "run.started":
            self.run_id, self.started_at = e.run_id, e.occurred_at
            self.model = e.payload_dict().get("model") or self.model
            return
        if not kind.startswith(("assistant.message", "error.", "run.", "approval.", "tool.call_failed")):
            return
        data = e.payload_dict()
        if kind == "assistant.message":
            usage = data.get("usage") or {}
            self.input_tokens += int(usage.get("input_tokens", 0))
            self.output_tokens += int(usage.get("output_tokens", 0))
            self.cached_tokens += int(usage.get("cached_tokens", 0))
            self.cache_write_tokens += int(usage.get("cache_write_tokens", 0))
            self.cost_usd += float(data.get("cost_usd") or 0.0)
            self.model = data.get("model") or self.model
        elif kind == "error.raised" and data.get("is_error", True):
            self.errors.append(str(data.get("message", "")))
            if data.get("source") == "provider":
                self.provider_failed = True
        elif kind == "run.errored":
            self.errors.append(str(data.get("error", "")))
        elif kind == "approval.requested":
            self._asked[str(data.get("approval_id"))] = data
        elif kind in ("approval.denied", "approval.expired"):
            asked = self._asked.get(str(data.get("approval_id")), {})
            self.denials.append(
                {
                    "tool_name": asked.get("tool_name"),
                    "tool_use_id": asked.get("call_id"),
                    "tool_input": asked.get("arguments", {}),
                    "approval_id": data.get("approval_id"),
                    "decision": "expired" if kind == "approval.expired" else "denied",
                }
            )
        elif kind == "tool.call_failed" and str(data.get("error", "")).startswith("not allowed:"):
            # refused by a rule or the mode, without asking anyone
            self.denials.append(
                {
                    "tool_name": data.get("tool_name"),
                    "tool_use_id": data.get("call_id"),
                    "tool_input": {},
                    "approval_id": None,
                    "decision": "refused",
                }
            )
        elif kind == "run.finished":
            self.reason = str(data.get("reason"))
            self.turns = int(data.get("turns", 0))
            self.final_answer = data.get("final_answer")
            self.finished_at = e.occurred_at


@dataclass
class RunResult:
    """A finished run as the driver sees it: the tally of its events and what the loop returned."""

    tally: RunTally
    reason: str
    denials: int
    error: str | None
    session_id: str
    branch: str
    exhausted: list[str] = field(default_factory=list)

    @property
    def subtype(self) -> str:
        if self.reason == "budget" and "cost" in self.exhausted:
            return "error_max_budget_usd"
        return SUBTYPES.get(self.reason, "error_during_execution")

    @property
    def exit_code(self) -> ExitCode:
        reason = self.reason
        if reason == "cancelled":
            return ExitCode.INTERRUPTED
        if reason == "max_turns":
            return ExitCode.MAX_TURNS
        if reason == "budget":
            return ExitCode.BUDGET_EXHAUSTED
        if reason == "blocked":
            return ExitCode.BLOCKED
        if reason == "error":
            return ExitCode.PROVIDER if self.tally.provider_failed else ExitCode.ERROR
        if self.denials:
            return ExitCode.DENIED
        return ExitCode.OK

    def problem(self) -> str | None:
        """A one-line account of why the exit code is not 0 (None when it is)."""
        code = self.exit_code
        if code is ExitCode.OK:
            return None
        if code is ExitCode.DENIED:
            n = self.denials
            return (
                f"{n} tool call{'s were' if n != 1 else ' was'} denied (approval was needed and nobody could give "
                "it; pass --yes to allow, or answer approvals with --input-format stream-json)"
            )
        if code is ExitCode.INTERRUPTED:
            return "interrupted: the running turn was cancelled (its partial output is in the journal)"
        if code is ExitCode.MAX_TURNS:
            return f"the run stopped after {self.tally.turns} model turns without a final answer (--max-turns)"
        if code is ExitCode.BUDGET_EXHAUSTED:
            spent = ", ".join(self.exhausted) or "budget"
            return f"the run stopped: its budget ran out ({spent}; see --max-budget-usd and [budget] in the config)"
        if code is ExitCode.BLOCKED:
            return f"the run was blocked by regulation: {self.error or 'blocked'}"
        return f"the run failed: {self.error or '; '.join(self.tally.errors) or 'unknown error'}"


def usage_record(t: RunTally) -> dict[str, int]:
    return {
        "input_tokens": t.input_tokens,
        "output_tokens": t.output_tokens,
        "cache_read_input_tokens": t.cached_tokens,
        "cache_creation_input_tokens": t.cache_write_tokens,
    }


def result_record(results: list[RunResult], *, session_id: str | None, branch: str | None) -> dict[str, Any]:
    """The ``result`` object: one run's, or (``json`` over several runs) the deciding run's with totals.

    The deciding run is the first whose exit code is not 0, else the last. Field names follow Claude
    Code's result message (``type``, ``subtype``, ``is_error``, ``duration_ms``, ``num_turns``, ``result``,
    ``session_id``, ``total_cost_usd``, ``usage``, ``permission_denials``), plus ``branch``,
    ``stop_reason`` (the run's: final_answer, max_turns, budget, blocked, cancelled, error), ``run_id``,
    ``model``, ``error`` and ``num_runs``.
    """
    if not results:
        return {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "duration_ms": 0,
            "num_turns": 0,
            "result": "",
            "session_id": session_id,
            "branch": branch,
            "stop_reason": None,
            "run_id": None,
            "model": None,
            "total_cost_usd": 0.0,
            "usage": usage_record(RunTally()),
            "permission_denials": [],
            "error": None,
            "num_runs": 0,
        }
    deciding = next((r for r in results if r.exit_code is not ExitCode.OK), results[-1])
    total = RunTally()
    duration_us = 0
    denials: list[dict[str, Any]] = []
    for r in results:
        t = r.tally
        total.turns += t.turns
        total.input_tokens += t.input_tokens
        total.output_tokens += t.output_tokens
        total.cached_tokens += t.cached_tokens
        total.cache_write_tokens += t.cache_write_tokens
        total.cost_usd += t.cost_usd
        duration_us += max(t.finished_at - t.started_at, 0) if t.started_at else 0
        denials += t.denials
    t = deciding.tally
    is_error = deciding.reason != "final_answer"
    return {
        "type": "result",
        "subtype": deciding.subtype,
        "is_error": is_error,
        "duration_ms": round(duration_us / 1000, 3),
        "num_turns": total.turns,
        "result": t.final_answer or "",
        "session_id": deciding.session_id,
        "branch": deciding.branch,
        "stop_reason": deciding.reason,
        "run_id": t.run_id,
        "model": t.model,
        "total_cost_usd": round(total.cost_usd, 8),
        "usage": usage_record(total),
        "permission_denials": denials,
        "error": (deciding.error or "; ".join(t.errors) or None) if is_error else None,
        "num_runs": len(results),
    }


# ----------------------------------------------------------------------------------------- renderers
class Renderer:
    """Turns a branch's durable events into one output format. ``handle`` is called once per event."""

    def __init__(self, out: Output, session_id: str, branch: str) -> None:
        self.out = out
        self.session_id = session_id
        self.branch = branch
        self.tally: RunTally | None = None
        self.asked: set[str] = set()
        """Approval ids whose request has been printed (so a client may be answering it)."""
        self.decided: set[str] = set()

    def retarget(self, session_id: str, branch: str) -> None:
        self.session_id, self.branch = session_id, branch

    def handle(self, e: Event) -> None:
        if e.kind == "run.started":
            self.tally = RunTally()
        if self.tally is not None:
            self.tally.apply(e)
        if e.kind.startswith("approval."):
            approval_id = str(e.payload_dict().get("approval_id"))
            (self.asked if e.kind == "approval.requested" else self.decided).add(approval_id)
        self.render(e)

    def take_tally(self) -> RunTally:
        tally, self.tally = self.tally or RunTally(), None
        return tally

    def render(self, e: Event) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def init(self, info: dict[str, Any]) -> None:
        """The session is ready (``info``: the init record's fields)."""

    def forked(self, info: dict[str, Any]) -> None:
        """The invocation moved to a new branch."""

    def result(self, result: RunResult) -> None:
        """A run ended and every one of its events has been rendered."""

    def input_error(self, message: str, line: int) -> None:
        """A stdin line was rejected."""

    def finish(self, results: list[RunResult]) -> None:
        """The invocation is over."""


class EventsRenderer(Renderer):
    def render(self, e: Event) -> None:
        self.out.write(encode_event(e) + b"\n")


class TextRenderer(Renderer):
    def __init__(self, out: Output, session_id: str, branch: str) -> None:
        super().__init__(out, session_id, branch)
        self._streamed = False  # text of the current assistant message went out as deltas
        self._printed = False  # something was printed in this run
        self._last = ""
        self._break = False

    def _text(self, text: str) -> None:
        if not text:
            return
        if self._break:
            self.out.write("\n" if self._last.endswith("\n") else "\n\n")
            self._break = False
        self.out.write(text)
        self._printed, self._last = True, text

    def render(self, e: Event) -> None:
        kind = e.kind
        if kind == "run.started":
            self._printed = self._break = False
            self._last = ""
        elif kind == "assistant.text_delta":
            self._text(str(e.payload_dict().get("delta", "")))
            self._streamed = True
        elif kind == "assistant.message":
            content = str(e.payload_dict().get("content", ""))
            if not self._streamed:
                self._text(content)
            self._streamed = False
            self._break = self._printed
        elif kind == "tool.call_requested":
            data = e.payload_dict()
            note(f"[tool] {data.get('tool_name')} {short(data.get('arguments', {}))}")
        elif kind == "tool.call_completed":
            data = e.payload_dict()
            result = str(data.get("result", ""))
            lines = result.count("\n") + 1 if result else 0
            status = "error" if data.get("is_error") else "ok"
            note(f"[tool] {data.get('tool_name')} {status} ({lines} line{'s' if lines != 1 else ''})")
        elif kind == "tool.call_failed":
            data = e.payload_dict()
            note(f"[tool] {data.get('tool_name')} failed: {short(data.get('error', ''))}")
        elif kind == "approval.requested":
            data = e.payload_dict()
            note(
                f"[approval] {data.get('approval_id')}: {data.get('tool_name')} {short(data.get('arguments', {}))}"
                " needs approval"
            )
        elif kind in ("approval.granted", "approval.denied", "approval.expired"):
            data = e.payload_dict()
            note(f"[approval] {data.get('approval_id')} {kind.split('.')[1]}")

    def result(self, result: RunResult) -> None:
        if self._printed and not self._last.endswith("\n"):
            self.out.write("\n")
        self._printed = False
        self._last = ""


class JsonRenderer(Renderer):
    def render(self, e: Event) -> None:
        return None  # everything is in the one result object

    def finish(self, results: list[RunResult]) -> None:
        self.out.record(result_record(results, session_id=self.session_id, branch=self.branch))


class StreamJsonRenderer(Renderer):
    def __init__(self, out: Output, session_id: str, branch: str, *, partial: bool = False) -> None:
        super().__init__(out, session_id, branch)
        self.partial = partial

    def init(self, info: dict[str, Any]) -> None:
        self.out.record({"type": "system", "subtype": "init", **info})

    def forked(self, info: dict[str, Any]) -> None:
        self.out.record({"type": "system", "subtype": "fork", **info})

    def result(self, result: RunResult) -> None:
        self.out.record(result_record([result], session_id=self.session_id, branch=self.branch))

    def input_error(self, message: str, line: int) -> None:
        self.out.record({"type": "error", "error": message, "line": line, "session_id": self.session_id or None})

    def render(self, e: Event) -> None:
        kind = e.kind
        if kind in ("assistant.text_delta", "assistant.reasoning_delta"):
            if self.partial:
                text = str(e.payload_dict().get("delta", ""))
                delta = (
                    {"type": "text_delta", "text": text}
                    if kind == "assistant.text_delta"
                    else {"type": "thinking_delta", "thinking": text}
                )
                self.out.record(
                    {
                        "type": "stream_event",
                        "event": {"type": "content_block_delta", "delta": delta},
                        "session_id": self.session_id,
                        "uuid": e.event_id,
                    }
                )
            return
        if kind == "assistant.message":
            self._assistant(e)
        elif kind in ("tool.call_completed", "tool.call_failed"):
            data = e.payload_dict()
            ok = kind == "tool.call_completed"
            block = {
                "type": "tool_result",
                "tool_use_id": data.get("call_id"),
                "content": str(data.get("result", "") if ok else data.get("error", "")),
                "is_error": bool(data.get("is_error")) if ok else True,
            }
            self.out.record(
                {
                    "type": "user",
                    "message": {"role": "user", "content": [block]},
                    "parent_tool_use_id": None,
                    "session_id": self.session_id,
                    "uuid": e.event_id,
                }
            )
        elif kind == "approval.requested":
            data = e.payload_dict()
            self.out.record(
                {
                    "type": "system",
                    "subtype": "approval_request",
                    "approval_id": data.get("approval_id"),
                    "tool_use_id": data.get("call_id"),
                    "tool_name": data.get("tool_name"),
                    "input": data.get("arguments", {}),
                    "expires_at": data.get("expires_at"),
                    "session_id": self.session_id,
                }
            )
        elif kind in ("approval.granted", "approval.denied", "approval.expired"):
            data = e.payload_dict()
            self.out.record(
                {
                    "type": "system",
                    "subtype": "approval_decision",
                    "approval_id": data.get("approval_id"),
                    "decision": kind.split(".")[1],
                    "scope": data.get("scope"),
                    "by": data.get("by"),
                    "reason": data.get("reason"),
                    "session_id": self.session_id,
                }
            )

    def _assistant(self, e: Event) -> None:
        data = e.payload_dict()
        content: list[dict[str, Any]] = []
        if data.get("reasoning"):
            content.append({"type": "thinking", "thinking": data["reasoning"]})
        if data.get("content"):
            content.append({"type": "text", "text": data["content"]})
        for call in data.get("tool_calls") or []:
            content.append(
                {
                    "type": "tool_use",
                    "id": call.get("id"),
                    "name": call.get("name"),
                    "input": call.get("arguments") or {},
                }
            )
        usage = data.get("usage") or {}
        self.out.record(
            {
                "type": "assistant",
                "message": {
                    "role": "assistant",
                    "model": data.get("model"),
                    "content": content,
                    "stop_reason": data.get("stop_reason"),
                    "usage": {
                        "input_tokens": int(usage.get("input_tokens", 0)),
                        "output_tokens": int(usage.get("output_tokens", 0)),
                        "cache_read_input_tokens": int(usage.get("cached_tokens", 0)),
                        "cache_creation_input_tokens": int(usage.get("cache_write_tokens", 0)),
                    },
                },
                "parent_tool_use_id": None,
                "session_id": self.session_id,
                "uuid": e.event_id,
            }
        )


def make_renderer(fmt: str, out: Output, *, partial: bool = False) -> Renderer:
    if fmt == "events":
        return EventsRenderer(out, "", "")
    if fmt == "json":
        return JsonRenderer(out, "", "")
    if fmt == "stream-json":
        return StreamJsonRenderer(out, "", "", partial=partial)
    return TextRenderer(out, "", "")
