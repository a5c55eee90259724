"""The ``life-tui`` journal commands, run as a user runs them: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from life_tui.errors import ExitCode
from life_tui.journal import Journal, JournalOptions
from life_tui.kernel.event import EventDraft

EXE = Path(sys.executable).with_name("life-tui")


def cli(*args: str, stdin: str | None = None, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(  # noqa: PLW1510 - the exit code is checked below
        [str(EXE), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    return proc


def one_line_error(proc: subprocess.CompletedProcess[str], code: ExitCode) -> str:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("life-tui: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture
def session(life_home: Path) -> str:
    cli("init")
    sid = cli("session", "new", "demo").stdout.strip()
    root = life_home / "data" / "journal"
    with Journal.open(root, options=JournalOptions(background=False)) as j:
        j.append(sid, "main", EventDraft(kind="user.message", payload={"content": "list the files"}, actor="user"))
        j.append(
            sid,
            "main",
            EventDraft(
                kind="tool.call_requested",
                payload={"call_id": "c1", "tool_name": "list_dir", "arguments": {"path": "."}},
            ),
        )
        j.append(
            sid,
            "main",
            EventDraft(
                kind="tool.call_completed",
                payload={
                    "call_id": "c1",
                    "tool_name": "list_dir",
                    "result": "a.py\nb.py",
                    "duration_ms": 3.2,
                },
            ),
        )
        j.append(
            sid,
            "main",
            EventDraft(
                kind="assistant.message",
                payload={
                    "content": "There are two files.",
                    "model": "m",
                    "usage": {"input_tokens": 50, "output_tokens": 7},
                },
            ),
        )
    return sid


def test_no_arguments_explains_what_works(life_home: Path) -> None:
    out = cli().stdout
    assert "needs a terminal" in out and "life-tui init" in out
    assert "life-tui" in cli("--version").stdout


def test_session_lifecycle(session: str) -> None:
    listed = cli("session", "list", "--format", "json").stdout
    rows = json.loads(listed)
    assert [r["session"] for r in rows] == [session] and rows[0]["events"] == 5
    assert "main" in cli("session", "show", session[:8]).stdout
    assert "fork-1" in cli("session", "fork", session, "--at", "2").stdout
    assert "forked from main at 5" in cli("branch", "last", "head-branch").stdout
    assert "forked from main at 3" in cli("branch", "last", "retry", "--at", "3").stdout
    branches = json.loads(cli("session", "show", session, "--format", "json").stdout)
    assert {b["branch"]: b["fork at"] for b in branches} == {
        "main": "",
        "fork-1": 2,
        "head-branch": 5,
        "retry": 3,
    }
    log = cli("log", session, "--branch", "fork-1").stdout.splitlines()
    assert [line.split()[0] for line in log] == ["1^", "2^", "3"]
    assert "branch.created" in log[-1]
    deleted = cli("session", "delete", session, check=None)
    assert "--yes" in one_line_error(deleted, ExitCode.USAGE)
    cli("session", "delete", session, "--yes")
    assert json.loads(cli("session", "list", "--format", "json").stdout) == []
    assert json.loads(cli("session", "list", "--all", "--format", "json").stdout)[0]["status"] == "deleted"


def test_log_filters_and_jsonl(session: str) -> None:
    lines = cli("log", session, "--kind", "tool.call_requested", "--kind", "tool.call_completed").stdout.splitlines()
    assert len(lines) == 2 and "list_dir" in lines[0]
    events = [json.loads(x) for x in cli("log", session, "--format", "jsonl", "-n", "2").stdout.splitlines()]
    assert [e["seq"] for e in events] == [1, 2] and events[0]["kind"] == "session.created"


def test_cat_is_a_readable_transcript(session: str) -> None:
    text = cli("cat", session).stdout
    assert text.startswith("# demo")
    assert "list the files" in text and "tool call `list_dir`" in text and "There are two files." in text


def test_query_formats_and_errors(session: str) -> None:
    csv_out = cli("query", "SELECT kind, count(*) AS n FROM events GROUP BY 1 ORDER BY 1", "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "kind,n" and "assistant.message,1" in csv_out
    rows = json.loads(cli("query", "SELECT sum(tokens) AS t FROM events", "--format", "json").stdout)
    assert rows == [{"t": 57}]
    assert "inherited" in cli("query", "--schema").stdout
    bad = cli("query", "SELECT * FROM nowhere", check=None)
    assert "SQL error" in one_line_error(bad, ExitCode.INVALID_INPUT)


def test_export_import_round_trip(session: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "s.jsonl"
    cli("export", session, "--output", str(out))
    md = cli("export", session, "--format", "md").stdout
    assert "There are two files." in md
    monkeypatch.setenv("LIFE_JOURNAL", str(tmp_path / "elsewhere"))
    assert "imported 5 events" in cli("import", str(out)).stdout
    again = tmp_path / "again.jsonl"
    cli("export", session, "-o", str(again))
    assert again.read_bytes() == out.read_bytes()
    assert "5 already present" in cli("import", str(out)).stdout


def test_malformed_import_stores_nothing(session: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "s.jsonl"
    cli("export", session, "-o", str(good))
    lines = good.read_text().splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(lines[:2]) + '{"event_id": 5}\n' + "".join(lines[2:]))
    monkeypatch.setenv("LIFE_JOURNAL", str(tmp_path / "fresh"))
    err = one_line_error(cli("import", str(bad), check=None), ExitCode.INVALID_INPUT)
    assert "line 3" in err
    assert json.loads(cli("session", "list", "--format", "json").stdout) == []


def test_unknown_session_and_branch(session: str) -> None:
    one_line_error(cli("log", "nosuchsession", check=None), ExitCode.NOT_FOUND)
    one_line_error(cli("log", session, "--branch", "nope", check=None), ExitCode.NOT_FOUND)
    err = one_line_error(cli("branch", session, "x", "--at", "99", check=None), ExitCode.INVALID_INPUT)
    assert "1..5" in err
    one_line_error(cli("branch", session, "bad name!", check=None), ExitCode.INVALID_INPUT)


def test_locked_journal_names_the_holder_and_reads_still_work(session: str, life_home: Path) -> None:
    with Journal.open(life_home / "data" / "journal", options=JournalOptions(background=False)):
        err = one_line_error(cli("session", "new", "x", check=None), ExitCode.LOCKED)
        assert f"pid {os.getpid()}" in err
        assert session in cli("session", "list").stdout  # readers never wait for the writer
    cli("session", "new", "x")


def test_corrupt_segment_is_refused_and_verify_names_it(session: str, life_home: Path) -> None:
    root = life_home / "data" / "journal"
    with Journal.open(root, options=JournalOptions(background=False)) as j:
        j.seal()
        name = j.manifest().segments[0].name
    assert "ok:" in cli("verify").stdout
    seg = root / "segments" / name
    data = bytearray(seg.read_bytes())
    data[len(data) // 3] ^= 0x10
    seg.write_bytes(bytes(data))
    err = one_line_error(cli("query", "SELECT count(*) FROM events", check=None), ExitCode.CORRUPT)
    assert name in err
    verify = cli("verify", check=None)
    assert verify.returncode == ExitCode.CORRUPT and f"DAMAGE segment {name}" in verify.stdout


def test_follow_prints_new_events_as_they_are_stored(session: str, life_home: Path) -> None:
    proc = subprocess.Popen(
        [str(EXE), "log", session, "--follow", "--kind", "user.message"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        assert "list the files" in proc.stdout.readline()
        with Journal.open(life_home / "data" / "journal", options=JournalOptions(background=False)) as j:
            time.sleep(0.3)
            j.append(
                session,
                "main",
                EventDraft(kind="user.message", payload={"content": "and now?"}, actor="user"),
            )
            line = proc.stdout.readline()
        assert "and now?" in line
    finally:
        proc.kill()
        proc.wait()


def test_doctor_reports_the_environment(session: str) -> None:
    out = cli("doctor").stdout
    for needle in ("python", "duckdb", "journal", "writer", "sessions"):
        assert needle in out
