"""The ``bash`` tool: one shell command under the :class:`~life_tui.tools.sandbox.SandboxPolicy`.

The model gives a command, optionally a working directory inside the workspace and a timeout (capped by the
policy). The command runs with bash in the OS sandbox (see :mod:`life_tui.tools.sandbox`); stdout and stderr
are read together as one stream, kept to 1 MiB while they stream and shown to the model as head + tail
(≤ 10 KiB, escape sequences neutralised) followed by one status line: the exit code, or the signal or limit
that stopped it, or the timeout. When output was cut, the full kept output goes to the blob store and the
marker names its hash.

With no OS sandbox the tool refuses (fails closed) unless ``ToolContext.allow_unsandboxed`` is set; then
the command runs anyway and the call's effects carry a ``sandbox.unsandboxed_run`` event for the journal.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import signal
from pathlib import Path
from typing import Any

from life_tui.kernel import kinds as k
from life_tui.tools.registry import ToolAnnotations, ToolContext, ToolOutput, ToolRegistry, ToolSpec
from life_tui.tools.sandbox import (
    Sandbox,
    SandboxError,
    SandboxPolicy,
    SandboxProbe,
    SandboxUnavailable,
    ShellResult,
)

_LIMIT_SIGNALS: dict[int, str] = {
    signal.SIGXFSZ: "the file size limit ({file_size}) was reached",
    signal.SIGXCPU: "the CPU time limit was reached",
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
}
_SEGMENT = re.compile(r"\|\||&&|[;|&\n]|\$\(|`|\(")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PREFIXES = frozenset({"sudo", "env", "nohup", "time", "exec", "command", "builtin", "nice", "timeout", "setsid"})


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


def command_names(command: str) -> list[str]:
    """The programs a command line runs, first one first: the first word of each simple command (after
    variable assignments and wrappers such as ``env`` or ``nohup``), as a base name. Best effort: it feeds
    approval rules (``exec:cmd:rm``), it does not confine anything."""
    names: list[str] = []
    for segment in _SEGMENT.split(command):
        try:
            words = shlex.split(segment, comments=True)
        except ValueError:
            words = segment.split()
        words = [w for w in words if w not in ("{", "}", ")", "!")]
        while words and (_ASSIGNMENT.match(words[0]) or words[0] in _PREFIXES or words[0].startswith("-")):
            words.pop(0)
        if words:
            name = Path(words[0]).name or words[0]
            if name and name not in names:
                names.append(name)
    return names


def _capabilities(policy: SandboxPolicy) -> Any:
    def capabilities(arguments: dict[str, Any]) -> list[str]:
        names = command_names(str(arguments.get("command", ""))) or [""]
        caps = [f"exec:cmd:{name}" for name in names]
        if policy.network:
            caps.append("net:egress:*")
        return caps

    return capabilities


def _status(result: ShellResult, policy: SandboxPolicy, timeout: float) -> str:
    if result.timed_out:
        line = f"timed out after {timeout:g} s: the command and every process it started were killed"
    elif result.signal is not None:
        try:
            name = signal.Signals(result.signal).name
        except ValueError:
            name = f"signal {result.signal}"
        why = _LIMIT_SIGNALS.get(result.signal, "")
        why = why.format(file_size=_size(policy.file_size_bytes))
        line = f"killed by {name}" + (f" ({why})" if why and why != "killed" else "")
    else:
        line = f"exit code {result.exit_code}"
        code = result.exit_code or 0
        if 128 < code < 128 + signal.NSIG:  # how bash (and bwrap) report a process killed by a signal
            try:
                name = signal.Signals(code - 128).name
            except ValueError:
                name = ""
            why = _LIMIT_SIGNALS.get(code - 128, "").format(file_size=_size(policy.file_size_bytes))
            if name:
                line += f" (128 + {name}" + (f": {why}" if why and why != "killed" else "") + ")"
    if result.process_limit_hits:
        line += f"; the process limit ({policy.max_processes}) refused {result.process_limit_hits} forks"
    if result.survivors:
        line += f"; {len(result.survivors)} processes could not be killed"
    if not result.sandboxed:
        line += "; ran WITHOUT an OS sandbox (allowed by the user)"
    return f"[{line}]"


def bash_tool(policy: SandboxPolicy | None = None, *, sandbox: Sandbox | None = None) -> ToolSpec:
    """The ``bash`` tool under ``policy`` (or a prepared ``sandbox``, whose probe tests may replace)."""
    box = sandbox or Sandbox(policy)
    policy = box.policy

    async def run(arguments: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        command = str(arguments["command"])
        if not command.strip():
            return ToolOutput("the command is empty", is_error=True)
        try:
            timeout = policy.limit_timeout(arguments.get("timeout"))
        except ValueError as exc:
            return ToolOutput(str(exc), is_error=True)
        try:
            result = await box.run(
                command,
                workspace=ctx.workspace,
                cwd=arguments.get("cwd"),
                timeout_s=timeout,
                protected=ctx.protected,
                allow_unsandboxed=ctx.allow_unsandboxed,
            )
        except SandboxUnavailable as exc:
            return ToolOutput(str(exc), is_error=True, data={"sandboxed": False, "refused": True})
        except SandboxError as exc:
            return ToolOutput(f"cannot run the command: {exc}", is_error=True)

        output = result.output
        note = ""
        blob = None
        full = output.text()
        cut = output.truncated or len(full.encode("utf-8")) > policy.model_bytes
        if cut and ctx.blobs is not None:
            blob = await asyncio.to_thread(ctx.blobs.put, full.encode("utf-8"))
            kept = "its first and last bytes" if output.truncated else "all of it"
            note = f"output kept ({kept}, {_size(policy.keep_bytes)} at most) in blob {blob}"
        body = output.for_model(policy.model_bytes, note=note)
        status = _status(result, policy, timeout)
        content = status if not body else f"{body}{'' if body.endswith(chr(10)) else chr(10)}{status}"
        effects: tuple[Any, ...] = ()
        if not result.sandboxed:
            reason = box.probe().reason or "no OS sandbox is available"
            effects = (k.UnsandboxedRun(call_id=ctx.call_id, command=command, reason=reason),)
        data = {
            "exit_code": result.exit_code,
            "signal": result.signal,
            "timed_out": result.timed_out,
            "sandboxed": result.sandboxed,
            "mode": result.mode.value,
            "duration_s": round(result.duration_s, 3),
            "output_bytes": output.total,
            "truncated": output.truncated,
            "output_blob": blob,
            "process_limit_hits": result.process_limit_hits,
            "survivors": result.survivors,
        }
        failed = result.timed_out or result.signal is not None or bool(result.survivors)
        return ToolOutput(content, is_error=failed, data=data, effects=effects)

    return ToolSpec(
        name="bash",
        description=(
            "Run a shell command with bash in the workspace, inside an OS sandbox: the workspace is writable, "
            "the rest of the filesystem read-only, "
            + ("the network is available" if policy.network else "there is no network")
            + ", and .git and agent config are read-only. stdout and stderr are returned together (long "
            "output is cut to its head and tail), followed by the exit code. Processes do not outlive the "
            f"command. Default timeout {policy.timeout_s:g} s, at most {policy.max_timeout_s:g} s."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The command line, run with bash -c."},
                "cwd": {
                    "type": "string",
                    "description": "Working directory, relative to the workspace (default: the workspace).",
                },
                "timeout": {
                    "type": "number",
                    "description": f"Seconds before the command is killed (at most {policy.max_timeout_s:g}).",
                },
            },
            "required": ["command"],
            "additionalProperties": False,
        },
        run=run,
        annotations=ToolAnnotations(read_only=False, destructive=True, idempotent=False, open_world=True),
        # The registry's own timeout is a backstop above the command's, its grace and the cleanup.
        timeout_s=policy.max_timeout_s + policy.kill_grace_s + 15.0,
        capabilities=_capabilities(policy),
    )


def register(registry: ToolRegistry, policy: SandboxPolicy | None = None) -> ToolSpec:
    """Add the ``bash`` tool to ``registry`` and return it."""
    tool = bash_tool(policy)
    registry.register(tool)
    return tool


def describe(found: SandboxProbe) -> str:
    """One line on what the shell runs under here (for ``doctor`` and status views)."""
    if not found.available:
        return f"shell: no OS sandbox ({found.reason})"
    uid = "unprivileged uid" if found.unprivileged else "root uid without capabilities"
    cgroup = ", pids cgroup" if found.cgroup_base is not None else ""
    return f"shell: {found.mode.value} ({uid}{cgroup})"


BASH = bash_tool()
