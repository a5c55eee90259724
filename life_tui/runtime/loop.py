"""The agent loop: one user turn, run to a final answer or a limit.

Per turn (tick): reconstruct (the folded state is current) -> regulate (homeostasis gate) -> compile context
(compacting when the window fills) -> provider call (streaming deltas are events) -> execute tool calls
(approval policy, tool gate, registry) -> persist (budget and mode). Each phase boundary is a
``phase.entered`` event, so a trace is derivable from the journal alone. The run ends with exactly one
``run.finished`` whose ``reason`` says why: final_answer, max_turns, budget, blocked, cancelled or error.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec

from life_tui.errors import LifeError
from life_tui.finance.pricing import Price, cheaper_models
from life_tui.finance.view import to_micro
from life_tui.journal.blobs import BlobStore
from life_tui.kernel import kinds as k
from life_tui.kernel.clock import Clock
from life_tui.kernel.event import Actor, EventDraft
from life_tui.kernel.ids import new_ulid
from life_tui.kernel.state import BudgetState, OperatingMode, estimate_mode
from life_tui.runtime.approvals import ApprovalPolicy, Decision, approval_id_for, arguments_hash
from life_tui.runtime.billing import Ledger, actual_micro, reserve_call, resolve_price, settle_call
from life_tui.runtime.context import (
    CompiledContext,
    ContextBudgets,
    ContextInputs,
    HistoryCache,
    compile_context,
    estimate_tokens,
    plan_compaction,
    summarise,
    visible_history,
)
from life_tui.runtime.projection import ConversationState
from life_tui.runtime.providers.base import (
    ModelRequest,
    ModelResponse,
    Provider,
    ProviderError,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    Usage,
)
from life_tui.runtime.providers.retry import stream_with_retry
from life_tui.runtime.regulation import GateDecision, ModelQuestion, Regulator, ToolQuestion
from life_tui.runtime.writer import EventWriter
from life_tui.tools.registry import ToolContext, ToolOutput, ToolRegistry

INLINE_RESULT_LIMIT = 16_000
PHASES = ("reconstruct", "regulate", "context", "provider", "tools", "persist")


@dataclass(frozen=True)
class RunLimits:
    """Per-run limits (one user turn); Life's BudgetState defaults."""

    max_turns: int = 24
    tokens: int = BudgetState().tokens_remaining
    time_s: float = BudgetState().time_remaining_ms / 1000
    cost_usd: float = BudgetState().cost_remaining_usd
    tool_calls: int = BudgetState().tool_calls_remaining
    errors: int = BudgetState().error_budget_remaining

    def as_dict(self) -> dict[str, float]:
        return {
            "max_turns": self.max_turns,
            "tokens": self.tokens,
            "time_s": self.time_s,
            "cost_usd": self.cost_usd,
            "tool_calls": self.tool_calls,
            "errors": self.errors,
        }


class RunOutcome(msgspec.Struct, kw_only=True):
    run_id: str
    reason: str
    final_answer: str | None = None
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None
    exhausted: list[str] = []
    denials: int = 0
    duration_ms: float = 0.0


@dataclass(frozen=True)
class ApprovalRequest:
    approval_id: str
    call_id: str
    tool_name: str
    arguments: dict[str, Any]
    arguments_hash: str
    reason: str
    expires_at: int


@dataclass(frozen=True)
class ApprovalAnswer:
    decision: str
    """``granted``, ``denied`` or ``expired``."""
    scope: str = "once"
    reason: str = ""
    by: str = "user"


class Approver(Protocol):
    async def __call__(self, request: ApprovalRequest) -> ApprovalAnswer: ...


class ToolExecutor(Protocol):
    async def __call__(self, call: ToolCall, context: ToolContext) -> tuple[ToolOutput, float]: ...


@dataclass
class LoopDeps:
    writer: EventWriter
    state: Callable[[], ConversationState]
    provider: Callable[[], Provider]
    tools: ToolRegistry
    policy: Callable[[], ApprovalPolicy]
    approver: Approver
    regulator: Regulator
    clock: Clock
    workspace: Path
    blobs: BlobStore
    budgets: ContextBudgets
    inputs: Callable[[], ContextInputs]
    execute: ToolExecutor | None = None
    protected: tuple[Path, ...] = ()
    """Paths inside the workspace no tool may write (the journal, keys, config, .git internals)."""
    allow_unsandboxed: bool = False
    """The user explicitly allowed shell commands to run without an OS sandbox (recorded as an event)."""
    decide: Callable[[ToolCall], tuple[Decision, str] | None] | None = None
    """Overrides the approval policy per call when it returns a decision (replay reproduces recorded ones)."""
    route_effect: Callable[[k.Payload, str], Awaitable[bool]] | None = None
    """Records a tool's effect somewhere other than the session (shared-scope memory) and returns True;
    False leaves it to the session, right after the call's completion. Gets the effect and the run id."""
    price_overrides: dict[str, Any] = field(default_factory=dict)
    ledger: Ledger | None = None
    """Reserves each call's worst case before it is made and settles it after (None: no ledger, no caps)."""
    invocation_id: Callable[[], str | None] = lambda: None
    """The invocation a spending cap applies to (a headless run's ``--max-budget-usd``)."""
    max_tokens: int = 4096
    thinking_budget: int | None = None
    retry_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class AgentLoop:
    def __init__(self, deps: LoopDeps) -> None:
        self.d = deps
        self._history = HistoryCache()

    # ------------------------------------------------------------------------------------- helpers
    def _draft(self, payload: k.Payload, *, actor: str = Actor.AGENT, run_id: str | None = None) -> EventDraft:
        return EventDraft(kind=payload.KIND, payload=payload, actor=actor, run_id=run_id or self._run_id)

    async def _write(self, *payloads: k.Payload, actor: str = Actor.AGENT) -> None:
        await self.d.writer.write(*(self._draft(p, actor=actor) for p in payloads))

    def _note(self, *payloads: k.Payload, actor: str = Actor.SYSTEM) -> None:
        """Queue events without waiting: they become durable with the next write the loop waits for."""
        self.d.writer.submit([self._draft(p, actor=actor) for p in payloads])

    async def _phase(self, phase: str, turn: int) -> None:
        self._note(k.PhaseEntered(phase=phase, tick=turn))

    def _remaining(self, limits: RunLimits) -> BudgetState:
        run = self.d.state().run
        elapsed_ms = (self.d.clock.now_us() - run.started_at) / 1000 if run.started_at else 0.0
        return BudgetState(
            tokens_remaining=limits.tokens - run.tokens,
            time_remaining_ms=int(limits.time_s * 1000 - elapsed_ms),
            cost_remaining_usd=round(limits.cost_usd - run.cost_usd, 8),
            tool_calls_remaining=limits.tool_calls - run.tool_calls,
            error_budget_remaining=limits.errors - run.errors,
        )

    # -------------------------------------------------------------------------------------- the run
    async def run(
        self, prompt: str, limits: RunLimits, *, pinned: bool = False, prelude: tuple[k.Payload, ...] = ()
    ) -> RunOutcome:
        """Run one user turn. ``prelude`` events (a typed ``/skill`` command's) are stored with the message."""
        self._run_id = new_ulid()
        self._denials = 0
        self._refused: k.CostRefused | None = None
        self._limits = limits
        before = self.d.state()
        self._usage_before = (before.input_tokens, before.output_tokens, before.cached_tokens)
        started = time.perf_counter()
        provider = self.d.provider()
        started_event = k.RunStarted(
            provider=provider.name, model=provider.model, max_turns=limits.max_turns, limits=limits.as_dict()
        )
        outcome: RunOutcome
        recorded_start = False
        try:
            await self._write(*prelude, k.UserMessage(content=prompt, pinned=pinned), actor=Actor.USER)
            await self._write(started_event, actor=Actor.SYSTEM)
            recorded_start = True
            outcome = await self._turns(limits)
        except asyncio.CancelledError:
            await _uncancellable(self._close_cancelled(started_event, recorded_start))
            raise
        except (LifeError, OSError) as exc:
            outcome = RunOutcome(run_id=self._run_id, reason="error", error=str(exc))
            await self._write(k.RunErrored(error=str(exc)), actor=Actor.SYSTEM)
        await self._finish(outcome)
        outcome.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        return outcome

    async def _close_cancelled(self, started_event: k.RunStarted, recorded_start: bool) -> None:
        await self.d.writer.drain()
        if not recorded_start:  # cancelled while the run was being opened: still close it properly
            await self._write(started_event, actor=Actor.SYSTEM)
        await self._finish(RunOutcome(run_id=self._run_id, reason="cancelled"))

    async def _finish(self, outcome: RunOutcome) -> None:
        await self.d.writer.settle()
        run = self.d.state().run
        state = self.d.state()
        outcome.turns = run.turns
        outcome.cost_usd = round(run.cost_usd, 8)
        outcome.denials = self._denials
        # The run's own usage: the session's totals now, less what they were when the run started.
        usage = {
            "input_tokens": state.input_tokens - self._usage_before[0],
            "output_tokens": state.output_tokens - self._usage_before[1],
            "cached_tokens": state.cached_tokens - self._usage_before[2],
        }
        outcome.input_tokens, outcome.output_tokens, outcome.cached_tokens = (
            usage["input_tokens"],
            usage["output_tokens"],
            usage["cached_tokens"],
        )
        await self._write(
            k.RunFinished(
                reason=outcome.reason,
                turns=run.turns,
                final_answer=outcome.final_answer,
                usage={"tokens": run.tokens, "tool_calls": run.tool_calls, "errors": run.errors},
            ),
            actor=Actor.SYSTEM,
        )

    async def _turns(self, limits: RunLimits) -> RunOutcome:
        turn = 0
        while True:
            turn += 1
            await self._phase("reconstruct", turn)
            await self.d.writer.settle()
            remaining = self._remaining(limits)
            if remaining.exhausted:
                return RunOutcome(run_id=self._run_id, reason="budget", exhausted=remaining.exhausted)
            if turn > limits.max_turns:
                return RunOutcome(run_id=self._run_id, reason="max_turns")
            await self._phase("regulate", turn)
            provider = self.d.provider()
            question = ModelQuestion(
                model=provider.model,
                provider=provider.name,
                tick=turn,
                cheaper_models=cheaper_models(provider.name, provider.model, self._overrides()),
            )
            gate = await self._gate(
                lambda q=question: self.d.regulator.before_model_call(self.d.state(), q, self.d.clock.now_us())  # type: ignore[misc]
            )
            if not gate.allow or gate.skip_model:
                return RunOutcome(run_id=self._run_id, reason="blocked", error=gate.reason or "blocked by regulation")
            await self._phase("context", turn)
            compiled = await self._compile(gate.compact_target)
            await self._phase("provider", turn)
            response = await self._call_model(compiled, gate)
            if response is None and self._refused is not None:
                refused = self._refused
                limit = "cost" if refused.limit == "run" else refused.limit  # the run's cap is its cost budget
                return RunOutcome(run_id=self._run_id, reason="budget", error=refused.reason, exhausted=[limit])
            if response is None:
                return RunOutcome(run_id=self._run_id, reason="error", error=self._last_error)
            if response.tool_calls:
                await self._phase("tools", turn)
                for call in response.tool_calls:
                    await self._tool(call, gate)
            await self._phase("persist", turn)
            await self._persist(limits, compiled)
            await self._after_tick()
            if not response.tool_calls:
                return RunOutcome(run_id=self._run_id, reason="final_answer", final_answer=response.text)

    async def _gate(self, ask: Callable[[], GateDecision]) -> GateDecision:
        # The regulator has observed everything submitted (the writer folds on submission), notes
        # included: its answer depends only on the events before it, as it will in a replay.
        await self.d.writer.settle()
        try:
            decision = ask()
        except Exception as exc:
            await self._write(
                k.ErrorRaised(message=f"regulator failed, allowing: {exc}", source="regulator", is_error=False),
                actor=Actor.SYSTEM,
            )
            return GateDecision()
        if decision.events:
            await self.d.writer.write(*self._own(decision.events))
        return decision

    def _own(self, drafts: tuple[EventDraft, ...]) -> list[EventDraft]:
        """The regulator's events belong to the run that asked."""
        return [d if d.run_id else msgspec.structs.replace(d, run_id=self._run_id) for d in drafts]

    async def _after_tick(self) -> None:
        """The regulator's own events after a tick (evaluations, snapshots); its failure is recorded, not raised."""
        await self.d.writer.settle()
        try:
            drafts = self.d.regulator.after_tick(self.d.state(), self.d.clock.now_us())
        except Exception as exc:
            await self._write(
                k.ErrorRaised(message=f"regulator failed after the tick: {exc}", source="regulator", is_error=False),
                actor=Actor.SYSTEM,
            )
            return
        if drafts:  # durable with the next write the loop waits for (a tool's start, the run's end)
            self.d.writer.submit(self._own(drafts))

    async def _compile(self, target_fraction: float | None = None) -> CompiledContext:
        await self.d.writer.settle()
        inputs = self.d.inputs()
        compiled = compile_context(self.d.state(), inputs, self.d.budgets, self._history)
        span = plan_compaction(self.d.state(), compiled, self.d.budgets, target_fraction)
        if span is not None:
            covered = [m for m in visible_history(self.d.state()) if span[0] <= m.seq <= span[1] and not m.pinned]
            await self._write(
                k.ContextCompacted(
                    from_seq=span[0],
                    to_seq=span[1],
                    summary=summarise(covered),
                    tokens_before=compiled.tokens,
                    tokens_after=0,
                ),
                actor=Actor.SYSTEM,
            )
            compiled = compile_context(self.d.state(), inputs, self.d.budgets, self._history)
        return compiled

    def _overrides(self) -> dict[str, Price]:
        return {m: msgspec.convert(p, Price) for m, p in self.d.price_overrides.items()}

    async def _reserve(
        self, provider: Provider, model: str, price: Price, compiled: CompiledContext, max_tokens: int
    ) -> str | None:
        """Reserve the call's worst case; None when there is no ledger or the call is free. Sets ``_refused``."""
        if self.d.ledger is None:
            return None
        result = reserve_call(
            self.d.ledger,
            provider,
            price,
            model=model,
            input_tokens=compiled.tokens,
            max_tokens=max_tokens,
            thinking_budget=self.d.thinking_budget,
            session_id=self.d.writer.session_id,
            branch=self.d.writer.branch,
            run_id=self._run_id,
            invocation_id=self.d.invocation_id(),
            run_limit_micro=to_micro(self._limits.cost_usd),  # the ledger counts the run's spend against it
            now_us=self.d.clock.now_us(),
        )
        if result is None:
            return None  # a free call (a local or scripted model) cannot overspend: nothing to reserve or bill
        await self._write(result, actor=Actor.SYSTEM)  # durable before the call is made
        if isinstance(result, k.CostRefused):
            self._refused = result
            return None
        return result.reservation_id

    async def _call_model(self, compiled: CompiledContext, gate: GateDecision) -> ModelResponse | None:
        provider = self.d.provider()
        model = gate.model_override or provider.model
        max_tokens = min(self.d.max_tokens, gate.max_tokens) if gate.max_tokens else self.d.max_tokens
        price, known = resolve_price(provider, model, self.d.price_overrides)
        reservation = await self._reserve(provider, model, price, compiled, max_tokens)
        if self._refused is not None:
            return None
        ledger = self.d.ledger
        tools = compiled.tools
        if gate.allowed_tools is not None:
            tools = [t for t in tools if t.name in gate.allowed_tools]
        skill = self.d.state().skill
        if skill is not None:  # an active skill offers only its allowed tools
            tools = [t for t in tools if skill.allows(t.name)]
        request = ModelRequest(
            model=model,
            system=compiled.system,
            messages=compiled.messages,
            tools=tools,
            max_tokens=max_tokens,
            thinking_budget=self.d.thinking_budget,
        )
        response: ModelResponse | None = None
        text: list[str] = []

        async def on_retry(attempt: int, error: ProviderError, delay: float) -> None:
            await self._write(
                k.ErrorRaised(
                    message=f"{error.message}; retry {attempt} in {delay:.1f} s",
                    source="provider",
                    is_error=False,
                ),
                actor=Actor.SYSTEM,
            )

        try:
            async for item in stream_with_retry(provider, request, on_retry=on_retry, sleep=self.d.retry_sleep):
                if isinstance(item, TextDelta):
                    text.append(item.text)
                    self.d.writer.submit([self._draft(k.AssistantTextDelta(delta=item.text))])
                elif isinstance(item, ReasoningDelta):
                    self.d.writer.submit([self._draft(k.AssistantReasoningDelta(delta=item.text))])
                else:
                    response = item
        except asyncio.CancelledError:
            await self.d.writer.drain()
            drafts: list[k.Payload] = []
            if text:
                drafts.append(k.AssistantMessage(content="".join(text), model=model, stop_reason="cancelled"))
            if ledger is not None and reservation is not None:
                # The provider may bill what it streamed before the cancel: charge an estimate of it.
                partial = Usage(input_tokens=compiled.tokens, output_tokens=estimate_tokens("".join(text)))
                drafts.append(self._settlement(ledger, reservation, model, price, known, partial, None, estimated=True))
            if drafts:
                await self._write(*drafts)
            raise
        except ProviderError as exc:
            await self.d.writer.drain()
            self._last_error = str(exc)  # adapters already name themselves in their messages
            released = (
                [ledger.release(reservation, f"the call failed: {exc.message}", self.d.clock.now_us())]
                if ledger is not None and reservation is not None
                else []
            )
            await self._write(
                k.AssistantMessage(content="".join(text), model=model, stop_reason="error"),
                k.ErrorRaised(message=self._last_error, source="provider"),
                *released,
            )
            return None
        if response is None:
            self._last_error = f"{provider.name} ended its stream without a response"
            released = (
                [ledger.release(reservation, "the stream ended without a response", self.d.clock.now_us())]
                if ledger is not None and reservation is not None
                else []
            )
            await self._write(k.ErrorRaised(message=self._last_error, source="provider"), *released)
            return None
        usage = response.usage
        if response.model and response.model != model:
            price, known = resolve_price(provider, response.model, self.d.price_overrides)
        cost = actual_micro(price, known, usage, response.recorded_cost_usd) / 1_000_000
        self._note(
            k.AssistantMessage(
                content=response.text,
                model=response.model or provider.model,
                reasoning=response.reasoning or None,
                tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls],
                stop_reason=response.stop_reason,
                usage=msgspec.to_builtins(usage),
                cost_usd=cost,
            ),
            actor=Actor.AGENT,
        )
        if ledger is not None and reservation is not None:
            self._note(
                self._settlement(
                    ledger, reservation, response.model or model, price, known, usage, response.recorded_cost_usd
                )
            )
        return response

    def _settlement(
        self,
        ledger: Ledger,
        reservation: str,
        model: str,
        price: Price,
        known: bool,
        usage: Usage,
        recorded_usd: float | None,
        *,
        estimated: bool = False,
    ) -> k.CostSettled:
        return settle_call(
            ledger,
            reservation,
            model=model,
            price=price,
            known=known,
            usage=usage,
            recorded_usd=recorded_usd,
            now_us=self.d.clock.now_us(),
            estimated=estimated,
        )

    async def _tool(self, call: ToolCall, gate: GateDecision) -> None:
        tools = self.d.tools
        spec = tools.get(call.name) if call.name in tools else None
        capabilities = spec.capabilities_for(call.arguments) if spec else []
        self._note(
            k.ToolCallRequested(
                call_id=call.id, tool_name=call.name, arguments=call.arguments, capabilities=capabilities
            ),
            actor=Actor.AGENT,
        )

        async def fail(error: str) -> None:
            await self._write(k.ToolCallFailed(call_id=call.id, tool_name=call.name, error=error), actor=Actor.TOOL)

        if spec is None:
            await fail(f"there is no tool named {call.name!r}")
            return
        if gate.allowed_tools is not None and call.name not in gate.allowed_tools:
            await fail(f"{call.name} is not available right now: {gate.reason or 'narrowed by regulation'}")
            return
        try:
            tools.validate(call.name, call.arguments)
        except LifeError as exc:
            await fail(f"invalid arguments: {exc}")
            return
        await self.d.writer.settle()
        skill = self.d.state().skill  # settled: a skill activated earlier in this response counts
        if skill is not None and not skill.allows(call.name):
            allowed = ", ".join(skill.allowed_tools or []) or "none"
            await fail(f"{call.name} is not available while the skill {skill.name!r} is active (it allows: {allowed})")
            return
        if self._remaining(self._limits).tool_calls_remaining <= 0:
            await fail("not run: the run's tool-call budget is exhausted")
            return
        forced = self.d.decide(call) if self.d.decide is not None else None
        decision, why = forced or self.d.policy().decide(
            call.name, read_only=spec.annotations.read_only, capabilities=capabilities
        )
        if decision is Decision.DENY:
            self._denials += 1
            await fail(f"not allowed: {why}")
            return
        if decision is Decision.ASK and not await self._ask(call, why):
            self._denials += 1
            return
        tool_gate = await self._gate(
            lambda: self.d.regulator.before_tool_call(
                self.d.state(),
                ToolQuestion(
                    name=call.name,
                    call_id=call.id,
                    arguments=call.arguments,
                    read_only=spec.annotations.read_only,
                    capabilities=tuple(capabilities),
                ),
                self.d.clock.now_us(),
            )
        )
        if not tool_gate.allow:
            await fail(f"blocked by regulation: {tool_gate.reason}")
            return
        await self._write(k.ToolCallStarted(call_id=call.id, tool_name=call.name), actor=Actor.TOOL)
        context = ToolContext(
            workspace=self.d.workspace,
            session_id=self.d.writer.session_id,
            call_id=call.id,
            blobs=self.d.blobs,
            protected=self.d.protected,
            state=self.d.state,
            journal=self.d.writer.journal,
            allow_unsandboxed=self.d.allow_unsandboxed,
        )
        t0 = time.perf_counter()
        try:
            if self.d.execute is not None:
                output, duration_ms = await self.d.execute(call, context)
            else:
                output = await tools.run(call.name, call.arguments, context)
                duration_ms = round((time.perf_counter() - t0) * 1000, 3)
        except Exception as exc:  # a broken tool is an error result, never a crashed run
            output = ToolOutput(f"{call.name} raised {type(exc).__name__}: {exc}", is_error=True)
            duration_ms = round((time.perf_counter() - t0) * 1000, 3)
        result, blob = output.content, None
        if len(result) > INLINE_RESULT_LIMIT:
            blob = await asyncio.to_thread(self.d.blobs.put, result.encode())
            half = INLINE_RESULT_LIMIT // 2
            omitted = f"\n… [{len(result) - INLINE_RESULT_LIMIT} characters omitted; blob {blob}] …\n"
            result = f"{result[:half]}{omitted}{result[-half:]}"
        self._note(
            k.ToolCallCompleted(
                call_id=call.id,
                tool_name=call.name,
                result=result,
                result_blob=blob,
                duration_ms=duration_ms,
                is_error=output.is_error,
            ),
            actor=Actor.TOOL,
        )
        for effect in output.effects:  # what the tool changed, recorded right after its completion
            if self.d.route_effect is not None and await self.d.route_effect(effect, self._run_id):
                continue
            self._note(effect, actor=Actor.TOOL)

    async def _ask(self, call: ToolCall, why: str) -> bool:
        """Request an approval and wait for the answer; True when the call may run."""
        policy = self.d.policy()
        approval_id = approval_id_for(call.id)
        digest = arguments_hash(call.name, call.arguments)
        expires_at = self.d.clock.now_us() + int(policy.expiry_s * 1_000_000)
        # Waiting on a person is the ask_human mode (Life's first rule), for exactly as long as the wait lasts.
        previous = self.d.state().mode
        asking = previous is not OperatingMode.ASK_HUMAN
        ask_human = k.ModeChanged(
            previous=previous.value, mode=OperatingMode.ASK_HUMAN.value, reason=_mode_reason(OperatingMode.ASK_HUMAN)
        )
        await self._write(
            k.ApprovalRequested(
                approval_id=approval_id,
                call_id=call.id,
                tool_name=call.name,
                arguments=call.arguments,
                arguments_hash=digest,
                risk="medium",
                expires_at=expires_at,
            ),
            *([ask_human] if asking else []),
            actor=Actor.SYSTEM,
        )
        request = ApprovalRequest(approval_id, call.id, call.name, call.arguments, digest, why, expires_at)

        async def record(decision: k.Payload, actor: str, reason: str) -> None:
            """The decision, and the end of ask_human, in one durable write."""
            drafts = [self._draft(decision, actor=actor)]
            if asking:
                back = k.ModeChanged(previous=OperatingMode.ASK_HUMAN.value, mode=previous.value, reason=reason)
                drafts.append(self._draft(back, actor=Actor.SYSTEM))
            await self.d.writer.write(*drafts)

        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands just after the answer.
            async with asyncio.timeout(policy.expiry_s):
                answer = await self.d.approver(request)
        except TimeoutError:
            answer = ApprovalAnswer("expired")
        except asyncio.CancelledError:  # the run was cancelled while waiting: the request must not stay open
            cancelled = k.ApprovalDenied(approval_id=approval_id, reason="the run was cancelled", by="system")
            await record(cancelled, Actor.SYSTEM, "the run was cancelled")
            raise
        if answer.decision == "granted":
            granted = k.ApprovalGranted(approval_id=approval_id, scope=answer.scope, by=answer.by)
            await record(granted, Actor.USER, "the approval was answered")
            return True
        if answer.decision == "expired":
            await record(k.ApprovalExpired(approval_id=approval_id), Actor.SYSTEM, "the approval expired")
            error = "nobody approved this call in time (the approval expired)"
        else:
            denied = k.ApprovalDenied(approval_id=approval_id, reason=answer.reason, by=answer.by)
            await record(denied, Actor.USER, "the approval was answered")
            error = f"the user denied this call{': ' + answer.reason if answer.reason else ''}"
        await self._write(k.ToolCallFailed(call_id=call.id, tool_name=call.name, error=error), actor=Actor.TOOL)
        return False

    async def _persist(self, limits: RunLimits, compiled: CompiledContext) -> None:
        await self.d.writer.settle()
        state = self.d.state()
        remaining = self._remaining(limits)
        self._note(k.BudgetUpdated(budget=msgspec.to_builtins(remaining), reason="tick"))
        vector = msgspec.structs.replace(state.vector, context_pressure=round(compiled.utilisation, 4))
        mode = estimate_mode(vector, len(state.pending))
        if mode is not state.mode:
            self._note(k.ModeChanged(previous=state.mode.value, mode=mode.value, reason=_mode_reason(mode)))


async def _uncancellable(cleanup: Awaitable[None]) -> None:
    """Run ``cleanup`` to its end even if the caller is cancelled again meanwhile (a second ``cancel()``,
    or an anyio scope that re-delivers its cancellation at every await): a cancelled run must still record
    how it ended."""
    task = asyncio.ensure_future(cleanup)
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
    task.result()


def _mode_reason(mode: OperatingMode) -> str:
    return {
        OperatingMode.ASK_HUMAN: "approvals are pending",
        OperatingMode.RECOVER: "consecutive errors reached the circuit breaker",
        OperatingMode.SLEEP: "progress is complete",
        OperatingMode.EXPLORE: "uncertainty or context pressure is high",
        OperatingMode.VERIFY: "side effects are piling up",
        OperatingMode.EXECUTE: "steady progress",
    }[mode]
