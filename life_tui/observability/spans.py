"""Spans of one run, folded from its events (OpenTelemetry GenAI shape).

The loop records a ``phase.entered`` event at every phase boundary, an ``assistant.message`` per provider
call and a request/start/end triple per tool call, so the whole trace of a run can be rebuilt from the
journal: it exists for replayed, imported and old sessions exactly as for the live one, and nothing in
the runtime has to keep timers for it. The tree:

- ``invoke_agent`` — the run (user message to ``run.finished``), with the run's totals;
  - ``phase <name>`` — one per ``phase.entered``, ending at the next boundary;
    - ``chat <model>`` — the provider call inside the ``provider`` phase, ending at its ``assistant.message``;
    - ``execute_tool <tool>`` — a tool call from request to completion or failure;
      - ``approval <tool>`` — the wait for a person's decision.

Attribute names follow the OpenTelemetry GenAI semantic conventions (``gen_ai.operation.name``,
``gen_ai.request.model``, ``gen_ai.usage.input_tokens``, ...); what they have no name for is under
``life.*``. Span and trace ids are derived from event and run ids, so the same events always give the
same spans. A run that has not finished yet gives spans that end at its last event, marked
``life.in_progress``. Pure: this module reads events and imports only the kernel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import msgspec

from life_tui.kernel.event import Event, compute_hash

AttributeValue = str | int | float | bool | list[str]


class SpanKind(StrEnum):
    """What a span stands for; the GenAI operation name where one exists."""

    INVOKE_AGENT = "invoke_agent"
    PHASE = "phase"
    CHAT = "chat"
    EXECUTE_TOOL = "execute_tool"
    APPROVAL = "approval"


class SpanStatus(StrEnum):
    """OpenTelemetry span status codes."""

    UNSET = "unset"
    OK = "ok"
    ERROR = "error"


class Span(msgspec.Struct, frozen=True, kw_only=True):
    """One finished (or, for a live run, so-far) span. Times are microseconds since the Unix epoch (UTC)."""

    name: str
    kind: str
    span_id: str
    parent_id: str | None
    trace_id: str
    start_us: int
    end_us: int
    attributes: dict[str, AttributeValue]
    status: str = SpanStatus.UNSET.value

    @property
    def duration_us(self) -> int:
        return self.end_us - self.start_us

    @property
    def duration_ms(self) -> float:
        return self.duration_us / 1000


def run_ids(events: Iterable[Event]) -> list[str]:
    """The ids of the runs among ``events``, in the order they started."""
    seen: dict[str, None] = {}
    for event in events:
        if event.run_id is not None and event.kind == "run.started":
            seen.setdefault(event.run_id, None)
    return list(seen)


def spans_for_run(events: Sequence[Event], run_id: str | None = None) -> list[Span]:
    """The spans of run ``run_id`` (None: the last run) among ``events``, parents before children.

    ``events`` is a branch's events in seq order (others' events are skipped); an unknown run, or events
    without any run, give an empty list.
    """
    chosen = run_id if run_id is not None else _last_run(events)
    if chosen is None:
        return []
    own = [e for e in events if e.run_id == chosen]
    if not own:
        return []
    fold = _RunFold(chosen, own[0])
    for event in own:
        fold.apply(event)
    return fold.finish(own[-1])


def _last_run(events: Sequence[Event]) -> str | None:
    for event in reversed(events):
        if event.kind == "run.started" and event.run_id is not None:
            return event.run_id
    for event in reversed(events):
        if event.run_id is not None:
            return event.run_id
    return None


def _derived_id(label: str, event_id: str, length: int = 16) -> str:
    return compute_hash(f"{label}:{event_id}".encode())[:length]


@dataclass
class _OpenSpan:
    name: str
    kind: SpanKind
    span_id: str
    parent_id: str | None
    start_us: int
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    status: SpanStatus = SpanStatus.UNSET
    end_us: int | None = None

    def close(self, at_us: int, status: SpanStatus | None = None) -> None:
        if self.end_us is None:
            self.end_us = at_us
            if status is not None:
                self.status = status


class _RunFold:
    """Builds the span tree of one run, one event at a time."""

    def __init__(self, run_id: str, first: Event) -> None:
        self.trace_id = first.trace_id or compute_hash(run_id.encode())[:32]
        self.root = _OpenSpan(
            name=f"{SpanKind.INVOKE_AGENT.value} {first.agent_id}",
            kind=SpanKind.INVOKE_AGENT,
            span_id=_derived_id("run", run_id),
            parent_id=None,
            start_us=first.occurred_at,
            attributes={
                "gen_ai.operation.name": SpanKind.INVOKE_AGENT.value,
                "gen_ai.agent.id": first.agent_id,
                "gen_ai.conversation.id": first.session_id,
                "life.session_id": first.session_id,
                "life.branch": first.branch,
                "life.run_id": run_id,
                "life.first_seq": first.seq,
            },
        )
        self.spans: list[_OpenSpan] = [self.root]
        self.phase: _OpenSpan | None = None
        self.chat: _OpenSpan | None = None
        self.failed_chat: _OpenSpan | None = None
        self.tools: dict[str, _OpenSpan] = {}
        self.approvals: dict[str, _OpenSpan] = {}
        self.request_model: str | None = None
        self.provider: str | None = None
        self.totals = {"input_tokens": 0, "output_tokens": 0, "cached_tokens": 0, "chats": 0, "tool_calls": 0}
        self.cost_usd = 0.0

    def _open(self, span: _OpenSpan) -> _OpenSpan:
        self.spans.append(span)
        return span

    def _parent(self) -> str:
        return self.phase.span_id if self.phase is not None and self.phase.end_us is None else self.root.span_id

    # ---------------------------------------------------------------------------------- per event
    def apply(self, event: Event) -> None:
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            handler(self, event, event.payload_dict())
        elif event.kind == "assistant.text_delta" and self.chat is not None:
            self.chat.attributes.setdefault(
                "life.time_to_first_token_ms", (event.occurred_at - self.chat.start_us) / 1000
            )

    def run_started(self, event: Event, data: dict[str, Any]) -> None:
        self.provider = str(data.get("provider", "")) or None
        self.request_model = data.get("model")
        if self.provider:
            self.root.attributes["gen_ai.provider.name"] = self.provider
        if self.request_model:
            self.root.attributes["gen_ai.request.model"] = self.request_model
        if data.get("max_turns") is not None:
            self.root.attributes["life.max_turns"] = int(data["max_turns"])

    def phase_entered(self, event: Event, data: dict[str, Any]) -> None:
        self._end_chat(event.occurred_at)
        if self.phase is not None:
            self.phase.close(event.occurred_at, SpanStatus.OK)
        name = str(data.get("phase", "?"))
        self.phase = self._open(
            _OpenSpan(
                name=f"phase {name}",
                kind=SpanKind.PHASE,
                span_id=_derived_id("phase", event.event_id),
                parent_id=self.root.span_id,
                start_us=event.occurred_at,
                attributes={"life.phase": name, "life.tick": int(data.get("tick", 0)), "life.seq": event.seq},
            )
        )
        if name == "provider":
            self.chat = self._open(self._chat_span(event, self.request_model))

    def _chat_span(self, event: Event, model: str | None) -> _OpenSpan:
        attributes: dict[str, AttributeValue] = {"gen_ai.operation.name": SpanKind.CHAT.value}
        if self.provider:
            attributes["gen_ai.provider.name"] = self.provider
        if model:
            attributes["gen_ai.request.model"] = model
        return _OpenSpan(
            name=f"{SpanKind.CHAT.value} {model or 'model'}",
            kind=SpanKind.CHAT,
            span_id=_derived_id("chat", event.event_id),
            parent_id=self._parent(),
            start_us=event.occurred_at,
            attributes=attributes,
        )

    def assistant_message(self, event: Event, data: dict[str, Any]) -> None:
        chat = self.chat if self.chat is not None else self._open(self._chat_span(event, self.request_model))
        self.chat = None
        self.failed_chat = chat if data.get("stop_reason") == "error" else None
        usage = data.get("usage") or {}
        input_tokens = int(usage.get("input_tokens", 0))
        output_tokens = int(usage.get("output_tokens", 0))
        cached_tokens = int(usage.get("cached_tokens", 0))
        stop_reason = str(data.get("stop_reason") or "")
        attrs = chat.attributes
        if data.get("model"):
            attrs["gen_ai.response.model"] = str(data["model"])
        attrs["gen_ai.usage.input_tokens"] = input_tokens
        attrs["gen_ai.usage.output_tokens"] = output_tokens
        attrs["gen_ai.usage.cache_read.input_tokens"] = cached_tokens
        if stop_reason:
            attrs["gen_ai.response.finish_reasons"] = [stop_reason]
        cost = data.get("cost_usd")
        if cost is not None:
            attrs["life.cost_usd"] = float(cost)
            self.cost_usd += float(cost)
        attrs["life.tool_calls"] = len(data.get("tool_calls") or [])
        attrs["life.seq"] = event.seq
        self.totals["input_tokens"] += input_tokens
        self.totals["output_tokens"] += output_tokens
        self.totals["cached_tokens"] += cached_tokens
        self.totals["chats"] += 1
        if stop_reason in ("error", "cancelled"):
            attrs["error.type"] = stop_reason
        chat.close(event.occurred_at, SpanStatus.ERROR if stop_reason == "error" else SpanStatus.OK)

    def error_raised(self, event: Event, data: dict[str, Any]) -> None:
        if data.get("source") != "provider":
            return
        target = self.chat or self.failed_chat or self.root  # the loop records the message, then the error
        if data.get("is_error", True):
            target.attributes["error.type"] = "provider_error"
            target.attributes["life.error"] = str(data.get("message", ""))
            if target is not self.root:
                target.status = SpanStatus.ERROR
        else:
            retries = target.attributes.get("life.retries", 0)
            target.attributes["life.retries"] = int(retries) + 1 if isinstance(retries, int) else 1

    def tool_requested(self, event: Event, data: dict[str, Any]) -> None:
        call_id = str(data.get("call_id", ""))
        tool = str(data.get("tool_name", "?"))
        self.totals["tool_calls"] += 1
        self.tools[call_id] = self._open(
            _OpenSpan(
                name=f"{SpanKind.EXECUTE_TOOL.value} {tool}",
                kind=SpanKind.EXECUTE_TOOL,
                span_id=_derived_id("tool", event.event_id),
                parent_id=self._parent(),
                start_us=event.occurred_at,
                attributes={
                    "gen_ai.operation.name": SpanKind.EXECUTE_TOOL.value,
                    "gen_ai.tool.name": tool,
                    "gen_ai.tool.call.id": call_id,
                    "gen_ai.tool.type": "function",
                    "life.seq": event.seq,
                },
            )
        )

    def tool_started(self, event: Event, data: dict[str, Any]) -> None:
        span = self.tools.get(str(data.get("call_id", "")))
        if span is not None:
            span.attributes["life.tool.queued_ms"] = (event.occurred_at - span.start_us) / 1000
            span.attributes["life.tool.sandboxed"] = bool(data.get("sandboxed", False))

    def tool_ended(self, event: Event, data: dict[str, Any]) -> None:
        span = self.tools.pop(str(data.get("call_id", "")), None)
        if span is None:
            return
        span.attributes["life.tool.duration_ms"] = float(data.get("duration_ms", 0.0))
        failed = event.kind == "tool.call_failed" or bool(data.get("is_error", False))
        if failed:
            span.attributes["error.type"] = "tool_failed" if event.kind == "tool.call_failed" else "tool_error"
            message = data.get("error") if event.kind == "tool.call_failed" else data.get("result")
            span.attributes["life.error"] = str(message or "")[:500]
        span.close(event.occurred_at, SpanStatus.ERROR if failed else SpanStatus.OK)

    def approval_requested(self, event: Event, data: dict[str, Any]) -> None:
        tool_span = self.tools.get(str(data.get("call_id", "")))
        tool = str(data.get("tool_name", "?"))
        approval_id = str(data.get("approval_id", ""))
        self.approvals[approval_id] = self._open(
            _OpenSpan(
                name=f"{SpanKind.APPROVAL.value} {tool}",
                kind=SpanKind.APPROVAL,
                span_id=_derived_id("approval", event.event_id),
                parent_id=tool_span.span_id if tool_span is not None else self._parent(),
                start_us=event.occurred_at,
                attributes={
                    "life.approval.id": approval_id,
                    "gen_ai.tool.name": tool,
                    "gen_ai.tool.call.id": str(data.get("call_id", "")),
                    "life.approval.risk": str(data.get("risk", "")),
                },
            )
        )

    def approval_decided(self, event: Event, data: dict[str, Any]) -> None:
        span = self.approvals.pop(str(data.get("approval_id", "")), None)
        if span is None:
            return
        decision = event.kind.removeprefix("approval.")
        span.attributes["life.approval.decision"] = decision
        if decision == "granted":
            span.attributes["life.approval.scope"] = str(data.get("scope", "once"))
        for key in ("by", "reason"):
            if data.get(key):
                span.attributes[f"life.approval.{key}"] = str(data[key])
        span.close(event.occurred_at, SpanStatus.OK)

    def run_errored(self, event: Event, data: dict[str, Any]) -> None:
        self.root.status = SpanStatus.ERROR
        self.root.attributes["error.type"] = "run_error"
        self.root.attributes["life.error"] = str(data.get("error", ""))

    def run_finished(self, event: Event, data: dict[str, Any]) -> None:
        reason = str(data.get("reason", ""))
        self.root.attributes["life.run.reason"] = reason
        self.root.attributes["life.run.turns"] = int(data.get("turns", 0))
        if reason in ("error", "interrupted"):
            self.root.status = SpanStatus.ERROR
            self.root.attributes.setdefault("error.type", reason)
        self._close_all(event.occurred_at)
        self.root.close(event.occurred_at, self.root.status if self.root.status is SpanStatus.ERROR else SpanStatus.OK)

    # ------------------------------------------------------------------------------------- the end
    def _end_chat(self, at_us: int) -> None:
        if self.chat is not None:  # the call ended without a message (a cancel before any text)
            self.chat.attributes.setdefault("error.type", "no_response")
            self.chat.close(at_us, SpanStatus.ERROR)
            self.chat = None

    def _close_all(self, at_us: int) -> None:
        self._end_chat(at_us)
        for span in self.spans:
            if span is not self.root and span.end_us is None:
                span.close(at_us, SpanStatus.UNSET if span.kind is SpanKind.APPROVAL else span.status)
        self.tools.clear()
        self.approvals.clear()

    def finish(self, last: Event) -> list[Span]:
        root = self.root.attributes
        root["gen_ai.usage.input_tokens"] = self.totals["input_tokens"]
        root["gen_ai.usage.output_tokens"] = self.totals["output_tokens"]
        root["gen_ai.usage.cache_read.input_tokens"] = self.totals["cached_tokens"]
        root["life.chats"] = self.totals["chats"]
        root["life.tool_calls"] = self.totals["tool_calls"]
        root["life.cost_usd"] = round(self.cost_usd, 8)
        root["life.last_seq"] = last.seq
        for span in self.spans:
            if span.end_us is None:
                span.attributes["life.in_progress"] = True
                span.end_us = last.occurred_at
        return [
            Span(
                name=s.name,
                kind=s.kind.value,
                span_id=s.span_id,
                parent_id=s.parent_id,
                trace_id=self.trace_id,
                start_us=s.start_us,
                end_us=s.end_us if s.end_us is not None else last.occurred_at,
                attributes=s.attributes,
                status=s.status.value,
            )
            for s in self.spans
        ]


_HANDLERS = {
    "run.started": _RunFold.run_started,
    "phase.entered": _RunFold.phase_entered,
    "assistant.message": _RunFold.assistant_message,
    "error.raised": _RunFold.error_raised,
    "tool.call_requested": _RunFold.tool_requested,
    "tool.call_started": _RunFold.tool_started,
    "tool.call_completed": _RunFold.tool_ended,
    "tool.call_failed": _RunFold.tool_ended,
    "approval.requested": _RunFold.approval_requested,
    "approval.granted": _RunFold.approval_decided,
    "approval.denied": _RunFold.approval_decided,
    "approval.expired": _RunFold.approval_decided,
    "run.errored": _RunFold.run_errored,
    "run.finished": _RunFold.run_finished,
}
