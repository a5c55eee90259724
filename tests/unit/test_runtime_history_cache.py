"""The compiler's incremental history cache gives exactly what a from-scratch compile gives."""

from __future__ import annotations

import random

import msgspec
import pytest

from life_tui.kernel.event import Event, seal_event
from life_tui.runtime.context import ContextBudgets, ContextInputs, HistoryCache, compile_context
from life_tui.runtime.projection import ConversationProjection, ConversationState


def _events(rng: random.Random, start: int, count: int) -> list[Event]:
    out = []
    open_calls: list[str] = []
    for seq in range(start, start + count):
        roll = rng.random()
        if roll < 0.25:
            kind, payload = (
                "user.message",
                {"content": f"user {seq} " * rng.randint(1, 30), "pinned": rng.random() < 0.1},
            )
        elif roll < 0.55:
            calls = [
                {"id": f"c{seq}_{i}", "name": "read_file", "arguments": {"path": f"f{i}"}}
                for i in range(rng.randint(0, 2))
            ]
            open_calls += [c["id"] for c in calls]
            kind, payload = (
                "assistant.message",
                {"content": f"assistant {seq} " * rng.randint(1, 40), "tool_calls": calls},
            )
        elif roll < 0.85 and open_calls:
            kind, payload = (
                "tool.call_completed",
                {"call_id": open_calls.pop(0), "tool_name": "read_file", "result": "r" * rng.randint(1, 400)},
            )
        else:
            kind, payload = "phase.entered", {"phase": "context"}
        e = Event(
            event_id=f"{seq:026d}",
            session_id="S",
            branch="main",
            seq=seq,
            kind=kind,
            occurred_at=seq,
            payload=msgspec.Raw(msgspec.json.encode(payload)),
        )
        out.append(seal_event(e)[0])
    return out


def _fold(state: ConversationState, events: list[Event]) -> ConversationState:
    projection = ConversationProjection()
    for e in events:
        state = projection.apply(state, e)
    return state


def _compaction(seq: int, lo: int, hi: int) -> Event:
    payload = {"from_seq": lo, "to_seq": hi, "summary": f"summary {lo}-{hi}"}
    e = Event(
        event_id=f"{seq:026d}",
        session_id="S",
        branch="main",
        seq=seq,
        kind="context.compacted",
        occurred_at=seq,
        payload=msgspec.Raw(msgspec.json.encode(payload)),
    )
    return seal_event(e)[0]


def _expansion(seq: int, of: int) -> Event:
    e = Event(
        event_id=f"{seq:026d}",
        session_id="S",
        branch="main",
        seq=seq,
        kind="context.expanded",
        occurred_at=seq,
        payload=msgspec.Raw(msgspec.json.encode({"compaction_seq": of})),
    )
    return seal_event(e)[0]


@pytest.mark.parametrize("seed", range(12))
def test_incremental_compile_matches_a_fresh_one_at_every_step(seed: int) -> None:
    rng = random.Random(seed)
    state = ConversationProjection().initial()
    cache = HistoryCache()
    budgets = ContextBudgets()
    inputs = ContextInputs()
    seq = 1
    for step in range(12):
        batch = _events(rng, seq, rng.randint(1, 25))
        seq += len(batch)
        if step == 5 and seq > 20:  # a compaction of an early range, later expanded again
            batch.append(_compaction(seq, 3, seq // 2))
            seq += 1
        if step == 9 and state.compactions:
            batch.append(_expansion(seq, state.compactions[0].seq))
            seq += 1
        state = _fold(state, batch)
        cached = compile_context(state, inputs, budgets, cache)
        fresh = compile_context(state, inputs, budgets)
        assert cached.messages == fresh.messages, (seed, step)
        assert (cached.tokens, cached.history_tokens, cached.system) == (
            fresh.tokens,
            fresh.history_tokens,
            fresh.system,
        )
