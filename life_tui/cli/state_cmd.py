"""``life-tui state [SESSION]``: a session's homeostasis — the three pillars, the modes, the gating profile.

A read-only fold of the branch's events through the same projection and controller the runtime regulates
with (so what it prints is what the agent would be told next), resumed from the journal's snapshots.
Works beside a running workstation (it reads, never writes the journal).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import msgspec
import typer

from life_tui.cli.common import open_reader
from life_tui.homeostasis.controller import Controller
from life_tui.homeostasis.fold import HomeostasisProjection
from life_tui.homeostasis.state import GatingProfile, HomeostaticState
from life_tui.journal.catalog import MAIN
from life_tui.journal.snapshots import fold
from life_tui.runtime.config import load_settings


def state(
    session: Annotated[str, typer.Argument(help="Session id, unique id prefix, name, or 'last'.")] = "last",
    branch: Annotated[str, typer.Option("--branch", "-b", help="Branch to read.")] = MAIN,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show a session's homeostasis: operational, cognitive and economic pillars, modes, gating profile."""
    reader = open_reader()
    sid = reader.resolve_session(session)
    reader.branch(sid, branch)  # a clear error for an unknown branch
    window = load_settings().context.window
    folded = fold(reader, HomeostasisProjection(context_window=window), sid, branch)
    profile = Controller().evaluate(folded.state).profile
    if json_output:
        document = {
            "session_id": sid,
            "branch": branch,
            "seq": folded.seq,
            "state": msgspec.to_builtins(folded.state),
            "profile": msgspec.to_builtins(profile),
        }
        sys.stdout.write(msgspec.json.encode(document).decode() + "\n")
        return
    sys.stdout.write(render(sid, branch, folded.seq, folded.state, profile))


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _usd(micro: int | None) -> str:
    return "unmetered" if micro is None else f"${micro / 1_000_000:,.6f}".rstrip("0").rstrip(".")


def _hours(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:,.1f} h"


def render(session_id: str, branch: str, seq: int, state: HomeostaticState, profile: GatingProfile) -> str:
    o, c, e = state.operational, state.cognitive, state.economic
    rows: list[tuple[str, list[tuple[str, Any]]]] = [
        (
            "operational",
            [
                ("error rate", f"{_pct(o.error_rate)} of the last {len(o.outcomes)} outcomes"),
                ("error streak", o.error_streak),
                ("latency p50/p95/p99", f"{o.latency_p50_ms:.0f} / {o.latency_p95_ms:.0f} / {o.latency_p99_ms:.0f} ms"),
                ("uptime", f"{o.uptime_s:,.0f} s"),
            ],
        ),
        (
            "cognitive",
            [
                ("context", f"{_pct(c.context_utilisation)} of {c.context_window:,} tokens — {c.ruling.value}"),
                ("memory pressure", _pct(c.memory_pressure)),
                ("confidence", f"{c.confidence:.2f}"),
                ("completion rate", f"{_pct(c.completion_rate)} ({c.runs_completed}/{c.runs_finished} runs)"),
                ("quality", f"{c.quality:.2f} (trend {c.quality_trend:+.3f}, {c.evaluations} evaluations)"),
                ("turns", f"{c.turns_completed} ({c.turns_since_compact} since compaction)"),
            ],
        ),
        (
            "economic",
            [
                ("mode", e.mode.value),
                ("balance", _usd(e.balance_micro)),
                ("burn", f"{_usd(e.burn_per_hour_micro)}/h"),
                ("runway", _hours(e.runway_hours)),
                ("session spend", _usd(e.session_spend_micro)),
                ("reserved", _usd(e.reserved_micro)),
            ],
        ),
    ]
    lines = [f"session {session_id} · branch {branch} · through event {seq}", f"operating mode: {state.operating_mode}"]
    for pillar, fields in rows:
        lines.append("")
        lines.append(pillar)
        lines += [f"  {name:<22}{value}" for name, value in fields]
    lines += ["", "gating profile"]
    closed = [f"{g}={a.value}" for g, a in sorted(profile.gates.items()) if a.value != "allow"]
    lines.append(f"  {'gates':<22}" + (", ".join(closed) + "; the rest allow" if closed else "all allow"))
    knobs = [
        ("economic mode", profile.economic_mode.value),
        ("context ruling", profile.ruling.value),
        ("compact to", None if profile.compact_target is None else _pct(profile.compact_target)),
        ("max tokens next turn", profile.max_tokens_next_turn),
        ("model tier", profile.preferred_model_tier),
        ("tool calls per tick", profile.max_tool_calls_per_tick),
        ("side effects", "allowed" if profile.allow_side_effects else "restricted"),
        ("model calls", "skipped (hibernate)" if profile.skip_model else "allowed"),
    ]
    lines += [f"  {name:<22}{value}" for name, value in knobs if value is not None]
    if profile.rules:
        lines.append(f"  {'rules fired':<22}{', '.join(profile.rules)}")
    lines += [f"  - {why}" for why in profile.rationale]
    return "\n".join(lines) + "\n"
