"""``life-tui rewind``: a dry run by default, ``--yes`` restores the files tools changed and records it;
the journal still verifies, and a second rewind has nothing left to do."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import cli


def test_rewind_restores_the_files_a_tool_wrote(tmp_path: Path, life_home: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "notes.txt").write_text("remember the milk\n")
    turns = [
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "notes.txt", "content": "forget it\n"}}]},
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "new.txt", "content": "fresh\n"}}]},
        {"text": "done"},
    ]
    script = tmp_path / "writes.json"
    script.write_text(json.dumps({"model": "scripted-test", "turns": turns}))
    cli("--headless", "--provider", f"scripted:{script}", "--yes", "--workspace", str(ws), "rewrite the notes")
    assert (ws / "notes.txt").read_text() == "forget it\n" and (ws / "new.txt").exists()
    events = [json.loads(line) for line in cli("log", "last", "--format", "jsonl").stdout.splitlines()]
    before = next(e["seq"] for e in events if e["kind"] == "user.message")

    dry = cli("rewind", "last", str(before)).stdout
    assert "notes.txt" in dry and "new.txt" in dry and "dry run" in dry
    assert (ws / "notes.txt").read_text() == "forget it\n"  # nothing changed yet

    applied = cli("rewind", "last", str(before), "--yes").stdout
    assert "rewound 2 file(s)" in applied
    assert (ws / "notes.txt").read_text() == "remember the milk\n" and not (ws / "new.txt").exists()
    assert any(
        json.loads(line)["kind"] == "workspace.rewound"
        for line in cli("log", "last", "--format", "jsonl").stdout.splitlines()
    )
    cli("verify")
    again = cli("rewind", "last", str(before)).stdout
    assert "restore" not in again and "remove" not in again
