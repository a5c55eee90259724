"""The MCP client bridge against real MCP servers (written with the SDK) run as stdio subprocesses:
tools listed with their schemas and hints, calls, errors, timeouts, resources, a crashing server (reported
with its stderr tail, restarted on the next call, never hanging the caller), tools added mid-session
(disabled until approved), and no child process left behind after close."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from fakes.mcp_servers import CRASHING_SERVER, TOOLS_SERVER

from life_tui import paths
from life_tui.errors import InvalidInput
from life_tui.tools.mcp_bridge import READ_RESOURCE, McpBridge, attach, registered_name
from life_tui.tools.registry import ToolContext, ToolOutput, ToolRegistry

WAIT = 30.0  # every wait in this module is bounded by this


def stdio(script: Path, **table: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(script)], **table}


def context(workspace: Path) -> ToolContext:
    return ToolContext(workspace=workspace, session_id="s", call_id="c")


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    return root


@pytest.fixture
async def fake(workspace: Path) -> AsyncIterator[tuple[McpBridge, ToolRegistry]]:
    registry = ToolRegistry()
    servers = {"fake": stdio(TOOLS_SERVER, env={"FAKE_TOKEN": "sekrit-token-value"})}
    bridge = await asyncio.wait_for(attach(registry, servers, workspace=workspace), WAIT)
    assert bridge is not None
    try:
        yield bridge, registry
    finally:
        await asyncio.wait_for(bridge.aclose(), WAIT)


async def run(registry: ToolRegistry, name: str, workspace: Path, **arguments: Any) -> ToolOutput:
    return await asyncio.wait_for(registry.run(name, arguments, context(workspace)), WAIT)


async def test_tools_are_registered_with_schemas_and_hints_but_never_as_read_only(
    fake: tuple[McpBridge, ToolRegistry],
) -> None:
    _, registry = fake
    names = {s.name for s in registry.specs()}
    assert {"mcp__fake__add", "mcp__fake__lookup", "mcp__fake__grow", READ_RESOURCE} <= names
    add = registry.get("mcp__fake__add")
    assert add.input_schema["properties"] == {
        "a": {"title": "A", "type": "integer"},
        "b": {"title": "B", "type": "integer"},
    }
    assert add.input_schema["required"] == ["a", "b"]
    lookup = registry.get("mcp__fake__lookup")
    assert lookup.annotations.read_only is False  # the server's readOnlyHint is only a claim
    assert lookup.annotations.idempotent is True
    assert "server hints: read-only, idempotent" in lookup.description
    assert add.annotations.destructive is True  # MCP's default when the server says nothing
    assert add.capabilities_for({"a": 1, "b": 2}) == ["mcp:call:fake/add"]


async def test_calls_results_errors_and_environment(fake: tuple[McpBridge, ToolRegistry], workspace: Path) -> None:
    _, registry = fake
    added = await run(registry, "mcp__fake__add", workspace, a=2, b=40)
    assert (added.content, added.is_error, added.data) == ("42", False, {"structured_content": {"result": 42}})
    failed = await run(registry, "mcp__fake__fail", workspace, reason="x")
    assert failed.is_error and "fail" in failed.content
    invalid = await run(registry, "mcp__fake__add", workspace, a="two", b=1)  # our schema check, before the call
    assert invalid.is_error and "arguments.a must be integer" in invalid.content
    who = await run(registry, "mcp__fake__whoami", workspace)
    assert who.content == f"cwd={workspace} token_len={len('sekrit-token-value')}"


async def test_resources_are_readable_through_the_tool_and_the_bridge(
    fake: tuple[McpBridge, ToolRegistry], workspace: Path
) -> None:
    bridge, registry = fake
    assert "notes://readme" in registry.get(READ_RESOURCE).description
    out = await run(registry, READ_RESOURCE, workspace, server="fake", uri="notes://readme")
    assert (out.content, out.is_error) == ("read me first", False)
    missing = await asyncio.wait_for(bridge.read_resource("fake", "notes://nothing"), WAIT)
    assert missing.is_error and "fake" in missing.content
    unknown = await run(registry, READ_RESOURCE, workspace, server="nope", uri="notes://readme")
    assert unknown.is_error


async def test_a_slow_call_times_out_and_the_server_keeps_serving(workspace: Path) -> None:
    registry = ToolRegistry()
    bridge = await attach(registry, {"fake": stdio(TOOLS_SERVER, timeout=0.5)}, workspace=workspace)
    assert bridge is not None
    try:
        started = time.monotonic()
        slow = await run(registry, "mcp__fake__sleep", workspace, seconds=20)
        assert time.monotonic() - started < 5
        assert slow.is_error and "did not answer within 0.5 s" in slow.content
        assert (await run(registry, "mcp__fake__add", workspace, a=1, b=1)).content == "2"
        assert bridge.status()["fake"]["crashes"] == 0
    finally:
        await bridge.aclose()


async def test_a_crash_mid_call_is_reported_and_the_server_restarted(workspace: Path) -> None:
    registry = ToolRegistry()
    servers = {"crashy": stdio(CRASHING_SERVER, env={"CRASH_ON_CALL": "2"})}
    bridge = await attach(registry, servers, workspace=workspace)
    assert bridge is not None
    try:
        assert (await run(registry, "mcp__crashy__work", workspace, n=1)).content == "worked 1"
        crashed = await run(registry, "mcp__crashy__work", workspace, n=2)
        assert crashed.is_error
        assert "MCP server 'crashy' stopped answering" in crashed.content
        assert "fatal: crashing on call 2" in crashed.content  # the stderr tail
        assert "restarted on the next call" in crashed.content
        assert bridge.status()["crashy"]["crashes"] == 1
        again = await run(registry, "mcp__crashy__work", workspace, n=3)  # a fresh process: its call 1
        assert (again.content, again.is_error) == ("worked 3", False)
        assert bridge.status()["crashy"]["running"] is True
    finally:
        await bridge.aclose()
    assert not descendants()


async def test_a_server_that_cannot_start_is_reported_with_bounded_retries(workspace: Path) -> None:
    registry = ToolRegistry()
    servers = {
        "broken": stdio(CRASHING_SERVER, env={"CRASH_AT_START": "1"}),
        "fake": stdio(TOOLS_SERVER),
    }
    bridge = await attach(registry, servers, workspace=workspace)
    assert bridge is not None
    try:
        status = bridge.status()
        assert status["fake"]["running"] is True  # one broken server does not hide the others
        assert status["broken"]["running"] is False
        assert "cannot start (CRASH_AT_START)" in (status["broken"]["last_error"] or "")
        started = time.monotonic()
        out = await run(registry, READ_RESOURCE, workspace, server="broken", uri="x://y")
        assert time.monotonic() - started < WAIT
        assert out.is_error and "tried 3 restarts" in out.content and "cannot start" in out.content
    finally:
        await bridge.aclose()
    assert not descendants()


async def test_a_tool_added_mid_session_stays_disabled_until_approved(
    fake: tuple[McpBridge, ToolRegistry], workspace: Path
) -> None:
    bridge, registry = fake
    late = registered_name("fake", "late_tool")
    assert late not in registry
    assert (await run(registry, "mcp__fake__grow", workspace)).content == "grown"
    async with asyncio.timeout(WAIT):
        while late not in registry:  # the list_changed notification triggers a re-listing
            await bridge.settled()
            await asyncio.sleep(0.01)
    assert "DISABLED until approved: `life-tui mcp enable fake late_tool`" in registry.get(late).description
    refused = await run(registry, late, workspace, x=1)
    assert refused.is_error and "life-tui mcp enable fake late_tool" in refused.content
    assert bridge.status()["fake"]["disabled"] == [late]
    bridge.enable(late)
    assert (await run(registry, late, workspace, x=7)).content == "late 7"
    assert "DISABLED" not in registry.get(late).description


async def test_a_late_tool_approved_in_the_config_file_is_enabled_on_its_next_call(
    fake: tuple[McpBridge, ToolRegistry], workspace: Path
) -> None:
    bridge, registry = fake
    await run(registry, "mcp__fake__grow", workspace)
    late = registered_name("fake", "late_tool")
    async with asyncio.timeout(WAIT):
        while late not in registry:
            await bridge.settled()
            await asyncio.sleep(0.01)
    config = paths.resolve().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[mcp_servers.fake]\ncommand = "x"\napproved_tools = ["late_tool"]\n')
    assert (await run(registry, late, workspace, x=2)).content == "late 2"
    assert bridge.status()["fake"]["disabled"] == []


async def test_no_child_process_outlives_the_bridge(workspace: Path) -> None:
    before = descendants()
    registry = ToolRegistry()
    bridge = await attach(registry, {"a": stdio(TOOLS_SERVER), "b": stdio(TOOLS_SERVER)}, workspace=workspace)
    assert bridge is not None
    assert len(descendants() - before) >= 2
    await asyncio.wait_for(bridge.aclose(), WAIT)
    await asyncio.wait_for(bridge.aclose(), WAIT)  # twice is harmless
    assert descendants() - before == set()


async def test_attach_without_enabled_servers_and_with_bad_tables(workspace: Path) -> None:
    registry = ToolRegistry()
    assert await attach(registry, {}, workspace=workspace) is None
    assert await attach(registry, {"off": stdio(TOOLS_SERVER, enabled=False)}, workspace=workspace) is None
    assert registry.specs() == []
    with pytest.raises(InvalidInput, match=r"\[mcp_servers.bad\] needs exactly one of 'command'"):
        await attach(registry, {"bad": {"args": ["x"]}}, workspace=workspace)
    with pytest.raises(InvalidInput, match="unknown field"):
        await attach(registry, {"bad": {"command": "x", "evn": {}}}, workspace=workspace)
