"""The workstation in a real terminal: one complete scripted conversation driven through tmux.

A person's path: open ``life-tui`` in a workspace, ask for something, approve the tool call it needs, read
the answer; branch with ``/branch``, continue on the branch; replay the branch (``/replay``: the panes go
back to its first event and the status bar says "REPLAY n/N"; step, go to the end, step back, leave with
Esc), replay again (F5), jump to the end of the first turn and continue live there (a second fork); quit
with Ctrl+Q. Then the journal must verify (``life-tui verify``) and hold what the screen showed: the
granted call, the written file, the branch with its own turn, the fork made from the replay point. Skipped
when tmux is missing (CI installs it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
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


def _finished_head(home: Path, branch: str, timeout: float = 20.0) -> tuple[str, int]:
    """The session id and ``branch``'s head once its turn has finished (the answer is on screen a moment
    before the run's last events are stored)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        reader = _journal(home)
        (session,) = reader.sessions()
        events = reader.read(session.session_id, branch)
        if events and events[-1].kind == "run.finished":
            return session.session_id, events[-1].seq
        time.sleep(0.05)
    raise AssertionError(f"the turn on {branch} never finished")


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
        app.wait_for("/main")  # the status bar names the session's branch once it is open (after first paint)

        app.type("please write the notes")
        app.send("Enter")
        app.wait_for("Allow write_file?")
        # The prompt takes the focus a refresh after it is drawn; a "y" before that would be typed into the
        # input. The footer lists the prompt's keys only once it has the focus.
        app.wait_for("Approve for session")
        app.send("y")
        app.wait_for("MARK-ONE")

        session_id, head = _finished_head(life_home, "main")
        app.type(f"/branch {head}")
        app.send("Enter")
        app.wait_for("/fork-1")  # the status bar: session/branch

        app.type("continue on the branch")
        app.send("Enter")
        app.wait_for("MARK-TWO")

        _, fork_head = _finished_head(life_home, "fork-1")

        app.type("/replay")
        app.send("Enter")
        app.wait_for(f"REPLAY 1/{fork_head}")  # the status bar: the replay point out of the branch's events
        for future in ("MARK-ONE", "MARK-TWO"):  # every pane goes back to the first event: none shows the future
            app.wait_gone(future)
        app.send("Right", "Right", "Right")
        app.wait_for(f"REPLAY 4/{fork_head}")
        app.send("End")
        app.wait_for(f"REPLAY {fork_head}/{fork_head}")
        app.wait_for("MARK-TWO")
        app.send("Left")
        app.wait_for(f"REPLAY {fork_head - 1}/{fork_head}")
        app.send("Escape")
        app.wait_gone("REPLAY")  # the bar and the status mark are gone: live again
        app.wait_for("MARK-TWO")

        app.send("F5")
        app.wait_for(f"REPLAY 1/{fork_head}")
        app.send("g")
        app.wait_for("event seq")  # the jump field's placeholder: it has the focus
        app.type(str(head))
        app.send("Enter")
        app.wait_for(f"REPLAY {head}/{fork_head}")
        app.send("c")  # continue live from the end of the first turn: a fork there
        app.wait_for("/fork-2")
        app.wait_gone("REPLAY")

        app.send("C-q")
        assert app.exit_code() == 0
    finally:
        app.close()

    verified = subprocess.run([str(EXE), "verify"], capture_output=True, text=True, env=None, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    reader = _journal(life_home)
    main = [e.kind for e in reader.read(session_id, "main")]
    assert main.index("approval.requested") < main.index("approval.granted") < main.index("file.written")
    assert (workspace / "notes.md").read_text() == "from the e2e\n"
    fork = reader.read(session_id, "fork-1", after=head)
    prompts = [e.payload_dict()["content"] for e in fork if e.kind == "user.message"]
    assert prompts == ["continue on the branch"]
    assert fork[-1].kind == "run.finished"
    continued = reader.branch(session_id, "fork-2")
    assert (continued.parent, continued.fork_seq) == ("fork-1", head)
    assert [e.kind for e in reader.read(session_id, "fork-2", after=head)] == ["branch.created"]
