"""SandboxPolicy without running commands: the environment allowlist, the bubblewrap command line a plan
builds (namespaces, read-only binds, protected paths and their parents, hidden secrets), cwd confinement,
timeouts, the capabilities the shell tool asks for, and the probe cache."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from life_tui.tools.sandbox import (
    SandboxError,
    SandboxMode,
    SandboxPolicy,
    SandboxProbe,
    _scrubbed_env,
    build_plan,
    looks_secret,
    probe,
    reset_probe_cache,
    resolve_cwd,
)
from life_tui.tools.shell import BASH, bash_tool, command_names

USERNS = SandboxProbe(True, SandboxMode.USERNS, bwrap="/usr/bin/bwrap")


# ------------------------------------------------------------------------------------- environment
@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GITHUB_TOKEN",
        "MY_SECRET",
        "AWS_ACCESS_KEY_ID",
        "AWS_REGION",
        "DB_PASSWORD",
        "SSH_AUTH_SOCK",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "LIFE_HOME",
        "HF_TOKEN",
        "npm_config__authToken",
    ],
)
def test_secret_looking_names(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["PATH", "LANG", "LC_ALL", "TZ", "HOME", "TERM"])
def test_ordinary_names(name: str) -> None:
    assert not looks_secret(name)


def test_the_environment_is_an_allowlist_and_secrets_never_pass(tmp_path: Path) -> None:
    host = {
        "PATH": "/usr/bin:.:bin:/bin",
        "LANG": "en_US.UTF-8",
        "OPENAI_API_KEY": "canary",
        "AWS_SECRET_ACCESS_KEY": "canary",
        "EDITOR": "vim",
        "GITHUB_TOKEN": "canary",
    }
    policy = SandboxPolicy(env_passthrough=("PATH", "LANG", "OPENAI_API_KEY", "GITHUB_TOKEN"))
    env = _scrubbed_env(policy, tmp_path, host)
    assert "canary" not in env.values()
    assert "EDITOR" not in env
    assert env["PATH"] == "/usr/bin:/bin"  # relative entries dropped
    assert (env["HOME"], env["LANG"], env["TERM"], env["TMPDIR"]) == (str(tmp_path), "en_US.UTF-8", "dumb", "/tmp")
    with pytest.raises(SandboxError, match="looks like a secret"):
        _scrubbed_env(SandboxPolicy(env_set=(("SERVICE_TOKEN", "x"),)), tmp_path, host)
    assert _scrubbed_env(SandboxPolicy(env_set=(("CI", "1"),)), tmp_path, host)["CI"] == "1"


# ---------------------------------------------------------------------------------------------- plan
def pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv[:-2]) if a == flag]


def singles(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".life").mkdir()
    (ws / ".life" / "config.toml").write_text("")
    (ws / "journal" / "wal").mkdir(parents=True)
    (ws / "src").mkdir()
    return ws


def test_a_plan_confines_the_command(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "canary-plan")
    plan = build_plan(
        USERNS,
        SandboxPolicy(secret_paths=()),
        "make test",
        workspace=project,
        cwd=project / "src",
        timeout_s=30,
        protected=(project / "journal" / "wal", project / ".life" / "config.toml", Path("/elsewhere/journal")),
    )
    argv = plan.argv
    assert argv[0] == "/usr/bin/bwrap" and plan.sandboxed
    for flag in (
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--as-pid-1",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--unshare-user",
        "--disable-userns",
    ):
        assert flag in argv, flag
    assert ("/", "/") in pairs(argv, "--ro-bind")
    assert singles(argv, "--proc") == ["/proc"] and singles(argv, "--dev") == ["/dev"]
    assert "/tmp" in singles(argv, "--tmpfs")
    assert (str(project), str(project)) in pairs(argv, "--bind")
    ro = pairs(argv, "--ro-bind")
    for inside in (".git", "journal/wal", ".life/config.toml"):
        assert (str(project / inside), str(project / inside)) in ro
    # The parents between the workspace and a protected path are pinned as mount points (no rename).
    assert (str(project / "journal"), str(project / "journal")) in pairs(argv, "--bind")
    assert (str(project / ".life"), str(project / ".life")) in pairs(argv, "--bind")
    # Protected paths outside the workspace are read-only anyway, and missing ones are not created.
    assert not any("/elsewhere" in a for a in argv)
    assert not any(a.endswith(".mcp.json") for a in argv)
    # Order: the workspace is bound before what is re-bound inside it.
    assert argv.index(str(project / ".git")) > argv.index("--bind")
    assert singles(argv, "--chdir") == [str(project / "src")]
    assert argv[-3:] == [argv[-3], "-c", "make test"] and argv[-3].endswith("bash")
    assert "canary-plan" not in " ".join(argv)
    assert plan.env == {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}  # bwrap's own environment
    env = dict(pairs(argv, "--setenv"))
    assert env["HOME"] == str(project)


def test_network_allowed_shares_the_network(project: Path) -> None:
    plan = build_plan(
        USERNS, SandboxPolicy(network=True), "true", workspace=project, cwd=project, timeout_s=1, protected=()
    )
    assert "--unshare-net" not in plan.argv


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A directory outside /tmp (the sandbox's /tmp is private, which would hide secrets there anyway)."""
    root = Path(tempfile.mkdtemp(prefix="life-tui-plan-", dir="/var/tmp"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_secret_locations_are_masked(project: Path, outside_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ssh = outside_tmp / "home" / ".ssh"
    ssh.mkdir(parents=True)
    netrc = outside_tmp / "home" / ".netrc"
    netrc.write_text("")
    life = outside_tmp / "life"
    (life / "data" / "keys").mkdir(parents=True)
    (life / "config").mkdir()
    monkeypatch.setenv("LIFE_HOME", str(life))
    policy = SandboxPolicy(secret_paths=(str(ssh), str(netrc), str(outside_tmp / "missing")))
    plan = build_plan(USERNS, policy, "true", workspace=project, cwd=project, timeout_s=1, protected=())
    tmpfs = singles(plan.argv, "--tmpfs")
    for hidden in (ssh, life / "data" / "keys", life / "config"):
        assert str(hidden) in tmpfs
        assert str(hidden) in singles(plan.argv, "--remount-ro")
    assert ("/dev/null", str(netrc)) in pairs(plan.argv, "--ro-bind")
    assert not any("missing" in a for a in plan.argv)
    # Under the private /tmp nothing needs masking: the sandbox's /tmp is empty.
    in_tmp = project.parent / "home-in-tmp" / ".ssh"
    in_tmp.mkdir(parents=True)
    plan = build_plan(
        USERNS,
        SandboxPolicy(secret_paths=(str(in_tmp),)),
        "true",
        workspace=project,
        cwd=project,
        timeout_s=1,
        protected=(),
    )
    assert str(in_tmp) not in singles(plan.argv, "--tmpfs")


def test_unsandboxed_plan_is_plain_bash_with_a_marker(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "canary-u")
    plan = build_plan(
        SandboxProbe.unavailable("none"),
        SandboxPolicy(),
        "ls",
        workspace=project,
        cwd=project,
        timeout_s=5,
        protected=(),
    )
    assert not plan.sandboxed and plan.mode is SandboxMode.NONE
    assert plan.argv[1:] == ["-c", "ls"]
    assert plan.env["LIFE_TUI_RUN"] and plan.marker == f"LIFE_TUI_RUN={plan.env['LIFE_TUI_RUN']}".encode()
    assert "canary-u" not in plan.env.values()


def test_the_root_directory_cannot_be_the_workspace() -> None:
    with pytest.raises(SandboxError):
        build_plan(USERNS, SandboxPolicy(), "true", workspace=Path("/"), cwd=Path("/"), timeout_s=1, protected=())


# -------------------------------------------------------------------------------------- cwd, timeout
def test_cwd_must_stay_inside_the_workspace(project: Path, tmp_path: Path) -> None:
    (project / "link-out").symlink_to(tmp_path)
    assert resolve_cwd(project, None) == project.resolve()
    assert resolve_cwd(project, "src") == (project / "src").resolve()
    assert resolve_cwd(project, str(project / "src")) == (project / "src").resolve()
    for bad in ("..", "/", "link-out", "src/../..", "a\x00b"):
        with pytest.raises(SandboxError):
            resolve_cwd(project, bad)
    sibling = project.parent / (project.name + "-evil")
    sibling.mkdir()
    with pytest.raises(SandboxError, match="outside"):
        resolve_cwd(project, str(sibling))


def test_timeouts_are_capped() -> None:
    policy = SandboxPolicy(timeout_s=120, max_timeout_s=600)
    assert policy.limit_timeout(None) == 120
    assert policy.limit_timeout(5) == 5
    assert policy.limit_timeout(10_000) == 600
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="positive"):
            policy.limit_timeout(bad)


# ------------------------------------------------------------------------------- tool and capabilities
@pytest.mark.parametrize(
    ("command", "names"),
    [
        ("ls -la", ["ls"]),
        ("FOO=1 BAR=2 make -j4 test", ["make"]),
        ("/usr/bin/git status && rm -rf build", ["git", "rm"]),
        ("cat a | sudo tee /etc/x; echo done", ["cat", "tee", "echo"]),
        ("echo $(curl -s evil.example)", ["echo", "curl"]),
        ("env -i nohup python3 x.py &", ["python3"]),
        ("# just a comment", []),
        ("", []),
        ("echo 'unbalanced", ["echo"]),
    ],
)
def test_command_names(command: str, names: list[str]) -> None:
    assert command_names(command) == names


def test_the_bash_tool_spec() -> None:
    assert BASH.name == "bash"
    assert BASH.annotations.destructive and BASH.annotations.open_world and not BASH.annotations.read_only
    assert BASH.input_schema["required"] == ["command"]
    assert set(BASH.input_schema["properties"]) == {"command", "cwd", "timeout"}
    assert BASH.input_schema["additionalProperties"] is False
    assert BASH.capabilities_for({"command": "git push && curl x"}) == ["exec:cmd:git", "exec:cmd:curl"]
    assert BASH.capabilities_for({"command": ""}) == ["exec:cmd:"]
    assert BASH.timeout_s > SandboxPolicy().max_timeout_s  # the registry's backstop never cuts a command short
    networked = bash_tool(replace(SandboxPolicy(), network=True))
    assert networked.capabilities_for({"command": "ls"}) == ["exec:cmd:ls", "net:egress:*"]
    assert "no network" in BASH.description and "network is available" in networked.description


def test_the_probe_is_cached_and_can_be_reset() -> None:
    reset_probe_cache()
    first = probe(SandboxPolicy())
    assert probe(SandboxPolicy()) is first
    reset_probe_cache()
    assert probe(SandboxPolicy()) is not first
    missing = probe(SandboxPolicy(bwrap="/nonexistent/bwrap"))
    assert not missing.available and "not installed" in missing.reason
