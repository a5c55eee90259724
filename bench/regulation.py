"""Regulation benchmark: folding a session into homeostatic state, and what regulating one more event costs.

    .venv/bin/python bench/regulation.py [--events 100000] [--steps 2000] [--runs 5]

1. Full fold: a synthetic session of ``--events`` events (a realistic mix: ticks with their phases, assistant
   messages with usage, tool requests / starts / results with some failures and repeats, finance
   reservations and settlements carrying balance and burn, inline evaluations, memory, compactions) folded
   from scratch into a HomeostaticState; median of ``--runs``.
2. Incremental step: on the folded state, one more event applied and then a full regulate decision (the
   controller's evaluate: every rule, the merge, the transitions) plus a tool verdict, as the runtime
   adapter does at each question. Median and p99 over ``--steps``; the target is < 0.2 ms, so regulation is
   free at every tick.

Not part of the test suite; run by hand and report the figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from life_tui.homeostasis.controller import Controller
from life_tui.homeostasis.fold import HomeostasisProjection
from life_tui.homeostasis.operations import call_signature
from life_tui.homeostasis.state import HomeostaticState
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Event, encode_payload

STEP_TARGET_MS = 0.2
T0 = 1_763_683_200_000_000


def synthetic_session(count: int) -> list[Event]:
    """``count`` events of a long session: about 14 events per tick, finance and evaluations included."""
    events: list[Event] = []
    t = T0
    balance = 50_000_000
    tick = 0

    def add(payload: k.Payload, dt_ms: float = 5.0) -> None:
        nonlocal t
        t += int(dt_ms * 1000)
        seq = len(events) + 1
        events.append(Event(f"e{seq}", "bench", "main", seq, payload.KIND, t, payload=encode_payload(payload)))

    while len(events) < count:
        tick += 1
        if tick % 10 == 1:
            add(k.UserMessage(content=f"task {tick}"))
            add(k.RunStarted(provider="openai", model="gpt-4o", limits={"tokens": 120_000, "tool_calls": 48}))
        for phase in ("reconstruct", "regulate", "context", "provider"):
            add(k.PhaseEntered(phase=phase, tick=tick), 0.5)
        add(
            k.CostReserved(
                reservation_id=f"r{tick}",
                amount_micro=9_000,
                model="gpt-4o",
                balance_after_micro=balance - 9_000,
                burn_per_hour_micro=400_000,
            )
        )
        pattern = "loop" if tick % 7 == 0 else f"p{tick}"
        args: dict[str, Any] = {"pattern": pattern, "path": "."}
        add(
            k.AssistantMessage(
                content=f"step {tick}",
                tool_calls=[{"id": f"c{tick}", "name": "grep", "arguments": args}],
                usage={"input_tokens": 20_000 + (tick % 50) * 2_000, "output_tokens": 300, "cached_tokens": 5_000},
            ),
            800.0 + (tick % 13) * 40,
        )
        balance -= 4_000
        add(
            k.CostSettled(
                reservation_id=f"r{tick}",
                amount_micro=4_000,
                model="gpt-4o",
                balance_after_micro=balance,
                burn_per_hour_micro=400_000,
            )
        )
        add(k.PhaseEntered(phase="tools", tick=tick), 0.5)
        add(k.ToolCallRequested(call_id=f"c{tick}", tool_name="grep", arguments=args, capabilities=["fs:read:."]))
        add(k.ToolCallStarted(call_id=f"c{tick}", tool_name="grep"))
        add(k.ToolCallCompleted(call_id=f"c{tick}", tool_name="grep", result="3 matches", is_error=tick % 9 == 0), 30.0)
        add(k.PhaseEntered(phase="persist", tick=tick), 0.5)
        add(k.BudgetUpdated(budget={"tokens_remaining": 100_000 - (tick % 10) * 9_000, "tool_calls_remaining": 40}))
        add(
            k.InlineEvaluation(
                evaluator="tool_correctness",
                score=0.0 if tick % 9 == 0 else 1.0,
                label="good",
                layer="action",
                tick=tick,
            )
        )
        if tick % 25 == 0:
            add(k.MemoryCommitted(scope="session", memory_id=f"m{tick}", content="fact"))
        if tick % 40 == 0:
            add(k.ContextCompacted(from_seq=1, to_seq=len(events), summary="...", tokens_after=30_000))
        if tick % 10 == 0:
            add(k.RunFinished(reason="final_answer", turns=10))
    return events[:count]


def _ms(seconds: float) -> float:
    return seconds * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    events = synthetic_session(args.events + args.steps)
    history, tail = events[: args.events], events[args.events :]
    projection, controller = HomeostasisProjection(), Controller()

    fold_times: list[float] = []
    state: HomeostaticState = projection.initial()
    for _ in range(args.runs):
        t0 = time.perf_counter()
        state = projection.fold(history)
        fold_times.append(time.perf_counter() - t0)
    full = statistics.median(fold_times)
    print(f"full fold of {len(history):,} events: median {full:.3f} s ({_ms(full) / len(history) * 1000:.2f} us/event)")

    signature = call_signature("grep", {"pattern": "x", "path": "."})
    steps: list[float] = []
    apply_only: list[float] = []
    for event in tail:
        t0 = time.perf_counter()
        state = projection.apply(state, event)
        t1 = time.perf_counter()
        evaluation = controller.evaluate(state)
        controller.tool_decision(state, evaluation.profile, "grep", True, ("fs:read:.",), signature, 1, 0)
        t2 = time.perf_counter()
        apply_only.append(t1 - t0)
        steps.append(t2 - t0)
    steps.sort()
    apply_only.sort()
    median, p99 = _ms(statistics.median(steps)), _ms(steps[int(len(steps) * 0.99) - 1])
    apply_median, apply_p99 = _ms(statistics.median(apply_only)), _ms(apply_only[int(len(apply_only) * 0.99) - 1])
    print(f"apply one event: median {apply_median:.4f} ms, p99 {apply_p99:.4f} ms")
    print(f"apply + regulate + tool verdict: median {median:.4f} ms, p99 {p99:.4f} ms (target < {STEP_TARGET_MS} ms)")
    profile = controller.evaluate(state).profile
    print(f"answer: mode {profile.economic_mode.value}, ruling {profile.ruling.value}, rules {profile.rules}")
    return 0 if median < STEP_TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
