"""Runtime benchmark: the loop's own overhead per tick, and a fresh headless process, against targets.

    .venv/bin/python bench/runtime.py [--prior 10000] [--ticks 50] [--runs 7] [--work DIR]

1. Loop overhead per tick: a session that already holds ``--prior`` events (a realistic conversation:
   user turns, assistant messages with tool calls, tool results) is reopened; then runs of ``--ticks``
   ticks are driven by the scripted provider answering instantly (one no-op tool call per tick, then a
   final answer). Per tick = the run's wall time / its ticks; the median over runs must be <= 2 ms (so the
   runtime is invisible next to any model's latency). The same is reported for a fresh session, to show
   what the 10k prior events cost, and the reopen (fold) time of the big session.
2. ``life-tui --headless`` with the scripted provider, fresh process to exit: <= 0.6 s median of 7
   (``python -c pass`` measured in the same run for reference).

Not part of the test suite; run by hand (``./dev bench runtime``) and report the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from life_tui.journal import Journal, JournalOptions
from life_tui.kernel.event import EventDraft
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.loop import RunLimits
from life_tui.runtime.providers.scripted import Script, ScriptedCall, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session, SessionOptions
from life_tui.tools.basic import default_registry
from life_tui.tools.registry import ToolAnnotations, ToolContext, ToolOutput, ToolSpec

TICK_TARGET_MS = 2.0
HEADLESS_TARGET_S = 0.6


async def _noop(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    return ToolOutput("ok")


NOOP = ToolSpec(
    name="noop",
    description="Does nothing (benchmark).",
    input_schema={"type": "object", "properties": {"n": {"type": "integer"}}},
    run=_noop,
    annotations=ToolAnnotations(read_only=True),
)


def prior_events(count: int) -> list[EventDraft]:
    """A conversation of roughly ``count`` events: user turn, tool-calling assistant turns, results."""
    drafts: list[EventDraft] = []
    turn = 0
    while len(drafts) < count:
        turn += 1
        drafts.append(
            EventDraft(
                kind="user.message", payload={"content": f"step {turn}: please look at module {turn}"}, actor="user"
            )
        )
        drafts.append(EventDraft(kind="run.started", payload={"provider": "scripted", "model": "scripted"}))
        for call in range(3):
            cid = f"prior_{turn}_{call}"
            drafts.append(
                EventDraft(
                    kind="assistant.message",
                    payload={
                        "content": "Let me check that file. " * 3,
                        "tool_calls": [{"id": cid, "name": "read_file", "arguments": {"path": f"src/m{turn}.py"}}],
                        "usage": {"input_tokens": 1200 + turn, "output_tokens": 40},
                        "model": "scripted",
                    },
                    actor="agent",
                )
            )
            drafts.append(
                EventDraft(
                    kind="tool.call_requested",
                    payload={"call_id": cid, "tool_name": "read_file", "arguments": {"path": "x"}},
                )
            )
            drafts.append(EventDraft(kind="tool.call_started", payload={"call_id": cid, "tool_name": "read_file"}))
            drafts.append(
                EventDraft(
                    kind="tool.call_completed",
                    payload={
                        "call_id": cid,
                        "tool_name": "read_file",
                        "result": "def f():\n    return 1\n" * 20,
                        "duration_ms": 0.4,
                    },
                    actor="tool",
                )
            )
        drafts.append(
            EventDraft(
                kind="assistant.message",
                payload={"content": "Done with this step.", "usage": {"input_tokens": 1500, "output_tokens": 10}},
                actor="agent",
            )
        )
        drafts.append(EventDraft(kind="run.finished", payload={"reason": "final_answer", "turns": 4}))
    return drafts[:count]


def script(ticks: int) -> Script:
    turns = [
        ScriptedTurn(text="", tool_calls=[ScriptedCall(name="noop", arguments={"n": i})], chunk_chars=10_000)
        for i in range(ticks - 1)
    ]
    turns.append(ScriptedTurn(text="done", chunk_chars=10_000))
    return Script(model="scripted", turns=turns)


async def tick_overhead(root: Path, prior: int, ticks: int, runs: int) -> dict[str, float]:
    journal = Journal.open(root / "journal", options=JournalOptions())
    workspace = root / "ws"
    workspace.mkdir(exist_ok=True)
    tools = default_registry()
    tools.register(NOOP)
    options = SessionOptions(approval_mode=ApprovalMode.AUTO, tools=tools)
    results: dict[str, float] = {}
    for label, count in (("fresh", 0), ("prior", prior)):
        created = await Session.create(
            journal, name=f"bench-{label}", workspace=workspace, provider=ScriptedProvider(script(2)), options=options
        )
        sid = created.session_id
        await created.close()
        history = prior_events(count)
        for start in range(0, count, 1024):
            journal.append_batch(sid, "main", history[start : start + 1024])
        results[f"{label}_events"] = journal.head(sid)
        t0 = time.perf_counter()
        session = await Session.open(journal, sid, provider=ScriptedProvider(script(ticks)), options=options)
        reopen_ms = (time.perf_counter() - t0) * 1000
        await session.submit("warm up", limits=RunLimits(max_turns=ticks + 5, tokens=10**12, tool_calls=10**6))
        per_tick = []
        for _ in range(runs):
            await session.switch_provider(ScriptedProvider(script(ticks)))
            t0 = time.perf_counter()
            outcome = await session.submit("go", limits=RunLimits(max_turns=ticks + 5, tokens=10**12, tool_calls=10**6))
            elapsed = time.perf_counter() - t0
            assert outcome.reason == "final_answer", outcome
            per_tick.append(elapsed * 1000 / ticks)
        await session.close()
        results[f"{label}_tick_ms"] = statistics.median(per_tick)
        results[f"{label}_tick_min_ms"] = min(per_tick)
        results[f"{label}_reopen_ms"] = reopen_ms
    journal.close()
    return results


def headless_start(root: Path, runs: int) -> dict[str, float]:
    exe = Path(sys.executable).with_name("life-tui")
    script_path = root / "instant.json"
    script_path.write_text(json.dumps({"model": "scripted", "turns": [{"text": "hello", "chunk_chars": 100}]}))
    env = {**os.environ, "LIFE_HOME": str(root / "home")}
    cmd = [str(exe), "--headless", "--provider", f"scripted:{script_path}", "--output-format", "json", "hi"]

    def timed(argv: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL)
        return time.perf_counter() - t0

    timed(cmd)  # warm the page cache and create the journal
    return {
        "headless_s": statistics.median(timed(cmd) for _ in range(runs)),
        "python_pass_s": statistics.median(timed([sys.executable, "-c", "pass"]) for _ in range(runs)),
        "version_s": statistics.median(timed([str(exe), "--version"]) for _ in range(runs)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prior", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    root = args.work or Path(tempfile.mkdtemp(prefix="life-bench-runtime-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        ticks = asyncio.run(tick_overhead(root, args.prior, args.ticks, args.runs))
        start = headless_start(root, args.runs)
    finally:
        if args.work is None:
            shutil.rmtree(root, ignore_errors=True)
    rows = [
        (
            "1",
            f"loop overhead per tick, session of {ticks['prior_events']:,} events",
            f"{ticks['prior_tick_ms']:.2f} ms [min {ticks['prior_tick_min_ms']:.2f}]",
            f"<= {TICK_TARGET_MS} ms",
            "PASS" if ticks["prior_tick_ms"] <= TICK_TARGET_MS else "FAIL",
        ),
        (
            "1b",
            "  same, fresh session",
            f"{ticks['fresh_tick_ms']:.2f} ms [min {ticks['fresh_tick_min_ms']:.2f}]",
            "info",
            "-",
        ),
        ("1c", "  reopen (fold) of the big session", f"{ticks['prior_reopen_ms']:.1f} ms", "info", "-"),
        (
            "2",
            "fresh `life-tui --headless` process to exit (scripted)",
            f"{start['headless_s'] * 1000:.0f} ms",
            f"<= {HEADLESS_TARGET_S * 1000:.0f} ms",
            "PASS" if start["headless_s"] <= HEADLESS_TARGET_S else "FAIL",
        ),
        (
            "2b",
            "  python -c pass / life-tui --version",
            f"{start['python_pass_s'] * 1000:.0f} / {start['version_s'] * 1000:.0f} ms",
            "info",
            "-",
        ),
    ]
    print(f"command: {' '.join(sys.argv)}   ({os.cpu_count()} CPUs)")
    for row in rows:
        print(f"{row[0]:<3} | {row[1]:<55} | {row[2]:<22} | {row[3]:<10} | {row[4]}")


if __name__ == "__main__":
    main()
