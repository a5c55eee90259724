"""Replay: re-run a recorded branch and report the first place it no longer reproduces.

``replay_branch`` takes every user turn of a recorded branch and runs it again through the real loop, in a
scratch journal, with the replay provider (the recorded model responses: no spend), the recorded tool
results and the recorded approval decisions. The new events are compared with the recorded ones, kind by
kind and payload by payload, ignoring only what measures wall time (durations, remaining time, expiry
instants) and the events that describe the session rather than the agent (creation, resumption, forks,
provider switches, retry notes). With ``rerun_tools`` the tools really run against the workspace instead,
so a file that changed since the recording shows up as the first divergence.

``continue_live`` is the "what if": fork the real session at an event and run the remaining user turns
with a live provider from there.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from life_tui.journal.store import Journal, JournalOptions
from life_tui.journal.view import JournalView
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Actor, Event
from life_tui.kernel.kinds import decode_payload, payload_type
from life_tui.runtime.approvals import ApprovalMode, Decision
from life_tui.runtime.judging import judging_event
from life_tui.runtime.loop import ApprovalAnswer, ApprovalRequest, RunLimits
from life_tui.runtime.providers.base import Provider, ProviderError, ToolCall
from life_tui.runtime.providers.replay import RecordedTurn, ReplayProvider, recorded_turns
from life_tui.runtime.session import Session, SessionOptions
from life_tui.tools.registry import ToolContext, ToolOutput

VOLATILE_KEYS = frozenset({"duration_ms", "time_remaining_ms", "expires_at"})
STRUCTURAL_KINDS = frozenset(
    {"session.created", "session.resumed", "session.closed", "branch.created", "branch.merged", "provider.switched"}
)


TIMING_EVALUATORS = frozenset({"latency_outlier"})
"""Evaluators that score wall-clock timings, which a replay cannot reproduce."""


def comparable(event: Event) -> bool:
    if event.kind in STRUCTURAL_KINDS:
        return False
    if judging_event(event):  # LLM judges' verdicts and their billing are outside the runs replayed
        return False
    if event.kind == "autonomic.state_snapshot":  # informational, and full of timings (latency, uptime)
        return False
    if event.kind == "eval.inline_completed":
        return event.payload_dict().get("evaluator") not in TIMING_EVALUATORS
    if event.kind == "error.raised":  # retry notes are about the original call, not the agent
        data = event.payload_dict()
        return not (data.get("source") == "provider" and data.get("is_error") is False)
    return True


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items()) if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


@dataclass(frozen=True)
class Divergence:
    position: int
    """Index among the compared events."""
    recorded_seq: int | None
    replayed_seq: int | None
    expected: str
    got: str
    detail: str

    def __str__(self) -> str:
        where = f"recorded event #{self.recorded_seq}" if self.recorded_seq is not None else "after the recording"
        return f"first divergence at {where}: expected {self.expected}, got {self.got} ({self.detail})"


@dataclass
class ReplayReport:
    session_id: str
    branch: str
    through_seq: int
    turns: int
    compared: int
    divergence: Divergence | None = None
    outcomes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.divergence is None


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    shown = (repr(a)[:120], repr(b)[:120])
    return f"{path or 'payload'}: {shown[0]} != {shown[1]}"


def compare(recorded: list[Event], replayed: list[Event]) -> tuple[int, Divergence | None]:
    left = [e for e in recorded if comparable(e)]
    right = [e for e in replayed if comparable(e)]
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else None
        b = right[i] if i < len(right) else None
        if a is None or b is None:
            return i, Divergence(
                i, a.seq if a else None, b.seq if b else None,
                a.kind if a else "(end of recording)", b.kind if b else "(end of replay)",
                "the replay produced fewer events" if b is None else "the replay produced more events",
            )  # fmt: skip
        if a.kind != b.kind:
            return i, Divergence(i, a.seq, b.seq, a.kind, b.kind, "different kind of event")
        pa, pb = normalise(a.payload_dict()), normalise(b.payload_dict())
        if pa != pb:
            return i, Divergence(i, a.seq, b.seq, a.kind, b.kind, _first_difference(pa, pb))
    return len(left), None


class RecordedTools:
    """Serves each tool call the result it had in the recording (by call id), with its effects: the typed
    events the tool added right after its ``tool.call_completed`` (memory entries, a skill activation...)."""

    def __init__(self, events: list[Event]) -> None:
        self._results: dict[str, tuple[ToolOutput, float]] = {}
        effects: dict[str, list[Any]] = {}
        current: str | None = None
        for e in events:
            if e.kind == "tool.call_completed":
                d = e.payload_dict()
                current = str(d["call_id"])
                output = ToolOutput(str(d.get("result", "")), is_error=bool(d.get("is_error")))
                self._results[current] = (output, float(d.get("duration_ms", 0.0)))
                effects[current] = []
            elif (
                current is not None
                and e.actor == Actor.TOOL
                and not e.kind.startswith("tool.call_")
                and payload_type(e.kind) is not None
            ):
                effects[current].append(decode_payload(e.kind, e.payload))
            else:
                current = None
        for call_id, found in effects.items():
            if found:
                output, duration = self._results[call_id]
                self._results[call_id] = (replace(output, effects=tuple(found)), duration)

    async def __call__(self, call: ToolCall, context: ToolContext) -> tuple[ToolOutput, float]:
        found = self._results.get(call.id)
        if found is None:
            return ToolOutput(f"(the recording has no result for call {call.id})", is_error=True), 0.0
        return found


class RecordedDecisions:
    """Reproduces each call's recorded approval path: asked, denied by policy, or allowed."""

    def __init__(self, events: list[Event]) -> None:
        self._asked: set[str] = set()
        self._denied: dict[str, str] = {}
        self._answers: dict[str, ApprovalAnswer] = {}
        requested: set[str] = set()
        for e in events:
            d = e.payload_dict()
            if e.kind == "approval.requested":
                self._asked.add(str(d["call_id"]))
                requested.add(str(d["call_id"]))
            elif e.kind == "approval.granted":
                self._answers[str(d["approval_id"])] = ApprovalAnswer(
                    "granted", scope=str(d.get("scope", "once")), by=str(d.get("by", "user"))
                )
            elif e.kind == "approval.denied":
                self._answers[str(d["approval_id"])] = ApprovalAnswer(
                    "denied", reason=str(d.get("reason", "")), by=str(d.get("by", "user"))
                )
            elif e.kind == "approval.expired":
                self._answers[str(d["approval_id"])] = ApprovalAnswer("expired")
            elif (
                e.kind == "tool.call_failed"
                and str(d.get("error", "")).startswith("not allowed: ")
                and str(d["call_id"]) not in requested
            ):
                self._denied[str(d["call_id"])] = str(d["error"])[len("not allowed: ") :]

    def decide(self, call: ToolCall) -> tuple[Decision, str]:
        if call.id in self._denied:
            return Decision.DENY, self._denied[call.id]
        if call.id in self._asked:
            return Decision.ASK, "asked in the recording"
        return Decision.ALLOW, "allowed in the recording"

    async def __call__(self, request: ApprovalRequest) -> ApprovalAnswer:
        return self._answers.get(request.approval_id, ApprovalAnswer("expired"))


class RecordedLedger:
    """Gives the loop the reservations, settlements and releases of the recording, in order.

    A replay runs in a scratch journal with no wallet; what the ledger answered in the recording (and so
    what the regulator saw of the balance and burn) is reproduced instead, so economic decisions replay
    exactly. A replay that makes more calls than the recording gets a free reservation, which the
    comparison reports as a divergence.
    """

    def __init__(self, events: list[Event]) -> None:
        self._answers: list[k.CostReserved | k.CostRefused] = []
        self._settled: dict[str, k.CostSettled] = {}
        self._released: dict[str, k.CostReleased] = {}
        for e in events:
            if judging_event(e):  # a judge's reservation was never the loop's answer
                continue
            if e.kind in ("finance.reserved", "finance.refused"):
                self._answers.append(decode_payload(e.kind, e.payload))
            elif e.kind == "finance.settled":
                settled: k.CostSettled = decode_payload(e.kind, e.payload)
                self._settled.setdefault(settled.reservation_id, settled)
            elif e.kind == "finance.released":
                released: k.CostReleased = decode_payload(e.kind, e.payload)
                self._released.setdefault(released.reservation_id, released)
        self._next = 0

    def reserve(self, **call: Any) -> k.CostReserved | k.CostRefused:
        if self._next < len(self._answers):
            answer = self._answers[self._next]
            self._next += 1
            return answer
        self._next += 1
        return k.CostReserved(reservation_id=f"replay-{self._next}", amount_micro=0, model=str(call.get("model", "")))

    def settle(self, reservation_id: str, **usage: Any) -> k.CostSettled:
        found = self._settled.get(reservation_id)
        if found is not None:
            return found
        return k.CostSettled(
            reservation_id=reservation_id, amount_micro=int(usage.get("amount_micro", 0)), model=str(usage.get("model"))
        )

    def release(self, reservation_id: str, reason: str, now_us: int) -> k.CostReleased:
        return self._released.get(reservation_id) or k.CostReleased(reservation_id=reservation_id, reason=reason)


def _error_turns(turns: list[RecordedTurn], events: list[Event]) -> list[RecordedTurn | ProviderError]:
    """Recorded turns, with failed calls turned back into the provider errors they were."""
    errors = {e.seq: str(e.payload_dict().get("message", "")) for e in events if e.kind == "error.raised"}
    out: list[RecordedTurn | ProviderError] = []
    for turn in turns:
        if turn.response.stop_reason == "error":
            message = errors.get(turn.seq + 1, "recorded provider error")
            out.append(ProviderError(message, retryable=False))
        else:
            out.append(turn)
    return out


def _declared_costs(events: list[Event]) -> list[float | None]:
    """Per model-call attempt (each ``provider`` phase), what the recording reserved for it, in dollars
    (None: nothing, the call was free). A replayed model declares these, so the loop asks the recorded
    ledger at exactly the calls it asked in the recording, even for a model the price table makes free (a
    scripted turn that declared its cost)."""
    costs: list[float | None] = []
    for e in events:
        if e.kind == "phase.entered" and e.payload_dict().get("phase") == "provider":
            costs.append(None)
        elif e.kind in ("finance.reserved", "finance.refused") and not judging_event(e) and costs and costs[-1] is None:
            costs[-1] = int(e.payload_dict().get("amount_micro", 0)) / 1_000_000
    return costs


class _RecordedProvider(ReplayProvider):
    """Plays the recorded provider: its name and model per run, its answers and its failures, and the cost
    it declared (reserved) before each call."""

    def __init__(
        self,
        items: list[RecordedTurn | ProviderError],
        identities: list[tuple[str, str]],
        declared: list[float | None] | None = None,
    ) -> None:
        super().__init__([t for t in items if isinstance(t, RecordedTurn)])
        self._items = items
        self._i = 0
        self._identities = identities or [("replay", self.model)]
        self._run = -1
        self.name, self.model = self._identities[0]
        self._declared = declared or []
        self._attempt = 0

    def next_turn_cost_usd(self) -> float | None:
        """What the recording reserved before this call (the loop asks once per call, before making it)."""
        attempt, self._attempt = self._attempt, self._attempt + 1
        return self._declared[attempt] if attempt < len(self._declared) else None

    def next_run(self) -> None:
        self._run = min(self._run + 1, len(self._identities) - 1)
        self.name, self.model = self._identities[self._run]

    async def stream(self, request: Any) -> Any:
        if self._i < len(self._items) and isinstance(self._items[self._i], ProviderError):
            error = self._items[self._i]
            self._i += 1
            assert isinstance(error, ProviderError)
            raise error
        self._i += 1
        async for item in super().stream(request):
            yield item


def _user_turns(events: list[Event]) -> list[tuple[Event, RunLimits]]:
    turns: list[tuple[Event, RunLimits]] = []
    pending: Event | None = None
    for e in events:
        if e.kind == "user.message":
            pending = e
        elif e.kind == "run.started" and pending is not None:
            raw = e.payload_dict().get("limits") or {}
            limits = RunLimits(
                max_turns=int(raw.get("max_turns", RunLimits.max_turns)),
                tokens=int(raw.get("tokens", RunLimits.tokens)),
                time_s=float(raw.get("time_s", RunLimits.time_s)),
                cost_usd=float(raw.get("cost_usd", RunLimits.cost_usd)),
                tool_calls=int(raw.get("tool_calls", RunLimits.tool_calls)),
                errors=int(raw.get("errors", RunLimits.errors)),
            )
            turns.append((pending, limits))
            pending = None
    return turns


async def replay_branch(
    view: JournalView,
    session_id: str,
    branch: str = "main",
    *,
    through: int | None = None,
    rerun_tools: bool = False,
    workspace: Path | None = None,
) -> ReplayReport:
    """Re-run a recorded branch in a scratch journal and compare. Nothing is written to ``view``."""
    recorded = view.read(session_id, branch, through=through)
    info = view.session(session_id)
    turns = _user_turns(recorded)
    report = ReplayReport(session_id, branch, recorded[-1].seq if recorded else 0, len(turns), 0)
    scratch = Path(tempfile.mkdtemp(prefix="life-replay-"))
    root = workspace or Path(info.workspace or ".")
    decisions = RecordedDecisions(recorded)
    options = SessionOptions(
        approval_mode=ApprovalMode.DEFAULT,
        approver=decisions,
        decide=decisions.decide,
        executor=None if rerun_tools else RecordedTools(recorded),
        clock=None,
        # A recording made without a ledger replays without one (no finance events to reproduce).
        ledger=RecordedLedger(recorded) if any(e.kind.startswith("finance.") for e in recorded) else None,
    )
    identities = [
        (str(d.get("provider")), str(d.get("model") or ""))
        for d in (e.payload_dict() for e in recorded if e.kind == "run.started")
    ]
    provider = _RecordedProvider(
        _error_turns(recorded_turns(recorded), recorded), identities, _declared_costs(recorded)
    )
    journal = Journal.open(scratch / "journal", options=JournalOptions(background=False))
    try:
        session = await Session.create(
            journal, name=f"replay of {info.name}", workspace=root, provider=provider, options=options
        )
        for message, limits in turns:
            provider.next_run()
            data = message.payload_dict()
            outcome = await session.submit(str(data.get("content", "")), limits=limits, pinned=bool(data.get("pinned")))
            report.outcomes.append(outcome.reason)
        await session.close()
        replayed = journal.read(session.session_id)
        report.compared, report.divergence = compare(recorded, replayed)
    finally:
        journal.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return report


@dataclass
class LiveReport:
    branch: str
    fork_seq: int
    turns: int
    outcomes: list[str]


async def continue_live(
    journal: Journal,
    session_id: str,
    branch: str,
    at_seq: int,
    provider: Provider,
    *,
    name: str | None = None,
    options: SessionOptions | None = None,
) -> LiveReport:
    """Fork at ``at_seq`` (moved back to the start of the run it falls in) and run the later user turns live."""
    recorded = journal.read(session_id, branch)
    runs = _user_turns(recorded)
    fork_seq = at_seq
    for message, _ in runs:
        finished = next((e.seq for e in recorded if e.seq > message.seq and e.kind == "run.finished"), None)
        if message.seq <= at_seq and (finished is None or at_seq < finished):
            fork_seq = message.seq - 1  # inside a run: continue from just before its user message
    taken = {b.name for b in journal.branches(session_id)}
    branch_name = name or next(f"live-{i}" for i in range(1, len(taken) + 2) if f"live-{i}" not in taken)
    journal.fork(session_id, branch, fork_seq, branch_name)
    session = Session(
        journal,
        session_id,
        branch_name,
        Path(journal.session(session_id).workspace or "."),
        provider,
        options or SessionOptions(),
    )
    outcomes = []
    todo = [(m, lim) for m, lim in runs if m.seq > fork_seq]
    for message, limits in todo:
        outcome = await session.submit(str(message.payload_dict().get("content", "")), limits=limits)
        outcomes.append(outcome.reason)
    await session.close()
    return LiveReport(branch_name, fork_seq, len(todo), outcomes)
