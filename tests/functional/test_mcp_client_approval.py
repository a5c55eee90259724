"""M5 through the runtime: an MCP server's readOnlyHint does not skip approval. A Session (scripted model,
default approval mode) whose registry holds the bridged tools asks before calling ``lookup``, which the
server claims is read-only; once approved, the call reaches the server and its answer is journaled."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes.mcp_servers import TOOLS_SERVER
from fakes.rig import RuntimeRig, open_rig

from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedTurn
from life_tui.tools.mcp_bridge import McpBridge, attach
from life_tui.tools.registry import ToolRegistry

WAIT = 30.0


class McpRig(RuntimeRig):
    registry: ToolRegistry
    bridge: McpBridge

    def tools(self) -> ToolRegistry:
        return self.registry


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[McpRig]:
    async with open_rig(McpRig, tmp_path, {}) as rig:
        rig.registry = ToolRegistry()
        servers = {"fake": {"command": sys.executable, "args": [str(TOOLS_SERVER)]}}
        bridge = await asyncio.wait_for(attach(rig.registry, servers, workspace=rig.workspace), WAIT)
        assert bridge is not None
        rig.bridge = bridge
        try:
            yield rig
        finally:
            await asyncio.wait_for(bridge.aclose(), WAIT)


async def test_a_read_only_hint_still_asks_and_the_approved_call_reaches_the_server(rig: McpRig) -> None:
    lookup = ScriptedCall(name="mcp__fake__lookup", arguments={"word": "tide"})
    session, _ = await rig.session(ScriptedTurn(tool_calls=[lookup]), ScriptedTurn(text="done"))
    task = session.start("look up tide")
    async with asyncio.timeout(WAIT):
        while not session.pending_approvals():
            await asyncio.sleep(0.005)
    (approval_id,) = session.pending_approvals()
    requested = [e.payload_dict() for e in rig.events(session) if e.kind == "approval.requested"]
    assert [r["tool_name"] for r in requested] == ["mcp__fake__lookup"]
    session.approve(approval_id)
    outcome = await asyncio.wait_for(task, WAIT)
    assert outcome.reason == "final_answer"
    completed = [e.payload_dict() for e in rig.events(session) if e.kind == "tool.call_completed"]
    assert len(completed) == 1 and "tide: a word" in str(completed[0])


async def test_headless_the_read_only_hint_is_denied_without_a_person(rig: McpRig) -> None:
    lookup = ScriptedCall(name="mcp__fake__lookup", arguments={"word": "tide"})
    session, _ = await rig.session(ScriptedTurn(tool_calls=[lookup]), ScriptedTurn(text="done"), interactive=False)
    outcome = await asyncio.wait_for(session.submit("look up tide"), WAIT)
    assert outcome.denials == 1
    kinds = [e.kind for e in rig.events(session) if e.kind.startswith(("tool.", "approval."))]
    assert "tool.call_completed" not in kinds
