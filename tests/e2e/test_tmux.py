"""The workstation in a real terminal: one complete scripted conversation driven through tmux.

A person's path: open ``life-tui`` in a workspace, ask for something, approve the tool call it needs, read
the answer; branch with ``/branch``, continue on the branch; open replay mode and step; quit with Ctrl+Q.
Then the journal must verify (``life-tui verify``) and hold what the screen showed: the granted call, the
written file, the branch with its own turn. Skipped when tmux is missing (CI installs it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tmux_harness import TmuxApp, tmux_available

from life_tui.journal.view import JournalReader

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed (CI installs it)")

EXE = Path(sys.executable).parent / "life-tui"
SCRIPT = {
    "model": "e2e",
    "label": "scripted e2e",
    "turns": [
        {
            "text": "I will write the notes.",
            "tool_calls": [{"name": "write_file", "arguments": {"path": "notes.md", "content": "from the e2e\n"}}],
        },
        {"text": "Wrote notes.md. MARK-ONE"},
        {"text": "On the branch now. MARK-TWO"},
    ],
}


def _journal(home: Path) -> JournalReader:
    return JournalReader.open(home / "data" / "journal")


def test_a_scripted_conversation_with_a_tool_a_branch_and_a_replay(tmp_path: Path, life_home: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "README.md").write_text("e2e\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    env = {"LIFE_HOME": str(life_home), "PATH": "/usr/bin:/bin"}
    app = TmuxApp([str(EXE), "--provider", f"scripted:{script}"], cwd=workspace, env=env)
    try:
        app.wait_for("Enter send", timeout=30)  # first paint: the input's hint line

        app.type("please write the notes")
        app.send("Enter")
        app.wait_for("Allow write_file?")
        app.send("y")
        app.wait_for("MARK-ONE")

        reader = _journal(life_home)
        (session,) = reader.sessions()
        head = reader.head(session.session_id, "main")
        app.type(f"/branch {head}")
        app.send("Enter")
        app.wait_for("/fork-1")  # the status bar: session/branch

        app.type("continue on the branch")
        app.send("Enter")
        app.wait_for("MARK-TWO")

        app.type("/replay")
        app.send("Enter")
        found = app.wait_for("REPLAY", "replay mode is not available yet")
        if found == "REPLAY":
            app.send("escape")

        app.send("C-q")
        assert app.exit_code() == 0
    finally:
        app.close()

    verified = subprocess.run([str(EXE), "verify"], capture_output=True, text=True, env=None, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    reader = _journal(life_home)
    main = [e.kind for e in reader.read(session.session_id, "main")]
    assert main.index("approval.requested") < main.index("approval.granted") < main.index("file.written")
    assert (workspace / "notes.md").read_text() == "from the e2e\n"
    fork = reader.read(session.session_id, "fork-1", after=head)
    prompts = [e.payload_dict()["content"] for e in fork if e.kind == "user.message"]
    assert prompts == ["continue on the branch"]
    assert fork[-1].kind == "run.finished"
