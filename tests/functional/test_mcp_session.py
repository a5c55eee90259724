"""The MCP bridge wired into Session: configured servers' tools join the session's registry (and a fork's),
the model can call them through the loop, and closing the session stops every server it started."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import psutil
from fakes.mcp_servers import TOOLS_SERVER

from life_tui.journal.store import Journal, JournalOptions
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.config import Settings
from life_tui.runtime.providers.scripted import Script, ScriptedCall, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session, SessionOptions

WAIT = 60.0


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


async def test_configured_servers_are_the_sessions_tools_and_stop_with_it(tmp_path: Path) -> None:
    before = children()
    settings = Settings(mcp_servers={"fake": {"command": sys.executable, "args": [str(TOOLS_SERVER)]}})
    lookup = ScriptedCall(name="mcp__fake__lookup", arguments={"word": "tide"})
    provider = ScriptedProvider(Script(turns=[ScriptedTurn(tool_calls=[lookup]), ScriptedTurn(text="done")]))
    journal = Journal.open(tmp_path / "journal", options=JournalOptions(background=False))
    try:
        options = SessionOptions(settings=settings, approval_mode=ApprovalMode.AUTO)
        session = await asyncio.wait_for(
            Session.create(journal, name="mcp", workspace=tmp_path, provider=provider, options=options), WAIT
        )
        assert session.mcp is not None
        assert "mcp__fake__lookup" in session.tools and "read_file" in session.tools
        outcome = await asyncio.wait_for(session.submit("look up tide"), WAIT)
        assert outcome.reason == "final_answer"
        completed = [e.payload_dict() for e in journal.read(session.session_id) if e.kind == "tool.call_completed"]
        assert len(completed) == 1 and "tide: a word" in str(completed[0]["result"])

        forked = await session.fork(journal.head(session.session_id), "alt")
        assert forked.mcp is session.mcp and "mcp__fake__lookup" in forked.tools
        await forked.close()  # the fork does not own the servers: they keep running
        assert session.mcp.status()
        await asyncio.wait_for(session.close(), WAIT)
    finally:
        journal.close()
    async with asyncio.timeout(10):
        while children() - before:
            await asyncio.sleep(0.05)
