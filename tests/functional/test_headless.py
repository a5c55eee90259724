"""``life-tui --headless``, run as scripts run it: the installed console script in a subprocess.

Every run uses a scripted provider (``--provider scripted:tests/data/<script>.yaml``), a fresh ``LIFE_HOME``
(the autouse fixture in tests/conftest.py) and a small fixed workspace, so the model's answers and the tool
results are the same on every run.

Golden files (tests/golden/headless_*) pin each output format. Before comparing, :func:`normalise` replaces
what legitimately differs between runs, and nothing else:

- ULIDs (session, event and run ids) become ``<ULID-n>``, numbered by first appearance, so "the same id
  twice" stays visible (every record of a run names one session; a run id links its events);
- BLAKE3 hashes (64 hex digits: ``hash``, ``prev_hash``) become ``<HASH-n>`` the same way, so the hash
  chain (each ``prev_hash`` is the previous event's ``hash``) is still checked;
- timestamps (``occurred_at``, ``expires_at``) become ``<TS>``; durations (``duration_ms``,
  ``time_remaining_ms``) become ``<DURATION>``;
- the workspace's absolute path becomes ``<WORKSPACE>`` and the package version ``<VERSION>``.

JSON lines are normalised field by field (parsed, then re-encoded compactly with their key order kept); text output
only has the workspace path replaced. Set ``LIFE_UPDATE_GOLDEN=1`` to rewrite the golden files after an
intended change, and review the diff.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from life_tui.errors import ExitCode
from life_tui.journal import Journal, JournalReader
from life_tui.kernel.event import Event
from life_tui.runtime.projection import ConversationProjection

EXE = Path(sys.executable).with_name("life-tui")
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
GOLDEN = ROOT / "tests" / "golden"
PROVIDER_ENV = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LIFE_PROVIDER", "LIFE_MODEL", "LIFE_DEBUG")


def script(name: str) -> str:
    return f"scripted:{DATA / name}.yaml"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env.update(extra)
    return env


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "notes.txt").write_text("remember the milk\n")
    (ws / "src" / "app.py").write_text("print('hi')\n")
    return ws.resolve()


def run(
    *args: str,
    cwd: Path,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    expect: int | None = 0,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(  # noqa: PLW1510 - checked below
        [str(EXE), "--headless", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env or clean_env(),
    )
    if expect is not None:
        assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    return proc


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc


def records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def one_line_error(proc: subprocess.CompletedProcess[str], code: ExitCode) -> str:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("life-tui: "), proc.stderr
    return lines[0]


def journal_root(life_home: Path) -> Path:
    return life_home / "data" / "journal"


def events(life_home: Path, session_id: str, branch: str = "main") -> list[Event]:
    return list(JournalReader.open(journal_root(life_home)).iter_events(session_id, branch))


# --------------------------------------------------------------------------------------- goldens
ULID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
HASH = re.compile(r"\b[0-9a-f]{64}\b")
TIMESTAMPS = {"occurred_at", "expires_at"}
DURATIONS = {"duration_ms", "time_remaining_ms"}


def _numbered(pattern: re.Pattern[str], label: str, text: str, seen: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(0), f"<{label}-{sum(v.startswith(f'<{label}') for v in seen.values()) + 1}>")

    return pattern.sub(sub, text)


def _fields(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in TIMESTAMPS and isinstance(v, int):
                out[k] = "<TS>"
            elif k in DURATIONS and isinstance(v, int | float):
                out[k] = "<DURATION>"
            elif k == "version" and isinstance(v, str):
                out[k] = "<VERSION>"
            else:
                out[k] = _fields(v)
        return out
    if isinstance(value, list):
        return [_fields(v) for v in value]
    return value


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def normalise(output: str, workspace: Path, *, jsonl: bool) -> str:
    if jsonl:
        lines = [compact(_fields(json.loads(line))) for line in output.splitlines() if line]
        output = "\n".join(lines) + "\n"
    output = output.replace(str(workspace), "<WORKSPACE>")
    seen: dict[str, str] = {}
    output = _numbered(ULID, "ULID", output, seen)
    return _numbered(HASH, "HASH", output, seen)


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("LIFE_UPDATE_GOLDEN") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        if not os.environ.get("LIFE_UPDATE_GOLDEN"):
            pytest.fail(f"{path} did not exist; it was written: review and commit it")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from the golden file (LIFE_UPDATE_GOLDEN=1)"


def test_golden_text(workspace: Path) -> None:
    proc = run("--provider", script("headless_tool"), "what is in here?", cwd=workspace)
    assert proc.stdout == "Let me look at the workspace.\n\nThe workspace holds notes.txt and src/.\n"
    check_golden(
        "headless_text.txt",
        normalise(f"--- stdout ---\n{proc.stdout}--- stderr ---\n{proc.stderr}", workspace, jsonl=False),
    )


def test_golden_json(workspace: Path) -> None:
    proc = run("--provider", script("headless_tool"), "--output-format", "json", "what is in here?", cwd=workspace)
    [result] = records(proc.stdout)
    assert result["type"] == "result" and result["subtype"] == "success" and not result["is_error"]
    assert result["num_turns"] == 2 and result["stop_reason"] == "final_answer"
    assert result["usage"] == {
        "input_tokens": 250,
        "output_tokens": 32,
        "cache_read_input_tokens": 40,
        "cache_creation_input_tokens": 0,
    }
    check_golden("headless_json.json", normalise(proc.stdout, workspace, jsonl=True))


def test_golden_stream_json(workspace: Path) -> None:
    proc = run(
        "--provider", script("headless_tool"), "--output-format", "stream-json", "what is in here?", cwd=workspace
    )
    recs = records(proc.stdout)
    assert [(r["type"], r.get("subtype")) for r in recs] == [
        ("system", "init"),
        ("assistant", None),
        ("user", None),
        ("assistant", None),
        ("result", "success"),
    ]
    assert recs[2]["message"]["content"][0]["content"] == "src/\nnotes.txt"
    assert len({r["session_id"] for r in recs}) == 1
    check_golden("headless_stream_json.jsonl", normalise(proc.stdout, workspace, jsonl=True))


def test_golden_events_are_the_journal(workspace: Path, life_home: Path) -> None:
    proc = run("--provider", script("headless_tool"), "--output-format", "events", "what is in here?", cwd=workspace)
    lines = proc.stdout.splitlines()
    sid = json.loads(lines[0])["session_id"]
    stored = [e.to_json().decode() for e in events(life_home, sid)]
    assert lines == stored  # exactly the journal's events, canonical encoding, each once
    check_golden("headless_events.jsonl", normalise(proc.stdout, workspace, jsonl=True))


def test_stream_json_prompt_on_stdin_and_text_blocks(workspace: Path) -> None:
    proc = run("--provider", script("headless_answer"), "-", stdin="a prompt\non two lines\n", cwd=workspace)
    assert proc.stdout == "Noted.\n"
    lines = [
        {"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": "hello"}]}},
    ]
    proc = run(
        "--provider",
        script("headless_answer"),
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        stdin="".join(json.dumps(x) + "\n" for x in lines),
        cwd=workspace,
    )
    assert [r["type"] for r in records(proc.stdout)] == ["system", "assistant", "result"]


# ----------------------------------------------------------------------------- stdin, interactive
class Interactive:
    """A headless process driven over stdin/stdout with stream-json in both directions."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.stderr_path = cwd.parent / f"stderr-{time.monotonic_ns()}.txt"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [str(EXE), "--headless", "--input-format", "stream-json", "--output-format", "stream-json", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd,
            env=env or clean_env(),
        )
        self.records: list[dict[str, Any]] = []
        self._lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)

    def send(self, message: dict[str, Any] | str) -> None:
        assert self.proc.stdin is not None
        raw = message if isinstance(message, str) else json.dumps(message)
        self.proc.stdin.write(raw.encode() + b"\n")
        self.proc.stdin.flush()

    def user(self, text: str) -> None:
        self.send({"type": "user", "message": {"role": "user", "content": text}})

    def expect(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"no matching record within {timeout} s; got {self.records}\n{self.stderr()}")
            record = json.loads(line)
            self.records.append(record)
            if predicate(record):
                return record

    def close(self, timeout: float = 30) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=timeout)
        time.sleep(0.05)
        while not self._lines.empty():
            self.records.append(json.loads(self._lines.get()))
        self._stderr.close()
        return code

    def stderr(self) -> str:
        return self.stderr_path.read_text()


def is_(kind: str, subtype: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["type"] == kind and (subtype is None or r.get("subtype") == subtype)


def ask_for_list_dir(life_home: Path) -> None:
    config = life_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text('[approvals]\nrules = { list_dir = "ask" }\n')


def test_stream_input_approval_granted_then_denied(workspace: Path, life_home: Path) -> None:
    ask_for_list_dir(life_home)
    p = Interactive("--provider", script("headless_approvals"), cwd=workspace)
    p.user("what is in here?")
    init = p.expect(is_("system", "init"))
    assert init["permission_mode"] == "default"
    request = p.expect(is_("system", "approval_request"))
    assert request["tool_name"] == "list_dir" and request["input"] == {"path": "."}
    p.send({"type": "control", "subtype": "approve", "approval_id": request["approval_id"], "scope": "once"})
    first = p.expect(is_("result"))
    assert first["subtype"] == "success" and first["permission_denials"] == [] and first["result"] == "Listed."
    [tool_result] = [r for r in p.records if r["type"] == "user"]
    assert tool_result["message"]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "call_1_1",
        "content": "src/\nnotes.txt",
        "is_error": False,
    }

    p.user("and in src?")
    request = p.expect(is_("system", "approval_request"))
    assert request["input"] == {"path": "src"}
    p.send({"type": "control", "subtype": "deny", "approval_id": request["approval_id"], "reason": "not now"})
    second = p.expect(is_("result"))
    assert second["result"] == "Understood, I will not look."
    assert [d["tool_input"] for d in second["permission_denials"]] == [{"path": "src"}]
    denied = [r for r in p.records if r["type"] == "user"][-1]["message"]["content"][0]
    assert denied["is_error"] and "not now" in denied["content"]
    assert p.close() == ExitCode.DENIED
    assert "1 tool call was denied" in p.stderr()

    sid = first["session_id"]
    decisions = [
        (e.kind, None if e.kind == "approval.requested" else e.payload_dict().get("by", "user"))  # "user": the default
        for e in events(life_home, sid)
        if e.kind.startswith("approval.")
    ]
    assert decisions == [
        ("approval.requested", None),
        ("approval.granted", "user"),
        ("approval.requested", None),
        ("approval.denied", "user"),
    ]


def test_stream_input_fork_control(workspace: Path, life_home: Path) -> None:
    p = Interactive("--provider", script("headless_fork"), cwd=workspace)
    p.user("first question")
    first = p.expect(is_("result"))
    assert first["branch"] == "main" and first["result"] == "First answer."
    p.send({"type": "control", "subtype": "fork", "at": 1, "name": "alt"})
    fork = p.expect(is_("system", "fork"))
    assert fork == {
        "type": "system",
        "subtype": "fork",
        "session_id": first["session_id"],
        "branch": "alt",
        "parent": "main",
        "fork_seq": 1,
    }
    p.user("second question")
    second = p.expect(is_("result"))
    assert second["branch"] == "alt" and second["result"] == "Answer on the fork."
    assert p.close() == 0

    alt = events(life_home, first["session_id"], "alt")
    assert [(e.seq, e.kind) for e in alt[:3]] == [(1, "session.created"), (2, "branch.created"), (3, "user.message")]
    prompts = [e.payload_dict()["content"] for e in alt if e.kind == "user.message"]
    assert prompts == ["second question"]  # the fork shares only seq 1 with main
    main = events(life_home, first["session_id"])
    assert [e.payload_dict()["content"] for e in main if e.kind == "user.message"] == ["first question"]


def test_stream_input_cancel_control_and_partial_messages(workspace: Path, life_home: Path) -> None:
    p = Interactive("--provider", script("headless_slow"), "--include-partial-messages", cwd=workspace)
    p.user("talk slowly")
    delta = p.expect(is_("stream_event"))
    assert delta["event"]["delta"]["type"] == "text_delta"
    p.send({"type": "control", "subtype": "cancel"})
    result = p.expect(is_("result"))
    assert result["subtype"] == "error_cancelled" and result["stop_reason"] == "cancelled"
    assert p.close() == ExitCode.INTERRUPTED
    kinds = [e.kind for e in events(life_home, result["session_id"])]
    assert kinds[-1] == "run.finished"


def test_malformed_lines_are_reported_and_skipped(workspace: Path) -> None:
    stdin = "\n".join(
        [
            "not json",
            json.dumps({"type": "user", "message": {"role": "user", "content": "hello"}}),
            json.dumps({"type": "telepathy"}),
            json.dumps({"type": "control", "subtype": "approve"}),
            json.dumps({"type": "control", "subtype": "deny", "approval_id": "apr_nothing"}),
            "",
        ]
    )
    proc = run(
        "--provider",
        script("headless_answer"),
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        stdin=stdin,
        cwd=workspace,
        expect=ExitCode.INVALID_INPUT,
    )
    recs = records(proc.stdout)
    errors = [r for r in recs if r["type"] == "error"]
    assert [e["line"] for e in errors] == [1, 3, 4, 5]
    assert "not JSON" in errors[0]["error"] and "telepathy" in errors[1]["error"]
    assert "apr_nothing" in errors[3]["error"]
    assert next(r for r in recs if r["type"] == "result")["result"] == "Noted."
    assert len(proc.stderr.strip().splitlines()) == 4


# ----------------------------------------------------------------------------------- exit codes
def test_max_turns(workspace: Path) -> None:
    proc = run(
        "--provider",
        script("headless_loop"),
        "--max-turns",
        "2",
        "--output-format",
        "json",
        "loop",
        cwd=workspace,
        expect=ExitCode.MAX_TURNS,
    )
    result = json.loads(proc.stdout)
    assert result["subtype"] == "error_max_turns" and result["is_error"] and result["num_turns"] == 2
    assert "--max-turns" in one_line_error(proc, ExitCode.MAX_TURNS)


def test_budget_exhausted(workspace: Path) -> None:
    proc = run(
        "--provider",
        script("headless_costly"),
        "--max-budget-usd",
        "1.0",
        "--output-format",
        "json",
        "spend",
        cwd=workspace,
        expect=ExitCode.BUDGET_EXHAUSTED,
    )
    result = json.loads(proc.stdout)
    assert result["subtype"] == "error_max_budget_usd" and result["stop_reason"] == "budget"
    # The first call ($0.76) fits; the second ($0.60) is refused before it is made: $0.24 is left.
    assert result["total_cost_usd"] == 0.76 and result["num_turns"] == 1
    assert "cost" in one_line_error(proc, ExitCode.BUDGET_EXHAUSTED)
    # the same script within budget finishes
    run("--provider", script("headless_costly"), "--max-budget-usd", "5", "spend", cwd=workspace)


def test_denied_without_yes(workspace: Path, life_home: Path) -> None:
    ask_for_list_dir(life_home)
    proc = run(
        "--provider", script("headless_tool"), "--output-format", "json", "look", cwd=workspace, expect=ExitCode.DENIED
    )
    result = json.loads(proc.stdout)
    assert result["subtype"] == "success" and result["stop_reason"] == "final_answer"
    assert result["permission_denials"][0]["tool_name"] == "list_dir"
    assert "--yes" in one_line_error(proc, ExitCode.DENIED)
    events_out = run(
        "--provider", script("headless_tool"), "--output-format", "events", "look", cwd=workspace, expect=12
    )
    denied = [json.loads(x) for x in events_out.stdout.splitlines() if '"approval.denied"' in x]
    assert denied[0]["payload"]["by"] == "policy"
    # --yes allows what would ask
    yes = run("--provider", script("headless_tool"), "--yes", "--output-format", "json", "look", cwd=workspace)
    assert json.loads(yes.stdout)["permission_denials"] == []


def test_not_configured(workspace: Path) -> None:
    proc = run("hello", cwd=workspace, env=clean_env(), expect=ExitCode.NOT_CONFIGURED)
    line = one_line_error(proc, ExitCode.NOT_CONFIGURED)
    assert "no model provider is configured" in line and "--provider scripted:demo" in line
    assert proc.stdout == ""


def test_provider_failure_after_retries(workspace: Path, life_home: Path) -> None:
    proc = run(
        "--provider",
        script("headless_provider_error"),
        "--output-format",
        "json",
        "hello",
        cwd=workspace,
        expect=ExitCode.PROVIDER,
    )
    result = json.loads(proc.stdout)
    assert result["is_error"] and result["subtype"] == "error_during_execution"
    assert "503 service unavailable" in result["error"]
    assert "503" in one_line_error(proc, ExitCode.PROVIDER)
    errors = [e.payload_dict() for e in events(life_home, result["session_id"]) if e.kind == "error.raised"]
    assert [e.get("is_error", True) for e in errors] == [False, False, True]  # two retries, then the failure


def test_locked_journal(workspace: Path, life_home: Path) -> None:
    with Journal.open(journal_root(life_home)):
        proc = run("--provider", script("headless_answer"), "hi", cwd=workspace, expect=ExitCode.LOCKED)
    one_line_error(proc, ExitCode.LOCKED)


def test_usage_errors(workspace: Path) -> None:
    proc = run("--provider", script("headless_answer"), "--output-format", "xml", "hi", cwd=workspace, expect=2)
    assert "xml" in one_line_error(proc, ExitCode.USAGE)
    proc = run("--provider", script("headless_answer"), "--fork-at", "3", "hi", cwd=workspace, expect=2)
    assert "--session" in proc.stderr
    proc = run("--provider", script("headless_answer"), cwd=workspace, stdin="", expect=2)
    assert "no prompt" in proc.stderr
    assert "--output-format" in run("--help", cwd=workspace).stdout


def test_global_journal_option_before_headless(workspace: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    proc = subprocess.run(
        [str(EXE), "--journal", str(other), "--headless", "--provider", script("headless_answer"), "hi"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=workspace,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (other / "LOCK").exists() or any(other.iterdir())


# ------------------------------------------------------------------------------------ sessions
def test_session_and_continue_extend_one_session(workspace: Path, life_home: Path) -> None:
    first = json.loads(
        run("--provider", script("headless_answer"), "--output-format", "json", "first question", cwd=workspace).stdout
    )
    sid = first["session_id"]
    second = run(
        "--provider",
        script("headless_answer"),
        "--session",
        sid[:10],
        "--output-format",
        "json",
        "second",
        cwd=workspace,
    )
    assert json.loads(second.stdout)["session_id"] == sid
    third = run(
        "--provider", script("headless_answer"), "--continue", "--output-format", "json", "third", cwd=workspace
    )
    assert json.loads(third.stdout)["session_id"] == sid
    last = run("--provider", script("headless_answer"), "--session", "last", "fourth", cwd=workspace)
    assert last.stdout == "Noted.\n"

    log = [json.loads(line) for line in cli("log", sid, "--format", "jsonl").stdout.splitlines()]
    conversation = [
        (e["kind"], e["payload"]["content"]) for e in log if e["kind"] in ("user.message", "assistant.message")
    ]
    assert conversation == [
        ("user.message", "first question"),
        ("assistant.message", "Noted."),
        ("user.message", "second"),
        ("assistant.message", "Noted."),
        ("user.message", "third"),
        ("assistant.message", "Noted."),
        ("user.message", "fourth"),
        ("assistant.message", "Noted."),
    ]
    assert [e["kind"] for e in log].count("session.resumed") == 3
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    sessions = json.loads(cli("session", "list", "--format", "json").stdout)
    assert [s["name"] for s in sessions] == ["first question"]


def test_continue_needs_a_session_in_this_workspace(workspace: Path, tmp_path: Path) -> None:
    run("--provider", script("headless_answer"), "hello", cwd=workspace)
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    proc = run("--provider", script("headless_answer"), "--continue", "again", cwd=elsewhere, expect=3)
    assert "no session to continue" in one_line_error(proc, ExitCode.NOT_FOUND)
    proc = run("--provider", script("headless_answer"), "--session", "nope", "again", cwd=workspace, expect=3)
    one_line_error(proc, ExitCode.NOT_FOUND)


def test_fork_at(workspace: Path, life_home: Path) -> None:
    first = json.loads(
        run("--provider", script("headless_tool"), "--output-format", "json", "look", cwd=workspace).stdout
    )
    sid = first["session_id"]
    forked = run(
        "--provider",
        script("headless_answer"),
        "--session",
        sid,
        "--fork-at",
        "2",
        "--output-format",
        "json",
        "a different question",
        cwd=workspace,
    )
    result = json.loads(forked.stdout)
    assert result["session_id"] == sid and result["branch"] == "fork-1"
    branches = {b["branch"]: b for b in json.loads(cli("session", "show", sid, "--format", "json").stdout)}
    assert branches["fork-1"]["parent"] == "main" and branches["fork-1"]["fork at"] == 2
    log = cli("log", sid, "--branch", "fork-1").stdout.splitlines()
    assert [line.split()[0] for line in log[:3]] == ["1^", "2^", "3"] and "branch.created" in log[2]
    fork_events = events(life_home, sid, "fork-1")
    prompts = [e.payload_dict()["content"] for e in fork_events if e.kind == "user.message"]
    assert prompts == ["look", "a different question"]  # main's first prompt (seq 2) is shared; its answer is not
    assert not [e for e in fork_events if e.kind == "tool.call_requested"]
    # --continue picks up the most recently active branch
    again = run("--provider", script("headless_answer"), "--continue", "--output-format", "json", "more", cwd=workspace)
    assert json.loads(again.stdout)["branch"] == "fork-1"
    on_main = run(
        "--provider", script("headless_answer"), "-c", "--branch", "main", "--output-format", "json", "x", cwd=workspace
    )
    assert json.loads(on_main.stdout)["branch"] == "main"


# ------------------------------------------------------------------------------ crash, signals
def start_slow(workspace: Path, *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(EXE), "--headless", "--provider", script("headless_slow"), *args, "talk slowly"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=workspace,
        env=clean_env(),
    )
    assert proc.stdout is not None
    first = proc.stdout.read(1)  # streaming has begun: the first delta is durable and was printed
    assert first, proc.stderr.read() if proc.stderr else ""
    return proc


def test_sigkill_mid_turn_then_verify_and_continue(workspace: Path, life_home: Path) -> None:
    proc = start_slow(workspace)
    time.sleep(0.3)
    proc.kill()
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    assert cli("verify").stdout.startswith("ok:")
    [session] = json.loads(cli("session", "list", "--format", "json").stdout)
    sid = session["session"]
    killed = events(life_home, sid)
    kinds = [e.kind for e in killed]
    assert kinds[:3] == ["session.created", "user.message", "run.started"]
    assert "assistant.text_delta" in kinds and "run.finished" not in kinds and "assistant.message" not in kinds
    partial = "".join(e.payload_dict()["delta"] for e in killed if e.kind == "assistant.text_delta")
    full = yaml.safe_load((DATA / "headless_slow.yaml").read_text())["turns"][0]["text"]
    assert partial and full.startswith(partial) and len(partial) < len(full)

    resumed = run(
        "--provider", script("headless_answer"), "--continue", "--output-format", "json", "still there?", cwd=workspace
    )
    assert json.loads(resumed.stdout)["session_id"] == sid
    after = events(life_home, sid)
    assert [e.event_id for e in after[: len(killed)]] == [e.event_id for e in killed]  # nothing rewritten
    assert after[len(killed)].kind == "session.resumed" and after[len(killed)].seq == killed[-1].seq + 1
    assert after[len(killed)].prev_hash == killed[-1].hash  # the chain continues from the last durable event
    state = ConversationProjection().initial()
    for e in after:
        state = ConversationProjection().apply(state, e)
    # The killed run is closed on reopen: its streamed text kept as an interrupted assistant message.
    assert [(m.role, m.content) for m in state.messages] == [
        ("user", "talk slowly"),
        ("assistant", partial),
        ("user", "still there?"),
        ("assistant", "Noted."),
    ]
    closing = [e for e in after if e.kind == "run.finished"]
    assert [c.payload_dict()["reason"] for c in closing] == ["interrupted", "final_answer"]
    assert state.runs == 2 and not state.run.active and state.last_final_answer == "Noted."
    assert cli("verify").stdout.startswith("ok:")


@pytest.mark.parametrize(("sig", "fmt"), [(signal.SIGINT, "text"), (signal.SIGTERM, "stream-json")])
def test_signal_cancels_the_turn_cleanly(workspace: Path, life_home: Path, sig: signal.Signals, fmt: str) -> None:
    proc = start_slow(workspace, "--output-format", fmt)
    time.sleep(0.3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert b"interrupted" in err
    if fmt == "stream-json":
        last = json.loads(out.splitlines()[-1])
        assert last["type"] == "result" and last["subtype"] == "error_cancelled"
    [session] = json.loads(cli("session", "list", "--format", "json").stdout)
    stored = events(life_home, session["session"])
    finished = [e.payload_dict() for e in stored if e.kind == "run.finished"]
    assert [f["reason"] for f in finished] == ["cancelled"]
    [message] = [e.payload_dict() for e in stored if e.kind == "assistant.message"]
    assert message["stop_reason"] == "cancelled" and message["content"].startswith("word0")
    assert cli("verify").stdout.startswith("ok:")


def test_headless_dispatch_only_before_a_subcommand() -> None:
    from life_tui.cli.main import headless_argv

    assert headless_argv(["--headless", "hi"]) == ["hi"]
    assert headless_argv(["--journal", "/j", "--headless", "-o"]) == ["--journal", "/j", "-o"]
    assert headless_argv(["--provider", "scripted:demo", "--headless", "hi"]) == ["--provider", "scripted:demo", "hi"]
    assert headless_argv(["log", "--headless"]) is None
    assert headless_argv(["session", "list"]) is None
