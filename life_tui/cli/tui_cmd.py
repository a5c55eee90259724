"""``life-tui`` with no subcommand: open the workstation on the current directory.

This module decides what to open (a new session in this workspace by default; ``--continue`` the last
one of this workspace; ``--session REF`` any session, on ``--branch`` or its most recently active branch)
and with which provider (``--provider``/``--model``, else the settings and environment, as in headless
mode). With no provider configured the app still opens, on its first-run screen, which explains how to
configure one and offers the labelled scripted demo. Textual is imported only inside :func:`launch`, so
the rest of the CLI (headless, MCP, journal commands) never pays for it.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from life_tui.cli.common import journal_root
from life_tui.errors import NotFound, UsageError
from life_tui.journal.catalog import MAIN
from life_tui.journal.store import Journal
from life_tui.runtime.config import Settings, load_settings
from life_tui.runtime.providers import NotConfigured, ProviderSpec, build, choose
from life_tui.runtime.providers.base import Provider

if TYPE_CHECKING:
    from life_tui.runtime.session import Session

SESSION_NAME = "workstation"
NO_TERMINAL = (
    "life-tui: the workstation needs a terminal (stdin and stdout are not both a TTY here).\n"
    'For scripts use `life-tui --headless "prompt"`; the journal commands work anywhere:\n'
    "`life-tui init`, `life-tui session list`, `life-tui log last`, or `life-tui --help`."
)


def has_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def pick_session(journal: Journal, ref: str | None, continue_: bool, workspace: Path) -> str | None:
    """The session to reopen (None: start a new one)."""
    if ref:
        return journal.resolve_session(ref)
    if continue_:
        found = [s for s in journal.sessions() if s.workspace == str(workspace)]
        if not found:
            raise NotFound(f"no session to continue in {workspace}", hint="run `life-tui` without --continue")
        return found[0].session_id
    return None


def pick_branch(journal: Journal, session_id: str, branch: str | None) -> str:
    if branch:
        journal.branch(session_id, branch)
        return branch
    live = [b for b in journal.branches(session_id) if not b.tombstoned]
    return max(live, key=lambda b: b.updated_at).name if live else MAIN


def pick_provider(settings: Settings, provider: str | None, model: str | None) -> Provider:
    """The provider (``NotConfigured`` when there is none: the app shows its first-run screen)."""
    chosen_model = model or (None if provider else settings.defaults.model)
    spec = choose(provider, None if provider else settings.defaults.provider, chosen_model)
    return build(spec, base_url=settings.defaults.base_url)


def launch(
    *,
    session: str | None = None,
    continue_: bool = False,
    branch: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    workspace: Path | None = None,
) -> None:
    """Run the workstation until the user quits; the journal is closed (and consistent) on the way out.

    Without a terminal (a pipe, CI) it explains what works instead and returns.
    """
    if not has_terminal():
        print(NO_TERMINAL)
        return
    if session and continue_:
        raise UsageError("--session and --continue both choose the session", hint="pass one of them")
    if branch and not (session or continue_):
        raise UsageError("--branch needs a session", hint="add --session or --continue")
    if provider:
        ProviderSpec.parse(provider)
    root = (workspace or Path.cwd()).resolve()
    if not root.is_dir():
        raise UsageError(f"no workspace directory {root}")
    settings = load_settings()
    hint = ""
    chosen: Provider | None = None
    try:
        chosen = pick_provider(settings, provider, model)
    except NotConfigured as exc:
        hint = exc.hint or ""

    from life_tui.tui.app import Launch, LifeApp  # Textual loads here, and only here

    journal = Journal.open(journal_root())
    try:
        session_id = pick_session(journal, session, continue_, root)

        def opener_for(get_provider: Provider | None) -> Callable[[], Awaitable[Session]]:
            async def open_it() -> Session:
                # The runtime loads here, once the app has drawn its first frame (start-up budget, issue 6).
                from life_tui.runtime.session import Session, SessionOptions

                options = SessionOptions(settings=settings)
                used = get_provider or build(ProviderSpec("scripted", "demo"))
                if session_id is None:
                    return await Session.create(
                        journal, name=SESSION_NAME, workspace=root, provider=used, options=options
                    )
                return await Session.open(
                    journal,
                    session_id,
                    branch=pick_branch(journal, session_id, branch),
                    provider=used,
                    workspace=workspace,
                    options=options,
                )

            return open_it

        app = LifeApp(
            Launch(
                opener=opener_for(chosen) if chosen is not None else None,
                settings=settings,
                not_configured_hint=hint,
                demo_opener=opener_for(None),
            )
        )
        app.run()
    finally:
        journal.close()
