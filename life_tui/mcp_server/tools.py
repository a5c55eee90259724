"""The workstation's registry tools, called by an MCP client, gated and journaled as inside the app.

A call from a client goes through the same steps as a model's call in the agent loop: argument
validation against the tool's schema, the active skill's allowed tools, the approval policy (rules,
mode, session grants), the regulator's tool gate, then the registry's run with the same ``ToolContext``
(FsPolicy's workspace and protected paths, the sandbox's unsandboxed choice, the blob store). The
journal gets the same events a loop call gets: ``tool.call_requested`` (actor agent, ``agent_id``
``mcp:<client>``), then ``tool.call_started`` before anything runs, then ``tool.call_completed`` with
the tool's effects, or ``tool.call_failed``. An approval that needs a person is recorded as requested
and denied by policy (nobody can answer it over MCP) unless the server runs in ``auto`` mode. The
client is answered only once the outcome is durable.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from life_tui.errors import LifeError
from life_tui.journal.blobs import BlobStore
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Actor, EventDraft
from life_tui.kernel.ids import new_ulid
from life_tui.runtime.approvals import Decision, approval_id_for, arguments_hash
from life_tui.runtime.loop import INLINE_RESULT_LIMIT
from life_tui.runtime.regulation import ToolQuestion
from life_tui.runtime.session import Session, protected_paths
from life_tui.tools.memory import is_shared, record_shared
from life_tui.tools.registry import ToolContext, ToolOutput, ToolSpec

REFUSED_APPROVAL = (
    "this call needs a person's approval and nobody can give one over MCP "
    "(start the server with --yes or --approval-mode auto to allow such calls)"
)


@dataclass(frozen=True)
class ToolResult:
    """What the client gets back: the text the model would see, whether it is an error, and the call id."""

    text: str
    is_error: bool
    call_id: str


class ToolBridge:
    """Runs registry tools for the client in the server's tool session."""

    def __init__(self, session: Session, agent_id: str) -> None:
        self.session = session
        self.agent_id = agent_id
        self._blobs = BlobStore(session.journal.layout.blobs, session.journal.fs)
        self._protected = protected_paths(session.journal, session.workspace)

    def specs(self) -> list[ToolSpec]:
        return self.session.tools.specs()

    def _draft(self, payload: k.Payload, actor: str) -> EventDraft:
        return EventDraft(kind=payload.KIND, payload=payload, actor=actor, agent_id=self.agent_id)

    async def _refuse(self, call_id: str, name: str, error: str, *before: EventDraft) -> ToolResult:
        failed = k.ToolCallFailed(call_id=call_id, tool_name=name, error=error)
        await self.session.record(*before, self._draft(failed, Actor.TOOL))
        return ToolResult(error, True, call_id)

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        session = self.session
        call_id = f"mcp_{new_ulid()}"
        spec = session.tools.get(name) if name in session.tools else None
        capabilities = spec.capabilities_for(arguments) if spec else []
        requested = self._draft(
            k.ToolCallRequested(call_id=call_id, tool_name=name, arguments=arguments, capabilities=capabilities),
            Actor.AGENT,
        )
        if spec is None:
            return await self._refuse(call_id, name, f"there is no tool named {name!r}", requested)
        try:
            session.tools.validate(name, arguments)
        except LifeError as exc:
            return await self._refuse(call_id, name, f"invalid arguments: {exc}", requested)
        skill = session.state.skill  # an active skill narrows the tools, for a client as for the model
        if skill is not None and not skill.allows(name):
            allowed = ", ".join(skill.allowed_tools or []) or "none"
            error = f"{name} is not available while the skill {skill.name!r} is active (it allows: {allowed})"
            return await self._refuse(call_id, name, error, requested)
        decision, why = session.policy().decide(name, read_only=spec.annotations.read_only, capabilities=capabilities)
        if decision is Decision.DENY:
            return await self._refuse(call_id, name, f"not allowed: {why}", requested)
        if decision is Decision.ASK:
            return await self._refuse_approval(call_id, name, arguments, requested)
        gate = session.regulator.before_tool_call(
            session.state,
            ToolQuestion(
                name=name,
                call_id=call_id,
                arguments=arguments,
                read_only=spec.annotations.read_only,
                capabilities=tuple(capabilities),
            ),
            session.clock.now_us(),
        )
        if gate.events:
            await session.record(*gate.events)
        if not gate.allow:
            return await self._refuse(call_id, name, f"blocked by regulation: {gate.reason}", requested)
        await session.record(requested, self._draft(k.ToolCallStarted(call_id=call_id, tool_name=name), Actor.TOOL))
        output, duration_ms = await self._run(name, arguments, call_id)
        return await self._complete(call_id, name, output, duration_ms)

    async def _refuse_approval(
        self, call_id: str, name: str, arguments: dict[str, Any], requested: EventDraft
    ) -> ToolResult:
        approval_id = approval_id_for(call_id)
        asked = k.ApprovalRequested(
            approval_id=approval_id,
            call_id=call_id,
            tool_name=name,
            arguments=arguments,
            arguments_hash=arguments_hash(name, arguments),
            expires_at=self.session.clock.now_us(),
        )
        denied = k.ApprovalDenied(approval_id=approval_id, reason=REFUSED_APPROVAL, by="policy")
        return await self._refuse(
            call_id,
            name,
            f"not run: {REFUSED_APPROVAL}",
            requested,
            self._draft(asked, Actor.SYSTEM),
            self._draft(denied, Actor.SYSTEM),
        )

    async def _run(self, name: str, arguments: dict[str, Any], call_id: str) -> tuple[ToolOutput, float]:
        session = self.session
        context = ToolContext(
            workspace=session.workspace,
            session_id=session.session_id,
            call_id=call_id,
            blobs=self._blobs,
            protected=self._protected,
            state=lambda: session.state,
            journal=session.journal,
            allow_unsandboxed=session.options.allow_unsandboxed or session.options.settings.shell.allow_unsandboxed,
        )
        started = time.perf_counter()
        try:
            output = await session.tools.run(name, arguments, context)
        except Exception as exc:  # a broken tool is an error result, as in the loop
            output = ToolOutput(f"{name} raised {type(exc).__name__}: {exc}", is_error=True)
        return output, round((time.perf_counter() - started) * 1000, 3)

    async def _complete(self, call_id: str, name: str, output: ToolOutput, duration_ms: float) -> ToolResult:
        result, blob = output.content, None
        if len(result) > INLINE_RESULT_LIMIT:
            blob = await asyncio.to_thread(self._blobs.put, result.encode())
            half = INLINE_RESULT_LIMIT // 2
            omitted = f"\n… [{len(result) - INLINE_RESULT_LIMIT} characters omitted; blob {blob}] …\n"
            result = f"{result[:half]}{omitted}{result[-half:]}"
        completed = k.ToolCallCompleted(
            call_id=call_id,
            tool_name=name,
            result=result,
            result_blob=blob,
            duration_ms=duration_ms,
            is_error=output.is_error,
        )
        shared = [e for e in output.effects if is_shared(e)]
        local = [self._draft(e, Actor.TOOL) for e in output.effects if not is_shared(e)]
        await self.session.record(self._draft(completed, Actor.TOOL), *local)
        if shared:
            await asyncio.to_thread(record_shared, self.session.journal, shared)
        return ToolResult(result, output.is_error, call_id)
