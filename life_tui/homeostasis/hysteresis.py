"""A hysteresis gate: a two-threshold switch with a minimum hold time (life-system §5.3).

A value hovering at one threshold would toggle a plain comparison on every sample; the gate switches on at
``enter``, off only at ``exit`` (below ``enter``), and never twice within ``min_hold_us`` of event time. It
is kept apart from the modes and rulings that use it because it is the one piece of state-machine logic
they share, and it is easiest to prove non-flapping on its own. Immutable: :meth:`HysteresisGate.evaluate`
returns a new gate, so a caller can build one from folded state, ask it, and keep nothing.
"""

from __future__ import annotations

import msgspec


class HysteresisGate(msgspec.Struct, frozen=True, kw_only=True):
    """``active`` switches on when the metric reaches ``enter`` and off when it falls to ``exit``.

    A switch needs ``min_hold_us`` of (event) time since ``last_transition_us``; a gate that never switched
    (``last_transition_us`` None) may switch at once.
    """

    enter: float
    exit: float
    min_hold_us: int = 0
    active: bool = False
    last_transition_us: int | None = None

    def __post_init__(self) -> None:
        if self.exit >= self.enter:
            raise ValueError(f"a hysteresis gate needs exit < enter (got enter {self.enter}, exit {self.exit})")
        if self.min_hold_us < 0:
            raise ValueError("min_hold_us cannot be negative")

    def held(self, now_us: int) -> bool:
        """Whether the gate has held its position long enough to switch."""
        return self.last_transition_us is None or now_us - self.last_transition_us >= self.min_hold_us

    def step(self, metric: float, now_us: int) -> HysteresisGate:
        """The gate after seeing ``metric`` at ``now_us`` (itself when nothing changes)."""
        if not self.held(now_us):
            return self
        if not self.active and metric >= self.enter:
            return msgspec.structs.replace(self, active=True, last_transition_us=now_us)
        if self.active and metric <= self.exit:
            return msgspec.structs.replace(self, active=False, last_transition_us=now_us)
        return self

    def evaluate(self, metric: float, now_us: int) -> bool:
        """Life's ``evaluate``: whether the gate is active after seeing ``metric`` (see :meth:`step`)."""
        return self.step(metric, now_us).active
