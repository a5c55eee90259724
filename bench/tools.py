"""Tools benchmark: what the sandbox costs a shell command, and a file read, with medians side by side.

    .venv/bin/python bench/tools.py [--runs 50] [--lines 10000] [--work DIR]

Rows (medians over ``--runs``, measured interleaved in the same run so the machine's drift hits both):

1. ``bash -c true`` through the ``bash`` tool, sandboxed (``Sandbox.run``: probe cached, plan, spawn under
   bubblewrap, run, collect, clean up the call's cgroup), against a plain ``subprocess.run(["bash", "-c",
   "true"])`` and against the tool's own unsandboxed path (same limits, scrubbing and tree kill, no
   bubblewrap). The difference is the sandbox's cost per command.
2. The whole ``bash`` tool call through the registry (schema validation, the run, formatting the result).
3. ``read_file`` of a ``--lines``-line file through ``default_registry().run("read_file", ...)`` (whatever
   the file tool currently is), next to a plain ``Path.read_text``.

Not part of the test suite; run by hand (``./dev bench tools``) and report the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from life_tui.tools.basic import default_registry
from life_tui.tools.registry import ToolContext, ToolRegistry
from life_tui.tools.sandbox import Sandbox, SandboxPolicy, probe
from life_tui.tools.shell import bash_tool, describe


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    await fn()
    return time.perf_counter() - t0


async def interleaved(runs: int, cases: dict[str, Callable[[], Awaitable[Any]]]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm-up: probes, page cache, first imports
        await fn()
    for _ in range(runs):
        for name, fn in cases.items():
            times[name].append(await timed(fn))
    return times


async def bench(runs: int, lines: int, work: Path) -> list[tuple[str, str, str]]:
    workspace = work / "ws"
    workspace.mkdir(parents=True, exist_ok=True)
    policy = SandboxPolicy()
    found = probe(policy)
    rows: list[tuple[str, str, str]] = []
    sandbox = Sandbox(policy)
    unsandboxed = Sandbox(replace(policy, bwrap=None))
    bash = shutil.which("bash") or "/bin/bash"

    async def sandboxed_true() -> None:
        result = await sandbox.run("true", workspace=workspace)
        assert result.exit_code == 0
        assert result.sandboxed

    async def tool_unsandboxed_true() -> None:
        result = await unsandboxed.run("true", workspace=workspace, allow_unsandboxed=True)
        assert result.exit_code == 0
        assert not result.sandboxed

    async def plain_true() -> None:
        await asyncio.to_thread(subprocess.run, [bash, "-c", "true"], check=True)

    registry = ToolRegistry([bash_tool(policy)])
    ctx = ToolContext(workspace=workspace, session_id="bench", call_id="call_1")

    async def tool_call() -> None:
        out = await registry.run("bash", {"command": "true"}, ctx)
        assert out.content == "[exit code 0]", out.content

    cases: dict[str, Callable[[], Awaitable[Any]]] = {"plain": plain_true, "unsandboxed": tool_unsandboxed_true}
    if found.available:
        cases |= {"sandboxed": sandboxed_true, "tool": tool_call}
    times = await interleaved(runs, cases)
    med = {name: statistics.median(values) for name, values in times.items()}
    rows.append(("1a", 'subprocess.run(["bash", "-c", "true"]) (no sandbox, no limits)', ms(med["plain"])))
    rows.append(
        ("1b", "Sandbox.run('true'), unsandboxed path (scrub, rlimits, cgroup, tree kill)", ms(med["unsandboxed"]))
    )
    if found.available:
        rows.append(("1c", f"Sandbox.run('true') under bubblewrap ({found.mode.value})", ms(med["sandboxed"])))
        rows.append(("1d", "  sandbox cost per command (1c - 1a)", ms(med["sandboxed"] - med["plain"])))
        rows.append(("2", "bash tool call through the registry (validate, run, format)", ms(med["tool"])))
    else:
        rows.append(("1c", f"sandboxed: not available here ({found.reason})", "-"))

    text = "".join(f"line {i:05d}: {'lorem ipsum dolor sit amet ' * 2}\n" for i in range(lines))
    target = workspace / "big.txt"
    target.write_text(text)
    files = default_registry()
    read_ctx = ToolContext(workspace=workspace, session_id="bench", call_id="call_2")
    # The tool reads a bounded page per call; find its page size (it refuses a larger limit).
    page = lines
    probe_out = await files.run("read_file", {"path": "big.txt", "limit": lines}, read_ctx)
    if probe_out.is_error and "limit" in probe_out.content:
        page = 2000

    async def read_first_page() -> None:
        out = await files.run("read_file", {"path": "big.txt"}, read_ctx)
        assert not out.is_error, out.content

    async def read_whole() -> None:
        for offset in range(1, lines + 1, page):
            out = await files.run("read_file", {"path": "big.txt", "offset": offset, "limit": page}, read_ctx)
            assert not out.is_error, out.content

    async def read_plain() -> None:
        target.read_text()

    times = await interleaved(runs, {"first": read_first_page, "whole": read_whole, "plain": read_plain})
    size = f"{lines:,} lines, {len(text.encode()) / 1024:.0f} KiB"
    calls = -(-lines // page)
    rows.append(("3a", f"read_file, one call with default arguments ({size})", ms(statistics.median(times["first"]))))
    rows.append(
        ("3b", f"read_file, the whole file in {calls} call(s) of {page} lines", ms(statistics.median(times["whole"])))
    )
    rows.append(("3c", "Path.read_text of the same file", ms(statistics.median(times["plain"]))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="life-bench-tools-"))
    try:
        rows = asyncio.run(bench(args.runs, args.lines, work))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"command: {' '.join(sys.argv)}   ({os.cpu_count()} CPUs, uid {os.geteuid()}, medians of {args.runs})")
    print(describe(probe(SandboxPolicy())))
    print(f"{'row':<4} | {'what':<78} | median")
    print(f"{'-' * 4}-+-{'-' * 78}-+-{'-' * 11}")
    for row, what, value in rows:
        print(f"{row:<4} | {what:<78} | {value}")


if __name__ == "__main__":
    main()
