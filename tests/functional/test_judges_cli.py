"""``life-tui judge`` end to end, as a user runs it: a headless turn with a scripted model, then the judges
with another scripted model, through the installed console script; the printed scores are the journaled
ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes.cli import life

from life_tui.errors import ExitCode
from life_tui.journal import JournalReader


def scripted(path: Path, *texts: str, model: str = "judge-model") -> str:
    path.write_text(json.dumps({"model": model, "turns": [{"text": t, "cost_usd": 0.0005} for t in texts]}))
    return f"scripted:{path}"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    answer = scripted(tmp_path / "agent.json", "Paris is the capital of France.", model="agent-model")
    life("--headless", "--provider", answer, "What is the capital of France?", cwd=ws)
    return ws


def payloads(life_home: Path, kind: str) -> list[dict[str, Any]]:
    reader = JournalReader.open(life_home / "data" / "journal")
    session = reader.sessions()[0]
    return [e.payload_dict() for e in reader.read(session.session_id) if e.kind == kind]


def judge_events(life_home: Path) -> list[dict[str, Any]]:
    return payloads(life_home, "eval.judge_completed")


def test_judge_prints_the_scores_it_journals(workspace: Path, tmp_path: Path, life_home: Path) -> None:
    judge_model = scripted(
        tmp_path / "judge.json",
        '{"coherence": 0.9, "completeness": 0.8, "logical_soundness": 0.4}',
        'Here you go: {"completion": 0.95}',
        '{"adherence": 1.0, "explanation": "No explicit plan."}',
    )
    report = json.loads(life("judge", "--provider", judge_model, "--json", cwd=workspace).stdout)

    assert report["provider"] == f"{judge_model}" and report["branch"] == "main"
    assert [row["judge"] for row in report["evaluations"]] == ["plan_quality", "task_completion", "plan_adherence"]
    assert report["evaluations"][0]["labels"] == {
        "plan_quality.coherence": "good",
        "plan_quality.completeness": "good",
        "plan_quality.soundness": "critical",
    }
    assert report["evaluations"][1]["scores"] == {"task_completion": 0.95}
    assert report["evaluations"][1]["model"] == "judge-model" and report["evaluations"][1]["cost_usd"] == 0.0005
    assert [s["judge"] for s in report["skipped"]] == ["reasoning_coherence", "knowledge_utilization"]

    stored = judge_events(life_home)
    assert [(e["evaluator"], e["target_run_id"]) for e in stored] == [
        (row["judge"], report["run_id"]) for row in report["evaluations"]
    ]
    assert [e["scores"] for e in stored] == [row["scores"] for row in report["evaluations"]]


def test_judge_text_output_and_a_chosen_judge(workspace: Path, tmp_path: Path) -> None:
    judge_model = scripted(tmp_path / "one.json", '{"completion": 0.55}')
    out = life("judge", "last", "--judge", "task_completion", "--provider", judge_model, cwd=workspace).stdout
    lines = out.splitlines()
    assert lines[0].startswith("judged run ") and lines[0].endswith(f"with {judge_model}")
    assert lines[1].split() == ["task_completion", "0.55", "warning"]
    assert "skipped" not in out  # a chosen judge list skips nothing silently
    assert "judging cost $0.000500" in out


def test_judge_failures_exit_with_a_code(workspace: Path, tmp_path: Path, life_home: Path) -> None:
    unknown = life(
        "judge", "--judge", "vibes", "--provider", "scripted:demo", cwd=workspace, expect=ExitCode.INVALID_INPUT
    )
    assert "unknown judge 'vibes'" in unknown.stderr and "Traceback" not in unknown.stderr
    knowledge = life(
        "judge", "--judge", "knowledge_utilization", "--provider", "scripted:demo", cwd=workspace, expect=4
    )
    assert "no knowledge context" in knowledge.stderr
    assert payloads(life_home, "session.resumed") == []  # refused before the session was opened
    garbage = scripted(tmp_path / "garbage.json", "no verdict here")
    failed = life("judge", "-j", "task_completion", "--provider", garbage, cwd=workspace, expect=ExitCode.ERROR)
    assert "error: no JSON object in the reply" in failed.stdout
    assert [e["error"] is not None for e in judge_events(life_home)] == [True]
    missing = life("judge", "nosuchsession", "--provider", garbage, cwd=workspace, expect=ExitCode.NOT_FOUND)
    assert missing.stderr.startswith("life-tui: ")
