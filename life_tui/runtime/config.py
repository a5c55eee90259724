"""Settings: one typed model read from the config file and ``LIFE_*`` / provider environment variables.

Precedence, highest first: explicit arguments (command-line flags) > environment > config file >
defaults. The config file is TOML at ``<config dir>/config.toml``::

    [defaults]
    provider = "anthropic:claude-sonnet-4-5"   # or openai:gpt-4.1, ollama:llama3.2, scripted:demo
    max_tokens = 4096
    thinking_budget = 0                         # extended thinking / reasoning tokens (0: off)

    [budget]            # per run (one user turn); Life's defaults
    tokens = 120000
    time_s = 300
    cost_usd = 5.0
    tool_calls = 48
    errors = 8
    max_turns = 24
    # session_usd = 2.0                         # cap a session's spend (all its runs and branches)
    # daily_usd = 10.0                          # cap all sessions' spend per UTC day

    [approvals]
    mode = "default"                            # default | auto | plan
    rules = { bash = "ask", "fs:write:.env" = "deny" }

    [context]
    window = 200000

    [shell]
    allow_unsandboxed = false                   # true: run without bubblewrap when it is missing (journaled)
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from life_tui import paths
from life_tui.errors import InvalidInput
from life_tui.kernel.state import BudgetState


class BudgetSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    tokens: int = BudgetState().tokens_remaining
    time_s: float = BudgetState().time_remaining_ms / 1000
    cost_usd: float = BudgetState().cost_remaining_usd
    tool_calls: int = BudgetState().tool_calls_remaining
    errors: int = BudgetState().error_budget_remaining
    max_turns: int = 24
    session_usd: float | None = None
    """A cap on a session's spend across all its runs and branches (reserved against the ledger)."""
    daily_usd: float | None = None
    """A cap on all sessions' spend per UTC day."""


class ApprovalSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    mode: str = "default"
    rules: dict[str, str] = {}
    expiry_s: float = 300.0


class DefaultSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    max_tokens: int = 4096
    thinking_budget: int = 0


class ShellSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    allow_unsandboxed: bool = False
    """Run shell commands without an OS sandbox when none is available (each such run is journaled)."""


class ContextSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    window: int = 200_000


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    defaults: DefaultSettings = msgspec.field(default_factory=DefaultSettings)
    budget: BudgetSettings = msgspec.field(default_factory=BudgetSettings)
    approvals: ApprovalSettings = msgspec.field(default_factory=ApprovalSettings)
    context: ContextSettings = msgspec.field(default_factory=ContextSettings)
    shell: ShellSettings = msgspec.field(default_factory=ShellSettings)
    prices: dict[str, dict[str, float]] = {}
    keys: dict[str, Any] = {}
    mcp_servers: dict[str, dict[str, Any]] = {}
    """``[mcp_servers.NAME]`` tables: MCP servers whose tools the agent may use (validated by tools.mcp_client)."""
    tui: dict[str, Any] = {}
    """``[tui]``: the workstation's theme, layout and key bindings (validated by the tui package)."""


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the config file (if any) and apply environment overrides."""
    env = dict(os.environ) if env is None else env
    path = path or paths.resolve().config_file
    raw: dict[str, Any] = {}
    if path.is_file():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"{path} is not valid TOML: {exc}", hint="fix or move the file") from None
    try:
        settings = msgspec.convert(raw, Settings)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"{path}: {exc}", hint="see `life-tui --help` and the README for the settings") from None
    defaults = settings.defaults
    if env.get("LIFE_PROVIDER"):
        defaults.provider = env["LIFE_PROVIDER"]
    if env.get("LIFE_MODEL"):
        defaults.model = env["LIFE_MODEL"]
    return settings
