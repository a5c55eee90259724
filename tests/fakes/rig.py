"""A test rig for runtime tests: a real journal on a fake clock, a workspace, and sessions built on it.

Test modules subclass :class:`RuntimeRig` to add their own tools (``tools()``) and open it with
:func:`open_rig`, which closes every session and the journal afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from life_tui.journal import Journal, JournalOptions
from life_tui.kernel.clock import FakeClock
from life_tui.kernel.event import Event
from life_tui.runtime.config import Settings
from life_tui.runtime.providers.scripted import Script, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session, SessionOptions
from life_tui.tools.basic import default_registry
from life_tui.tools.registry import ToolRegistry


@dataclass
class RuntimeRig:
    root: Path
    workspace: Path
    clock: FakeClock
    journal: Journal
    sessions: list[Session] = field(default_factory=list)

    def tools(self) -> ToolRegistry:
        return default_registry()

    async def session(
        self,
        *turns: ScriptedTurn,
        model: str = "scripted",
        provider_class: type[ScriptedProvider] = ScriptedProvider,
        settings: Settings | None = None,
        **options: Any,
    ) -> tuple[Session, ScriptedProvider]:
        provider = provider_class(Script(model=model, turns=list(turns)))
        opts = SessionOptions(settings=settings or Settings(), tools=self.tools(), **options)
        session = await Session.create(
            self.journal, name="test", workspace=self.workspace, provider=provider, options=opts
        )
        self.sessions.append(session)
        return session, provider

    def events(self, session: Session, after: int = 0) -> list[Event]:
        return self.journal.read(session.session_id, session.branch, after=after)

    def run_events(self, session: Session, run_id: str) -> list[Event]:
        return [e for e in self.events(session) if e.run_id == run_id]


R = TypeVar("R", bound=RuntimeRig)


@asynccontextmanager
async def open_rig(kind: type[R], tmp_path: Path, files: dict[str, str]) -> AsyncIterator[R]:
    """A rig with ``files`` (relative path -> text) in its workspace, torn down cleanly afterwards."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    clock = FakeClock(tick_us=1_000)
    journal = Journal.open(tmp_path / "journal", options=JournalOptions(background=False), clock=clock)
    rig = kind(tmp_path / "journal", workspace, clock, journal)
    try:
        yield rig
    finally:
        for session in rig.sessions:
            await session.close()
        journal.close()
