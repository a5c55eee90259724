"""``runtime.Session``: the one API the TUI, the headless CLI and the MCP server use.

A Session is one branch of one journal session, with its provider, tools, approval policy and regulator.
It submits user turns to the loop, streams the resulting events (only once they are durable: subscribers
read the journal, never the loop's memory), answers approvals, cancels, forks and switches provider. Its
state is the journal's fold, kept current incrementally as its own writes become durable, and rebuilt
from a snapshot when the session is reopened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from life_tui import paths
from life_tui.errors import Conflict, InvalidInput, NotFound
from life_tui.finance.view import WalletView, to_micro
from life_tui.finance.wallet import Wallet, wallet_for
from life_tui.homeostasis.fold import HomeostasisProjection
from life_tui.homeostasis.state import GatingProfile, HomeostaticState
from life_tui.journal.blobs import BlobStore
from life_tui.journal.catalog import MAIN
from life_tui.journal.snapshots import fold, fold_many
from life_tui.journal.store import Journal
from life_tui.journal.subscribe import Subscription
from life_tui.kernel import kinds as k
from life_tui.kernel.clock import Clock, SystemClock
from life_tui.kernel.event import Actor, Event, EventDraft
from life_tui.kernel.ids import new_ulid
from life_tui.kernel.state import OperatingMode, SoulProfile, estimate_mode
from life_tui.runtime.approvals import ApprovalMode, ApprovalPolicy, parse_rules
from life_tui.runtime.autonomic import AutonomicRegulator
from life_tui.runtime.billing import LazyLedger, Ledger
from life_tui.runtime.config import Settings
from life_tui.runtime.context import (
    ContextBudgets,
    ContextInputs,
    estimate_tokens,
    load_project_instructions,
    plan_manual_compaction,
    summarise,
    visible_history,
)
from life_tui.runtime.loop import (
    AgentLoop,
    ApprovalAnswer,
    ApprovalRequest,
    Approver,
    LoopDeps,
    RunLimits,
    RunOutcome,
    ToolExecutor,
)
from life_tui.runtime.projection import ConversationProjection, ConversationState
from life_tui.runtime.providers import ProviderSpec, build
from life_tui.runtime.providers.base import Provider, ToolDefinition
from life_tui.runtime.regulation import Regulator
from life_tui.runtime.skills import SKILLS_BLOCK_BUDGET, SkillCommands, skills_block
from life_tui.runtime.writer import EventWriter
from life_tui.tools.basic import default_registry
from life_tui.tools.mcp_bridge import McpBridge, attach
from life_tui.tools.memory import MEMORY_TOOLS, MemoryState, combined, is_shared, memory_block, record_shared
from life_tui.tools.memory import shared_memory as shared_memory_of
from life_tui.tools.registry import ToolRegistry
from life_tui.tools.skills import ACTIVATE_SKILL, SkillSet


def protected_paths(journal: Journal, workspace: Path) -> tuple[Path, ...]:
    """What tools may never write, even inside the workspace: the journal, config and keys, git internals."""
    where = paths.resolve()
    return tuple(
        p.resolve()
        for p in (
            journal.root,
            where.config,
            where.data / "keys",
            workspace / ".git",
            workspace / ".life" / "config.toml",
        )
    )


def limits_from(settings: Settings, **overrides: Any) -> RunLimits:
    b = settings.budget
    base = RunLimits(
        max_turns=b.max_turns,
        tokens=b.tokens,
        time_s=b.time_s,
        cost_usd=b.cost_usd,
        tool_calls=b.tool_calls,
        errors=b.errors,
    )
    return replace(base, **{key: v for key, v in overrides.items() if v is not None})


class SharedResources:
    """Counts the sessions using a provider or an MCP bridge: a fork shares its parent's, and whichever
    session closes last closes them (a front end may close the parent and keep working on the fork)."""

    def __init__(self) -> None:
        self._users: dict[int, int] = {}

    def acquire(self, resource: object) -> None:
        self._users[id(resource)] = self._users.get(id(resource), 0) + 1

    def release(self, resource: object) -> bool:
        """Drop one user; True when it was the last (the caller closes the resource)."""
        left = self._users.get(id(resource), 0) - 1
        if left > 0:
            self._users[id(resource)] = left
            return False
        self._users.pop(id(resource), None)
        return True


@dataclass
class SessionOptions:
    """How a Session runs: everything front ends may choose. Defaults suit an interactive session."""

    settings: Settings = field(default_factory=Settings)
    approval_mode: ApprovalMode | None = None
    interactive: bool = True
    """False (headless): an approval nobody can give is denied at once instead of waiting."""
    tools: ToolRegistry | None = None
    regulator: Regulator | None = None
    soul: SoulProfile = field(default_factory=SoulProfile)
    clock: Clock | None = None
    executor: ToolExecutor | None = None
    approver: Approver | None = None
    allow_unsandboxed: bool = False
    """Let the shell run without an OS sandbox when none is available (the user's explicit choice)."""
    decide: Any = None
    """Per-call approval decisions that override the policy (the replay runner's recorded decisions)."""
    retry_sleep: Any = None
    ledger: Ledger | None = None
    """Where calls are reserved and billed (default: the journal's wallet; the replay runner's recording)."""


class Session:
    """A live session branch. Create with :meth:`create` or :meth:`open`; use from one asyncio loop."""

    def __init__(
        self,
        journal: Journal,
        session_id: str,
        branch: str,
        workspace: Path,
        provider: Provider,
        options: SessionOptions,
    ) -> None:
        self.journal = journal
        self.session_id = session_id
        self.branch = branch
        self.workspace = workspace
        self.options = options
        self._provider = provider
        self._shared = SharedResources()
        self._shared.acquire(provider)
        self.clock = options.clock or journal.clock or SystemClock()
        self.tools = options.tools or _registry()
        self._projection = ConversationProjection()
        self.mcp: McpBridge | None = None
        """The MCP servers' tools in this session's registry (None: no server configured)."""
        self._ledger = options.ledger or LazyLedger(lambda: wallet_for(journal, self.clock))
        self._invocation: str | None = None
        self.regulator = options.regulator or AutonomicRegulator(
            projection=HomeostasisProjection(context_window=options.settings.context.window)
        )
        self._fold_branch()
        self._writer = EventWriter(journal, session_id, branch, self._on_written)
        self._approvals: dict[str, asyncio.Future[ApprovalAnswer]] = {}
        self._run: asyncio.Task[RunOutcome] | None = None
        self._project = load_project_instructions(workspace)
        self._skills = SkillCommands(workspace)
        self._shared_memory = shared_memory_of(journal)
        self._budgets = ContextBudgets(window=options.settings.context.window, skills=SKILLS_BLOCK_BUDGET)
        settings = options.settings
        mode = options.approval_mode or ApprovalMode(settings.approvals.mode)
        self._policy_base = ApprovalPolicy(
            mode=mode, rules=parse_rules(settings.approvals.rules), expiry_s=settings.approvals.expiry_s
        )
        thinking = settings.defaults.thinking_budget or None
        self._loop = AgentLoop(
            LoopDeps(
                writer=self._writer,
                state=lambda: self._state,
                provider=lambda: self._provider,
                tools=self.tools,
                policy=self.policy,
                approver=options.approver or self._wait_for_approval,
                regulator=self.regulator,
                clock=self.clock,
                workspace=workspace,
                blobs=BlobStore(journal.layout.blobs, journal.fs),
                budgets=self._budgets,
                inputs=self._inputs,
                execute=options.executor,
                decide=options.decide,
                protected=protected_paths(journal, workspace),
                allow_unsandboxed=options.allow_unsandboxed or settings.shell.allow_unsandboxed,
                price_overrides=settings.prices,
                max_tokens=settings.defaults.max_tokens,
                thinking_budget=thinking,
                retry_sleep=options.retry_sleep or asyncio.sleep,
                route_effect=self._route_effect,
                ledger=self._ledger,
                invocation_id=lambda: self._invocation,
            )
        )

    # ------------------------------------------------------------------------------- construction
    @classmethod
    async def create(
        cls, journal: Journal, *, name: str, workspace: Path, provider: Provider, options: SessionOptions | None = None
    ) -> Session:
        workspace = workspace.resolve()
        info = await asyncio.to_thread(
            journal.create_session,
            name,
            workspace=str(workspace),
            config={"provider": f"{provider.name}:{provider.model}"},
        )
        session = cls(journal, info.session_id, MAIN, workspace, provider, options or SessionOptions())
        await session._attach_mcp()
        await session.apply_configured_budgets()
        return session

    @classmethod
    async def open(
        cls,
        journal: Journal,
        session_id: str,
        *,
        branch: str = MAIN,
        provider: Provider,
        workspace: Path | None = None,
        options: SessionOptions | None = None,
        shares: Session | None = None,
    ) -> Session:
        """Open a session branch. ``shares``: a session whose provider (and MCP servers) this one uses too,
        so either can be closed first (a front end switching branch or session)."""
        info = journal.session(session_id)
        journal.branch(session_id, branch)
        root = workspace or Path(info.workspace or ".")
        options = options or SessionOptions()
        if shares is not None and options.tools is None:
            options = replace(options, tools=shares.tools)  # the same tools, its MCP servers' included
        session = cls(journal, session_id, branch, root.resolve(), provider, options)
        if shares is not None:
            session._join(shares)
        await session._writer.write(
            EventDraft(kind=k.SessionResumed.KIND, payload=k.SessionResumed(front_end="runtime"), actor=Actor.SYSTEM)
        )
        if session._state.run.active:
            await session._close_interrupted_run()
        await session._attach_mcp()
        await session.apply_configured_budgets()
        return session

    async def _attach_mcp(self) -> None:
        """Start the configured MCP servers' bridge (their tools join the registry as ``mcp__server__tool``)."""
        servers = self.options.settings.mcp_servers
        if servers and self.options.tools is None:  # a caller's own registry is left as given
            self.mcp = await attach(self.tools, servers, workspace=self.workspace)
            if self.mcp is not None:
                self._shared.acquire(self.mcp)

    async def _close_interrupted_run(self) -> None:
        """A run the process died in: keep its streamed text, expire its open approvals, and end it.

        Without this a resumed session would carry a run that never finished, approvals nobody can answer
        and a half-streamed answer the model would never see.
        """
        state = self._state
        run = state.run
        events = await asyncio.to_thread(self.journal.read, self.session_id, self.branch, after=run.started_seq)
        tail: list[str] = []
        for e in events:
            if e.kind == "assistant.message":
                tail = []
            elif e.kind == "assistant.text_delta":
                tail.append(str(e.payload_dict().get("delta", "")))
        drafts: list[EventDraft] = []
        if tail:
            partial = k.AssistantMessage(content="".join(tail), model=state.model, stop_reason="interrupted")
            drafts.append(EventDraft(kind=partial.KIND, payload=partial, actor=Actor.AGENT, run_id=run.run_id))
        for approval_id in sorted(state.pending):
            expired = k.ApprovalExpired(approval_id=approval_id)
            drafts.append(EventDraft(kind=expired.KIND, payload=expired, actor=Actor.SYSTEM, run_id=run.run_id))
        if state.mode is OperatingMode.ASK_HUMAN:
            mode = estimate_mode(state.vector, 0)
            change = k.ModeChanged(previous=state.mode.value, mode=mode.value, reason="the interrupted run was closed")
            drafts.append(EventDraft(kind=change.KIND, payload=change, actor=Actor.SYSTEM, run_id=run.run_id))
        finished = k.RunFinished(reason="interrupted", turns=run.turns)
        drafts.append(EventDraft(kind=finished.KIND, payload=finished, actor=Actor.SYSTEM, run_id=run.run_id))
        await self._writer.write(*drafts)

    def _fold_branch(self) -> None:
        """The conversation state, and the regulator's view of the branch's history (a reopened session keeps
        its modes, rulings and streaks), folded in one read of the branch (each from its snapshot)."""
        if isinstance(self.regulator, AutonomicRegulator):
            conversation, homeostasis = fold_many(
                self.journal, [self._projection, self.regulator.projection], self.session_id, self.branch
            )
            self._state: ConversationState = conversation.state
            self.regulator.resume(homeostasis.state)
        else:
            self._state = fold(self.journal, self._projection, self.session_id, self.branch).state
            self.regulator.observe(self.journal.read(self.session_id, self.branch))

    # -------------------------------------------------------------------------------- state access
    @property
    def homeostasis(self) -> HomeostaticState | None:
        """The homeostatic state (three pillars) when the Autonomic regulator is in charge."""
        return self.regulator.state if isinstance(self.regulator, AutonomicRegulator) else None

    @property
    def gating(self) -> GatingProfile | None:
        """The gating profile in force when the Autonomic regulator is in charge."""
        return self.regulator.profile if isinstance(self.regulator, AutonomicRegulator) else None

    def _on_written(self, events: list[Event]) -> None:
        """Fold events as the writer stamps them (before they are durable: see ``runtime/writer.py``)."""
        for e in events:
            self._state = self._projection.apply(self._state, e)
        self.regulator.observe(events)
        wallet = self._ledger.opened if isinstance(self._ledger, LazyLedger) else None
        if isinstance(wallet, Wallet):  # the ledger counts each reservation once, in memory or durable
            finance = [e for e in events if e.kind.startswith("finance.")]
            if finance:
                wallet.apply(finance)

    # ------------------------------------------------------------------------------------ the wallet
    @property
    def wallet(self) -> Wallet:
        """The journal's wallet (opened, folded and reconciled on first use)."""
        return wallet_for(self.journal, self.clock)

    def wallet_view(self) -> WalletView:
        """Balance, spend (this session's breakdown), burn, runway, budgets, reservations in flight."""
        return self.wallet.view(session_id=self.session_id)

    async def set_budget(self, usd: float | None) -> None:
        """Cap this session's spend (all its runs and branches); None removes the cap."""
        limit = None if usd is None else to_micro(usd)
        await asyncio.to_thread(
            self.wallet.set_budget, "session", limit, session_id=self.session_id, branch=self.branch
        )

    async def limit_invocation(self, usd: float) -> str:
        """Cap what this process may spend in this session from now on (a headless ``--max-budget-usd``)."""
        invocation = new_ulid()
        await asyncio.to_thread(
            self.wallet.set_budget,
            "invocation",
            to_micro(usd),
            session_id=self.session_id,
            invocation_id=invocation,
            branch=self.branch,
            actor=Actor.SYSTEM,
        )
        self._invocation = invocation
        return invocation

    def continue_invocation(self, invocation_id: str) -> None:
        """Spend under an invocation cap recorded earlier (the headless run's fork continues its budget)."""
        self._invocation = invocation_id

    @property
    def ledger(self) -> Ledger:
        """Where this session's calls are reserved and billed: the loop's, and the LLM judges' (runtime.judging)."""
        return self._ledger

    @property
    def invocation_id(self) -> str | None:
        """The invocation cap this session spends under (a headless ``--max-budget-usd``), if any."""
        return self._invocation

    async def apply_configured_budgets(self) -> None:
        """The ``[budget] session_usd`` / ``daily_usd`` caps of the settings, recorded where they differ."""
        budget = self.options.settings.budget
        if budget.session_usd is None and budget.daily_usd is None:
            return
        view = await asyncio.to_thread(self.wallet_view)
        current = {b.scope: b.limit_micro for b in view.budgets}
        if budget.session_usd is not None and current.get("session") != to_micro(budget.session_usd):
            await asyncio.to_thread(
                self.wallet.set_budget,
                "session",
                to_micro(budget.session_usd),
                session_id=self.session_id,
                branch=self.branch,
                actor=Actor.SYSTEM,
            )
        if budget.daily_usd is not None and current.get("day") != to_micro(budget.daily_usd):
            await asyncio.to_thread(self.wallet.set_budget, "day", to_micro(budget.daily_usd), actor=Actor.SYSTEM)

    @property
    def state(self) -> ConversationState:
        return self._state

    @property
    def provider(self) -> Provider:
        return self._provider

    def policy(self) -> ApprovalPolicy:
        return replace(self._policy_base, session_grants=frozenset(self._state.session_grants))

    def _inputs(self) -> ContextInputs:
        tools = tuple(
            ToolDefinition(name=s.name, description=s.description, input_schema=s.input_schema)
            for s in self.tools.specs()
        )
        return ContextInputs(
            soul=self.options.soul,
            project_instructions=self._project,
            skills_catalogue=skills_block(self._skills.catalogue(), self._state.skill),
            memory=memory_block(self.memory(), self._budgets.memory * 4),
            tools=tools,
        )

    # --------------------------------------------------------------------------------- skills, memory
    @property
    def skills(self) -> SkillSet:
        """The skills found (and those skipped, with the reason) in the workspace and the user's dir."""
        return self._skills.skills

    def refresh_skills(self) -> SkillSet:
        return self._skills.refresh()

    async def activate_skill(self, name: str) -> None:
        """Activate a skill outside a turn (a front end's choice; a typed ``/name`` goes through :meth:`start`)."""
        if self.running:
            raise Conflict("a turn is running", hint="activate the skill with /name in your next message")
        skill = self._skills.refresh().get(name)
        await self._writer.write(
            EventDraft(kind=k.SkillActivated.KIND, payload=skill.activation("user"), actor=Actor.USER)
        )

    async def deactivate_skill(self) -> None:
        """End the active skill outside a turn (``/skill off`` in a message does it within the turn)."""
        if self.running:
            raise Conflict("a turn is running", hint="type /skill off in your next message")
        active = self._state.skill
        if active is None:
            raise NotFound("no skill is active")
        off = k.SkillDeactivated(name=active.name, reason="turned off by the user")
        await self._writer.write(EventDraft(kind=off.KIND, payload=off, actor=Actor.USER))

    def memory(self) -> MemoryState:
        """The memory this session sees: its own session scope and the shared user, agent and org scopes."""
        return combined(self._state.memory, self._shared_memory.state())

    async def _route_effect(self, effect: k.Payload, run_id: str) -> bool:
        """Shared-scope memory goes to the journal's memory branch; every other effect stays in the session."""
        if not is_shared(effect):
            return False
        await asyncio.to_thread(record_shared, self.journal, [effect], run_id=run_id)
        return True

    def subscribe(self, after: int = 0, kinds: list[str] | None = None) -> Subscription:
        """This branch's durable events after seq ``after``, then live ones."""
        return self.journal.subscribe(self.session_id, self.branch, after=after, kinds=kinds)

    @property
    def running(self) -> bool:
        return self._run is not None and not self._run.done()

    # ------------------------------------------------------------------------------------- turns
    async def submit(self, prompt: str, *, limits: RunLimits | None = None, pinned: bool = False) -> RunOutcome:
        """Run one user turn to its end; the events stream to subscribers as they become durable."""
        task = self.start(prompt, limits=limits, pinned=pinned)
        return await task

    def start(self, prompt: str, *, limits: RunLimits | None = None, pinned: bool = False) -> asyncio.Task[RunOutcome]:
        """Start a turn in the background; returns its task (``cancel()`` stops it)."""
        if self.running:
            raise Conflict("a turn is already running in this session", hint="wait for it or cancel it")
        if not prompt.strip():
            raise InvalidInput("the prompt is empty")
        chosen = limits or limits_from(self.options.settings)
        prelude = self._skills.prelude(prompt, self._state.skill)  # a typed /name or /skill off
        self._run = asyncio.get_running_loop().create_task(
            self._loop.run(prompt, chosen, pinned=pinned, prelude=prelude)
        )
        return self._run

    async def cancel(self) -> RunOutcome | None:
        """Stop the running turn; its partial output and a ``run.finished(cancelled)`` are recorded."""
        if not self.running:
            return None
        assert self._run is not None
        run = self._run
        run.cancel()
        try:
            outcome = await run
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if not run.cancelled() or (me is not None and me.cancelling()):
                raise  # the caller itself was cancelled: that is not ours to swallow
        else:
            return outcome  # it finished before the cancellation reached it
        await self._writer.drain()
        return RunOutcome(run_id=self._state.run.run_id or "", reason="cancelled")

    # --------------------------------------------------------------------------------- approvals
    async def _wait_for_approval(self, request: ApprovalRequest) -> ApprovalAnswer:
        if not self.options.interactive:
            return ApprovalAnswer(
                "denied",
                reason="approval needed but nobody can answer in headless mode (pass --yes to allow)",
                by="policy",
            )
        future: asyncio.Future[ApprovalAnswer] = asyncio.get_running_loop().create_future()
        self._approvals[request.approval_id] = future
        try:
            return await future
        finally:
            self._approvals.pop(request.approval_id, None)

    def pending_approvals(self) -> list[str]:
        return sorted(self._approvals)

    def approve(self, approval_id: str, *, scope: str = "once") -> None:
        """Approve a pending call, once or for the rest of the session (``scope="session"``)."""
        if scope not in ("once", "session"):
            raise InvalidInput(f"unknown approval scope {scope!r}", hint="use once or session")
        self._answer(approval_id, ApprovalAnswer("granted", scope=scope))

    def deny(self, approval_id: str, reason: str = "") -> None:
        self._answer(approval_id, ApprovalAnswer("denied", reason=reason))

    def _answer(self, approval_id: str, answer: ApprovalAnswer) -> None:
        future = self._approvals.get(approval_id)
        if future is None or future.done():
            raise NotFound(f"no pending approval {approval_id!r}", hint="it may have expired or been answered")
        future.set_result(answer)

    # ------------------------------------------------------------------------------ branch, provider
    async def fork(self, at_seq: int, name: str) -> Session:
        """A new Session on a branch that shares this one up to ``at_seq``."""
        await self._writer.drain()
        await asyncio.to_thread(self.journal.fork, self.session_id, self.branch, at_seq, name)
        options = replace(self.options, tools=self.tools)  # the same tools, MCP servers included
        forked = Session(self.journal, self.session_id, name, self.workspace, self._provider, options)
        forked._join(self)
        return forked

    def _join(self, other: Session) -> None:
        """Use ``other``'s provider and MCP servers (shared: the last session to close closes them)."""
        self._shared = other._shared
        self._shared.acquire(self._provider)
        if other.mcp is not None and self.mcp is None:
            self.mcp = other.mcp
            self._shared.acquire(self.mcp)

    async def switch_provider(self, provider: Provider) -> None:
        previous = f"{self._provider.name}:{self._provider.model}"
        old, self._provider = self._provider, provider
        self._shared.acquire(provider)
        if self._shared.release(old):
            await old.aclose()
        await self._writer.write(
            EventDraft(
                kind=k.ProviderSwitched.KIND,
                payload=k.ProviderSwitched(provider=provider.name, model=provider.model, previous=previous),
                actor=Actor.USER,
            )
        )

    async def switch_to(self, spec: str) -> None:
        """Switch with a ``name:model`` spec (for example ``openai:gpt-4.1`` or ``scripted:demo``)."""
        await self.switch_provider(build(ProviderSpec.parse(spec)))

    async def expand(self, compaction_seq: int) -> None:
        """Bring a compacted range back into context (the reverse of a ``context.compacted``)."""
        if not any(c.seq == compaction_seq and not c.expanded for c in self._state.compactions):
            raise NotFound(f"no active compaction at event {compaction_seq}")
        await self._writer.write(
            EventDraft(
                kind=k.ContextExpanded.KIND, payload=k.ContextExpanded(compaction_seq=compaction_seq), actor=Actor.USER
            )
        )

    async def compact(self) -> k.ContextCompacted | None:
        """Summarise the history before the latest turn now (``/compact``); reversible with :meth:`expand`.
        None when there is nothing to compact."""
        if self.running:
            raise Conflict("a turn is running", hint="compact when it has finished")
        span = plan_manual_compaction(self._state)
        if span is None:
            return None
        covered = [m for m in visible_history(self._state) if span[0] <= m.seq <= span[1] and not m.pinned]
        before = sum(estimate_tokens(m.content) for m in covered)
        summary = summarise(covered)
        compacted = k.ContextCompacted(
            from_seq=span[0],
            to_seq=span[1],
            summary=summary,
            tokens_before=before,
            tokens_after=estimate_tokens(summary),
        )
        await self._writer.write(EventDraft(kind=compacted.KIND, payload=compacted, actor=Actor.USER))
        return compacted

    async def record(self, *drafts: EventDraft) -> list[Event]:
        """Append events through this session's ordered writer (front ends' own events: notes, pins...)."""
        return await self._writer.write(*drafts)

    async def close(self) -> None:
        if self.running:
            await self.cancel()
        await self._writer.drain()
        self._writer.close()
        if self.mcp is not None and self._shared.release(self.mcp):
            await self.mcp.aclose()
        if self._shared.release(self._provider):
            await self._provider.aclose()


def _registry() -> ToolRegistry:
    """The default tools, the memory tools and the skill tool."""
    registry = default_registry()
    for tool in (*MEMORY_TOOLS, ACTIVATE_SKILL):
        if tool.name not in registry:
            registry.register(tool)
    return registry


def on_events(session: Session, callback: Callable[[list[Event]], None]) -> Callable[[], None]:
    """Call ``callback`` with this branch's durable events as they are stored (from the writer thread)."""

    def relay(events: list[Event]) -> None:
        mine = [e for e in events if e.session_id == session.session_id and e.branch == session.branch]
        if mine:
            callback(mine)

    return session.journal.on_durable(relay)
