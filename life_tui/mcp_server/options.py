"""What ``life-tui mcp`` was started with: plain data, so the server is usable without the CLI (or typer)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from life_tui.runtime.approvals import ApprovalMode


@dataclass(frozen=True)
class ServeOptions:
    """Options of one server process.

    ``session`` names the session (id, prefix, name or ``last``) that records the client's workstation
    tool calls; without it the server creates one session per process, named ``mcp <client>``.
    ``approval_mode`` ``auto`` (``--yes``; None: the config's mode) lets calls run that would ask a
    person; otherwise such calls are refused with a tool error, since nobody can answer an approval over
    MCP. ``provider`` is the ``name:model`` spec ``chat`` turns use (default: the configured provider).
    """

    workspace: Path
    journal: Path
    session: str | None = None
    approval_mode: ApprovalMode | None = None
    """None: the config file's ``[approvals] mode``."""
    provider: str | None = None
    max_calls_per_minute: int = 300
    """Tool calls a client may make per minute; more are refused with a tool error (``--max-calls-per-minute``)."""
