"""``life-tui mcp``: serve the workstation over MCP (stdio), or print the snippets that register it.

The typer group is the command line only: it checks the options, builds a plain
:class:`~life_tui.mcp_server.options.ServeOptions` and hands over to ``mcp_server.main.serve``, imported
when the server actually starts, so ``life-tui mcp --help`` and the management subcommands
(``list/add/remove``, from :mod:`life_tui.cli.mcp_manage`) never load the MCP SDK. Nothing here imports
Textual.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from life_tui.cli import mcp_manage
from life_tui.cli.common import journal_root
from life_tui.errors import UsageError
from life_tui.runtime.approvals import ApprovalMode

app = typer.Typer(
    name="mcp",
    help="Serve the workstation over MCP on stdio (no subcommand), or manage the MCP servers life-tui uses.",
    add_completion=False,
    invoke_without_command=True,
    rich_markup_mode=None,
)
mcp_manage.register(app)


def launch_command(workspace: Path, extra: list[str]) -> list[str]:
    """The command line a client runs: the installed ``life-tui`` script, else this interpreter."""
    script = shutil.which("life-tui")
    base = [script] if script else [sys.executable, "-m", "life_tui.cli.main"]
    return [*base, "mcp", "--workspace", str(workspace), *extra]


def config_snippets(command: list[str], name: str = "life-tui") -> str:
    """Ready-to-paste registrations for Claude Desktop (JSON), Claude Code (CLI) and Codex (TOML)."""
    desktop = json.dumps({"mcpServers": {name: {"command": command[0], "args": command[1:]}}}, indent=2)
    claude_code = f"claude mcp add {shlex.quote(name)} -- {shlex.join(command)}"
    toml_args = ", ".join(json.dumps(a) for a in command[1:])
    codex = f"[mcp_servers.{name}]\ncommand = {json.dumps(command[0])}\nargs = [{toml_args}]"
    return (
        "# Claude Desktop: merge into claude_desktop_config.json\n"
        f"{desktop}\n\n"
        "# Claude Code: run\n"
        f"{claude_code}\n\n"
        "# Codex: add to ~/.codex/config.toml\n"
        f"{codex}\n"
    )


@app.callback()
def mcp(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", help="Workspace the tools are confined to (default: .)."),
    ] = None,
    session: Annotated[
        str | None,
        typer.Option("--session", help="Record tool calls in this session (default: a new 'mcp <client>' session)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Allow calls that would ask (mode auto).")] = False,
    approval_mode: Annotated[
        str | None, typer.Option("--approval-mode", help="default (ask = refused), auto, or plan (read-only tools).")
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="name:model for chat turns, e.g. scripted:demo (default: config).")
    ] = None,
    max_calls_per_minute: Annotated[
        int,
        typer.Option("--max-calls-per-minute", min=1, help="Tool calls a client may make per minute (more: refused)."),
    ] = 300,
    print_config: Annotated[
        bool,
        typer.Option("--print-config", help="Print Claude Desktop/Code and Codex snippets."),
    ] = False,
) -> None:
    """Speak MCP on stdin/stdout: the workstation's tools under the app's policies, and session operations
    (chat, sessions, session_events, fork, replay, budget, trace) with sessions as resources. All logging
    goes to stderr (LIFE_LOG=debug for more). Ends on stdin EOF or SIGTERM, journal flushed."""
    if ctx.invoked_subcommand is not None:
        return
    root = (workspace or Path.cwd()).resolve()
    if not root.is_dir():
        raise UsageError(f"no workspace directory {root}")
    if yes and approval_mode not in (None, ApprovalMode.AUTO.value):
        raise UsageError("--yes and --approval-mode disagree", hint="pass one of them")
    try:
        mode = ApprovalMode.AUTO if yes else ApprovalMode(approval_mode) if approval_mode else None
    except ValueError:
        raise UsageError(
            f"unknown approval mode {approval_mode!r}", hint=f"use {', '.join(m.value for m in ApprovalMode)}"
        ) from None
    if provider:
        from life_tui.runtime.providers import ProviderSpec

        ProviderSpec.parse(provider)
    if print_config:
        extra = [*(["--session", session] if session else []), *(["--yes"] if yes else [])]
        extra += [*(["--approval-mode", approval_mode] if approval_mode and not yes else [])]
        extra += [*(["--provider", provider] if provider else [])]
        typer.echo(config_snippets(launch_command(root, extra)), nl=False)
        return
    from life_tui.mcp_server.main import serve
    from life_tui.mcp_server.options import ServeOptions

    options = ServeOptions(
        workspace=root,
        journal=journal_root(),
        session=session,
        approval_mode=mode,
        provider=provider,
        max_calls_per_minute=max_calls_per_minute,
    )
    raise typer.Exit(serve(options))
