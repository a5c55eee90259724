"""Slash commands and the command palette: one table of what a person can ask the workstation to do.

A slash command typed in the input (``/theme light``) and a palette entry (Ctrl+P) run the same handler.
Commands whose feature lives in another pane or screen (``/replay``, ``/branch``, ``/sessions``,
``/compare``, ``/rewind``) run that pane's or screen's app action; ``/compact``, ``/budget`` and ``/judge``
call the session. A ``/name`` that is no command but names a
skill goes to the runtime as a prompt (the runtime activates skills typed that way).
"""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from life_tui.errors import LifeError
from life_tui.runtime.session import Session
from life_tui.tui.keys import APP_KEYS

if TYPE_CHECKING:
    from life_tui.tui.app import LifeApp

Handler = Callable[["LifeApp", list[str]], Awaitable[None]]


@dataclass(frozen=True)
class SlashCommand:
    name: str
    usage: str
    help: str
    handler: Handler


def free_branch_name(session: Session) -> str:
    taken = {b.name for b in session.journal.branches(session.session_id)}
    return next(f"fork-{i}" for i in range(1, len(taken) + 2) if f"fork-{i}" not in taken)


def theme_names(app: LifeApp) -> list[str]:
    """Our themes first (life-*), then Textual's built-in ones."""
    names = sorted(app.available_themes)
    return [n for n in names if n.startswith("life-")] + [n for n in names if not n.startswith("life-")]


async def _run_action(app: LifeApp, action: str, missing: str) -> None:
    """Run ``action`` on the app if some pane registered it, else tell the user what is missing."""
    name = action.partition("(")[0]
    if callable(getattr(app, f"action_{name}", None)):
        await app.run_action(action)
    else:
        app.notify(missing, severity="warning")


# ----------------------------------------------------------------------------------------- handlers
async def _help(app: LifeApp, args: list[str]) -> None:
    app.action_help()


async def _model(app: LifeApp, args: list[str]) -> None:
    session = app.session
    if session is None:
        return
    if not args:
        provider = session.provider
        app.notify(f"{provider.name}:{provider.model} (switch with /model NAME:MODEL, e.g. /model scripted:demo)")
        return
    if session.running:
        app.notify("a turn is running: switch the model after it", severity="warning")
        return
    try:
        await session.switch_to(args[0])
    except LifeError as exc:
        app.notify(f"{exc}", severity="error")
        return
    app.notify(f"model {session.provider.name}:{session.provider.model}")


async def _branch(app: LifeApp, args: list[str]) -> None:
    from life_tui.tui.messages import BranchAtRequested, BranchSwitchRequested

    session = app.session
    if session is None:
        return
    if not args:
        await _run_action(app, "branch_tree", "the branch tree is not available yet; /branch SEQ forks at an event")
    elif args[0].isdigit():
        app.post_message(BranchAtRequested(int(args[0])))
    else:
        app.post_message(BranchSwitchRequested(args[0]))


async def _replay(app: LifeApp, args: list[str]) -> None:
    await _run_action(app, "replay", "replay mode is not available yet")


async def _sessions(app: LifeApp, args: list[str]) -> None:
    await _run_action(app, "sessions", "the sessions picker is not available yet")


async def _compare(app: LifeApp, args: list[str]) -> None:
    await _run_action(app, "compare", "branch comparison is not available yet")


async def _compact(app: LifeApp, args: list[str]) -> None:
    """Summarise the history before the latest turn now (reversible: the event log shows the compaction)."""
    session = app.session
    if session is None:
        return
    try:
        compacted = await session.compact()
    except LifeError as exc:
        app.notify(f"{exc}", severity="warning")
        return
    if compacted is None:
        app.notify("nothing to compact yet: the history is the latest turn")
        return
    app.notify(
        f"compacted events {compacted.from_seq}–{compacted.to_seq}: ~{compacted.tokens_before} tokens became "
        f"~{compacted.tokens_after}",
        title="compact",
    )


async def _budget(app: LifeApp, args: list[str]) -> None:
    """``/budget USD`` caps this session's spend (``/budget off`` removes it); without an argument, the figures."""
    session = app.session
    if session is None:
        return
    if args:
        try:
            usd = None if args[0].lower() in ("off", "none") else float(args[0].lstrip("$"))
        except ValueError:
            app.notify(f"not an amount: {args[0]!r} (try /budget 2.50 or /budget off)", severity="warning")
            return
        try:
            await session.set_budget(usd)
        except LifeError as exc:
            app.notify(f"{exc}", severity="error")
            return
        app.notify("session budget removed" if usd is None else f"this session may spend ${usd:.2f} in all")
        app.refresh_wallet()
        return
    run = session.state.run
    b = app.settings.budget
    app.notify(
        f"per turn: {b.tokens} tokens, ${b.cost_usd:.2f}, {b.tool_calls} tool calls, {b.time_s:.0f} s; "
        f"this turn so far: {run.tokens} tokens, ${run.cost_usd:.4f}, {run.tool_calls} calls",
        title="budget",
        timeout=10,
    )
    if callable(getattr(app, "action_show_vitals", None)):
        await app.run_action("show_vitals('wallet')")


async def _cost(app: LifeApp, args: list[str]) -> None:
    session = app.session
    if session is None:
        return
    state = session.state
    app.notify(
        f"${state.cost_usd:.4f} on this branch · {state.input_tokens} tokens in, {state.output_tokens} out"
        f" ({state.cached_tokens} cached) · {state.runs} turns",
        title="cost",
        timeout=10,
    )


async def _judge(app: LifeApp, args: list[str]) -> None:
    """Ask LLM judges (``/judge [NAME...]``, default: those that apply) to score the last finished turn."""
    session = app.session
    if session is None:
        return
    if session.running:
        app.notify("a turn is running: judge it once it has finished", severity="warning")
        return
    from life_tui.runtime.judging import judge_run

    app.notify("asking the judge…", title="judge")
    try:
        verdicts = await judge_run(session, None, judges=args or None)
    except LifeError as exc:
        app.notify(f"{exc}", severity="error")
        return
    lines = []
    for v in verdicts:
        scores = ", ".join(f"{name} {value:.2f}" for name, value in v.scores.items())
        lines.append(f"{v.evaluator}: {scores or 'no verdict: ' + (v.error or '?')}")
    app.notify("\n".join(lines) or "no judge applies to this turn", title="judge", timeout=20)


async def _rewind(app: LifeApp, args: list[str]) -> None:
    """Restore the workspace files to how they were at event SEQ (default: the selected event), after a look."""
    from life_tui.tui import history

    if args and not args[0].isdigit():
        app.notify(f"not an event number: {args[0]!r} (try /rewind 42)", severity="warning")
        return
    history.ask_rewind(app, int(args[0]) if args else None)


async def _clear(app: LifeApp, args: list[str]) -> None:
    """A fresh session in the same workspace (the old one stays in the journal)."""
    session = app.session
    if session is None:
        return
    if session.running:
        await session.cancel()
    fresh = await Session.create(
        session.journal,
        name="workstation",
        workspace=session.workspace,
        provider=session.provider,
        options=session.options,
    )
    app.show_session(fresh)
    app.notify(f"new session {fresh.session_id[-8:]} (the previous one is kept in the journal)")


async def _export(app: LifeApp, args: list[str]) -> None:
    from life_tui.journal.transfer import export_session

    session = app.session
    if session is None:
        return
    fmt = "md"
    target = Path(args[0]) if args else Path(f"life-{session.session_id[-8:]}-{session.branch}.md")
    if target.suffix == ".jsonl":
        fmt = "jsonl"
    path = target if target.is_absolute() else session.workspace / target

    def write() -> int:
        tmp = path.with_name(path.name + ".partial")
        with open(tmp, "wb") as fh:
            count = export_session(session.journal, session.session_id, fmt, fh, branch=session.branch)
        os.replace(tmp, path)
        return count

    try:
        count = await asyncio.to_thread(write)
    except (OSError, LifeError) as exc:
        app.notify(f"export failed: {exc}", severity="error")
        return
    app.notify(f"exported {count} events to {path}")


async def _theme(app: LifeApp, args: list[str]) -> None:
    if not args:
        app.search_themes()
        return
    wanted = args[0]
    names = theme_names(app)
    match = wanted if wanted in names else next((n for n in names if n in (f"life-{wanted}", wanted)), None)
    if match is None:
        app.notify(f"no theme {wanted!r}; try one of {', '.join(names[:6])}…", severity="warning")
        return
    app.theme = match
    app.notify(f"theme {match}")


async def _quit(app: LifeApp, args: list[str]) -> None:
    await app.action_quit()


SLASH_COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("help", "/help", "list every key and command", _help),
    SlashCommand("model", "/model [NAME:MODEL]", "show or switch the provider and model", _model),
    SlashCommand("branch", "/branch [SEQ|NAME]", "fork at an event, switch branch, or show the tree", _branch),
    SlashCommand("replay", "/replay", "step through this branch event by event", _replay),
    SlashCommand("sessions", "/sessions", "pick another session", _sessions),
    SlashCommand("compare", "/compare", "compare two branches side by side", _compare),
    SlashCommand("compact", "/compact", "compact the context now", _compact),
    SlashCommand("cost", "/cost", "what this branch has cost", _cost),
    SlashCommand("budget", "/budget [USD|off]", "cap this session's spend, or show the budget", _budget),
    SlashCommand("judge", "/judge [NAME...]", "ask LLM judges to score the last finished turn", _judge),
    SlashCommand("rewind", "/rewind [SEQ]", "restore the workspace files as they were at an event", _rewind),
    SlashCommand("clear", "/clear", "start a fresh session in this workspace", _clear),
    SlashCommand("export", "/export [FILE.md|FILE.jsonl]", "write this branch to a file", _export),
    SlashCommand("theme", "/theme [NAME]", "switch theme (dark, light, high-contrast...)", _theme),
    SlashCommand("quit", "/quit", "cancel the turn, close the session and exit", _quit),
)
_BY_NAME = {c.name: c for c in SLASH_COMMANDS}


def slash_names() -> list[str]:
    return [f"/{c.name}" for c in SLASH_COMMANDS]


async def run_slash(app: LifeApp, text: str) -> None:
    """Run a typed ``/command args``; an unknown name that is a skill goes to the runtime as a prompt."""
    try:
        words = shlex.split(text[1:])
    except ValueError:
        words = text[1:].split()
    if not words:
        app.action_help()
        return
    name, args = words[0].lower(), words[1:]
    command = _BY_NAME.get(name)
    if command is not None:
        await command.handler(app, args)
        return
    session = app.session
    if session is not None and (name == "skill" or name in session.skills.skills):
        app.start_turn(text)
        return
    app.notify(f"unknown command /{name}; /help lists them", severity="warning")


def palette_commands(app: LifeApp) -> Iterator[SystemCommand]:
    """Every key action and every slash command, for the command palette."""
    for spec in APP_KEYS:
        if spec.action == "command_palette":
            continue
        yield SystemCommand(spec.description, f"{spec.key} · {spec.action}", _action_callback(app, spec.action))
    for command in SLASH_COMMANDS:
        if command.name == "help":
            continue
        yield SystemCommand(f"/{command.name}", command.help, _slash_callback(app, f"/{command.name}"))


def _action_callback(app: LifeApp, action: str) -> Callable[[], None]:
    def run() -> None:
        app.run_worker(app.run_action(action), group="palette")

    return run


def _slash_callback(app: LifeApp, text: str) -> Callable[[], None]:
    def run() -> None:
        app.run_worker(run_slash(app, text), group="palette")

    return run
