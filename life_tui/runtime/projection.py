"""The conversation as a fold over a branch's events: messages, usage, budget, mode, approvals.

``ConversationState`` is everything the loop needs to continue a session, rebuilt from the journal by a
pure fold (:class:`ConversationProjection`), checkpointed by the journal's snapshots so a long session
reopens without re-decoding every event. The loop never keeps state the journal does not have: after a
crash, folding the branch gives exactly the state it had reached.
"""

from __future__ import annotations

import msgspec

from life_tui.kernel.event import Event
from life_tui.kernel.state import AgentStateVector, BudgetState, OperatingMode, RiskLevel
from life_tui.tools.memory import MemoryState, fold_memory
from life_tui.tools.skills import SKILL_TOOL

_decoder_cache: dict[str, msgspec.json.Decoder[object]] = {}


class ToolCallRecord(msgspec.Struct, kw_only=True):
    id: str
    name: str
    arguments: dict[str, object] = {}


class MessageRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    seq: int
    role: str
    content: str = ""
    tool_calls: list[ToolCallRecord] = []
    tool_call_id: str | None = None
    tool_name: str | None = None
    is_error: bool = False
    reasoning: str | None = None
    pinned: bool = False


class Compaction(msgspec.Struct, kw_only=True):
    seq: int
    from_seq: int
    to_seq: int
    summary: str
    expanded: bool = False


class PendingApproval(msgspec.Struct, kw_only=True):
    approval_id: str
    call_id: str
    tool_name: str
    arguments_hash: str
    expires_at: int | None = None


class RunRecord(msgspec.Struct, kw_only=True):
    run_id: str | None = None
    started_seq: int = 0
    started_at: int = 0
    active: bool = False
    turns: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    tool_calls: int = 0
    errors: int = 0
    limits: dict[str, float] = {}


class ActiveSkill(msgspec.Struct, kw_only=True):
    """The skill in force (``skill.activated``): its body is in context and it narrows the tools."""

    name: str
    body: str
    seq: int
    allowed_tools: list[str] | None = None
    source: str = "tool"
    path: str = ""

    def allows(self, tool: str) -> bool:
        """The skill tool is always allowed (to switch skills); no list means no narrowing."""
        return self.allowed_tools is None or tool in self.allowed_tools or tool == SKILL_TOOL


class ConversationState(msgspec.Struct, kw_only=True):
    seq: int = 0
    messages: list[MessageRecord] = []
    compactions: list[Compaction] = []
    provider: str | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    tool_calls: int = 0
    errors: int = 0
    vector: AgentStateVector = AgentStateVector()
    mode: OperatingMode = OperatingMode.EXPLORE
    pending: dict[str, PendingApproval] = {}
    session_grants: list[str] = []
    run: RunRecord = msgspec.field(default_factory=RunRecord)
    runs: int = 0
    last_final_answer: str | None = None
    skill: ActiveSkill | None = None
    prompt_override: str | None = None
    """What the model reads for the next user message (a typed ``/skill`` command removed)."""
    memory: MemoryState = msgspec.field(default_factory=MemoryState)
    """Session-scope memory (the wider scopes live in the journal's shared memory branch)."""

    def tool_results(self) -> set[str]:
        return {m.tool_call_id for m in self.messages if m.role == "tool" and m.tool_call_id}


def _clamp(value: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return max(lo, min(hi, value))


def _risk(uncertainty: float, side_effects: float) -> RiskLevel:
    if uncertainty > 0.75 or side_effects > 0.7:
        return RiskLevel.HIGH
    if uncertainty > 0.45 or side_effects > 0.4:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def after_tool(vector: AgentStateVector, *, ok: bool) -> AgentStateVector:
    """Life's homeostasis update after an executed tool (reference/life-system.md §1.13)."""
    b = vector.budget
    budget = msgspec.structs.replace(
        b,
        tool_calls_remaining=b.tool_calls_remaining - 1,
        error_budget_remaining=b.error_budget_remaining - (0 if ok else 1),
    )
    if ok:
        progress = _clamp(vector.progress + 0.12)
        uncertainty = max(vector.uncertainty * 0.85, 0.05)
        streak = 0
        side = _clamp(vector.side_effect_pressure + 0.2)
    else:
        progress = vector.progress
        uncertainty = _clamp(vector.uncertainty + 0.18)
        streak = vector.error_streak + 1
        side = max(vector.side_effect_pressure * 0.5, 0.1)
    return msgspec.structs.replace(
        vector,
        budget=budget,
        progress=progress,
        uncertainty=uncertainty,
        error_streak=streak,
        side_effect_pressure=side,
        context_pressure=_clamp(vector.context_pressure + 0.03),
        human_dependency=0.6 if streak >= 2 else 0.0,
        risk_level=_risk(uncertainty, side),
    )


class ConversationProjection:
    """The fold. Pure: the same events always give the same state."""

    name = "conversation"
    version = 2

    def initial(self) -> ConversationState:
        return ConversationState()

    def apply(self, state: ConversationState, event: Event) -> ConversationState:
        state.seq = event.seq
        kind = event.kind
        if not (
            kind.startswith(
                ("user.", "assistant.message", "tool.call_", "context.", "approval.", "run.", "skill.", "memory.")
            )
            or kind in _OTHER_KINDS
        ):
            return state
        data = event.payload_dict()
        if kind == "user.message":
            content = str(data.get("content", ""))
            if state.prompt_override is not None:
                content, state.prompt_override = state.prompt_override, None
            state.messages.append(
                MessageRecord(seq=event.seq, role="user", content=content, pinned=bool(data.get("pinned")))
            )
        elif kind.startswith("memory."):
            state.memory = fold_memory(state.memory, kind, data, event.seq, event.occurred_at)
        elif kind == "skill.activated":
            allowed = data.get("allowed_tools")
            state.skill = ActiveSkill(
                name=str(data["name"]),
                body=str(data.get("body", "")),
                seq=event.seq,
                allowed_tools=[str(t) for t in allowed] if allowed is not None else None,
                source=str(data.get("source", "tool")),
                path=str(data.get("path", "")),
            )
            state.prompt_override = data.get("prompt")
        elif kind == "skill.deactivated":
            state.skill = None
            state.prompt_override = data.get("prompt")
        elif kind == "assistant.message":
            calls = [
                ToolCallRecord(id=str(c.get("id")), name=str(c.get("name")), arguments=c.get("arguments") or {})
                for c in data.get("tool_calls", [])
            ]
            state.messages.append(
                MessageRecord(
                    seq=event.seq,
                    role="assistant",
                    content=str(data.get("content", "")),
                    tool_calls=calls,
                    reasoning=data.get("reasoning"),
                )
            )
            usage = data.get("usage") or {}
            tokens = int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))
            state.input_tokens += int(usage.get("input_tokens", 0))
            state.output_tokens += int(usage.get("output_tokens", 0))
            state.cached_tokens += int(usage.get("cached_tokens", 0))
            cost = float(data.get("cost_usd") or 0.0)
            state.cost_usd += cost
            state.run.tokens += tokens + int(usage.get("cached_tokens", 0))
            state.run.cost_usd += cost
            state.run.turns += 1
            if data.get("model"):
                state.model = str(data["model"])
            if data.get("stop_reason") == "error":
                state.errors += 1
                state.run.errors += 1
        elif kind in ("tool.call_completed", "tool.call_failed"):
            ok = kind == "tool.call_completed" and not data.get("is_error")
            content = str(data.get("result", "") if kind == "tool.call_completed" else data.get("error", ""))
            state.messages.append(
                MessageRecord(
                    seq=event.seq,
                    role="tool",
                    content=content,
                    tool_call_id=str(data.get("call_id")),
                    tool_name=str(data.get("tool_name")),
                    is_error=not ok,
                )
            )
            if kind == "tool.call_completed":  # a failed call never ran: it does not move the vitals
                state.tool_calls += 1
                state.run.tool_calls += 1
                state.vector = after_tool(state.vector, ok=ok)
            if not ok:
                state.errors += 1
                state.run.errors += 1
        elif kind == "context.compacted":
            state.compactions.append(
                Compaction(
                    seq=event.seq,
                    from_seq=int(data["from_seq"]),
                    to_seq=int(data["to_seq"]),
                    summary=str(data.get("summary", "")),
                )
            )
        elif kind == "context.expanded":
            for c in state.compactions:
                if c.seq == int(data.get("compaction_seq", -1)):
                    c.expanded = True
        elif kind == "approval.requested":
            state.pending[str(data["approval_id"])] = PendingApproval(
                approval_id=str(data["approval_id"]),
                call_id=str(data.get("call_id")),
                tool_name=str(data.get("tool_name")),
                arguments_hash=str(data.get("arguments_hash", "")),
                expires_at=data.get("expires_at"),
            )
        elif kind in ("approval.granted", "approval.denied", "approval.expired"):
            pending = state.pending.pop(str(data.get("approval_id")), None)
            if (
                kind == "approval.granted"
                and data.get("scope") == "session"
                and pending is not None
                and pending.tool_name not in state.session_grants
            ):
                state.session_grants.append(pending.tool_name)
        elif kind == "run.started":
            state.runs += 1
            state.run = RunRecord(
                run_id=event.run_id,
                started_seq=event.seq,
                started_at=event.occurred_at,
                active=True,
                limits={k: float(v) for k, v in (data.get("limits") or {}).items()},
            )
            state.vector = msgspec.structs.replace(state.vector, budget=BudgetState())
            if data.get("provider"):
                state.provider = str(data["provider"])
            if data.get("model"):
                state.model = str(data["model"])
        elif kind == "run.finished":
            state.run.active = False
            state.last_final_answer = data.get("final_answer")
        elif kind == "mode.changed":
            state.mode = OperatingMode(str(data["mode"]))
        elif kind == "provider.switched":
            state.provider = str(data["provider"])
            state.model = data.get("model")
        elif kind == "budget.updated":
            budget = data.get("budget") or {}
            state.vector = msgspec.structs.replace(state.vector, budget=msgspec.convert(budget, BudgetState))
        elif kind == "state.estimated":
            state.vector = msgspec.convert(data.get("state") or {}, AgentStateVector)
        return state

    def encode(self, state: ConversationState) -> bytes:
        return msgspec.msgpack.encode(state)

    def decode(self, data: bytes) -> ConversationState:
        return msgspec.msgpack.decode(data, type=ConversationState)


_OTHER_KINDS = frozenset({"mode.changed", "provider.switched", "budget.updated", "state.estimated"})
