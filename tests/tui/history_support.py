"""Shared setup for the history tests (event log, branching, replay mode): a real journal with a scripted
session on a fake clock, and a tiny host app that shows one pane the way the workstation does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fakes.rig import RuntimeRig, open_rig
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widget import Widget

from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedTurn
from life_tui.runtime.session import Session


def call(name: str, **arguments: Any) -> ScriptedCall:
    return ScriptedCall(name=name, arguments=arguments)


def two_turns() -> list[ScriptedTurn]:
    """Turn 1 writes notes.md (v1) and answers; turn 2 rewrites it (v2) and answers."""
    return [
        ScriptedTurn(tool_calls=[call("write_file", path="notes.md", content="v1\n")], cost_usd=0.01),
        ScriptedTurn(text="wrote v1", cost_usd=0.02),
        ScriptedTurn(tool_calls=[call("write_file", path="notes.md", content="v2\n")], cost_usd=0.03),
        ScriptedTurn(text="wrote v2", cost_usd=0.04),
    ]


@asynccontextmanager
async def recorded_session(tmp_path: Path, *, turns: int = 2) -> AsyncIterator[tuple[RuntimeRig, Session]]:
    """A session that ran ``turns`` of :func:`two_turns` (scripted provider, auto approvals)."""
    async with open_rig(RuntimeRig, tmp_path, {"README.md": "hello\n"}) as rig:
        session, _ = await rig.session(*two_turns(), approval_mode=ApprovalMode.AUTO)
        for n in range(turns):
            await session.submit(f"turn {n + 1}")
        yield rig, session


class Host(App[None]):
    """Hosts one widget; run it with ``run_test(message_hook=host.seen.append)`` to record every message."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget
        self.seen: list[Message] = []

    def compose(self) -> ComposeResult:
        yield self.widget

    def seen_of(self, kind: type[Message]) -> list[Any]:
        """Messages of ``kind``, each once (the hook sees a bubbling message at every widget it passes)."""
        unique: dict[int, Message] = {}
        for m in self.seen:
            if isinstance(m, kind):
                unique.setdefault(id(m), m)
        return list(unique.values())
