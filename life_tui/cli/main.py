"""The ``life-tui`` entry point: the command tree and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from life_tui import __version__
from life_tui.cli import eval_cmds, journal_cmds, mcp_cmds, replay_cmd, rewind_cmd, session_cmds, state_cmd, wallet_cmds
from life_tui.cli.common import set_journal_override
from life_tui.errors import ExitCode, LifeError

app = typer.Typer(
    name="life-tui",
    help="A terminal-first agent workstation. Every action is an event in a journal you own.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(session_cmds.app, name="session")
app.add_typer(mcp_cmds.app, name="mcp")
app.add_typer(wallet_cmds.app, name="wallet")
app.command()(journal_cmds.init)
app.command()(journal_cmds.log)
app.command()(journal_cmds.cat)
app.command()(journal_cmds.branch)
app.command()(journal_cmds.query)
app.command("import")(journal_cmds.import_)
app.command()(journal_cmds.export)
app.command()(journal_cmds.verify)
app.command()(journal_cmds.doctor)
app.command()(replay_cmd.replay)
app.command()(eval_cmds.judge)
app.command()(state_cmd.state)
app.command()(rewind_cmd.rewind)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"life-tui {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    journal: Annotated[
        Path | None,
        typer.Option("--journal", help="Journal directory (default: the data dir's).", envvar="LIFE_JOURNAL"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    session: Annotated[
        str | None, typer.Option("--session", "-s", help="Open this session (id, id prefix, name or 'last').")
    ] = None,
    continue_: Annotated[
        bool, typer.Option("--continue", "-c", help="Open the most recent session of this workspace.")
    ] = False,
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Branch to open (default: the most recently active).")
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option("--provider", help="name[:model], for example anthropic, openai:gpt-4.1, scripted:demo."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="The model (overrides the provider's default).")] = None,
) -> None:
    """life-tui: with no command, the workstation on this directory; `life-tui --headless --help` for scripts."""
    set_journal_override(journal)
    if ctx.invoked_subcommand is None:
        from life_tui.cli import tui_cmd  # the workstation (and Textual) load only when it is opened

        tui_cmd.launch(session=session, continue_=continue_, branch=branch, provider=provider, model=model)


def _command_names() -> set[str]:
    names = {g.name for g in app.registered_groups if g.name}
    for c in app.registered_commands:
        name = c.name or (c.callback.__name__.lower().replace("_", "-") if c.callback else None)
        if name:
            names.add(name)
    return names


def headless_argv(argv: list[str]) -> list[str] | None:
    """The headless app's arguments when ``--headless`` comes before any subcommand, else None.

    Options before ``--headless`` (``--journal DIR``, or headless options written first) are kept.
    """
    if "--headless" not in argv:
        return None
    at = argv.index("--headless")
    commands = _command_names()
    if any(token in commands for token in argv[:at]):
        return None
    return argv[:at] + argv[at + 1 :]


def run() -> None:
    """Console-script entry: one line on stderr and a documented exit code for every known error.

    Usage errors are typer's own (exit 2, with the command's usage line). ``--headless`` before any
    subcommand hands the rest of the command line to the headless app (:mod:`life_tui.cli.headless`),
    imported only then.
    """
    try:
        rest = headless_argv(sys.argv[1:])
        if rest is not None:
            from life_tui.cli import headless

            headless.main(rest)
            return
        app()
    except LifeError as exc:
        print(f"life-tui: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        sys.exit(ExitCode.OK)
    except Exception as exc:
        if os.environ.get("LIFE_DEBUG"):
            raise
        print(
            f"life-tui: internal error: {type(exc).__name__}: {exc} (LIFE_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        sys.exit(ExitCode.ERROR)


if __name__ == "__main__":
    run()
