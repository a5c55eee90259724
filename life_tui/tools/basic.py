"""The default tool registry for now: the file tools of :mod:`life_tui.tools.files`.

The shell, skills and memory tools live in their own modules; the full registry is composed from all of
them later. Until then a session without an explicit registry gets the file tools.
"""

from __future__ import annotations

from life_tui.tools.files import FILE_TOOLS
from life_tui.tools.registry import ToolRegistry


def default_registry() -> ToolRegistry:
    return ToolRegistry(list(FILE_TOOLS))
