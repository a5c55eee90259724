"""``life-tui mcp list|add|remove|test|enable``: the MCP servers whose tools the agent may use.

The ``mcp`` command group itself (server mode) lives in :mod:`life_tui.cli.mcp_cmds`, which calls
:func:`register` to add these commands. They edit the ``[mcp_servers.NAME]`` tables of the user's config
file (:mod:`life_tui.cli.mcp_config_file` keeps everything else in the file as it was) and never print the
values of a server's ``env`` or ``headers`` (they hold tokens). Only ``test`` starts a server, so only it
pays the MCP SDK's import cost.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from life_tui import paths
from life_tui.cli.mcp_config_file import set_server
from life_tui.errors import Conflict, LifeError, NotFound, UsageError
from life_tui.tools.mcp_config import REDACTED, McpServerConfig, check_name, parse_server, read_tables


def _parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} must be KEY=VALUE, not {pair.split('=')[0]!r}...")
        out[key] = value
    return out


def _configured() -> dict[str, McpServerConfig | LifeError]:
    """Every configured server, or the error that makes its table invalid (one bad table hides no other)."""
    out: dict[str, McpServerConfig | LifeError] = {}
    for name, table in sorted(read_tables(paths.resolve().config_file).items()):
        try:
            out[name] = parse_server(name, table)
        except LifeError as exc:
            out[name] = exc
    return out


def _server(name: str) -> McpServerConfig:
    found = _configured().get(name)
    if found is None:
        raise NotFound(f"no MCP server named {name!r}", hint="`life-tui mcp list` shows the configured servers")
    if isinstance(found, LifeError):
        raise found
    return found


def list_servers(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per server.")] = False,
) -> None:
    """List the configured MCP servers: transport, command or URL, enabled, env keys (values hidden)."""
    servers = _configured()
    if not servers and not as_json:
        typer.echo(f"no MCP servers configured in {paths.resolve().config_file} (add one with `life-tui mcp add`)")
        return
    for name, config in servers.items():
        if isinstance(config, LifeError):
            row: dict[str, object] = {"name": name, "status": "invalid", "error": str(config)}
        else:
            row = {
                "name": name,
                "status": "enabled" if config.enabled else "disabled",
                "transport": config.transport,
                "target": config.target(),
                "env": config.redacted_env(),
                "headers": config.redacted_headers(),
                "timeout": config.timeout,
                "approved_tools": list(config.approved_tools),
            }
        if as_json:
            typer.echo(json.dumps(row, sort_keys=True))
        elif isinstance(config, LifeError):
            typer.echo(f"{name}  invalid  {config}")
        else:
            secrets = sorted([*config.env, *config.headers])
            extra = f"  secrets: {', '.join(f'{k}={REDACTED}' for k in secrets)}" if secrets else ""
            typer.echo(f"{name}  {row['status']}  {config.transport}  {config.target()}{extra}")


def add(
    name: Annotated[str, typer.Argument(help="The server's name (tools appear as mcp__NAME__TOOL).")],
    command: Annotated[
        list[str] | None, typer.Argument(help="After `--`: the command and its arguments (stdio servers).")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="A streamable HTTP server's URL.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE for a stdio server (repeat).")] = None,
    header: Annotated[list[str] | None, typer.Option("--header", help="KEY=VALUE for an HTTP server (repeat).")] = None,
    cwd: Annotated[str | None, typer.Option("--cwd", help="Working directory (relative to the workspace).")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds per call (default 60).")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a server of that name.")] = False,
) -> None:
    """Add an MCP server: `add NAME -- COMMAND ARGS...` (stdio) or `add NAME --url URL` (streamable HTTP)."""
    check_name(name)
    if bool(command) == bool(url):
        raise UsageError("give either a command after `--` or --url", hint="life-tui mcp add files -- npx -y server")
    table: dict[str, object] = {}
    if url:
        table["url"] = url
        if header:
            table["headers"] = _parse_pairs(header, "--header")
    else:
        assert command
        table["command"] = command[0]
        if command[1:]:
            table["args"] = command[1:]
        if env:
            table["env"] = _parse_pairs(env, "--env")
        if cwd:
            table["cwd"] = cwd
    if timeout is not None:
        table["timeout"] = timeout
    if disabled:
        table["enabled"] = False
    config = parse_server(name, table)  # the same validation the bridge applies
    path = paths.resolve().config_file
    if name in read_tables(path) and not replace:
        raise Conflict(f"an MCP server named {name!r} exists already", hint="pass --replace or remove it first")
    set_server(path, name, config.to_table())
    typer.echo(f"added MCP server {name} ({config.transport}: {config.target()}) to {path}")


def remove(name: Annotated[str, typer.Argument(help="The server to remove.")]) -> None:
    """Remove an MCP server from the config file."""
    path = paths.resolve().config_file
    if name not in read_tables(path):
        raise NotFound(f"no MCP server named {name!r}", hint="`life-tui mcp list` shows the configured servers")
    set_server(path, name, None)
    typer.echo(f"removed MCP server {name} from {path}")


async def _probe(config: McpServerConfig) -> tuple[list[dict[str, Any]], list[str]]:
    from life_tui.tools.mcp_client import McpConnection

    connection = await McpConnection.start(config, Path.cwd(), lambda: None)
    try:
        tools = await asyncio.wait_for(connection.list_tools(), config.startup_timeout)
        resources = await asyncio.wait_for(connection.list_resources(), config.startup_timeout)
    finally:
        await connection.close()
    rows: list[dict[str, Any]] = [
        {
            "name": t.name,
            "registered_as": f"mcp__{config.name}__{t.name}",
            "description": t.description,
            "input_schema": t.input_schema,
            "hints": {k: v for k, v in vars(t.hints).items() if v is not None},
        }
        for t in tools
    ]
    return rows, [r.uri for r in resources]


def probe_server(
    name: Annotated[str, typer.Argument(help="The server to start.")],
    as_json: Annotated[bool, typer.Option("--json", help="The tools as one JSON document.")] = False,
) -> None:
    """Start a server, list its tools with their input schemas, and stop it; exit 0 when it worked."""
    from life_tui.tools.mcp_client import McpServerError

    config = _server(name)
    try:
        tools, resources = asyncio.run(_probe(config))
    except TimeoutError:
        raise McpServerError(
            f"MCP server {name!r} did not list its tools within {config.startup_timeout:g} s"
        ) from None
    if as_json:
        typer.echo(json.dumps({"server": name, "tools": tools, "resources": resources}, sort_keys=True, indent=2))
        return
    typer.echo(f"{name}: ok, {len(tools)} tool(s), {len(resources)} resource(s)")
    for tool in tools:
        hints = ", ".join(f"{k}={v}" for k, v in tool["hints"].items())
        typer.echo(f"  {tool['registered_as']}" + (f"  (server hints: {hints})" if hints else ""))
        if tool["description"]:
            typer.echo(f"    {tool['description']}")
        typer.echo(f"    input: {json.dumps(tool['input_schema'], sort_keys=True)}")
    for uri in resources:
        typer.echo(f"  resource {uri}")


def enable(
    name: Annotated[str, typer.Argument(help="The server.")],
    tool: Annotated[str, typer.Argument(help="The tool's name on that server (as the server lists it).")],
) -> None:
    """Approve a tool a server added during a session (it stays disabled until approved)."""
    config = _server(name)
    if tool in config.approved_tools:
        typer.echo(f"{tool} of MCP server {name} is approved already")
        return
    table = config.to_table()
    table["approved_tools"] = [*config.approved_tools, tool]
    set_server(paths.resolve().config_file, name, table)
    typer.echo(f"approved {tool} of MCP server {name} (running sessions pick it up on its next call)")


def register(group: typer.Typer) -> None:
    """Add the management commands to the ``life-tui mcp`` group."""
    group.command("list")(list_servers)
    group.command()(add)
    group.command()(remove)
    group.command("test")(probe_server)
    group.command()(enable)
