"""Shared setup for the workstation's app tests: the whole LifeApp over a scripted session on a fake clock.

``workstation`` opens a rig (real journal, fake clock, workspace), builds a scripted session, and runs the
app on it under Pilot; ``settle`` waits until the bridge has delivered every stored event and the screen
has caught up, so tests assert on what the journal holds, never on timing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakes.rig import RuntimeRig, open_rig
from textual.pilot import Pilot
from waits import DEADLINE_S, until

from life_tui.runtime.config import Settings
from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedTurn
from life_tui.runtime.session import Session
from life_tui.tui.app import Launch, LifeApp


def call(name: str, **arguments: Any) -> ScriptedCall:
    return ScriptedCall(name=name, arguments=arguments)


@dataclass
class Workstation:
    rig: RuntimeRig
    session: Session
    app: LifeApp
    pilot: Pilot[None]

    async def settle(self) -> None:
        """Wait for the running turn, for the bridge to post every stored event, and for the screen.

        It waits on the session the app shows now: after a key that switches or forks, first wait
        (:meth:`until`) for the app to show the new one."""
        app = self.app
        session = app.session or self.session
        if app.turn is not None:
            await app.turn
        head = session.journal.head(session.session_id, session.branch)
        assert await app.bridge.wait_until(head, timeout=DEADLINE_S), f"the bridge never delivered event {head}"
        await self.pilot.pause()
        await self.pilot.pause()

    async def until(self, condition: Callable[[], object], what: str) -> None:
        """Pause until ``condition()`` holds (see :func:`waits.until`)."""
        await until(self.pilot, condition, what)

    def kinds(self) -> list[str]:
        session = self.app.session or self.session
        return [e.kind for e in session.journal.read(session.session_id, session.branch)]


@asynccontextmanager
async def workstation(
    tmp_path: Path,
    *turns: ScriptedTurn,
    size: tuple[int, int] = (140, 40),
    settings: Settings | None = None,
    files: dict[str, str] | None = None,
    **options: Any,
) -> AsyncIterator[Workstation]:
    async with open_rig(RuntimeRig, tmp_path, files or {"README.md": "hello\n"}) as rig:
        session, _ = await rig.session(*turns, settings=settings, **options)

        async def opener() -> Session:
            return session

        app = LifeApp(Launch(opener=opener, settings=settings or Settings()))
        async with app.run_test(size=size) as pilot:
            ws = Workstation(rig, session, app, pilot)
            assert await app.bridge.wait_until(0, timeout=DEADLINE_S)
            await pilot.pause()
            yield ws
