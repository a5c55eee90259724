"""The MCP server's tool bridge in-process (the subprocess tests in ``test_mcp_server.py`` drive the same
code over stdio): a client's call meets the checks a model's call meets, here the active skill's narrowing."""

from __future__ import annotations

import shutil
from pathlib import Path

from life_tui import paths
from life_tui.journal import Journal, JournalOptions
from life_tui.mcp_server.tools import ToolBridge
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.providers.scripted import Script, ScriptedProvider
from life_tui.runtime.session import Session, SessionOptions

SKILLS = Path(__file__).resolve().parents[1] / "data" / "skills"


async def test_an_active_skill_narrows_a_clients_tools_as_it_narrows_the_models(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(SKILLS / "workspace", workspace)
    shutil.copytree(SKILLS / "user", paths.resolve().user_skills)
    (workspace / "a.txt").write_text("alpha\n")
    journal = Journal.open(tmp_path / "journal", options=JournalOptions(background=False))
    session = await Session.create(
        journal,
        name="mcp",
        workspace=workspace,
        provider=ScriptedProvider(Script(model="scripted", turns=[])),
        options=SessionOptions(approval_mode=ApprovalMode.AUTO),
    )
    bridge = ToolBridge(session, "mcp:test")
    await session.activate_skill("review")  # allows read_file and list_dir only

    refused = await bridge.call("write_file", {"path": "b.txt", "content": "beta\n"})
    read = await bridge.call("read_file", {"path": "a.txt"})

    assert refused.is_error and "while the skill 'review' is active (it allows: read_file, list_dir)" in refused.text
    assert not (workspace / "b.txt").exists()
    assert not read.is_error and "alpha" in read.text
    failed = [e.payload_dict() for e in journal.read(session.session_id) if e.kind == "tool.call_failed"]
    assert [f["tool_name"] for f in failed] == ["write_file"]
    await session.deactivate_skill()
    assert not (await bridge.call("write_file", {"path": "b.txt", "content": "beta\n"})).is_error
    await session.close()
    journal.close()
