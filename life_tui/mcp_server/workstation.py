"""The server's hold on the workstation: one journal, its settings, and the sessions it has opened.

A server process is the journal's one writer while it runs. It owns the session that records the client's
workstation tool calls (``mcp <client>``, created on the first call, or the ``--session`` given), and it
keeps every session a ``chat`` turn opened so the next turn continues it. Closing the workstation closes
them all (cancelling a running turn, which records its end) and then the journal, so an exit never leaves
a run open or an event unflushed. No MCP types here: the protocol layer lives in ``server.py``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from life_tui.errors import NotFound
from life_tui.journal.catalog import MAIN
from life_tui.journal.store import Journal
from life_tui.mcp_server.options import ServeOptions
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.config import Settings, load_settings
from life_tui.runtime.providers import ProviderSpec, build, choose
from life_tui.runtime.providers.base import Provider
from life_tui.runtime.providers.scripted import Script, ScriptedProvider
from life_tui.runtime.session import Session, SessionOptions
from life_tui.tools.basic import default_registry
from life_tui.tools.memory import MEMORY_TOOLS
from life_tui.tools.registry import ToolRegistry
from life_tui.tools.skills import ACTIVATE_SKILL

log = logging.getLogger(__name__)


def workstation_tools() -> ToolRegistry:
    """The tools a Session offers by default: the basic registry, the memory tools and the skill tool."""
    registry = default_registry()
    for tool in (*MEMORY_TOOLS, ACTIVATE_SKILL):
        if tool.name not in registry:
            registry.register(tool)
    return registry


@dataclass
class Workstation:
    options: ServeOptions
    journal: Journal
    settings: Settings
    client_name: str = "client"
    tools: ToolRegistry = field(default_factory=workstation_tools)
    _sessions: dict[tuple[str, str], Session] = field(default_factory=dict)
    _tool_session: Session | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    async def open(cls, options: ServeOptions) -> Workstation:
        settings = load_settings()
        journal = await asyncio.to_thread(Journal.open, options.journal)
        return cls(options, journal, settings)

    @property
    def approval_mode(self) -> ApprovalMode:
        return self.options.approval_mode or ApprovalMode(self.settings.approvals.mode)

    def session_options(self) -> SessionOptions:
        """Nobody can answer an approval over MCP: asks are refused unless the mode allows them."""
        return SessionOptions(
            settings=self.settings, approval_mode=self.approval_mode, interactive=False, tools=self.tools
        )

    def chat_provider(self) -> Provider:
        model = None if self.options.provider else self.settings.defaults.model
        spec = choose(self.options.provider, None if self.options.provider else self.settings.defaults.provider, model)
        return build(spec, base_url=self.settings.defaults.base_url)

    def resolve(self, ref: str) -> str:
        return self.journal.resolve_session(ref)

    async def tool_session(self) -> Session:
        """The session that records the client's workstation tool calls (no model: tools only)."""
        async with self._lock:
            if self._tool_session is None:
                provider = ScriptedProvider(Script(model="none", label="MCP tool calls"))
                if self.options.session:
                    session_id = self.resolve(self.options.session)
                    self._tool_session = await self._open(session_id, MAIN, provider)
                else:
                    self._tool_session = await Session.create(
                        self.journal,
                        name=f"mcp {self.client_name}",
                        workspace=self.options.workspace,
                        provider=provider,
                        options=self.session_options(),
                    )
                    self._sessions[(self._tool_session.session_id, MAIN)] = self._tool_session
            return self._tool_session

    async def chat_session(self, ref: str | None, branch: str | None, title: str) -> Session:
        """The session a ``chat`` turn runs in: an open one, a stored one reopened, or a new one."""
        async with self._lock:
            if ref is None:
                session = await Session.create(
                    self.journal,
                    name=title,
                    workspace=self.options.workspace,
                    provider=self.chat_provider(),
                    options=self.session_options(),
                )
                self._sessions[(session.session_id, session.branch)] = session
                return session
            session_id = self.resolve(ref)
            chosen = branch or MAIN
            found = self._sessions.get((session_id, chosen))
            if found is not None and found is not self._tool_session:
                return found
            return await self._open(session_id, chosen, self.chat_provider())

    async def _open(self, session_id: str, branch: str, provider: Provider) -> Session:
        try:
            self.journal.branch(session_id, branch)
        except NotFound:
            await provider.aclose()
            raise
        session = await Session.open(
            self.journal, session_id, branch=branch, provider=provider, options=self.session_options()
        )
        self._sessions[(session_id, branch)] = session
        return session

    def open_session(self, session_id: str, branch: str) -> Session | None:
        return self._sessions.get((session_id, branch))

    async def close(self) -> None:
        """Close every session (a running turn is cancelled and recorded), then the journal."""
        for session in list(self._sessions.values()):
            try:
                await session.close()
            except Exception:  # one broken session must not keep the journal open
                log.exception("closing session %s failed", session.session_id)
        self._sessions.clear()
        await asyncio.to_thread(self.journal.close)


def parse_provider(spec: str) -> ProviderSpec:
    """Validate a ``name:model`` spec early (at start-up), so a typo is a usage error, not a failed turn."""
    return ProviderSpec.parse(spec)
