"""Events built by hand for the vitals panes' tests (gauges, wallet, traces): fixed ids, fixed times."""

from __future__ import annotations

from typing import Any

from life_tui.kernel.event import Event, encode_payload
from life_tui.tui.panes import PaneContext

T0_US = 1_763_683_200_000_000
"""2025-11-21 00:00:00 UTC: every test event is timed from here."""
SESSION = "01SESSIONVITALS0000000000"


class EventMaker:
    """Numbered events of one branch; ``at_ms`` is the time since T0 (defaults to one ms per event)."""

    def __init__(self, branch: str = "main", session_id: str = SESSION) -> None:
        self.branch, self.session_id, self.seq = branch, session_id, 0
        self.run_id: str | None = None

    def __call__(self, kind: str, payload: dict[str, Any], *, at_ms: float | None = None, run: bool = True) -> Event:
        self.seq += 1
        occurred = T0_US + round((self.seq if at_ms is None else at_ms) * 1000)
        return Event(
            f"01EVENT{self.seq:018d}",
            self.session_id,
            self.branch,
            self.seq,
            kind,
            occurred,
            run_id=self.run_id if run else None,
            payload=encode_payload(payload),
        )

    def start_run(self, run_id: str, *, at_ms: float | None = None, limits: dict[str, float] | None = None) -> Event:
        self.run_id = run_id
        return self("run.started", {"provider": "scripted", "model": "demo", "limits": limits or {}}, at_ms=at_ms)


def context(branch: str = "main", *, context_window: int = 200_000, **extras: Any) -> PaneContext:
    return PaneContext(session_id=SESSION, branch=branch, context_window=context_window, extras=dict(extras))
