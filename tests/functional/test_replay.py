"""Replay: a recorded session re-runs to the same events; a change is reported as the first divergence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from life_tui.errors import ExitCode
from life_tui.journal import Journal, JournalOptions
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.config import ApprovalSettings, Settings
from life_tui.runtime.loop import ApprovalAnswer, ApprovalRequest
from life_tui.runtime.providers.scripted import Script, ScriptedCall, ScriptedError, ScriptedProvider, ScriptedTurn
from life_tui.runtime.replay import comparable, continue_live, replay_branch
from life_tui.runtime.session import Session, SessionOptions

EXE = Path(sys.executable).with_name("life-tui")


def _turn(text: str = "", *calls: ScriptedCall, **kw: object) -> ScriptedTurn:
    return ScriptedTurn(text=text, reasoning="thinking about it", tool_calls=list(calls), chunk_chars=5, **kw)  # type: ignore[arg-type]


def _script() -> Script:
    return Script(
        model="scripted",
        turns=[
            _turn(
                "Looking.",
                ScriptedCall(name="list_dir", arguments={"path": "."}),
                ScriptedCall(name="read_file", arguments={"path": "a.txt"}),
            ),
            _turn("", ScriptedCall(name="read_file", arguments={"path": "missing.txt"})),  # a failing tool
            ScriptedTurn(error=ScriptedError(message="overloaded", retryable=True, status=529)),  # retried
            _turn("Now the directory again.", ScriptedCall(name="list_dir", arguments={"path": "."})),  # asked: denied
            _turn("Understood, first answer done."),
            _turn("Second turn: listing.", ScriptedCall(name="list_dir", arguments={"path": "."})),  # asked: granted
            _turn("All done."),
        ],
    )


class Answers:
    """Deny the first approval, grant the next ones."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, request: ApprovalRequest) -> ApprovalAnswer:
        self.count += 1
        return ApprovalAnswer("denied", reason="not now") if self.count == 1 else ApprovalAnswer("granted")


async def _record(tmp_path: Path) -> tuple[Journal, str, Path]:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "a.txt").write_text("alpha\nbeta\n")
    journal = Journal.open(tmp_path / "journal", options=JournalOptions(background=False))
    settings = Settings(approvals=ApprovalSettings(rules={"list_dir": "ask"}))

    async def no_sleep(_: float) -> None:
        return None

    options = SessionOptions(settings=settings, approver=Answers(), retry_sleep=no_sleep)
    session = await Session.create(
        journal, name="recorded", workspace=workspace, provider=ScriptedProvider(_script()), options=options
    )
    first = await session.submit("look around")
    second = await session.submit("and again")
    assert (first.reason, second.reason) == ("final_answer", "final_answer")
    await session.close()
    return journal, session.session_id, workspace


async def test_a_recorded_session_replays_to_the_same_events(tmp_path: Path) -> None:
    journal, sid, _ = await _record(tmp_path)
    recorded = journal.read(sid)
    kinds = {e.kind for e in recorded}
    assert {
        "approval.denied",
        "approval.granted",
        "tool.call_failed",
        "error.raised",
        "assistant.reasoning_delta",
    } <= kinds
    report = await replay_branch(journal, sid)
    assert report.ok, report.divergence
    assert report.turns == 2 and report.outcomes == ["final_answer", "final_answer"]
    assert report.compared == sum(1 for e in recorded if comparable(e))
    assert journal.head(sid) == recorded[-1].seq  # nothing was written to the recorded journal
    journal.close()


async def test_a_changed_tool_result_is_the_first_divergence(tmp_path: Path) -> None:
    journal, sid, workspace = await _record(tmp_path)
    assert (await replay_branch(journal, sid, rerun_tools=True)).ok  # the workspace is unchanged so far
    (workspace / "a.txt").write_text("alpha\nGAMMA\n")
    report = await replay_branch(journal, sid, rerun_tools=True)
    assert report.divergence is not None
    recorded = journal.read(sid)
    first_read = next(
        e for e in recorded if e.kind == "tool.call_completed" and e.payload_dict()["tool_name"] == "read_file"
    )
    assert report.divergence.recorded_seq == first_read.seq
    assert report.divergence.expected == report.divergence.got == "tool.call_completed"
    assert "result" in report.divergence.detail and "GAMMA" in report.divergence.detail
    journal.close()


async def test_replay_up_to_a_seq(tmp_path: Path) -> None:
    journal, sid, _ = await _record(tmp_path)
    recorded = journal.read(sid)
    first_end = next(e.seq for e in recorded if e.kind == "run.finished")
    partial = await replay_branch(journal, sid, through=first_end)
    assert partial.ok and partial.turns == 1 and partial.through_seq == first_end
    journal.close()


async def test_continue_live_forks_and_runs_the_later_turns(tmp_path: Path) -> None:
    journal, sid, _ = await _record(tmp_path)
    recorded = journal.read(sid)
    second_user = [e for e in recorded if e.kind == "user.message"][1]
    inside_second_run = second_user.seq + 3
    live = ScriptedProvider(Script(model="other", turns=[ScriptedTurn(text="A different answer.")]))
    report = await continue_live(
        journal, sid, "main", inside_second_run, live, options=SessionOptions(approval_mode=ApprovalMode.AUTO)
    )
    assert report.fork_seq == second_user.seq - 1  # moved back to the start of the run it fell in
    assert (report.branch, report.turns, report.outcomes) == ("live-1", 1, ["final_answer"])
    branch = journal.read(sid, "live-1")
    assert [e.payload_dict()["content"] for e in branch if e.kind == "user.message"] == ["look around", "and again"]
    assert branch[-1].kind == "run.finished" and branch[-1].payload_dict()["final_answer"] == "A different answer."
    journal.close()


@pytest.fixture
def recorded_cli(tmp_path: Path, life_home: Path) -> tuple[str, Path]:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "a.txt").write_text("alpha\n")
    script = tmp_path / "s.json"
    script.write_text(
        json.dumps(
            {
                "model": "scripted",
                "turns": [
                    {"text": "Reading.", "tool_calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}]},
                    {"text": "Done."},
                ],
            }
        )
    )
    run = subprocess.run(
        [str(EXE), "--headless", "--provider", f"scripted:{script}", "--output-format", "json", "read it"],
        cwd=workspace, capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return json.loads(run.stdout)["session_id"], workspace


def test_the_replay_command_reports_reproduction_and_divergence(recorded_cli: tuple[str, Path]) -> None:
    sid, workspace = recorded_cli
    ok = subprocess.run(
        [str(EXE), "replay", sid, "--format", "json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["reproduced"] is True
    (workspace / "a.txt").write_text("changed\n")
    bad = subprocess.run(
        [str(EXE), "replay", sid, "--rerun-tools"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert bad.returncode == ExitCode.DIVERGED, bad.stderr
    assert bad.stdout.startswith("first divergence at recorded event #") and "changed" in bad.stdout


async def test_a_session_billed_by_declared_costs_replays_its_reservations(tmp_path: Path) -> None:
    """A scripted model that declares what each turn costs is billed (reserved, then settled) like a hosted
    one; its replay must ask the recorded ledger at the same calls, free ones included, and match."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "a.txt").write_text("alpha\n")
    journal = Journal.open(tmp_path / "journal", options=JournalOptions(background=False))
    script = Script(
        model="scripted",
        turns=[
            ScriptedTurn(
                text="Reading.", tool_calls=[ScriptedCall(name="read_file", arguments={"path": "a.txt"})], cost_usd=0.02
            ),
            ScriptedTurn(
                text="Free step.", tool_calls=[ScriptedCall(name="read_file", arguments={"path": "a.txt", "offset": 1})]
            ),
            ScriptedTurn(text="Done.", cost_usd=0.01),
        ],
    )
    options = SessionOptions(approval_mode=ApprovalMode.AUTO)
    session = await Session.create(
        journal, name="billed", workspace=workspace, provider=ScriptedProvider(script), options=options
    )
    outcome = await session.submit("read it")
    await session.close()
    assert outcome.reason == "final_answer"
    kinds = [e.kind for e in journal.read(session.session_id)]
    assert kinds.count("finance.reserved") == 2 and kinds.count("finance.settled") == 2
    report = await replay_branch(journal, session.session_id)
    assert report.ok, report.divergence
    journal.close()
