"""The default tool registry: the file tools and the sandboxed shell.

Skills and memory tools are added by the runtime's Session (they need the session's state and the
discovered skills); MCP tools arrive with the MCP issue.
"""

from __future__ import annotations

from life_tui.tools.files import FILE_TOOLS
from life_tui.tools.registry import ToolRegistry
from life_tui.tools.shell import BASH


def default_registry() -> ToolRegistry:
    return ToolRegistry([*FILE_TOOLS, BASH])
