"""S8, fail closed: with no OS sandbox the ``bash`` tool refuses, unless unsandboxed runs are allowed, and
then every run says so (an effect the runtime journals) and keeps the other protections: a scrubbed
environment, resource limits, a timeout that kills the whole tree (session and cgroup, or the environment
marker), capped and neutralised output.

"No sandbox" is simulated three ways: no bwrap binary, a bwrap that cannot create namespaces (a stand-in
script failing like bwrap does under a restrictive kernel), and the probe seam returning unavailable.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from life_tui.kernel import kinds as k
from life_tui.tools import sandbox as sandbox_module
from life_tui.tools.registry import ToolContext, ToolOutput, ToolRegistry
from life_tui.tools.sandbox import Sandbox, SandboxMode, SandboxPolicy, SandboxProbe, probe, reset_probe_cache
from life_tui.tools.shell import bash_tool

POLICY = SandboxPolicy(timeout_s=20, kill_grace_s=0.5)


@pytest.fixture(autouse=True)
def fresh_probes() -> None:
    reset_probe_cache()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


async def call(
    registry: ToolRegistry, workspace: Path, command: str, *, allow: bool = False, **args: object
) -> ToolOutput:
    ctx = ToolContext(workspace=workspace, session_id="s", call_id="call_7", allow_unsandboxed=allow)
    return await registry.run("bash", {"command": command, **args}, ctx)


def fake_bwrap(tmp_path: Path) -> Path:
    """A bwrap that fails the way a real one does when user namespaces are disabled."""
    path = tmp_path / "bin" / "bwrap"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    path.chmod(0o755)
    return path


def unavailable_policies(tmp_path: Path) -> dict[str, SandboxPolicy]:
    return {
        "missing-bwrap": replace(POLICY, bwrap=str(tmp_path / "nowhere" / "bwrap")),
        "bwrap-cannot-create-namespaces": replace(POLICY, bwrap=str(fake_bwrap(tmp_path))),
        "disabled": replace(POLICY, bwrap=None),
    }


@pytest.mark.parametrize("case", ["missing-bwrap", "bwrap-cannot-create-namespaces", "disabled"])
async def test_s8_without_a_sandbox_the_tool_refuses(tmp_path: Path, workspace: Path, case: str) -> None:
    policy = unavailable_policies(tmp_path)[case]
    found = probe(policy)
    assert not found.available and found.mode is SandboxMode.NONE
    if case == "bwrap-cannot-create-namespaces":
        assert "No permissions to creating new namespace" in found.reason
    registry = ToolRegistry([bash_tool(policy)])
    out = await call(registry, workspace, "touch ran.txt; echo ran")
    assert out.is_error
    assert out.content.startswith("refused: commands run only inside an OS sandbox")
    assert found.reason in out.content
    assert "apt-get install bubblewrap" in out.content
    assert "allow unsandboxed runs" in out.content and "allow_unsandboxed" in out.content
    assert out.effects == ()
    assert out.data == {"sandboxed": False, "refused": True}
    assert not (workspace / "ran.txt").exists()


async def test_s8_the_probe_seam_fails_closed_too(workspace: Path) -> None:
    box = Sandbox(POLICY, probe_with=lambda p: SandboxProbe.unavailable("simulated: Landlock not enforced"))
    registry = ToolRegistry([bash_tool(sandbox=box)])
    out = await call(registry, workspace, "touch ran.txt")
    assert out.is_error and "simulated: Landlock not enforced" in out.content
    assert not (workspace / "ran.txt").exists()


async def test_s8_allowed_unsandboxed_runs_and_says_so(tmp_path: Path, workspace: Path) -> None:
    policy = unavailable_policies(tmp_path)["missing-bwrap"]
    registry = ToolRegistry([bash_tool(policy)])
    out = await call(registry, workspace, "echo ran > ran.txt; cat ran.txt; pwd", allow=True)
    assert not out.is_error
    assert out.content == f"ran\n{workspace.resolve()}\n[exit code 0; ran WITHOUT an OS sandbox (allowed by the user)]"
    assert (workspace / "ran.txt").read_text() == "ran\n"
    assert out.data["sandboxed"] is False and out.data["mode"] == "none"
    (effect,) = out.effects
    assert isinstance(effect, k.UnsandboxedRun)
    assert effect.KIND == "sandbox.unsandboxed_run"
    assert (effect.call_id, effect.command) == ("call_7", "echo ran > ran.txt; cat ran.txt; pwd")
    assert "bubblewrap (bwrap) is not installed" in effect.reason


# ------------------------------------------------------------- the other protections, unsandboxed
@pytest.fixture
def unsandboxed(tmp_path: Path) -> ToolRegistry:
    return ToolRegistry([bash_tool(replace(POLICY, bwrap=None))])


async def test_unsandboxed_the_environment_is_still_scrubbed(
    unsandboxed: ToolRegistry, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canaries = {"OPENAI_API_KEY": "canary-u-1", "GITHUB_TOKEN": "canary-u-2", "AWS_SECRET_ACCESS_KEY": "canary-u-3"}
    for name, value in canaries.items():
        monkeypatch.setenv(name, value)
    out = await call(
        unsandboxed,
        workspace,
        "env; cat /proc/self/environ; cat /proc/$PPID/environ | tr '\\0' '\\n' | grep -c . ",
        allow=True,
    )
    for value in canaries.values():
        assert value not in out.content
    assert f"HOME={workspace.resolve()}" in out.content


def alive_with(arg: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if arg in (proc.info["cmdline"] or []) and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


@pytest.mark.parametrize(
    "command",
    [
        "sleep {n}",
        "setsid nohup sleep {n} > /dev/null 2>&1 & sleep {n}",
        "(setsid sleep {n} &); trap '' TERM; sleep {n}",
    ],
)
async def test_unsandboxed_a_timeout_still_kills_the_whole_tree(
    unsandboxed: ToolRegistry, workspace: Path, command: str
) -> None:
    n = f"3602.{os.getpid()}{len(command)}"
    started = time.monotonic()
    out = await call(unsandboxed, workspace, command.format(n=n), allow=True, timeout=1)
    assert out.data["timed_out"] is True
    assert time.monotonic() - started < 1 + 0.5 + 3
    assert out.data["survivors"] == []
    await asyncio.sleep(0.1)
    assert alive_with(n) == []


async def test_unsandboxed_a_command_takes_its_daemons_along(unsandboxed: ToolRegistry, workspace: Path) -> None:
    n = f"3603.{os.getpid()}"
    out = await call(unsandboxed, workspace, f"(setsid sleep {n} &); echo started", allow=True)
    assert out.content.startswith("started\n[exit code 0")
    await asyncio.sleep(0.1)
    assert alive_with(n) == []


async def test_unsandboxed_limits_and_output_caps_hold(workspace: Path) -> None:
    registry = ToolRegistry(
        [bash_tool(replace(POLICY, bwrap=None, address_space_bytes=512 << 20, file_size_bytes=4 << 20))]
    )
    out = await call(registry, workspace, "python3 -c 'bytearray(2 << 30)'", allow=True)
    assert "MemoryError" in out.content
    out = await call(registry, workspace, "head -c 64M /dev/zero > big", allow=True)
    assert (workspace / "big").stat().st_size <= 4 << 20
    assert "SIGXFSZ" in out.content or "File too large" in out.content
    out = await call(registry, workspace, "yes | head -c 50M; printf '\\033]0;title\\007\\033[31mred'", allow=True)
    assert len(out.content.encode()) <= 10 * 1024 + 200
    assert "\x1b" not in out.content and out.content.rstrip().endswith("(allowed by the user)]")
    assert "red\n[exit code 0" in out.content


async def test_a_crashed_agents_leftovers_are_swept_from_its_cgroup() -> None:
    """Commands of a life-tui process that died are killed, and their cgroups removed, when the next one
    probes the sandbox (the backstop behind the parent-death signal)."""
    found = probe(POLICY)
    if found.cgroup_base is None:
        pytest.skip("no pids cgroup this process may create here")
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()  # a pid that no longer runs: the "crashed agent"
    stale = found.cgroup_base / f"call-{dead.pid}-1-abcdef"
    stale.mkdir()
    orphan = await asyncio.create_subprocess_exec("sleep", "3605")
    (stale / "cgroup.procs").write_text(str(orphan.pid))
    assert sandbox_module.sweep_stale_cgroups(found.cgroup_base) == 1
    assert await asyncio.wait_for(orphan.wait(), 5) == -9
    assert not stale.exists()


async def test_unsandboxed_the_shell_dies_with_the_agent(workspace: Path) -> None:
    n = f"3607.{os.getpid()}"
    script = (
        "import asyncio\n"
        "from pathlib import Path\n"
        "from life_tui.tools.sandbox import Sandbox, SandboxPolicy\n"
        f"run = Sandbox(SandboxPolicy(bwrap=None)).run('exec sleep {n}', workspace=Path({str(workspace)!r}),"
        " timeout_s=60, allow_unsandboxed=True)\n"
        "asyncio.run(run)\n"
    )
    agent = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
    try:
        for _ in range(200):
            if alive_with(n):
                break
            await asyncio.sleep(0.05)
        assert alive_with(n)
    finally:
        agent.kill()
        await agent.wait()
    for _ in range(40):
        if not alive_with(n):
            break
        await asyncio.sleep(0.05)
    assert alive_with(n) == []
