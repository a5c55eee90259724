"""The ``bash`` tool reached through the runtime: a scripted model calls it in a real session (auto
approval mode), and the journal holds the call's ``tool.call_*`` events with the command's output; the
session's protected paths reach the sandbox; with no sandbox the call is refused, or, when the user allowed
unsandboxed runs, it runs and a ``sandbox.unsandboxed_run`` event follows its completion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from life_tui.journal import Journal, JournalOptions
from life_tui.kernel.clock import FakeClock
from life_tui.kernel.event import Event
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.config import Settings
from life_tui.runtime.providers.scripted import Script, ScriptedCall, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session, SessionOptions
from life_tui.tools.basic import default_registry
from life_tui.tools.registry import ToolRegistry
from life_tui.tools.sandbox import Sandbox, SandboxPolicy, SandboxProbe, probe
from life_tui.tools.shell import bash_tool

FOUND = probe(SandboxPolicy())
needs_sandbox = pytest.mark.skipif(not FOUND.available, reason=f"no OS sandbox here: {FOUND.reason}")
POLICY = SandboxPolicy(timeout_s=20, kill_grace_s=0.5)


def bash(command: str, call_id: str | None = None) -> ScriptedTurn:
    return ScriptedTurn(
        text="Running it.", tool_calls=[ScriptedCall(name="bash", arguments={"command": command}, id=call_id)]
    )


@dataclass
class Rig:
    workspace: Path
    journal: Journal
    sessions: list[Session] = field(default_factory=list)

    async def session(self, tools: ToolRegistry, *turns: ScriptedTurn, **options: Any) -> Session:
        provider = ScriptedProvider(Script(model="scripted", turns=[*turns, ScriptedTurn(text="Done.")]))
        opts = SessionOptions(settings=Settings(), tools=tools, approval_mode=ApprovalMode.AUTO, **options)
        session = await Session.create(
            self.journal, name="shell", workspace=self.workspace, provider=provider, options=opts
        )
        self.sessions.append(session)
        return session

    def events(self, session: Session) -> list[Event]:
        return self.journal.read(session.session_id, session.branch)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    workspace = tmp_path / "workspace"
    (workspace / ".git").mkdir(parents=True)
    (workspace / ".git" / "config").write_text("[core]\n")
    journal = Journal.open(
        tmp_path / "journal", options=JournalOptions(background=False), clock=FakeClock(tick_us=1_000)
    )
    rig = Rig(workspace, journal)
    try:
        yield rig
    finally:
        for session in rig.sessions:
            await session.close()
        journal.close()


def tools_with(tool: Any) -> ToolRegistry:
    registry = default_registry()
    registry.register(tool)
    return registry


def tool_events(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.kind, e.payload_dict()) for e in events if e.kind.startswith(("tool.", "sandbox."))]


@needs_sandbox
async def test_bash_through_the_runtime_is_journaled(rig: Rig) -> None:
    session = await rig.session(
        tools_with(bash_tool(POLICY)),
        bash("echo hello > out.txt && cat out.txt", "call_a"),
        bash("echo pwned >> .git/config", "call_b"),
    )
    outcome = await session.submit("Make a file, then try to change the git config.")
    assert outcome.reason == "final_answer" and outcome.final_answer == "Done."
    events = tool_events(rig.events(session))
    assert [kind for kind, _ in events] == [
        "tool.call_requested",
        "tool.call_started",
        "tool.call_completed",
        "tool.call_requested",
        "tool.call_started",
        "tool.call_completed",
    ]
    requested, _, completed = (p for _, p in events[:3])
    assert requested["tool_name"] == "bash" and requested["call_id"] == "call_a"
    assert requested["capabilities"] == ["exec:cmd:echo", "exec:cmd:cat"]
    assert requested["arguments"] == {"command": "echo hello > out.txt && cat out.txt"}
    assert completed["result"] == "hello\n[exit code 0]"
    assert "is_error" not in completed and completed["duration_ms"] > 0
    assert (rig.workspace / "out.txt").read_text() == "hello\n"
    # The session's protected paths (.git among them) reached the sandbox.
    refused = events[5][1]
    assert "Read-only file system" in refused["result"] and refused["result"].endswith("[exit code 1]")
    assert (rig.workspace / ".git" / "config").read_text() == "[core]\n"


async def test_no_sandbox_through_the_runtime_refuses(rig: Rig) -> None:
    box = Sandbox(POLICY, probe_with=lambda p: SandboxProbe.unavailable("simulated: no bwrap"))
    session = await rig.session(tools_with(bash_tool(sandbox=box)), bash("touch ran.txt", "call_r"))
    outcome = await session.submit("Touch a file.")
    assert outcome.reason == "final_answer"
    events = tool_events(rig.events(session))
    assert [kind for kind, _ in events] == ["tool.call_requested", "tool.call_started", "tool.call_completed"]
    completed = events[-1][1]
    assert completed["is_error"] is True
    assert completed["result"].startswith("refused: commands run only inside an OS sandbox")
    assert "(simulated: no bwrap)" in completed["result"] and "allow_unsandboxed" in completed["result"]
    assert not (rig.workspace / "ran.txt").exists()


async def test_an_allowed_unsandboxed_run_is_an_event(rig: Rig) -> None:
    box = Sandbox(POLICY, probe_with=lambda p: SandboxProbe.unavailable("simulated: no bwrap"))
    session = await rig.session(
        tools_with(bash_tool(sandbox=box)), bash("touch ran.txt && echo ran", "call_u"), allow_unsandboxed=True
    )
    await session.submit("Touch a file.")
    events = tool_events(rig.events(session))
    assert [kind for kind, _ in events] == [
        "tool.call_requested",
        "tool.call_started",
        "tool.call_completed",
        "sandbox.unsandboxed_run",
    ]
    assert events[2][1]["result"] == "ran\n[exit code 0; ran WITHOUT an OS sandbox (allowed by the user)]"
    assert events[3][1] == {
        "call_id": "call_u",
        "command": "touch ran.txt && echo ran",
        "reason": "simulated: no bwrap",
    }
    assert (rig.workspace / "ran.txt").exists()
