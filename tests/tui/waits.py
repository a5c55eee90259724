"""Waiting on a condition, never on a count of pauses: the TUI tests' one way to let the app catch up.

A ``pilot.pause()`` lets the messages already queued be handled, but a key often starts a chain (a key, a
widget's message, a bubbling request, an async handler, a worker, a callback after the next refresh) whose
later links are queued only as earlier ones run; on a loaded machine a fixed number of pauses, or a fixed
sleep, can end before the chain does. :func:`until` pauses until the condition holds, and fails with what
was awaited after a deadline generous enough for a loaded CI machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

DEADLINE_S = 20.0
"""How long a condition may take to hold (a whole chain normally takes milliseconds)."""


async def until(pilot: Pilot[Any], condition: Callable[[], object], what: str, timeout: float = DEADLINE_S) -> None:
    """Pause until ``condition()`` is true; fail with ``what`` if it is not within ``timeout`` seconds.

    It pauses at least once before the first look, so the screen shown is mounted (a pause waits for the
    current screen to handle its messages) and a condition may query its widgets."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause()
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        await pilot.pause()
