"""``life-tui mcp`` as a real subprocess: the SDK's own Client over stdio, and raw bytes over its pipes.

Covers: every tool listed and called, resources and templates, a chat turn with the scripted provider, a
fork and a replay, the trace of the chat; M1 framing (split, packed, CRLF, huge, invalid UTF-8, non-JSON,
non-object, wrong jsonrpc, unknown method, bad and duplicate ids, batches: right codes, next request
answered), M2 stdout purity with debug logging and a tool that prints, M3 lifecycle (early requests,
concurrent calls with cancellation, EOF within 2 s with the journal flushed, SIGTERM within 5 s, no
orphans) and M5 path attacks refused as inside the app. Servers start once per test where possible
(each start pays the ~1 s SDK import).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from life_tui.journal.view import JournalReader

ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
INIT = {
    "jsonrpc": "2.0",
    "id": "init",
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}
NOISY_LAUNCHER = """
import os, subprocess, sys
import life_tui.tools.basic as basic
from life_tui.tools.registry import ToolAnnotations, ToolOutput, ToolSpec
original = basic.default_registry
async def noisy(args, ctx):
    print("print() from a tool")
    os.write(1, b"os.write(1) from a tool\\n")
    subprocess.run(["echo", "a child process writes to stdout"], check=False)
    return ToolOutput("made some noise")
def patched():
    registry = original()
    registry.register(ToolSpec(name="noisy", description="prints", input_schema={"type": "object"},
                               run=noisy, annotations=ToolAnnotations(read_only=True)))
    return registry
basic.default_registry = patched
from life_tui.cli.main import run
sys.argv = ["life-tui", *sys.argv[1:]]
run()
"""


def server_env(home: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LIFE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.update(extra)
    return env


def server_args(workspace: Path, *extra: str) -> list[str]:
    return ["-m", "life_tui.cli.main", "mcp", "--workspace", str(workspace), "--provider", "scripted:demo", *extra]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "notes.txt").write_text("alpha\nbeta\n")
    (root / "src").mkdir()
    (root / "src" / "main.py").write_text("print('hi')\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    return root


def journal_events(home: Path, kind: str | None = None) -> list[Any]:
    reader = JournalReader.open(home / "data" / "journal")
    events = []
    for info in reader.sessions():
        events += reader.read(info.session_id)
    return [e for e in events if kind is None or e.kind == kind]


# ------------------------------------------------------------------------------------- raw driver
class Raw:
    """A server subprocess driven with raw bytes; reads stdout lines with a deadline."""

    def __init__(
        self, home: Path, workspace: Path, *extra: str, env: dict[str, str] | None = None, argv: list[str] | None = None
    ) -> None:
        self.proc = subprocess.Popen(
            argv or [sys.executable, *server_args(workspace, *extra)],
            cwd=ROOT,
            env=env or server_env(home),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.buffer = b""
        self.lines: list[bytes] = []

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def request(self, payload: dict[str, Any]) -> None:
        self.send(json.dumps(payload).encode() + b"\n")

    def read_until(self, predicate: Any, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Messages read until one satisfies ``predicate`` (returned in order, the match last)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                self.lines.append(line)
                message = json.loads(line)  # M2: every stdout line is one JSON-RPC message
                got.append(message)
                if predicate(message):
                    return got
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; got {got}"
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 1 << 20)
                assert chunk, f"server closed stdout; got {got}; stderr: {self.stderr()}"
                self.buffer += chunk

    def answer(self, request_id: Any) -> dict[str, Any]:
        return self.read_until(lambda m: m.get("id") == request_id and ("result" in m or "error" in m))[-1]

    def initialize(self) -> None:
        self.request(INIT)
        assert "result" in self.answer("init")
        self.request({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def raw_server(home: Path, workspace: Path) -> Iterator[Raw]:
    server = Raw(home, workspace)
    try:
        yield server
    finally:
        server.close()


def tool_call(request_id: Any, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    params = {"name": name, "arguments": arguments}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


# ------------------------------------------------------------------------------ the SDK's own Client
def text_of(result: Any) -> str:
    return str(result.content[0].text)


async def test_every_tool_resources_chat_fork_replay_and_trace_through_the_sdk_client(
    home: Path, workspace: Path
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=server_args(workspace, "--yes"), cwd=str(ROOT), env=server_env(home)
    )
    async with Client(params) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert {"read_file", "write_file", "edit_file", "bash", "memory_write", "activate_skill"} <= set(listed)
        assert {"chat", "sessions", "session_events", "fork", "replay", "budget", "trace"} <= set(listed)
        assert listed["read_file"].annotations is not None and listed["read_file"].annotations.read_only_hint
        assert all(t.input_schema.get("type") == "object" for t in listed.values())

        read = await client.call_tool("read_file", {"path": "notes.txt"})
        assert not read.is_error and "alpha" in text_of(read)
        tag = text_of(read).splitlines()[1].split("|")[0].split()[-1]
        calls: dict[str, dict[str, Any]] = {
            "write_file": {"path": "new.txt", "content": "one\n"},
            "edit_file": {"path": "notes.txt", "ops": [{"op": "replace", "tag": tag, "text": "BETA"}]},
            "list_dir": {"path": "."},
            "glob": {"pattern": "**/*.py"},
            "grep": {"pattern": "alpha"},
            "bash": {"command": "echo from-bash"},
            "memory_write": {"content": "the user likes tea", "scope": "session"},
            "memory_read": {},
            "memory_search": {"query": "tea"},
            "delete_file": {"path": "new.txt"},
            "memory_forget": {"memory_id": "no-such-memory", "reason": "testing"},
        }
        results = {name: await client.call_tool(name, args) for name, args in calls.items()}
        assert not results["write_file"].is_error, text_of(results["write_file"])
        assert "src/main.py" in text_of(results["glob"])
        assert "tea" in text_of(results["memory_search"])
        assert not (workspace / "new.txt").exists()
        assert "BETA" in (workspace / "notes.txt").read_text(), text_of(results["edit_file"])
        skill = await client.call_tool("activate_skill", {"name": "no-such-skill"})
        assert skill.is_error  # a clean tool error, not a crash

        chat = await client.call_tool("chat", {"prompt": "show me the workspace"})
        assert not chat.is_error, text_of(chat)
        answer = json.loads(text_of(chat))
        assert answer["stop_reason"] == "final_answer" and answer["final_answer"]
        assert answer["usage"]["input_tokens"] > 0 and answer["turns"] >= 1
        session_id = answer["session_id"]

        found = json.loads(text_of(await client.call_tool("sessions", {"query": "mcp chat"})))
        assert session_id in [s["session_id"] for s in found["sessions"]]
        events = json.loads(
            text_of(await client.call_tool("session_events", {"session": session_id, "kinds": ["user.message"]}))
        )
        assert [e["payload"]["content"] for e in events["events"]] == ["show me the workspace"]
        traced = json.loads(text_of(await client.call_tool("trace", {"session": session_id})))
        assert traced["run_id"] == answer["run_id"]
        assert {s["kind"] for s in traced["spans"]} >= {"invoke_agent", "phase", "chat", "execute_tool"}
        budget = json.loads(text_of(await client.call_tool("budget", {"session": session_id})))
        assert budget["provider_calls"] >= 1 and "run_limits" in budget

        first_user = events["events"][0]["seq"]
        forked = json.loads(text_of(await client.call_tool("fork", {"session": session_id, "at_seq": first_user})))
        assert forked["branch"] == "fork-1" and forked["fork_seq"] == first_user
        replayed = json.loads(text_of(await client.call_tool("replay", {"session": session_id})))
        assert replayed["reproduced"] is True and replayed["divergence"] is None and replayed["compared"] > 0

        resources = {r.uri for r in (await client.list_resources()).resources}
        assert {"life://sessions", "life://config", f"life://sessions/{session_id}"} <= resources
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert "life://sessions/{session_id}/events{?branch,after,through,kinds,limit}" in templates
        one = json.loads((await client.read_resource(f"life://sessions/{session_id}")).contents[0].text)  # type: ignore[union-attr]
        assert {b["name"] for b in one["branches"]} == {"main", "fork-1"}
        ranged = (await client.read_resource(f"life://sessions/{session_id}/events?after=0&through=3&kinds=")).contents
        assert [e["seq"] for e in json.loads(ranged[0].text)["events"]] == [1, 2, 3]  # type: ignore[union-attr]
        config = json.loads((await client.read_resource("life://config")).contents[0].text)  # type: ignore[union-attr]
        assert config["approvals"]["mode"] == "auto" and config["soul"]["name"]
    # Every workstation call is in the journal, in the server's own session, like an app tool call.
    completed = {e.payload_dict()["tool_name"] for e in journal_events(home, "tool.call_completed")}
    assert set(calls) <= completed


async def test_calls_that_need_approval_are_refused_without_yes_and_legacy_clients_work(
    home: Path, workspace: Path
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=server_args(workspace), cwd=str(ROOT), env=server_env(home)
    )
    async with Client(params, mode="legacy") as client:
        refused = await client.call_tool("write_file", {"path": "x.txt", "content": "x"})
        assert refused.is_error and "--yes" in text_of(refused)
        assert not (workspace / "x.txt").exists()
        assert not (await client.call_tool("read_file", {"path": "notes.txt"})).is_error
    denied = journal_events(home, "approval.denied")
    assert len(denied) == 1 and denied[0].payload_dict()["by"] == "policy"


# ---------------------------------------------------------------------------------------- M1 framing
def test_m1_malformed_input_gets_jsonrpc_errors_and_the_server_keeps_serving(raw_server: Raw) -> None:
    raw = raw_server
    raw.request({"jsonrpc": "2.0", "id": "early", "method": "tools/list"})  # M3: before initialize
    assert "error" in raw.answer("early")
    raw.initialize()

    def error_for(data: bytes) -> dict[str, Any]:
        raw.send(data)
        return raw.read_until(lambda m: "error" in m)[-1]["error"]

    assert error_for(b"this is not json\n")["code"] == -32700
    assert error_for(b'\xff\xfe{"jsonrpc":"2.0","id":8,"method":"ping"}\n')["code"] == -32700
    assert error_for(b"[1, 2]\n")["code"] == -32600
    assert error_for(b'[{"jsonrpc":"2.0","id":7,"method":"ping"}]\n')["code"] == -32600
    assert error_for(b"42\n")["code"] == -32600
    assert error_for(b'{"jsonrpc":"1.0","id":5,"method":"ping"}\n')["code"] == -32600
    assert error_for(b'{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}\n')["code"] == -32600
    assert error_for(b'{"jsonrpc":"2.0","id":6,"method":"no/such"}\n')["code"] == -32601
    assert error_for(json.dumps(tool_call(9, "read_file", "x")).encode() + b"\n")["code"] == -32602  # type: ignore[arg-type]
    assert error_for(json.dumps(tool_call(10, "no_such_tool", {})).encode() + b"\n")["code"] == -32602
    huge = b'{"jsonrpc":"2.0","id":"huge","method":"ping","params":{"pad":"' + b"x" * (16 << 20) + b'"}}\n'
    assert error_for(huge)["code"] == -32600  # over the 8 MiB cap: refused, skipped, not held
    raw.request({"jsonrpc": "2.0", "method": "notifications/unknown"})  # notifications are never answered

    # A 1 MiB request, one split in three writes, two packed in one write, one ending in CRLF: all answered once.
    big = tool_call("big", "grep", {"pattern": "alpha", "path": ".", "glob": "x" * (1 << 20)})
    raw.request(big)
    assert raw.answer("big")["id"] == "big"
    split = json.dumps(tool_call("split", "read_file", {"path": "notes.txt"})).encode() + b"\n"
    for part in (split[:7], split[7:30], split[30:]):
        raw.send(part)
        time.sleep(0.05)
    assert "alpha" in raw.answer("split")["result"]["content"][0]["text"]
    packed = b"".join(
        json.dumps({"jsonrpc": "2.0", "id": f"p{i}", "method": "ping"}).encode() + b"\n" for i in range(2)
    )
    raw.send(packed)
    raw.answer("p0")
    raw.answer("p1")
    raw.send(json.dumps({"jsonrpc": "2.0", "id": "crlf", "method": "ping"}).encode() + b"\r\n")
    assert raw.answer("crlf")["result"] == {}
    ids = [json.loads(line).get("id") for line in raw.lines]
    answered = [i for i in ids if i is not None]
    assert len(answered) == len(set(answered)), "an id was answered twice"


# ------------------------------------------------------------------------------------- M2 stdout purity
def test_m2_stdout_carries_only_protocol_messages_with_debug_logging_and_a_printing_tool(
    home: Path, workspace: Path
) -> None:
    argv = [sys.executable, "-c", NOISY_LAUNCHER, "mcp", "--workspace", str(workspace), "--yes"]
    raw = Raw(home, workspace, env=server_env(home, LIFE_LOG="debug"), argv=argv)
    try:
        raw.initialize()
        raw.request({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert "noisy" in {t["name"] for t in raw.answer(1)["result"]["tools"]}
        for i, (name, arguments) in enumerate(
            [
                ("noisy", {}),
                ("bash", {"command": "echo shell-output; echo to-stderr >&2"}),
                ("read_file", {"path": "notes.txt"}),
            ],
            start=2,
        ):
            raw.request(tool_call(i, name, arguments))
            assert raw.answer(i)["result"]["isError"] is False
        assert raw.proc.stdin is not None
        raw.proc.stdin.close()
        assert raw.proc.wait(timeout=10) == 0
        rest = raw.proc.stdout.read() if raw.proc.stdout is not None else b""
    finally:
        raw.close()
    # Every line the server wrote (read_until parsed each one as a single JSON-RPC message) is protocol.
    assert rest == b"" and all(json.loads(line)["jsonrpc"] == "2.0" for line in raw.lines)
    proc_stderr = raw.proc.stderr.read() if raw.proc.stderr is not None else b""
    stderr = proc_stderr.decode(errors="replace")
    assert "print() from a tool" in stderr and "os.write(1) from a tool" in stderr
    assert "a child process writes to stdout" in stderr
    assert "DEBUG" in stderr


# ------------------------------------------------------------------------------------- M3 lifecycle
def test_m3_concurrent_calls_with_cancellation_each_id_answered_at_most_once(raw_server: Raw) -> None:
    raw = raw_server
    raw.initialize()
    for i in range(100):
        raw.request(tool_call(i, "read_file", {"path": "notes.txt"}))
        if i % 10 == 0:
            raw.request({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": i}})
    raw.request({"jsonrpc": "2.0", "id": "last", "method": "ping"})
    raw.answer("last")
    deadline = time.monotonic() + 20
    answered: list[Any] = []
    while time.monotonic() < deadline:
        answered = [json.loads(line).get("id") for line in raw.lines if b'"id"' in line]
        if set(range(100)) - {i for i in range(100) if i % 10 == 0} <= set(answered):
            break
        raw.request({"jsonrpc": "2.0", "id": f"poll{time.monotonic()}", "method": "ping"})
        raw.read_until(lambda m: str(m.get("id", "")).startswith("poll"))
    numbered = [i for i in answered if isinstance(i, int)]
    assert len(numbered) == len(set(numbered)), "an id was answered twice"
    assert {i for i in range(100) if i % 10} <= set(numbered)


def test_m3_stdin_eof_exits_cleanly_with_the_journal_flushed(raw_server: Raw, home: Path) -> None:
    raw = raw_server
    raw.initialize()
    raw.request(tool_call(1, "read_file", {"path": "notes.txt"}))
    raw.answer(1)
    assert raw.proc.stdin is not None
    started = time.monotonic()
    raw.proc.stdin.close()
    assert raw.proc.wait(timeout=5) == 0
    assert time.monotonic() - started < 2.0
    assert [e.payload_dict()["tool_name"] for e in journal_events(home, "tool.call_completed")] == ["read_file"]


def test_m3_sigterm_during_a_chat_exits_within_5_s_recording_the_run_and_leaving_no_children(
    home: Path, workspace: Path
) -> None:
    raw = Raw(home, workspace, "--yes")
    try:
        raw.initialize()
        raw.request(tool_call(1, "bash", {"command": "sleep 60 & echo started"}))
        raw.answer(1)
        raw.request(tool_call(2, "chat", {"prompt": "take your time"}))
        deadline = time.monotonic() + 15
        while not journal_events(home, "run.started"):  # readers never block the server's writes
            assert time.monotonic() < deadline, "the chat turn never started"
            time.sleep(0.05)
        started = time.monotonic()
        raw.proc.send_signal(signal.SIGTERM)
        assert raw.proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5.0
    finally:
        raw.close()
    finished = journal_events(home, "run.finished")
    assert finished and finished[-1].payload_dict()["reason"] in ("cancelled", "final_answer")
    leftovers = subprocess.run(["pgrep", "-g", str(raw.proc.pid)], capture_output=True, text=True, check=False)
    assert leftovers.stdout.strip() == "", f"orphans in the server's process group: {leftovers.stdout}"


# ---------------------------------------------------------------------------------------- M5 security
def test_m5_path_attacks_through_mcp_arguments_are_refused_as_inside_the_app(
    home: Path, workspace: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n")
    (workspace / "escape").symlink_to(tmp_path)
    raw = Raw(home, workspace, "--yes")
    try:
        raw.initialize()
        attacks = [
            ("read_file", {"path": "../secret.txt"}),
            ("read_file", {"path": str(secret)}),
            ("read_file", {"path": "escape/secret.txt"}),
            ("read_file", {"path": "notes.txt\x00.png"}),
            ("read_file", {"path": "/proc/self/environ"}),
            ("write_file", {"path": ".git/config", "content": "pwned"}),
            ("write_file", {"path": "../planted.txt", "content": "pwned"}),
            ("write_file", {"path": "escape/planted.txt", "content": "pwned"}),
            ("delete_file", {"path": "../secret.txt"}),
            ("list_dir", {"path": ".."}),
        ]
        for i, (name, arguments) in enumerate(attacks):
            raw.request(tool_call(i, name, arguments))
            result = raw.answer(i)["result"]
            assert result["isError"] is True, (name, arguments, result)
            assert "TOP SECRET" not in result["content"][0]["text"]
    finally:
        raw.close()
    assert secret.read_text() == "TOP SECRET\n"
    assert (workspace / ".git" / "config").read_text() == "[core]\n"
    assert not (tmp_path / "planted.txt").exists()


def test_m5_a_burst_over_the_rate_limit_is_refused_with_a_tool_error(home: Path, workspace: Path) -> None:
    raw = Raw(home, workspace, "--max-calls-per-minute", "5")
    try:
        raw.initialize()
        for i in range(8):  # distinct calls: identical ones in a row would be refused as a doom loop instead
            raw.request(tool_call(i, "glob", {"pattern": f"*{i}*"}))
        seen: dict[int, Any] = {}

        def all_answered(message: dict[str, Any]) -> bool:
            if "result" in message:
                seen[message["id"]] = message["result"]
            return len(seen) == 8

        raw.read_until(all_answered)
        results = [seen[i] for i in range(8)]
    finally:
        raw.close()
    refused = [r for r in results if r["isError"]]
    assert len(refused) == 3 and all(
        "rate limit: at most 5 tool calls a minute" in r["content"][0]["text"] for r in refused
    )
    assert len(journal_events(home, "tool.call_completed")) == 5  # refused calls never ran


# --------------------------------------------------------------------------------- the CLI, Inspector
def test_print_config_gives_snippets_for_three_clients(workspace: Path, home: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "life_tui.cli.main", "mcp", "--workspace", str(workspace), "--yes", "--print-config"],
        cwd=ROOT,
        env=server_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    desktop = json.loads(out.split("# Claude Code")[0].split("\n", 1)[1])
    server = desktop["mcpServers"]["life-tui"]
    assert server["args"][-4:] == ["mcp", "--workspace", str(workspace), "--yes"][-4:] or "--yes" in server["args"]
    assert "claude mcp add life-tui -- " in out
    assert "[mcp_servers.life-tui]" in out and 'args = ["' in out


def test_the_inspector_cli_lists_the_tools(workspace: Path, home: Path) -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx is not installed")
    proc = subprocess.run(
        [npx, "-y", INSPECTOR, "--cli", sys.executable, *server_args(workspace), "--method", "tools/list"],
        cwd=ROOT,
        env=server_env(home, HOME=os.environ.get("HOME", "/root")),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if proc.returncode != 0 and ("ENOTFOUND" in proc.stderr or "network" in proc.stderr.lower()):
        pytest.skip(f"the Inspector could not be fetched (no network): {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"read_file"' in proc.stdout and '"chat"' in proc.stdout
