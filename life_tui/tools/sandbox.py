"""SandboxPolicy: shell commands under bubblewrap, with resource limits, a tree-wide timeout and capped output.

What a sandboxed command gets (reliability-test-plan.md §2, the design Claude Code's and Codex's Linux
sandboxes converge on):

- the whole filesystem **read-only** (``--ro-bind / /``), the workspace writable, and inside it the
  protected paths (``.git``, the journal, config, agent and editor settings...) bound read-only again; the
  directories between the workspace and a protected path become mount points too, so renaming a parent
  fails with ``EBUSY``. Secret locations (``~/.ssh``, cloud credentials, life-tui's keys and config) are
  hidden behind an empty read-only tmpfs or ``/dev/null``;
- a fresh ``/proc`` in a new **PID namespace**, a minimal ``/dev``, a private ``/tmp`` and an empty ``/run``
  (daemon sockets: ``connect()`` on a Unix socket needs no write access, so a read-only mount would not stop
  it), new IPC and UTS namespaces, **no network** (an empty network namespace) unless the policy allows it;
- a **scrubbed environment**: ``--clearenv`` and a short allowlist (``PATH``, locale, ``HOME`` = the
  workspace...); a name that looks like a secret (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ``AWS_*``...) is
  never passed, even when allowlisted; bubblewrap itself runs with an environment of its own, so
  ``/proc/1/environ`` inside holds nothing either;
- an **unprivileged uid** when the host is root. As root, ``bwrap --unshare-user --uid 65534`` only renames
  root: the sandbox's uid 65534 maps back to host uid 0, so ``RLIMIT_NPROC`` and file permissions (DAC)
  still do not bind. Mode ``bwrap-idmap`` makes the drop real: the child switches to uid 65534 before it
  executes bubblewrap, which joins a user namespace owned by 65534 that maps 65534 to host uid 65534; the
  workspace is bound through an **idmapped mount** (``open_tree`` + ``mount_setattr(MOUNT_ATTR_IDMAP)``,
  Linux ≥ 5.12, ext4/xfs/btrfs/tmpfs), made in the child's own mount namespace, in which the workspace
  owner's files appear as owned by 65534: the command can write the workspace, what it writes is stored as
  the owner's, and everything else (``/root``, 0600 files) is closed to it by plain DAC. A workspace whose
  filesystem refuses idmapped mounts falls back to ``bwrap-userns``;
- **resource limits** set in the child before bubblewrap starts: ``RLIMIT_CPU``, ``RLIMIT_FSIZE``,
  ``RLIMIT_AS``, ``RLIMIT_NOFILE``, ``RLIMIT_CORE`` = 0 and ``RLIMIT_NPROC`` (which binds for the real
  uid 65534); plus, where this process may create cgroups (root with a ``pids`` controller, v1 or v2), a
  per-call cgroup with ``pids.max``, which stops a fork bomb whatever the uid;
- a **timeout that kills the whole tree**: the command is its PID namespace's PID 1 (``--as-pid-1``), so
  when it dies the kernel kills everything in the namespace, daemons that double-forked and called
  ``setsid`` included. On timeout: SIGTERM to every process of the call, a grace period, then SIGKILL to the
  command; the call's cgroup (or a scan of the process table) confirms that nothing survived. A command that
  ends normally takes its background processes with it the same way, and ``--die-with-parent`` takes the
  sandbox down if life-tui itself is killed (cgroups a crash leaves behind are swept at the next start).

With no usable sandbox (no bwrap, or bwrap cannot create namespaces here) :class:`Sandbox` fails closed with
:class:`SandboxUnavailable`, unless the caller passes ``allow_unsandboxed``: then the command runs as a
plain process in its own session and cgroup with the same environment scrubbing, limits, tree kill (the
session, the cgroup, and an environment marker for daemons that left both) and output caps, and the result
says it ran unsandboxed (the shell tool journals that choice).

Availability is probed once per process (per bwrap binary and mode) with a trivial sandboxed run.
Not done here: seccomp (blocking ``AF_UNIX`` sockets, io_uring and ptrace) and a filtering egress proxy;
with network allowed, the sandbox shares the host's network as is.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import os
import re
import resource
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from life_tui import paths
from life_tui.tools.output import KEEP_BYTES, MODEL_BYTES, OutputCollector

# ------------------------------------------------------------------------------------------- policy
DEFAULT_SECRET_PATHS: tuple[str, ...] = (
    "~/.ssh",
    "~/.gnupg",
    "~/.aws",
    "~/.azure",
    "~/.config/gcloud",
    "~/.config/gh",
    "~/.kube",
    "~/.docker",
    "~/.password-store",
    "~/.netrc",
    "~/.git-credentials",
    "~/.pypirc",
    "~/.npmrc",
)
"""Read-denied: hidden from every sandboxed command (life-tui's keys and config dirs are added to these)."""

PROTECTED_NAMES: tuple[str, ...] = (
    ".git",
    ".gitmodules",
    ".life/config.toml",
    ".mcp.json",
    ".claude",
    ".vscode",
    ".idea",
    ".bashrc",
    ".bash_profile",
    ".profile",
    ".zshrc",
    ".gitconfig",
)
"""Write-denied inside the workspace even though it is writable (the anchors' always-denied list), when they
exist; a protected path that does not exist yet is not masked (that would create it in the workspace)."""

# Daemon sockets masked with /dev/null where they are not already under the sandbox's empty /run.
MASKED_SOCKETS: tuple[str, ...] = (
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/podman/podman.sock",
    "/run/dbus/system_bus_socket",
)

ENV_PASSTHROUGH: tuple[str, ...] = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_COLLATE",
    "TZ",
)
"""Host variables a command may see (when set); everything else is dropped."""

_SECRET_NAME = re.compile(
    r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|COOKIE|SESSION|AUTH|PRIVATE|"
    r"^AWS_|^AZURE_|^GCP_|^GOOGLE_|^GH_|^GITHUB_|^OPENAI|^ANTHROPIC|^HF_|^LIFE_",
    re.IGNORECASE,
)
NOBODY = 65534


def looks_secret(name: str) -> bool:
    """True for an environment variable name that may hold a credential (never passed to a command)."""
    return bool(_SECRET_NAME.search(name))


@dataclass(frozen=True)
class SandboxPolicy:
    """How shell commands run. The defaults are the sandbox the agent gets; tests narrow the limits."""

    network: bool = False
    """Share the host's network (no filtering proxy: all or nothing)."""
    timeout_s: float = 120.0
    max_timeout_s: float = 600.0
    kill_grace_s: float = 2.0
    """Between SIGTERM and SIGKILL when a command times out."""
    file_size_bytes: int = 1 << 30
    address_space_bytes: int = 4 << 30
    max_processes: int = 256
    open_files: int = 1024
    cpu_time_s: int | None = None
    """CPU seconds per process; None: the call's timeout plus one second."""
    keep_bytes: int = KEEP_BYTES
    model_bytes: int = MODEL_BYTES
    uid: int = NOBODY
    gid: int = NOBODY
    secret_paths: tuple[str, ...] = DEFAULT_SECRET_PATHS
    protected_names: tuple[str, ...] = PROTECTED_NAMES
    masked_sockets: tuple[str, ...] = MASKED_SOCKETS
    env_passthrough: tuple[str, ...] = ENV_PASSTHROUGH
    env_set: tuple[tuple[str, str], ...] = ()
    """Extra variables set for every command (a secret-looking name is refused here too)."""
    bwrap: str | None = "bwrap"
    """Name or path of bubblewrap; None never uses it (as on a host without one)."""
    idmap: bool = True
    """As root, try the real uid drop through an idmapped workspace (mode ``bwrap-idmap``)."""
    cgroup: bool = True
    """Use a per-call pids cgroup when this process may create one."""
    shell: str = "bash"

    def limit_timeout(self, requested: float | None) -> float:
        value = self.timeout_s if requested is None else float(requested)
        if not value > 0:
            raise ValueError("the timeout must be a positive number of seconds")
        return min(value, self.max_timeout_s)


# ------------------------------------------------------------------------------------------- errors
class SandboxUnavailable(Exception):
    """No OS sandbox can be used here and unsandboxed runs are not allowed."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            "refused: commands run only inside an OS sandbox, and none is available here "
            f"({reason}). Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and make sure user "
            "namespaces are allowed; or, to run commands without a sandbox, the user must allow unsandboxed runs "
            "explicitly (the session option allow_unsandboxed); each such run is then recorded in the journal "
            "(sandbox.unsandboxed_run)."
        )


class SandboxError(Exception):
    """The sandbox could not be set up for this call (a bad cwd, a failed mount...)."""


# -------------------------------------------------------------------------------------------- Linux
PR_SET_PDEATHSIG = 1
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REC = 0x4000
MS_PRIVATE = 0x40000
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
OPEN_TREE_CLONE = 0x1
OPEN_TREE_CLOEXEC = 0o2000000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_IDMAP = 0x00100000
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_MOUNT_SETATTR = 442
STAGE_PARENT = b"/tmp"
STAGE = "/tmp/life-tui-workspace"
"""Where the idmapped workspace is attached, in the child's own mount namespace only (never on the host)."""


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


_libc: ctypes.CDLL | None = None


def _c() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _make_userns(uid_map: str, gid_map: str, owner: tuple[int, int] | None = None) -> int:
    """A user namespace with these maps, as an fd (the namespace lives as long as the fd). Root only.

    ``owner`` (uid, gid) creates it from a process already switched to that uid, so that uid owns it: an
    unprivileged bubblewrap of that uid may then join it."""
    libc = _c()

    def enter() -> None:
        if owner is not None:
            os.setgroups([])
            os.setresgid(owner[1], owner[1], owner[1])
            os.setresuid(owner[0], owner[0], owner[0])
        _check(libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")

    holder = subprocess.Popen(
        [shutil.which("cat") or "/bin/cat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={},
        preexec_fn=enter,  # noqa: PLW1509 - syscalls only, nothing that takes a lock
    )
    try:
        Path(f"/proc/{holder.pid}/uid_map").write_text(uid_map)
        Path(f"/proc/{holder.pid}/gid_map").write_text(gid_map)
        return os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()


_USERNS: dict[tuple[str, str, tuple[int, int] | None], int] = {}
_USERNS_LOCK = threading.Lock()


def _userns(uid_map: str, gid_map: str, owner: tuple[int, int] | None = None) -> int:
    with _USERNS_LOCK:
        fd = _USERNS.get((uid_map, gid_map, owner))
        if fd is None:
            fd = _USERNS[(uid_map, gid_map, owner)] = _make_userns(uid_map, gid_map, owner)
        return fd


@dataclass(frozen=True)
class _Idmap:
    """Set up in the child before bubblewrap starts: a private mount namespace holding the idmapped
    workspace at :data:`STAGE`. Everything is computed in the parent; the child only makes syscalls."""

    workspace: bytes
    map_fd: int

    def apply(self) -> None:
        libc = _c()
        _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        tree = _check(
            libc.syscall(SYS_OPEN_TREE, AT_FDCWD, self.workspace, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC),
            "open_tree(workspace)",
        )
        attr = _MountAttr(MOUNT_ATTR_IDMAP, 0, 0, self.map_fd)
        _check(
            libc.syscall(SYS_MOUNT_SETATTR, tree, b"", AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr)),
            "mount_setattr(MOUNT_ATTR_IDMAP)",
        )
        _check(
            libc.mount(b"tmpfs", STAGE_PARENT, b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=64k"),
            "mount tmpfs (stage)",
        )
        os.mkdir(STAGE)
        _check(
            libc.syscall(SYS_MOVE_MOUNT, tree, b"", AT_FDCWD, STAGE.encode(), MOVE_MOUNT_F_EMPTY_PATH),
            "move_mount(stage)",
        )
        os.close(tree)


# ------------------------------------------------------------------------------------------ cgroups
_CALLS = itertools.count(1)


def _pids_cgroup_base() -> Path | None:
    """Where this process may create per-call pids cgroups (v1 ``pids`` hierarchy or v2), or None."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        own = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    v1 = next(
        (m.split()[1] for m in mounts if m.split()[2:3] == ["cgroup"] and "pids" in m.split()[3].split(",")), None
    )
    if v1 is not None:
        rel = next((line.split(":", 2)[2] for line in own if line.split(":")[1:2] == ["pids"]), None)
        return Path(v1) / (rel or "/").lstrip("/") / "life-tui" if rel is not None else None
    v2 = next((m.split()[1] for m in mounts if m.split()[2:3] == ["cgroup2"]), None)
    rel = next((line.split(":", 2)[2] for line in own if line.startswith("0::")), None)
    if v2 is None or rel is None:
        return None
    here = Path(v2) / rel.lstrip("/")
    try:
        if "pids" not in (here / "cgroup.controllers").read_text().split():
            return None
    except OSError:
        return None
    return here / "life-tui"


def sweep_stale_cgroups(base: Path) -> int:
    """Kill what is left in the call cgroups of life-tui processes that died (a crash mid-command) and
    remove those cgroups; the number removed."""
    removed = 0
    for entry in base.glob("call-*"):
        owner = entry.name.split("-")[1]
        if owner.isdigit() and (int(owner) == os.getpid() or _alive(int(owner))):
            continue
        if PidsCgroup(entry).remove(wait_s=1.0):
            removed += 1
    return removed


def _prepare_cgroup_base(base: Path) -> bool:
    """Create the parent cgroup (and, on v2, enable the pids controller below it); False if not allowed."""
    try:
        base.mkdir(exist_ok=True)
        if (base / "cgroup.subtree_control").exists():  # v2
            with contextlib.suppress(OSError):
                (base.parent / "cgroup.subtree_control").write_text("+pids")
            (base / "cgroup.subtree_control").write_text("+pids")
        probe = base / f"probe-{os.getpid()}-{secrets.token_hex(4)}"
        probe.mkdir()
        try:
            (probe / "pids.max").write_text("8")
        finally:
            probe.rmdir()
    except OSError:
        return False
    return True


@dataclass
class PidsCgroup:
    """One call's cgroup: ``pids.max`` caps its processes; ``members`` lists them for the tree kill."""

    path: Path

    @classmethod
    def create(cls, base: Path, max_processes: int) -> PidsCgroup:
        path = base / f"call-{os.getpid()}-{next(_CALLS)}-{secrets.token_hex(3)}"
        path.mkdir()
        (path / "pids.max").write_text(str(max_processes))
        return cls(path)

    @property
    def procs_file(self) -> str:
        return str(self.path / "cgroup.procs")

    def members(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def limit_hits(self) -> int:
        """How often a fork was refused because ``pids.max`` was reached."""
        try:
            for line in (self.path / "pids.events").read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == "max":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def remove(self, wait_s: float = 2.0) -> bool:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.path.rmdir()
                return True
            except FileNotFoundError:
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    return False
                for pid in self.members():
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.01)


# ---------------------------------------------------------------------------------- process table
def _process_table() -> dict[int, int]:
    """pid -> parent pid for every process visible in /proc."""
    table: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/stat").read_bytes()
        except OSError:
            continue
        after = raw[raw.rfind(b")") + 2 :].split()
        if len(after) > 1:
            table[int(entry.name)] = int(after[1])
    return table


def descendants(pid: int, table: Mapping[int, int] | None = None) -> list[int]:
    """Every process below ``pid`` (children first), from a snapshot of the process table."""
    table = table if table is not None else _process_table()
    children: dict[int, list[int]] = {}
    for child, parent in table.items():
        children.setdefault(parent, []).append(child)
    out: list[int] = []
    frontier = [pid]
    while frontier:
        nxt = [c for p in frontier for c in children.get(p, [])]
        out += nxt
        frontier = nxt
    return out


def _with_marker(marker: bytes) -> list[int]:
    """Processes whose environment holds ``marker`` (how an unsandboxed call finds its escaped daemons)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if marker in Path(f"/proc/{entry.name}/environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie is dead)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    after = raw[raw.rfind(b")") + 2 :].split()
    return bool(after) and after[0] not in (b"Z", b"X")


def _kill(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


# ------------------------------------------------------------------------------------------- probe
class SandboxMode(StrEnum):
    IDMAP = "bwrap-idmap"
    """Root host: bubblewrap in a user namespace mapping uid 65534 to host uid 65534, the workspace
    through an idmapped mount. RLIMIT_NPROC and DAC bind."""
    USERNS = "bwrap-userns"
    """bubblewrap in its own user namespace as the host uid. On a root host the sandbox's uid 65534 is host
    root without capabilities: the mounts still hold, DAC and RLIMIT_NPROC do not (the pids cgroup does)."""
    NONE = "none"


@dataclass(frozen=True)
class SandboxProbe:
    """What this host supports, found once by trivial sandboxed runs."""

    available: bool
    mode: SandboxMode
    reason: str = ""
    bwrap: str | None = None
    unprivileged: bool = False
    """The command's uid on the host is not root (RLIMIT_NPROC and file permissions bind)."""
    cgroup_base: Path | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def unavailable(cls, reason: str, *, cgroup_base: Path | None = None) -> SandboxProbe:
        return cls(False, SandboxMode.NONE, reason, cgroup_base=cgroup_base)


_PROBES: dict[tuple[object, ...], SandboxProbe] = {}
_NO_IDMAP: set[int] = set()
"""Filesystems (``st_dev``) where an idmapped mount of the workspace failed: bwrap-userns is used there."""
_PROBE_LOCK = threading.Lock()


def reset_probe_cache() -> None:
    """Forget earlier probes (tests that change the host's apparent capabilities)."""
    with _PROBE_LOCK:
        _PROBES.clear()
        _NO_IDMAP.clear()


def probe(policy: SandboxPolicy) -> SandboxProbe:
    """The sandbox this host offers under ``policy``; cached per bwrap binary, uid and mode options."""
    bwrap = shutil.which(policy.bwrap) if policy.bwrap else None
    key = (bwrap, os.geteuid(), policy.idmap, policy.cgroup, policy.uid, policy.gid)
    with _PROBE_LOCK:
        found = _PROBES.get(key)
        if found is None:
            found = _PROBES[key] = _probe(policy, bwrap)
        return found


def _probe(policy: SandboxPolicy, bwrap: str | None) -> SandboxProbe:
    base = _pids_cgroup_base() if policy.cgroup else None
    if base is not None and not _prepare_cgroup_base(base):
        base = None
    if base is not None:
        sweep_stale_cgroups(base)
    if bwrap is None:
        missing = "bubblewrap (bwrap) is not installed" if policy.bwrap else "bubblewrap is disabled by the policy"
        return SandboxProbe.unavailable(missing, cgroup_base=base)
    failures: list[str] = []
    candidates = [SandboxMode.USERNS]
    if os.geteuid() == 0 and policy.idmap:
        candidates.insert(0, SandboxMode.IDMAP)
    for mode in candidates:
        unprivileged = mode is SandboxMode.IDMAP or os.geteuid() != 0
        found = SandboxProbe(True, mode, "", bwrap, unprivileged, base)
        error = _trial_run(found, policy)
        if error is None:
            notes = tuple(f"{SandboxMode(m).value}: {f}" for m, f in zip(candidates, failures, strict=False))
            return SandboxProbe(True, mode, "", bwrap, unprivileged, base, notes)
        failures.append(error)
    return SandboxProbe.unavailable(
        "bubblewrap cannot create its namespaces here: " + "; ".join(failures), cgroup_base=base
    )


def _trial_run(found: SandboxProbe, policy: SandboxPolicy) -> str | None:
    """Run ``echo ok > probe; cat probe`` in a throwaway workspace under ``found``; None when it works."""
    with tempfile.TemporaryDirectory(prefix="life-tui-probe-") as tmp:
        workspace = Path(tmp) / "ws"
        workspace.mkdir()
        try:
            plan = build_plan(
                found,
                SandboxPolicy(cgroup=False, secret_paths=(), bwrap=policy.bwrap, uid=policy.uid, gid=policy.gid),
                "echo ok > .probe && cat .probe",
                workspace=workspace,
                cwd=workspace,
                timeout_s=10,
                protected=(),
            )
            done = subprocess.run(
                plan.argv,
                env=plan.env,
                pass_fds=plan.pass_fds,
                preexec_fn=plan.child_setup(None),  # syscalls only, see Plan.child_setup
                capture_output=True,
                timeout=15,
                check=False,
            )
        except (OSError, subprocess.SubprocessError, SandboxError) as exc:
            return f"{type(exc).__name__}: {exc}"
        written = workspace / ".probe"
        if done.returncode != 0 or done.stdout.strip() != b"ok" or not written.exists():
            err = done.stderr.decode("utf-8", "replace").strip() or f"exit code {done.returncode}"
            return err[:300]
        if written.stat().st_uid != workspace.stat().st_uid:
            return "files written in the sandbox are not owned by the workspace's owner"
    return None


# -------------------------------------------------------------------------------------------- plan
def _scrubbed_env(policy: SandboxPolicy, home: Path, host: Mapping[str, str] | None = None) -> dict[str, str]:
    host = os.environ if host is None else host
    env: dict[str, str] = {}
    for name in policy.env_passthrough:
        value = host.get(name)
        if value is not None and not looks_secret(name):
            env[name] = value
    if "PATH" in env:  # relative entries would run what the command itself wrote in its cwd
        env["PATH"] = ":".join(p for p in env["PATH"].split(":") if p.startswith("/"))
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env.update(
        HOME=str(home),
        TMPDIR="/tmp",
        TERM="dumb",
        NO_COLOR="1",
        PAGER="cat",
        GIT_PAGER="cat",
        GIT_TERMINAL_PROMPT="0",
        SHELL=shutil.which(policy.shell) or "/bin/sh",
    )
    for name, value in policy.env_set:
        if looks_secret(name):
            raise SandboxError(f"the policy may not pass {name!r} to commands: it looks like a secret")
        env[name] = value
    return env


def _traversable(path: Path, uid: int, gid: int) -> bool:
    """True when ``uid``/``gid`` may walk from / down to ``path`` (every ancestor searchable)."""
    for ancestor in [*reversed(path.parents)]:
        try:
            st = ancestor.stat()
        except OSError:
            return False
        mode = st.st_mode
        if st.st_uid == uid:
            ok = bool(mode & stat.S_IXUSR)
        elif st.st_gid == gid:
            ok = bool(mode & stat.S_IXGRP)
        else:
            ok = bool(mode & stat.S_IXOTH)
        if not ok:
            return False
    return True


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def secret_locations(policy: SandboxPolicy) -> list[Path]:
    """The read-denied paths under ``policy``: its list (``~`` expanded) plus life-tui's keys and config."""
    where = paths.resolve()
    found = [Path(p).expanduser() for p in policy.secret_paths]
    if policy.secret_paths:
        found += [where.data / "keys", where.config]
    return found


@dataclass
class Plan:
    """Everything needed to start one command: argv, the environment bubblewrap (or bash) starts with,
    fds to pass, and what the child sets up before exec."""

    argv: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...]
    rlimits: list[tuple[int, tuple[int, int]]]
    idmap: _Idmap | None
    sandboxed: bool
    mode: SandboxMode
    marker: bytes = b""
    drop_to: tuple[int, int] | None = None
    """(uid, gid) the child switches to right before exec (bubblewrap in bwrap-idmap mode)."""

    def child_setup(self, cgroup: PidsCgroup | None) -> Callable[[], None]:
        """The function run in the forked child before exec: join the call's cgroup, build the private
        mount namespace for the idmapped workspace, set the limits. Syscalls only (nothing imported,
        no locks), as a ``preexec_fn`` in a threaded program must be."""
        procs = cgroup.procs_file if cgroup is not None else None
        idmap = self.idmap
        limits = self.rlimits
        drop = self.drop_to
        # Unsandboxed, the shell itself dies with the agent (bubblewrap's --die-with-parent does this in the
        # sandbox); what it started is swept with its cgroup at the next start.
        prctl = None if self.sandboxed else _c().prctl

        def setup() -> None:
            if prctl is not None:
                prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if procs is not None:
                fd = os.open(procs, os.O_WRONLY)
                try:
                    os.write(fd, str(os.getpid()).encode())
                finally:
                    os.close(fd)
            if idmap is not None:
                idmap.apply()
            for which, value in limits:
                resource.setrlimit(which, value)
            if drop is not None:
                os.setgroups([])
                os.setresgid(drop[1], drop[1], drop[1])
                os.setresuid(drop[0], drop[0], drop[0])

        return setup


def _rlimits(policy: SandboxPolicy, timeout_s: float, nproc: int | None) -> list[tuple[int, tuple[int, int]]]:
    cpu = policy.cpu_time_s if policy.cpu_time_s is not None else int(timeout_s) + 1
    limits = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_FSIZE, (policy.file_size_bytes, policy.file_size_bytes)),
        (resource.RLIMIT_AS, (policy.address_space_bytes, policy.address_space_bytes)),
        (resource.RLIMIT_NOFILE, (policy.open_files, policy.open_files)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    if nproc is not None:
        limits.append((resource.RLIMIT_NPROC, (nproc, nproc)))
    return limits


def _own_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += 1
    return count


def build_plan(
    found: SandboxProbe,
    policy: SandboxPolicy,
    command: str,
    *,
    workspace: Path,
    cwd: Path,
    timeout_s: float,
    protected: Iterable[Path],
) -> Plan:
    """The bubblewrap command line (or, with no sandbox, the plain one) for ``command`` under ``policy``."""
    workspace = workspace.resolve()
    if workspace == Path("/"):
        raise SandboxError("the workspace may not be the root directory")
    shell = shutil.which(policy.shell) or policy.shell
    env = _scrubbed_env(policy, workspace)
    if not found.available:
        marker = f"LIFE_TUI_RUN={secrets.token_hex(8)}"
        env["LIFE_TUI_RUN"] = marker.partition("=")[2]
        nproc = None if os.geteuid() == 0 else _own_process_count() + policy.max_processes
        return Plan(
            [shell, "-c", command],
            env,
            (),
            _rlimits(policy, timeout_s, nproc),
            None,
            sandboxed=False,
            mode=SandboxMode.NONE,
            marker=marker.encode(),
        )
    assert found.bwrap is not None
    idmapped = found.mode is SandboxMode.IDMAP
    args = [found.bwrap]
    pass_fds: tuple[int, ...] = ()
    idmap: _Idmap | None = None
    if idmapped:
        st = workspace.stat()
        # Owned by the sandbox uid, so that bubblewrap itself runs as that uid (dropped in the child before
        # exec): then its parent-death signal reaches the command (a root bubblewrap without capabilities
        # may not signal uid 65534, measured: the sandbox outlived a killed life-tui), and bubblewrap's own
        # code runs unprivileged too.
        inner = _userns(
            f"{policy.uid} {policy.uid} 1\n", f"{policy.gid} {policy.gid} 1\n", owner=(policy.uid, policy.gid)
        )
        mapping = _userns(f"{st.st_uid} {policy.uid} 1\n", f"{st.st_gid} {policy.gid} 1\n")
        idmap = _Idmap(os.fsencode(workspace), mapping)
        pass_fds = (inner,)
        args += ["--userns", str(inner), "--uid", str(policy.uid), "--gid", str(policy.gid)]
        source = Path(STAGE)
    else:
        args += ["--unshare-user", "--disable-userns"]
        if os.geteuid() == 0:
            args += ["--uid", str(policy.uid), "--gid", str(policy.gid)]
        source = workspace
    # A private /tmp, and an empty /run: its daemon sockets (systemd, dbus, docker, a user's agents) are
    # reachable through a read-only mount (connect() needs no write access to the filesystem), and a
    # pathname socket does not care about the network namespace.
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    args += ["--tmpfs", "/run"]
    if policy.network:  # name resolution may live under /run (systemd-resolved, resolvconf)
        for resolver in ("/run/systemd/resolve", "/run/resolvconf"):
            if Path(resolver).is_dir():
                args += ["--ro-bind", resolver, resolver]
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    if not policy.network:
        args.append("--unshare-net")
    # The command is the namespace's PID 1 (no bubblewrap reaper): when it ends, or is killed, the kernel
    # kills everything else in the namespace. With a reaper instead, bubblewrap's outer process returns as
    # soon as the command ends while the reaper lives on with the command's daemons; and in bwrap-idmap mode
    # the reaper's parent-death signal is not delivered (measured), so they would outlive the call.
    args += ["--as-pid-1", "--die-with-parent", "--new-session"]

    hidden: list[Path] = [Path("/tmp"), Path("/run")]
    if idmapped and not any(_inside(workspace, h) for h in hidden):
        # The command's uid cannot walk to a workspace below a closed directory (/root/project): put an
        # empty tmpfs there (it could see nothing in it anyway) and the workspace into it.
        for ancestor in reversed(workspace.parents):
            if not _searchable(ancestor, policy):
                args += ["--tmpfs", str(ancestor)]
                hidden.append(ancestor)
                break
    args += ["--bind", str(source), str(workspace)]
    args += [a for h in hidden[2:] for a in ("--remount-ro", str(h))]  # (the mount below stays writable)

    def src(path: Path) -> str:
        return str(source / path.relative_to(workspace)) if path != workspace else str(source)

    guarded = {workspace / name for name in policy.protected_names}
    guarded |= {Path(p) for p in protected}
    pinned: set[Path] = set()
    for given in sorted(guarded, key=lambda p: (len(p.parts), str(p))):
        if not _inside(given, workspace) or given == workspace or not (given.exists() or given.is_symlink()):
            continue
        path = given
        if given.is_symlink():  # a link is re-bound as what it points to only if that stays inside
            path = given.resolve()
            if not _inside(path, workspace) or not path.exists():
                continue
        # Every directory between the workspace and the protected path becomes a mount point, so it can be
        # neither renamed nor removed (the write would otherwise just move out of the way).
        for parent in reversed(path.relative_to(workspace).parents):
            step = workspace / parent
            if step != workspace and step not in pinned:
                args += ["--bind", src(step), str(step)]
                pinned.add(step)
        args += ["--ro-bind", src(path), str(path)]
        pinned.add(path)

    for secret in secret_locations(policy):
        if any(_inside(secret, h) for h in hidden) or not (secret.exists() or secret.is_symlink()):
            continue
        if idmapped and not _traversable(secret, policy.uid, policy.gid):
            continue  # the command's uid cannot reach it anyway (and bubblewrap could not mount there)
        if secret.is_dir() and not secret.is_symlink():
            args += ["--tmpfs", str(secret), "--remount-ro", str(secret)]
        else:
            args += ["--ro-bind", "/dev/null", str(secret)]
    for sock in policy.masked_sockets:
        path = Path(sock)
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(path.stat().st_mode) and not any(_inside(path.resolve(), h) for h in hidden):
                args += ["--ro-bind", "/dev/null", str(path)]

    args.append("--clearenv")
    for name, value in env.items():
        args += ["--setenv", name, value]
    args += ["--chdir", str(cwd), "--", shell, "-c", command]
    nproc = policy.max_processes if found.unprivileged else None
    if found.unprivileged and os.geteuid() != 0:
        nproc = _own_process_count() + policy.max_processes
    minimal = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    drop = (policy.uid, policy.gid) if idmapped else None
    return Plan(args, minimal, pass_fds, _rlimits(policy, timeout_s, nproc), idmap, True, found.mode, drop_to=drop)


def _searchable(path: Path, policy: SandboxPolicy) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_uid == policy.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == policy.gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


# --------------------------------------------------------------------------------------------- run
class _Collect(asyncio.SubprocessProtocol):
    """Feeds the merged output into a collector as it arrives; marks the process's exit and the pipe's end
    separately (a daemon may hold the pipe long after the command exited)."""

    def __init__(self, collector: OutputCollector, exited: asyncio.Future[None], eof: asyncio.Future[None]) -> None:
        self.collector = collector
        self.exited = exited
        self.eof = eof

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        self.collector.feed(data if isinstance(data, bytes) else data.encode())

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if not self.eof.done():
            self.eof.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


@dataclass
class ShellResult:
    output: OutputCollector
    exit_code: int | None
    timed_out: bool
    sandboxed: bool
    mode: SandboxMode
    duration_s: float
    signal: int | None = None
    process_limit_hits: int = 0
    survivors: list[int] = field(default_factory=list)
    """Processes of the call still alive after the kill (always empty unless something is badly wrong)."""
    host_pids: list[int] = field(default_factory=list)
    """Every host pid seen belonging to the call (for tests that verify the tree kill)."""


def resolve_cwd(workspace: Path, cwd: str | None) -> Path:
    """``cwd`` (relative to the workspace, or absolute inside it) as an existing directory inside it."""
    root = workspace.resolve()
    if cwd is None or cwd in ("", "."):
        return root
    if "\x00" in cwd:
        raise SandboxError("cwd may not contain a NUL byte")
    target = (root / cwd).resolve()
    if not _inside(target, root):
        raise SandboxError(f"cwd {cwd!r} is outside the workspace")
    if not target.is_dir():
        raise SandboxError(f"cwd {cwd!r} is not a directory in the workspace")
    return target


class Sandbox:
    """Runs shell commands under a :class:`SandboxPolicy`. ``probe_with`` replaces the host probe (tests)."""

    def __init__(
        self,
        policy: SandboxPolicy | None = None,
        *,
        probe_with: Callable[[SandboxPolicy], SandboxProbe] | None = None,
    ) -> None:
        self.policy = policy or SandboxPolicy()
        self._probe_with = probe_with or probe

    def probe(self) -> SandboxProbe:
        return self._probe_with(self.policy)

    async def run(
        self,
        command: str,
        *,
        workspace: Path,
        cwd: str | None = None,
        timeout_s: float | None = None,
        protected: Iterable[Path] = (),
        allow_unsandboxed: bool = False,
        on_spawn: Callable[[int], None] | None = None,
    ) -> ShellResult:
        """Run ``command`` with bash; raise :class:`SandboxUnavailable` when it would have to run
        unsandboxed and that is not allowed. Never raises for what the command itself does."""
        policy = self.policy
        timeout = policy.limit_timeout(timeout_s)
        found = await asyncio.to_thread(self.probe)
        if not found.available and not allow_unsandboxed:
            raise SandboxUnavailable(found.reason)
        where = resolve_cwd(workspace, cwd)
        if found.mode is SandboxMode.IDMAP and workspace.resolve().stat().st_dev in _NO_IDMAP:
            found = SandboxProbe(True, SandboxMode.USERNS, "", found.bwrap, os.geteuid() != 0, found.cgroup_base)
        plan = await asyncio.to_thread(
            build_plan,
            found,
            policy,
            command,
            workspace=workspace,
            cwd=where,
            timeout_s=timeout,
            protected=tuple(protected),
        )
        cgroup = None
        if found.cgroup_base is not None:
            with contextlib.suppress(OSError):
                cgroup = PidsCgroup.create(found.cgroup_base, policy.max_processes)
        try:
            try:
                return await self._spawn(plan, policy, where, timeout, cgroup, on_spawn)
            except subprocess.SubprocessError as exc:
                if plan.idmap is None:
                    raise SandboxError(f"the sandbox could not be set up: {exc}") from exc
                # The workspace's filesystem refused the idmapped mount (NFS, 9p, old tmpfs...): this
                # workspace runs in bwrap-userns mode (uid 65534 inside is root outside, without capabilities).
                _NO_IDMAP.add(workspace.resolve().stat().st_dev)
                fallback = SandboxProbe(True, SandboxMode.USERNS, "", found.bwrap, os.geteuid() != 0, found.cgroup_base)
                plan = await asyncio.to_thread(
                    build_plan,
                    fallback,
                    policy,
                    command,
                    workspace=workspace,
                    cwd=where,
                    timeout_s=timeout,
                    protected=tuple(protected),
                )
                return await self._spawn(plan, policy, where, timeout, cgroup, on_spawn)
        finally:
            if cgroup is not None:
                await asyncio.to_thread(cgroup.remove)

    async def _spawn(
        self,
        plan: Plan,
        policy: SandboxPolicy,
        cwd: Path,
        timeout: float,
        cgroup: PidsCgroup | None,
        on_spawn: Callable[[int], None] | None,
    ) -> ShellResult:
        collector = OutputCollector(keep_bytes=policy.keep_bytes)
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[None] = loop.create_future()
        eof: asyncio.Future[None] = loop.create_future()
        started = time.monotonic()
        transport, _ = await loop.subprocess_exec(
            lambda: _Collect(collector, exited, eof),
            *plan.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=plan.env,
            cwd=str(cwd),
            pass_fds=plan.pass_fds,
            start_new_session=True,
            preexec_fn=plan.child_setup(cgroup),
        )
        pid = transport.get_pid()
        if on_spawn is not None:
            on_spawn(pid)
        seen: set[int] = {pid}
        timed_out = False
        survivors: list[int] = []
        try:
            try:
                await asyncio.wait_for(asyncio.shield(exited), timeout)
            except TimeoutError:
                timed_out = True
                seen |= set(self._members(pid, plan, cgroup))
                await self._terminate(pid, exited, plan, cgroup, policy.kill_grace_s)
            # The command is done; what it left running (and holding the pipe) goes now. In the sandbox nothing
            # is left: the namespace ended with its PID 1.
            if not plan.sandboxed and not eof.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(eof), 0.2)
        finally:
            if timed_out or not plan.sandboxed or not exited.done() or (cgroup is not None and cgroup.members()):
                seen |= set(self._members(pid, plan, cgroup))
                survivors = await asyncio.to_thread(self._kill_all, pid, plan, cgroup)
            if not eof.done():
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(eof), 1.0)
            transport.close()  # kills the direct child if it still runs, closes the pipe
            if not exited.done():
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(exited), 2.0)
        code = transport.get_returncode()
        return ShellResult(
            output=collector,
            exit_code=code,
            timed_out=timed_out,
            sandboxed=plan.sandboxed,
            mode=plan.mode,
            duration_s=time.monotonic() - started,
            signal=-code if code is not None and code < 0 else None,
            process_limit_hits=cgroup.limit_hits() if cgroup is not None else 0,
            survivors=survivors,
            host_pids=sorted(seen),
        )

    @staticmethod
    def _members(root: int, plan: Plan, cgroup: PidsCgroup | None) -> list[int]:
        """Every live process of the call: the cgroup's, the tree below ``root``, and (unsandboxed) the
        processes carrying the call's environment marker."""
        found = set(cgroup.members()) if cgroup is not None else set()
        found |= set(descendants(root))
        if plan.marker:
            found |= set(_with_marker(plan.marker))
        found.discard(os.getpid())
        return sorted(p for p in found if _alive(p))

    async def _terminate(
        self, pid: int, exited: asyncio.Future[None], plan: Plan, cgroup: PidsCgroup | None, grace: float
    ) -> None:
        """SIGTERM to the command and everything it started, then SIGKILL after ``grace`` seconds."""
        members = self._members(pid, plan, cgroup)
        if plan.sandboxed:
            # Not bubblewrap itself: its death would end the command at once, with no grace. (The command, as
            # its namespace's PID 1, only receives SIGTERM if it handles it.)
            members = [p for p in members if p != pid]
        else:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGTERM)
        _kill(members, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited), grace)
        await asyncio.to_thread(self._kill_all, pid, plan, cgroup)

    def _kill_all(self, root: int, plan: Plan, cgroup: PidsCgroup | None, wait_s: float = 3.0) -> list[int]:
        """SIGKILL every process of the call until none is left (or ``wait_s`` passes); the survivors."""
        deadline = time.monotonic() + wait_s
        if plan.sandboxed:
            # The namespace's init first: when it dies the kernel kills everything in the namespace.
            _kill([p for p, parent in _process_table().items() if parent == root], signal.SIGKILL)
        else:
            with contextlib.suppress(OSError):
                os.killpg(root, signal.SIGKILL)
        while True:
            left = [p for p in self._members(root, plan, cgroup) if p != root]
            if not left or time.monotonic() >= deadline:
                return left
            _kill(left, signal.SIGKILL)
            time.sleep(0.01)
