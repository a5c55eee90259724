"""``life-tui --headless [PROMPT|-]``: run turns with no screen, for scripts, CI and other programs.

The runtime is the same as the workstation's (:class:`life_tui.runtime.session.Session`); only the front end
differs. What is printed is built from the journal's durable events (a subscription), never from the loop's
memory, so the output and the journal always agree (formats: :mod:`life_tui.cli.headless_output`).

Input (``--input-format``):

- ``text`` (default): one prompt, from the PROMPT argument, or all of stdin when PROMPT is ``-`` or absent
  and stdin is not a terminal. Nobody can answer an approval, so a call that would ask is denied (the
  headless rule: "ask" means deny unless ``--yes``).
- ``stream-json``: one JSON object per stdin line, answered in order::

      {"type": "user", "message": {"role": "user", "content": "..."}}       a turn (content may also be
                                                                          [{"type": "text", "text": ...}])
      {"type": "control", "subtype": "approve", "approval_id": "...", "scope": "once" | "session"}
      {"type": "control", "subtype": "deny", "approval_id": "...", "reason": "..."}
      {"type": "control", "subtype": "fork", "at": SEQ, "name": "..."}  continue on a new branch
      {"type": "control", "subtype": "cancel"}                            cancel the running turn

  Turns and forks run one after another; approve, deny and cancel act at once (they answer the running
  turn). Approvals wait for a control message until they expire. At EOF the running and queued turns
  finish, and approvals still pending are denied (nobody is left to answer). A malformed line is
  reported (an ``error`` record in stream-json output, one line on stderr) and skipped.

Sessions: a new one by default (named from the prompt's first words); ``--session REF`` (id, prefix,
name or ``last``) or ``--continue`` (the most recent session of this workspace) continue one, on its most
recently active branch unless ``--branch`` names one; ``--fork-at SEQ`` first forks that branch at SEQ into
a new branch ``fork-N`` and runs there. The provider comes from ``--provider``/``--model``, else the
settings and environment (a continued session does not bring its own back). SIGINT or SIGTERM cancel the
running turn cleanly (its partial output and a ``run.finished(cancelled)`` are recorded) and exit 130; a
second signal exits at once.

Exit codes (:class:`life_tui.errors.ExitCode`): 0 success; 1 error; 10 budget exhausted; 11 max turns;
12 a tool call was denied; 13 provider failure; 14 no provider configured; 15 blocked by regulation;
130 interrupted; with several turns, the first turn that did not succeed decides; input lines that were
rejected give 4 (invalid input) when every turn succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from life_tui import __version__
from life_tui.cli.common import journal_root, set_journal_override
from life_tui.cli.headless_output import (
    INPUT_FORMATS,
    OUTPUT_FORMATS,
    Output,
    Renderer,
    RunResult,
    make_renderer,
    note,
)
from life_tui.errors import ExitCode, InvalidInput, LifeError, NotFound, UsageError
from life_tui.journal.catalog import MAIN
from life_tui.journal.store import Journal
from life_tui.journal.subscribe import Subscription
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.config import Settings, load_settings
from life_tui.runtime.loop import RunLimits, RunOutcome
from life_tui.runtime.providers import NotConfigured, ProviderSpec, build, choose
from life_tui.runtime.providers.base import Provider
from life_tui.runtime.session import Session, SessionOptions, limits_from

app = typer.Typer(
    name="life-tui --headless",
    help="Run turns with no screen: print text, one JSON result, or a stream of JSON records.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

APPROVAL_WAIT_S = 5.0
"""How long an ``approve``/``deny`` waits for an approval that is stored but not yet being waited on."""


class HeadlessNotConfigured(LifeError):
    """No provider: the hint says how to configure one and offers the scripted demo."""

    exit_code = ExitCode.NOT_CONFIGURED


@dataclass(frozen=True)
class Options:
    prompt: str | None
    output_format: str = "text"
    input_format: str = "text"
    session: str | None = None
    continue_: bool = False
    branch: str | None = None
    fork_at: int | None = None
    max_turns: int | None = None
    max_budget_usd: float | None = None
    provider: str | None = None
    model: str | None = None
    yes: bool = False
    workspace: Path | None = None
    include_partial_messages: bool = False


@dataclass(frozen=True)
class Command:
    """One stdin message of ``--input-format stream-json``."""

    kind: str  # user, approve, deny, fork, cancel
    line: int
    text: str = ""
    approval_id: str = ""
    scope: str = "once"
    reason: str = ""
    at: int | None = None
    name: str | None = None


def parse_line(raw: bytes, line: int) -> Command | None:
    """A stdin line as a :class:`Command`; None for a blank line; :class:`InvalidInput` when malformed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"line {line} is not UTF-8") from None
    if not text.strip():
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"line {line} is not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise InvalidInput(f"line {line} is not a JSON object")
    kind = obj.get("type")
    if kind == "user":
        message = obj.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            parts: list[str] = []
            for block in content:
                if not (isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)):
                    raise InvalidInput(f"line {line}: only text content blocks are supported")
                parts.append(block["text"])
            content = "\n".join(parts)
        if not isinstance(content, str):
            raise InvalidInput(f"line {line}: a user message needs message.content (a string or text blocks)")
        if not content.strip():
            raise InvalidInput(f"line {line}: the user message is empty")
        return Command("user", line, text=content)
    if kind == "control":
        subtype = obj.get("subtype")
        if subtype in ("approve", "deny"):
            approval_id = obj.get("approval_id")
            if not isinstance(approval_id, str) or not approval_id:
                raise InvalidInput(f"line {line}: {subtype} needs an approval_id")
            scope = obj.get("scope", "once")
            if subtype == "approve" and scope not in ("once", "session"):
                raise InvalidInput(f"line {line}: scope must be once or session, not {scope!r}")
            reason = obj.get("reason") or ""
            return Command(str(subtype), line, approval_id=approval_id, scope=str(scope), reason=str(reason))
        if subtype == "fork":
            at, name = obj.get("at"), obj.get("name")
            if at is not None and (not isinstance(at, int) or isinstance(at, bool) or at < 0):
                raise InvalidInput(f"line {line}: fork needs 'at', a seq (a number of 0 or more)")
            if name is not None and not isinstance(name, str):
                raise InvalidInput(f"line {line}: a fork's name must be a string")
            return Command("fork", line, at=at, name=name or None)
        if subtype == "cancel":
            return Command("cancel", line)
        raise InvalidInput(f"line {line}: unknown control subtype {subtype!r} (approve, deny, fork or cancel)")
    raise InvalidInput(f"line {line}: unknown message type {kind!r} (user or control)")


def session_name(prompt: str) -> str:
    words = " ".join(prompt.split()[:8])
    return (words[:57] + "...") if len(words) > 60 else words or "headless"


def free_fork_name(journal: Journal, session_id: str) -> str:
    taken = {b.name for b in journal.branches(session_id)}
    return next(f"fork-{i}" for i in range(1, len(taken) + 2) if f"fork-{i}" not in taken)


def choose_provider(opts: Options, settings: Settings) -> Provider:
    model = opts.model or (None if opts.provider else settings.defaults.model)
    try:
        spec = choose(opts.provider, None if opts.provider else settings.defaults.provider, model)
    except NotConfigured as exc:
        raise HeadlessNotConfigured(exc.message, hint=exc.hint) from None
    return build(spec, base_url=settings.defaults.base_url)


class Pump:
    """Feeds a branch's durable events to the renderer, in order, as the journal publishes them."""

    def __init__(self, sub: Subscription, renderer: Renderer, after: int) -> None:
        self.sub = sub
        self.renderer = renderer
        self.seen = after
        self._changed = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async for e in self.sub:
            self.renderer.handle(e)
            self.seen = e.seq
            self._changed.set()

    async def wait_for(self, seq: int) -> None:
        """Return once every event up to ``seq`` has been rendered."""
        while self.seen < seq and not self.task.done():
            self._changed.clear()
            waiter = asyncio.ensure_future(self._changed.wait())
            await asyncio.wait({waiter, self.task}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        if self.task.done() and not self.task.cancelled() and self.task.exception() is not None:
            raise self.task.exception()  # type: ignore[misc]

    async def stop(self) -> None:
        self.sub.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class Headless:
    """One headless invocation: a session (maybe created lazily), its turns, and what is printed."""

    def __init__(self, opts: Options, settings: Settings, provider: Provider, journal: Journal) -> None:
        self.opts = opts
        self.settings = settings
        self.provider = provider
        self.journal = journal
        mode = ApprovalMode.AUTO if opts.yes else ApprovalMode(settings.approvals.mode)
        self.permission_mode = mode
        self.session_options = SessionOptions(
            settings=settings,
            approval_mode=ApprovalMode.AUTO if opts.yes else None,
            interactive=opts.input_format == "stream-json",
        )
        self.limits: RunLimits = limits_from(settings, max_turns=opts.max_turns, cost_usd=opts.max_budget_usd)
        self.invocation: str | None = None
        """The ledger's invocation id once ``--max-budget-usd`` is recorded (one cap across runs and forks)."""
        self.renderer = make_renderer(opts.output_format, Output(), partial=opts.include_partial_messages)
        self.session: Session | None = None
        self.pump: Pump | None = None
        self.results: list[RunResult] = []
        self.rejected = 0
        self.interrupted = False
        self._interrupt = asyncio.Event()
        self._cancelling: asyncio.Task[RunOutcome | None] | None = None

    # ---------------------------------------------------------------------------------- sessions
    def _init_info(self, session: Session) -> dict[str, Any]:
        provider = session.provider
        info: dict[str, Any] = {
            "session_id": session.session_id,
            "branch": session.branch,
            "cwd": str(session.workspace),
            "model": provider.model,
            "provider": provider.name,
            "tools": [s.name for s in session.tools.specs()],
            "permission_mode": self.permission_mode.value,
            "version": __version__,
        }
        label = getattr(provider, "label", "")
        if label:
            info["provider_label"] = label
        return info

    async def _attach(self, session: Session, after: int, *, forked_from: tuple[str, int] | None = None) -> None:
        if self.pump is not None:
            await self.pump.stop()
        self.session = session
        self.renderer.retarget(session.session_id, session.branch)
        if forked_from is None:
            self.renderer.init(self._init_info(session))
            label = getattr(session.provider, "label", "")
            if label and self.opts.output_format == "text":
                note(f"[{label}]")
        else:
            parent, at = forked_from
            self.renderer.forked(
                {"session_id": session.session_id, "branch": session.branch, "parent": parent, "fork_seq": at}
            )
        self.pump = Pump(session.subscribe(after=after), self.renderer, after)
        if self.opts.max_budget_usd is not None:  # one cap for everything this invocation spends
            if self.invocation is None:
                self.invocation = await session.limit_invocation(self.opts.max_budget_usd)
            else:
                session.continue_invocation(self.invocation)

    def _resolve_existing(self) -> tuple[str, str]:
        opts, journal = self.opts, self.journal
        if opts.continue_:
            workspace = str((opts.workspace or Path.cwd()).resolve())
            found = [s for s in journal.sessions() if s.workspace == workspace]
            if not found:
                raise NotFound(
                    f"no session to continue in {workspace}",
                    hint="run without --continue to start one, or pass --session",
                )
            sid = found[0].session_id
        else:
            assert opts.session is not None
            sid = journal.resolve_session(opts.session)
        if opts.branch:
            journal.branch(sid, opts.branch)
            return sid, opts.branch
        live = [b for b in journal.branches(sid) if not b.tombstoned]
        branch = max(live, key=lambda b: b.updated_at).name if live else MAIN
        return sid, branch

    async def open_existing(self) -> None:
        sid, branch = self._resolve_existing()
        if self.opts.fork_at is not None:
            name = free_fork_name(self.journal, sid)
            await asyncio.to_thread(self.journal.fork, sid, branch, self.opts.fork_at, name)
            branch, after = name, self.opts.fork_at
        else:
            after = self.journal.head(sid, branch)
        session = await Session.open(
            self.journal,
            sid,
            branch=branch,
            provider=self.provider,
            workspace=self.opts.workspace,
            options=self.session_options,
        )
        await self._attach(session, after)

    async def _session_for(self, prompt: str) -> Session:
        if self.session is None:
            workspace = self.opts.workspace or Path.cwd()
            session = await Session.create(
                self.journal,
                name=session_name(prompt),
                workspace=workspace,
                provider=self.provider,
                options=self.session_options,
            )
            await self._attach(session, 0)
        assert self.session is not None
        return self.session

    # ------------------------------------------------------------------------------------- turns
    def stopped(self) -> bool:
        return self.interrupted

    async def turn(self, prompt: str) -> None:
        if self.interrupted:
            return
        session = await self._session_for(prompt)
        if self.stopped():  # a signal may have arrived while the session was being opened
            return
        task = session.start(prompt, limits=self.limits)
        try:
            outcome = await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            outcome = RunOutcome(run_id=session.state.run.run_id or "", reason="cancelled")
        await self._catch_up()
        result = RunResult(
            tally=self.renderer.take_tally(),
            reason=outcome.reason,
            denials=outcome.denials,
            error=outcome.error,
            session_id=session.session_id,
            branch=session.branch,
            exhausted=list(outcome.exhausted),
        )
        self.results.append(result)
        self.renderer.result(result)
        problem = result.problem()
        if problem:
            note(f"life-tui: {problem}")

    async def _catch_up(self) -> None:
        if self.session is not None and self.pump is not None:
            await self.pump.wait_for(self.journal.head(self.session.session_id, self.session.branch))

    async def fork(self, cmd: Command) -> None:
        session = self.session
        if session is None:
            raise InvalidInput(f"line {cmd.line}: there is no session to fork yet", hint="send a user message first")
        at = cmd.at if cmd.at is not None else self.journal.head(session.session_id, session.branch)
        name = cmd.name or free_fork_name(self.journal, session.session_id)
        new = await session.fork(at, name)
        await self._catch_up()
        await self._attach(new, at, forked_from=(session.branch, at))

    async def answer(self, cmd: Command) -> None:
        session = self.session
        if session is None:
            raise NotFound(f"line {cmd.line}: no pending approval {cmd.approval_id!r} (no session yet)")
        # A request is printed once durable, which can be a moment before the loop starts waiting for it.
        asked, decided = self.renderer.asked, self.renderer.decided
        waited = 0.0
        while (
            cmd.approval_id in asked
            and cmd.approval_id not in decided
            and cmd.approval_id not in session.pending_approvals()
            and waited < APPROVAL_WAIT_S
        ):
            await asyncio.sleep(0.01)
            waited += 0.01
        if cmd.kind == "approve":
            session.approve(cmd.approval_id, scope=cmd.scope)
        else:
            session.deny(cmd.approval_id, reason=cmd.reason)

    def reject(self, message: str, line: int) -> None:
        self.renderer.input_error(message, line)
        note(f"life-tui: {message}")

    # -------------------------------------------------------------------------------- stream input
    async def stream_input(self, first_prompt: str | None) -> None:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()

        def read() -> None:
            number = 0
            try:
                for raw in iter(sys.stdin.buffer.readline, b""):
                    number += 1
                    loop.call_soon_threadsafe(lines.put_nowait, (number, raw))
            except (OSError, ValueError):
                pass
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read, name="headless-stdin", daemon=True).start()
        work: asyncio.Queue[Command | None] = asyncio.Queue()
        if first_prompt:
            work.put_nowait(Command("user", 0, text=first_prompt))
        worker = loop.create_task(self._work(work))
        try:
            while True:
                item = await self._next(lines, worker)
                if item is None:
                    break
                number, raw = item
                try:
                    cmd = parse_line(raw, number)
                except InvalidInput as exc:
                    self.rejected += 1
                    self.reject(str(exc), number)
                    continue
                if cmd is None:
                    continue
                if cmd.kind in ("approve", "deny"):
                    try:
                        await self.answer(cmd)
                    except (NotFound, InvalidInput) as exc:
                        self.reject(str(exc), number)
                elif cmd.kind == "cancel":
                    if self.session is not None and self.session.running:
                        await self.session.cancel()
                else:
                    work.put_nowait(cmd)
            self._stdin_closed()
            work.put_nowait(None)
            await worker
        finally:
            if not worker.done():
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

    async def _next(
        self, lines: asyncio.Queue[tuple[int, bytes] | None], worker: asyncio.Task[None]
    ) -> tuple[int, bytes] | None:
        """The next stdin line; None at EOF or on interrupt; raises what the worker raised."""
        getter = asyncio.ensure_future(lines.get())
        stop = asyncio.ensure_future(self._interrupt.wait())
        try:
            await asyncio.wait({getter, stop, worker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not getter.done():
                getter.cancel()
        if worker.done():
            worker.result()  # the worker only ends early by failing
            return None
        if getter.done() and not getter.cancelled():
            return getter.result()
        return None

    def _stdin_closed(self) -> None:
        """Nobody is left to answer approvals: deny those pending, and any that come."""
        self.session_options.interactive = False
        session = self.session
        if session is not None:
            for approval_id in session.pending_approvals():
                with contextlib.suppress(NotFound):
                    session.deny(approval_id, reason="stdin closed before the approval was answered")

    async def _work(self, work: asyncio.Queue[Command | None]) -> None:
        while True:
            cmd = await work.get()
            if cmd is None or self.interrupted:
                return
            try:
                if cmd.kind == "user":
                    await self.turn(cmd.text)
                else:
                    await self.fork(cmd)
            except (InvalidInput, NotFound) as exc:
                self.reject(str(exc), cmd.line)
            except LifeError as exc:
                if exc.exit_code in (ExitCode.CONFLICT, ExitCode.USAGE):
                    self.reject(str(exc), cmd.line)
                else:
                    raise

    # ---------------------------------------------------------------------------------------- main
    def _on_signal(self) -> None:
        if self.interrupted:
            note("life-tui: interrupted again; exiting at once (the journal recovers on the next open)")
            os._exit(ExitCode.INTERRUPTED)
        self.interrupted = True
        self._interrupt.set()
        note("life-tui: interrupted; cancelling the running turn (interrupt again to exit at once)")
        session = self.session
        if session is not None and session.running:
            self._cancelling = asyncio.get_running_loop().create_task(session.cancel())

    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        for r in self.results:
            if r.exit_code is not ExitCode.OK:
                return r.exit_code
        return ExitCode.INVALID_INPUT if self.rejected else ExitCode.OK

    async def run(self, prompt: str | None) -> ExitCode:
        loop = asyncio.get_running_loop()
        handled: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._on_signal)
                handled.append(sig)
        try:
            if self.opts.session or self.opts.continue_:
                await self.open_existing()
            if self.opts.input_format == "stream-json":
                await self.stream_input(prompt)
            else:
                assert prompt is not None
                await self.turn(prompt)
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            await self._close()
        self.renderer.finish(self.results)
        return self.exit_code()

    async def _close(self) -> None:
        """Stop the session (cancelling a turn still running), then print every event it stored."""
        try:
            if self.session is not None:
                await self.session.close()
                await self._catch_up()
            else:
                await self.provider.aclose()
        finally:
            if self.pump is not None:
                await self.pump.stop()


def read_prompt(opts: Options) -> str | None:
    """The prompt of a text-input run; for stream-json, the optional first turn given as an argument."""
    prompt = opts.prompt
    if opts.input_format == "stream-json":
        return prompt if prompt not in (None, "-") else None
    if prompt == "-" or (prompt is None and not sys.stdin.isatty()):
        prompt = sys.stdin.read()
    if prompt is None or not prompt.strip():
        raise UsageError("no prompt", hint="pass PROMPT, pipe it on stdin, or use --input-format stream-json")
    return prompt


def check(opts: Options) -> None:
    if opts.output_format not in OUTPUT_FORMATS:
        raise UsageError(f"unknown output format {opts.output_format!r}", hint=f"use {', '.join(OUTPUT_FORMATS)}")
    if opts.input_format not in INPUT_FORMATS:
        raise UsageError(f"unknown input format {opts.input_format!r}", hint=f"use {', '.join(INPUT_FORMATS)}")
    if opts.session and opts.continue_:
        raise UsageError("--session and --continue both choose the session", hint="pass one of them")
    if (opts.fork_at is not None or opts.branch) and not (opts.session or opts.continue_):
        raise UsageError("--fork-at and --branch need a session to start from", hint="add --session or --continue")
    if opts.fork_at is not None and opts.fork_at < 0:
        raise UsageError("--fork-at takes a seq of 0 or more")
    if opts.workspace is not None and not opts.workspace.is_dir():
        raise UsageError(f"no workspace directory {opts.workspace}")
    if opts.provider:
        ProviderSpec.parse(opts.provider)


async def _main(opts: Options, prompt: str | None, settings: Settings, provider: Provider) -> ExitCode:
    journal = await asyncio.to_thread(Journal.open, journal_root())
    try:
        return await Headless(opts, settings, provider, journal).run(prompt)
    finally:
        await asyncio.to_thread(journal.close)


@app.command()
def headless(
    prompt: Annotated[
        str | None, typer.Argument(help="The prompt; '-' (or none, with stdin not a terminal) reads stdin.")
    ] = None,
    output_format: Annotated[str, typer.Option("--output-format", help="text, json, stream-json or events.")] = "text",
    input_format: Annotated[
        str, typer.Option("--input-format", help="text (one prompt) or stream-json (messages and controls).")
    ] = "text",
    session: Annotated[
        str | None, typer.Option("--session", "-s", help="Continue this session (id, id prefix, name or 'last').")
    ] = None,
    continue_: Annotated[
        bool, typer.Option("--continue", "-c", help="Continue the most recent session of this workspace.")
    ] = False,
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Branch to continue (default: the most recently active).")
    ] = None,
    fork_at: Annotated[
        int | None, typer.Option("--fork-at", help="Fork the session's branch after this seq and run there.")
    ] = None,
    max_turns: Annotated[int | None, typer.Option("--max-turns", help="Model turns per run.")] = None,
    max_budget_usd: Annotated[
        float | None,
        typer.Option(
            "--max-budget-usd",
            help="Spending cap for this invocation (all its turns), USD; reserved against the ledger.",
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option("--provider", help="name[:model], for example anthropic, openai:gpt-4.1, scripted:demo."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="The model (overrides the provider's default).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Allow calls that would ask for approval.")] = False,
    workspace: Annotated[
        Path | None, typer.Option("--workspace", help="Workspace directory (default: the current directory).")
    ] = None,
    include_partial_messages: Annotated[
        bool, typer.Option("--include-partial-messages", help="stream-json: also print text deltas as they arrive.")
    ] = False,
    journal: Annotated[
        Path | None,
        typer.Option("--journal", help="Journal directory (default: the data dir's).", envvar="LIFE_JOURNAL"),
    ] = None,
) -> None:
    """Run turns with no screen and print the assistant's text (text), one JSON result (json), NDJSON
    records in Claude Code's stream-json shape (stream-json) or the journal's events (events).

    \b
    Exit codes:
      0 success             10 budget exhausted      14 no provider configured
      1 error               11 max turns reached     15 blocked by regulation
      2 usage               12 a tool call denied   130 interrupted
      3 session not found   13 provider failed
      4 invalid stdin line   5 journal locked
    """
    set_journal_override(journal)
    opts = Options(
        prompt=prompt,
        output_format=output_format,
        input_format=input_format,
        session=session,
        continue_=continue_,
        branch=branch,
        fork_at=fork_at,
        max_turns=max_turns,
        max_budget_usd=max_budget_usd,
        provider=provider,
        model=model,
        yes=yes,
        workspace=workspace.resolve() if workspace is not None else None,
        include_partial_messages=include_partial_messages,
    )
    check(opts)
    settings = load_settings()
    chosen = choose_provider(opts, settings)
    text = read_prompt(opts)
    code = asyncio.run(_main(opts, text, settings, chosen))
    raise typer.Exit(int(code))


def main(argv: list[str]) -> None:
    """Run the headless app on ``argv`` (the command line without ``--headless``)."""
    app(args=argv, prog_name="life-tui --headless")
