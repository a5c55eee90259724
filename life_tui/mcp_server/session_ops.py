"""Session operations offered as MCP tools: chat, sessions, session_events, fork, replay, budget, trace.

Each operation is a name, a description, a JSON schema for its arguments and an async function from the
arguments to plain JSON data; ``server.py`` turns them into MCP tools. They act through
``runtime.Session`` and the journal, exactly as the TUI and the headless CLI do, so a chat turn started
here is recorded, budgeted, regulated and replayable like any other. Operations that only read (sessions,
events, budget, trace, replay, which runs in a scratch journal) are annotated read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from life_tui.errors import InvalidInput
from life_tui.journal.catalog import MAIN
from life_tui.kernel.clock import iso_utc
from life_tui.kernel.event import Event
from life_tui.mcp_server.workstation import Workstation
from life_tui.observability import run_ids, spans_for_run
from life_tui.runtime.replay import replay_branch
from life_tui.runtime.session import Session, limits_from

Progress = Callable[[float, str], Awaitable[None]]
MAX_EVENTS = 1000


@dataclass(frozen=True)
class Operation:
    name: str
    description: str
    schema: dict[str, Any]
    run: Callable[[Workstation, dict[str, Any], Progress], Awaitable[Any]]
    read_only: bool = True


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


SESSION = {"type": "string", "description": "A session id, a unique id prefix, a unique name, or 'last'."}
BRANCH = {"type": "string", "description": "A branch of the session (default: main)."}


def event_json(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.json.decode(event.to_json())
    data["time"] = event.time_iso
    return data


def _session_info(work: Workstation, session_id: str) -> dict[str, Any]:
    info = work.journal.session(session_id)
    return {
        "session_id": info.session_id,
        "name": info.name,
        "workspace": info.workspace,
        "created_at": iso_utc(info.created_at),
        "updated_at": iso_utc(info.updated_at),
        "events": info.events,
        "closed": info.closed,
        "branches": [
            {"name": b.name, "parent": b.parent, "fork_seq": b.fork_seq, "head": b.head}
            for b in work.journal.branches(session_id)
            if not b.tombstoned
        ],
    }


# ------------------------------------------------------------------------------------------- chat
async def chat(work: Workstation, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    prompt = str(args.get("prompt", ""))
    if not prompt.strip():
        raise InvalidInput("the prompt is empty", hint="pass the message to send in 'prompt'")
    session = await work.chat_session(args.get("session"), args.get("branch"), f"mcp chat: {prompt[:40]}")
    limits = limits_from(work.settings, max_turns=args.get("max_turns"))
    after = session.journal.head(session.session_id, session.branch)
    sub = session.subscribe(after=after)

    async def relay() -> None:
        seen = 0
        async for event in sub:
            seen += 1
            if event.kind == "assistant.text_delta":
                await progress(seen, str(event.payload_dict().get("delta", "")))
            elif event.kind in ("tool.call_started", "tool.call_completed", "tool.call_failed"):
                await progress(seen, f"{event.kind} {event.payload_dict().get('tool_name', '')}")

    pump = asyncio.ensure_future(relay())
    task = session.start(prompt, limits=limits)
    try:
        outcome = await asyncio.shield(task)
    except asyncio.CancelledError:  # the client cancelled the request: stop the turn, recorded as cancelled
        await session.cancel()
        raise
    finally:
        sub.close()
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
    return {
        "session_id": session.session_id,
        "branch": session.branch,
        "run_id": outcome.run_id,
        "final_answer": outcome.final_answer,
        "stop_reason": outcome.reason,
        "error": outcome.error,
        "turns": outcome.turns,
        "usage": {
            "input_tokens": outcome.input_tokens,
            "output_tokens": outcome.output_tokens,
            "cached_tokens": outcome.cached_tokens,
        },
        "cost_usd": outcome.cost_usd,
        "denials": outcome.denials,
        "duration_ms": outcome.duration_ms,
    }


# -------------------------------------------------------------------------------- reading the journal
async def sessions(work: Workstation, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    query = str(args.get("query") or "").lower()
    limit = int(args.get("limit") or 20)
    found = []
    for info in work.journal.sessions():
        haystack = f"{info.session_id} {info.name} {info.workspace or ''}".lower()
        if query and query not in haystack:
            continue
        found.append(_session_info(work, info.session_id))
        if len(found) >= limit:
            break
    return {"sessions": found, "count": len(found)}


async def session_events(work: Workstation, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    session_id = work.resolve(str(args["session"]))
    branch = str(args.get("branch") or MAIN)
    limit = min(int(args.get("limit") or 200), MAX_EVENTS)
    kinds = args.get("kinds") or None
    events = await asyncio.to_thread(
        work.journal.read,
        session_id,
        branch,
        after=int(args.get("after") or 0),
        through=args.get("through"),
        kinds=kinds,
        limit=limit + 1,
    )
    more = len(events) > limit
    return {
        "session_id": session_id,
        "branch": branch,
        "events": [event_json(e) for e in events[:limit]],
        "more": more,
    }


async def trace(work: Workstation, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    session_id = work.resolve(str(args["session"]))
    branch = str(args.get("branch") or MAIN)
    events = await asyncio.to_thread(work.journal.read, session_id, branch)
    runs = run_ids(events)
    wanted = args.get("run_id")
    if wanted is not None and wanted not in runs:
        raise InvalidInput(f"no run {wanted!r} on {session_id}/{branch}", hint=f"runs: {', '.join(runs) or 'none'}")
    spans = spans_for_run(events, wanted)
    return {
        "session_id": session_id,
        "branch": branch,
        "runs": runs,
        "run_id": spans[0].attributes.get("life.run_id") if spans else None,
        "spans": [msgspec.to_builtins(s) | {"duration_ms": s.duration_ms} for s in spans],
    }


async def budget(work: Workstation, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    ref = args.get("session")
    session: Session | None
    if ref is None:
        session = await work.tool_session()
    else:
        session_id = work.resolve(str(ref))
        branch = str(args.get("branch") or MAIN)
        session = work.open_session(session_id, branch)
    session_id = session.session_id if session is not None else work.resolve(str(ref))
    events = await asyncio.to_thread(
        work.journal.read, session_id, str(args.get("branch") or MAIN), kinds=["assistant.message"]
    )
    spent = sum(float(e.payload_dict().get("cost_usd") or 0.0) for e in events)
    tokens = sum(sum(int(v) for v in (e.payload_dict().get("usage") or {}).values()) for e in events)
    b = work.settings.budget
    report: dict[str, Any] = {
        "session_id": session_id,
        "spent_usd": round(spent, 8),
        "tokens": tokens,
        "provider_calls": len(events),
        "run_limits": {
            "cost_usd": b.cost_usd,
            "tokens": b.tokens,
            "tool_calls": b.tool_calls,
            "time_s": b.time_s,
            "max_turns": b.max_turns,
        },
    }
    if session is not None:  # what regulation adds, when this build's Session provides it
        wallet = getattr(session, "wallet_view", None)
        if callable(wallet):
            report["wallet"] = msgspec.to_builtins(wallet())
        for name in ("homeostasis", "gating"):
            value = getattr(session, name, None)
            if value is not None:
                report[name] = msgspec.to_builtins(value() if callable(value) else value)
    return report


# ------------------------------------------------------------------------------------- fork, replay
async def fork(work: Workstation, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    session_id = work.resolve(str(args["session"]))
    parent = str(args.get("branch") or MAIN)
    at_seq = int(args["at_seq"])
    taken = {b.name for b in work.journal.branches(session_id)}
    name = args.get("name") or next(f"fork-{i}" for i in range(1, len(taken) + 2) if f"fork-{i}" not in taken)
    open_session = work.open_session(session_id, parent)
    if open_session is not None:
        await open_session.fork(at_seq, name)
    else:
        await asyncio.to_thread(work.journal.fork, session_id, parent, at_seq, name)
    info = work.journal.branch(session_id, name)
    return {"session_id": session_id, "branch": name, "parent": parent, "fork_seq": info.fork_seq, "head": info.head}


async def replay(work: Workstation, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    session_id = work.resolve(str(args["session"]))
    branch = str(args.get("branch") or MAIN)
    report = await replay_branch(
        work.journal, session_id, branch, through=args.get("through"), rerun_tools=bool(args.get("rerun_tools"))
    )
    divergence = report.divergence
    return {
        "session_id": session_id,
        "branch": branch,
        "reproduced": report.ok,
        "through_seq": report.through_seq,
        "turns": report.turns,
        "compared": report.compared,
        "outcomes": report.outcomes,
        "divergence": None
        if divergence is None
        else {
            "summary": str(divergence),
            "recorded_seq": divergence.recorded_seq,
            "replayed_seq": divergence.replayed_seq,
            "expected": divergence.expected,
            "got": divergence.got,
            "detail": divergence.detail,
        },
    }


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "chat",
        "Run one user turn of the life-tui agent (its tools, approvals and budgets apply) and return the final "
        "answer, usage, cost and stop reason. Without 'session' a new session is started; pass the returned "
        "session_id to continue it. Streams progress notifications while the model answers.",
        _object(
            {
                "prompt": {"type": "string", "description": "The user message."},
                "session": SESSION,
                "branch": BRANCH,
                "max_turns": {"type": "integer", "minimum": 1, "description": "Model turns for this run."},
            },
            ("prompt",),
        ),
        chat,
        read_only=False,
    ),
    Operation(
        "sessions",
        "List life-tui sessions, most recent first; 'query' keeps those whose id, name or workspace contains it.",
        _object({"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 500}}),
        sessions,
    ),
    Operation(
        "session_events",
        "Events of a session branch with after < seq <= through, optionally only some kinds (e.g. user.message, "
        f"assistant.message, tool.call_completed); at most {MAX_EVENTS} per call ('more' says if there are more).",
        _object(
            {
                "session": SESSION,
                "branch": BRANCH,
                "after": {"type": "integer", "minimum": 0},
                "through": {"type": "integer", "minimum": 0},
                "kinds": {"type": "array", "items": {"type": "string"}},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_EVENTS},
            },
            ("session",),
        ),
        session_events,
    ),
    Operation(
        "fork",
        "Fork a session branch after event 'at_seq' into a new branch (nothing is copied); chat on it with 'branch'.",
        _object(
            {"session": SESSION, "branch": BRANCH, "at_seq": {"type": "integer", "minimum": 0}, "name": BRANCH},
            ("session", "at_seq"),
        ),
        fork,
        read_only=False,
    ),
    Operation(
        "replay",
        "Re-run a recorded branch with its recorded model responses and tool results in a scratch journal and "
        "report whether it reproduced, or the first divergence.",
        _object(
            {
                "session": SESSION,
                "branch": BRANCH,
                "through": {"type": "integer", "minimum": 0},
                "rerun_tools": {"type": "boolean", "description": "Run the tools again instead of their records."},
            },
            ("session",),
        ),
        replay,
    ),
    Operation(
        "budget",
        "Spend and limits of a session (default: this server's session): cost and tokens so far, the per-run "
        "limits, and the wallet balance and gating profile where regulation is configured.",
        _object({"session": SESSION, "branch": BRANCH}),
        budget,
    ),
    Operation(
        "trace",
        "The spans of a run (default: the last) of a session branch: invoke_agent, loop phases, chat calls with "
        "tokens and cost, tool executions and approval waits, with OpenTelemetry GenAI attributes.",
        _object({"session": SESSION, "branch": BRANCH, "run_id": {"type": "string"}}, ("session",)),
        trace,
    ),
)
