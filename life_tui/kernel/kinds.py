"""The event kinds of the contract and their typed payloads.

Each kind is a frozen msgspec Struct registered under its kind name. Kind names are ``group.name`` in
lower snake case; the Life namespaces (``autonomic.*``, ``eval.*``, ``finance.*``, ``anima.*``,
``vigil.*``, ``spaces.*``) are reserved for the domain packages, which register their own payloads with
:func:`register`. A kind that is not registered is still a valid event: its payload stays a dict and is
stored and exported unchanged. ``docs/events.md`` is generated from this registry (``python -m
life_tui.kernel.docs``); a test fails when the checked-in file is stale.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import msgspec


class Payload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every typed payload. ``KIND`` is the event kind it is stored under."""

    KIND: ClassVar[str] = ""
    GROUP: ClassVar[str] = ""


_REGISTRY: dict[str, type[Payload]] = {}
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {}
_plain = msgspec.json.Decoder()
P = TypeVar("P", bound=type[Payload])


def register(kind: str, group: str) -> Any:
    """Class decorator: register a payload type under ``kind`` (unique) in documentation ``group``."""

    def wrap(cls: P) -> P:
        if kind in _REGISTRY and _REGISTRY[kind] is not cls:
            raise ValueError(f"event kind {kind!r} is registered twice")
        cls.KIND = kind
        cls.GROUP = group
        _REGISTRY[kind] = cls
        _DECODERS[kind] = msgspec.json.Decoder(cls)
        return cls

    return wrap


def registered_kinds() -> dict[str, type[Payload]]:
    return dict(_REGISTRY)


def payload_type(kind: str) -> type[Payload] | None:
    return _REGISTRY.get(kind)


def decode_payload(kind: str, raw: bytes | msgspec.Raw) -> Any:
    """Typed payload for registered kinds; a plain dict for any other kind."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        return _plain.decode(raw)
    return decoder.decode(raw)


# ---------------------------------------------------------------------------------------------- input
@register("user.message", "Input")
class UserMessage(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A person's message to the agent. ``pinned`` messages are never compacted away."""

    content: str
    attachments: list[str] = []
    pinned: bool = False


@register("signal.external", "Input")
class ExternalSignal(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """Something from outside the conversation (a webhook, a file watcher, another agent)."""

    signal_type: str
    data: dict[str, Any] = {}


# ------------------------------------------------------------------------------------ session lifecycle
@register("session.created", "Session")
class SessionCreated(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The first event of every session, on branch ``main`` at seq 1."""

    name: str
    workspace: str | None = None
    config: dict[str, Any] = {}


@register("session.resumed", "Session")
class SessionResumed(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A front end reopened the session; ``from_snapshot`` names the snapshot seq it folded from."""

    from_snapshot: int | None = None
    front_end: str | None = None


@register("session.closed", "Session")
class SessionClosed(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The session was closed; it stays readable and can be reopened."""

    reason: str = "closed"


@register("session.tombstoned", "Session")
class SessionTombstoned(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The user deleted the session. Nothing is erased: the session is hidden from listings."""

    reason: str = "deleted by user"


@register("branch.created", "Session")
class BranchCreated(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """First own event of a branch: it inherits ``parent`` up to ``fork_seq`` (a pointer, nothing copied)."""

    name: str
    parent: str
    fork_seq: int
    fork_event_id: str | None = None


@register("branch.merged", "Session")
class BranchMerged(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """Appended on the target branch: ``source`` up to ``source_head_seq`` is merged into it."""

    source: str
    source_head_seq: int
    source_head_hash: str
    strategy: str = "marker"


@register("branch.tombstoned", "Session")
class BranchTombstoned(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The branch was deleted by the user; its events stay stored and readable by id."""

    reason: str = "deleted by user"


# ----------------------------------------------------------------------------------------------- loop
@register("phase.entered", "Loop")
class PhaseEntered(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A loop phase boundary: reconstruct, regulate, context, provider, tools, persist, idle."""

    phase: str
    tick: int = 0


@register("run.started", "Loop")
class RunStarted(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A user turn started running, with the limits it runs under (so a replay can apply the same)."""

    provider: str
    model: str | None = None
    max_turns: int | None = None
    limits: dict[str, float] = {}


@register("run.finished", "Loop")
class RunFinished(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A run ended; ``reason`` is final_answer, max_turns, budget, blocked, cancelled, error, or interrupted
    (the process died during the run; recorded when the session is next opened)."""

    reason: str
    turns: int = 0
    final_answer: str | None = None
    usage: dict[str, int] = {}


@register("run.errored", "Loop")
class RunErrored(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A run failed with an error that the loop could not recover from."""

    error: str
    retryable: bool = False


@register("mode.changed", "Loop")
class ModeChanged(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The operating mode estimate changed (explore, execute, verify, recover, ask_human, sleep)."""

    previous: str
    mode: str
    reason: str = ""


@register("state.estimated", "Loop")
class StateEstimated(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The agent state vector after a tick, and the mode it implies."""

    state: dict[str, Any]
    mode: str


@register("budget.updated", "Loop")
class BudgetUpdated(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The remaining budget after accounting for a tick."""

    budget: dict[str, Any]
    reason: str = ""


@register("circuit_breaker.tripped", "Loop")
class CircuitBreakerTripped(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """Consecutive errors reached the breaker threshold; the agent moves to recover."""

    reason: str
    error_streak: int


@register("provider.switched", "Loop")
class ProviderSwitched(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The session's provider or model changed from this point on."""

    provider: str
    model: str | None = None
    previous: str | None = None


# ------------------------------------------------------------------------------------------ cognition
@register("assistant.text_delta", "Cognition")
class AssistantTextDelta(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A streamed piece of the assistant's visible text."""

    delta: str
    index: int = 0


@register("assistant.reasoning_delta", "Cognition")
class AssistantReasoningDelta(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A streamed piece of the model's reasoning (extended thinking)."""

    delta: str
    index: int = 0


@register("assistant.message", "Cognition")
class AssistantMessage(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A complete assistant message with the provider-reported usage and cost."""

    content: str
    model: str | None = None
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] = []
    stop_reason: str | None = None
    usage: dict[str, int] = {}
    cost_usd: float | None = None


@register("tool.call_requested", "Tools")
class ToolCallRequested(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The model asked for a tool call."""

    call_id: str
    tool_name: str
    arguments: dict[str, Any] = {}
    capabilities: list[str] = []


@register("tool.call_started", "Tools")
class ToolCallStarted(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A tool call passed its gates and started running."""

    call_id: str
    tool_name: str
    sandboxed: bool = False


@register("tool.call_completed", "Tools")
class ToolCallCompleted(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A tool call finished; large results live in the blob store (``result_blob``)."""

    call_id: str
    tool_name: str
    result: str = ""
    result_blob: str | None = None
    duration_ms: float = 0.0
    is_error: bool = False


@register("tool.call_failed", "Tools")
class ToolCallFailed(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A tool call could not run or raised; the model is told ``error``."""

    call_id: str
    tool_name: str
    error: str
    duration_ms: float = 0.0
    is_error: bool = True


# ------------------------------------------------------------------------------------------ approvals
@register("approval.requested", "Approvals")
class ApprovalRequested(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A tool call needs a decision; it is bound to ``arguments_hash`` and expires at ``expires_at``."""

    approval_id: str
    call_id: str
    tool_name: str
    arguments: dict[str, Any] = {}
    arguments_hash: str = ""
    risk: str = "medium"
    expires_at: int | None = None


@register("approval.granted", "Approvals")
class ApprovalGranted(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The call was approved, once or for the session (``scope``)."""

    approval_id: str
    scope: str = "once"
    by: str = "user"


@register("approval.denied", "Approvals")
class ApprovalDenied(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The call was denied; the model is told ``reason``."""

    approval_id: str
    reason: str = ""
    by: str = "user"


@register("approval.expired", "Approvals")
class ApprovalExpired(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """Nobody answered in time; an expired approval counts as a denial."""

    approval_id: str


# ---------------------------------------------------------------------------------------------- files
@register("file.written", "Files")
class FileWritten(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A tool wrote a workspace file; ``blob_hash`` is its new content, ``previous_blob`` the old one."""

    path: str
    blob_hash: str
    size_bytes: int
    previous_blob: str | None = None
    call_id: str | None = None


@register("file.deleted", "Files")
class FileDeleted(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A tool deleted a workspace file; ``previous_blob`` keeps its content for rewind."""

    path: str
    previous_blob: str | None = None
    call_id: str | None = None


# --------------------------------------------------------------------------------------------- memory
@register("memory.observation_appended", "Memory")
class ObservationAppended(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """An observation was recorded in a memory scope (session < user < agent < org)."""

    scope: str
    observation_id: str
    text: str
    tags: list[str] = []


@register("memory.reflection_compacted", "Memory")
class ReflectionCompacted(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """Observations up to ``covers_through_seq`` were summarised."""

    scope: str
    summary: str
    covers_through_seq: int


@register("memory.proposed", "Memory")
class MemoryProposed(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The agent proposed memory entries; they count once committed."""

    scope: str
    proposal_id: str
    entries: list[str]


@register("memory.committed", "Memory")
class MemoryCommitted(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A memory entry was committed (its text is ``content``), optionally superseding an older one.

    Session-scope entries are recorded in their session; user, agent and org scope entries in the shared
    memory branch (``memory``) of the journal's system session, so every session reads them."""

    scope: str
    memory_id: str
    content: str
    proposal_id: str | None = None
    supersedes: str | None = None
    tags: list[str] = []


@register("memory.tombstoned", "Memory")
class MemoryTombstoned(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A memory entry was withdrawn; projections exclude it from then on."""

    scope: str
    memory_id: str
    reason: str = ""


# -------------------------------------------------------------------------------------------- context
@register("context.compacted", "Context")
class ContextCompacted(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """History ``from_seq``..``to_seq`` is summarised in context; the events themselves stay stored."""

    from_seq: int
    to_seq: int
    summary: str
    tokens_before: int = 0
    tokens_after: int = 0


@register("context.expanded", "Context")
class ContextExpanded(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A compaction was reversed: the summarised range is back in context."""

    compaction_seq: int


# ------------------------------------------------------------------------------------- errors, system
@register("error.raised", "System")
class ErrorRaised(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """An error worth keeping in the record; ``source`` names the component."""

    message: str
    source: str = ""
    is_error: bool = True


@register("journal.tail_repaired", "System")
class JournalTailRepaired(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """Recovery cut a torn final WAL record (an interrupted write); the bytes are kept in ``saved_as``."""

    wal_file: str
    offset: int
    discarded_bytes: int
    saved_as: str


# --------------------------------------------------------------------------------------------- skills
@register("skill.activated", "Skills")
class SkillActivated(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A skill (a ``SKILL.md`` folder) became active: its ``body`` is in context from now on and the tools
    offered and runnable are narrowed to ``allowed_tools`` (absent: no narrowing) plus the skill tool.
    ``source`` is ``command`` (the user typed ``/name``), ``tool`` (the model called ``activate_skill``) or
    ``user`` (a front end). ``prompt``, when present, is what the model reads for the user message that
    follows (the typed ``/name`` removed); the message itself is stored as typed. A new activation replaces
    the active skill."""

    name: str
    body: str
    source: str
    allowed_tools: list[str] | None = None
    path: str = ""
    prompt: str | None = None


@register("skill.deactivated", "Skills")
class SkillDeactivated(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The active skill ended (``/skill off``): its body leaves the context and every tool is offered again.
    ``prompt`` works as in ``skill.activated``."""

    name: str
    reason: str = ""
    prompt: str | None = None


# -------------------------------------------------------------------------------------------- sandbox
@register("sandbox.unsandboxed_run", "Sandbox")
class UnsandboxedRun(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A shell command ran without an OS sandbox, because none was available (``reason``) and the user had
    allowed unsandboxed runs. Recorded right after the call's ``tool.call_completed``; the command still had
    a scrubbed environment, resource limits, a tree-wide timeout and capped output, but no filesystem,
    network or PID isolation."""

    call_id: str
    command: str
    reason: str
    tool_name: str = "bash"


# ----------------------------------------------------------------------------- autonomic (homeostasis)
@register("autonomic.gate_triggered", "Autonomic")
class GateTriggered(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The gating profile warned about or blocked an operation. ``operation`` is ``model_call`` or
    ``tool_call`` (then ``tool_name`` and ``call_id`` name the call); ``gate`` is the gate that decided
    (``expensive_model``, ``tool_execution``, ``file_write``, ``shell``, ``network``, ``repeat_call``...);
    ``action`` is ``warn`` or ``block``; ``rules`` are the rule ids behind it and ``reason`` what the model
    is told."""

    operation: str
    gate: str
    action: str
    reason: str
    rules: list[str] = []
    tool_name: str | None = None
    call_id: str | None = None
    model_override: str | None = None


@register("autonomic.mode_changed", "Autonomic")
class EconomicModeChanged(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The economic mode moved (sovereign / conserving / hustle / hibernate), after the hysteresis gate's
    thresholds and minimum hold time. ``ratio`` is balance over monthly burn when the mode was decided
    (absent: infinite, no burn yet or an unmetered wallet)."""

    previous: str
    mode: str
    reason: str
    ratio: float | None = None


@register("autonomic.state_snapshot", "Autonomic")
class HomeostasisSnapshot(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The homeostatic state (three pillars) and the gating profile in force, recorded periodically so a
    reader (a gauge, ``life-tui state``, SQL) need not fold the session. Informational: the controller's
    own fold never reads it back."""

    state: dict[str, Any]
    profile: dict[str, Any]


@register("autonomic.context_ruling", "Autonomic")
class ContextRuling(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The context ruling changed: ``breathe`` (< 0.60 of the window), ``dilate``, ``compress`` (≥ 0.85) or
    ``emergency`` (≥ 0.95). Compress and emergency make the runtime compact toward ``target`` (a fraction
    of the window)."""

    ruling: str
    previous: str
    utilisation: float
    target: float | None = None
    reason: str = ""


# ----------------------------------------------------------------------------------- eval (Nous)
@register("eval.inline_completed", "Evaluation")
class InlineEvaluation(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A heuristic scored the last tick: ``score`` in [0, 1], ``label`` good (≥ 0.8) / warning (≥ 0.5) /
    critical, ``layer`` one of reasoning, action, execution, safety, cost. Feeds the cognitive pillar's
    quality (an exponential moving average)."""

    evaluator: str
    score: float
    label: str
    layer: str
    explanation: str = ""
    tick: int | None = None


@register("eval.judge_completed", "Evaluation")
class JudgeEvaluation(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """An LLM-as-judge evaluator scored a turn (``target_run_id``), from a JSON-only verdict. ``scores`` maps
    score names to values in [0, 1]; ``error`` is set (and ``scores`` empty) when no verdict could be read."""

    evaluator: str
    target_run_id: str | None
    scores: dict[str, float]
    model: str = ""
    explanation: str = ""
    duration_ms: float = 0.0
    cost_usd: float = 0.0
    error: str | None = None


# ---------------------------------------------------------------------------------- finance (Haima)
@register("finance.deposited", "Finance")
class FundsDeposited(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The user funded the wallet (``life-tui wallet fund``), in micro-credits (1 µc = $0.000001). A wallet
    that was never funded is unmetered: no balance is enforced, only budgets."""

    amount_micro: int
    source: str = "cli"
    note: str = ""


@register("finance.budget_set", "Finance")
class BudgetSet(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A spending cap: ``scope`` is ``session`` (this session, all its branches), ``day`` (all sessions, per
    UTC day) or ``invocation`` (one headless run, ``--max-budget-usd``). ``limit_micro`` absent removes it."""

    scope: str
    limit_micro: int | None = None
    invocation_id: str | None = None


@register("finance.reserved", "Finance")
class CostReserved(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The worst-case cost of a provider call, reserved before the call against the balance and every
    budget in force. ``balance_after_micro`` is the wallet balance less spend and reservations (absent when
    unmetered); ``burn_per_hour_micro`` the recent burn rate. Settled or released by ``reservation_id``.
    ``purpose`` is what the call is for: ``model_call`` (the agent loop's) or ``judge:<name>`` (an LLM judge's)."""

    reservation_id: str
    amount_micro: int
    model: str
    purpose: str = "model_call"
    invocation_id: str | None = None
    balance_after_micro: int | None = None
    burn_per_hour_micro: int = 0


@register("finance.settled", "Finance")
class CostSettled(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A reservation settled at the call's actual cost, billed from the provider's reported usage
    (``estimated`` when usage was not reported, ``priced`` false when the model's price was unknown and the
    conservative rate was used). ``task_id`` attributes the spend to a task (a judge's call: ``judge:<name>``)."""

    reservation_id: str
    amount_micro: int
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    priced: bool = True
    estimated: bool = False
    task_id: str | None = None
    balance_after_micro: int | None = None
    burn_per_hour_micro: int = 0
    reason: str = ""


@register("finance.released", "Finance")
class CostReleased(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A reservation given back unspent (the call was not made, or failed before any usage)."""

    reservation_id: str
    reason: str = ""


@register("finance.refused", "Finance")
class CostRefused(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """A call was not made: reserving its worst-case cost would have gone over ``limit`` (``balance``,
    ``session``, ``day``, ``invocation`` or ``run``). ``purpose`` is what the call was for, as in
    ``finance.reserved`` (a judge's call: ``judge:<name>``)."""

    amount_micro: int
    limit: str
    available_micro: int
    model: str = ""
    reason: str = ""
    purpose: str = "model_call"


# ---------------------------------------------------------------------------------------- workspace
@register("workspace.rewound", "Files")
class WorkspaceRewound(Payload, frozen=True, kw_only=True, omit_defaults=True):
    """The user restored workspace files to how they were at event ``to_seq`` (an explicit action, undoing
    the ``file.written`` / ``file.deleted`` effects of tools after it). ``restored`` maps each path to the
    blob it was restored to (None: the file did not exist then and was removed); ``backup`` maps each
    path to the blob of its content just before the rewind, so the rewind itself can be undone."""

    to_seq: int
    restored: dict[str, str | None]
    backup: dict[str, str | None] = {}
    reason: str = ""
