"""The replay bar: the controls of replay mode, docked under the panes while a recorded branch is replayed.

It owns a :class:`ReplayCursor` (which keeps every pane at the replay point) and maps keys to it: step
(→/l) and back (←/h), ±50 (PgDn/PgUp), start and end (Home/End), play/pause (Space) at a speed in events
per second (+/-), jump to an event by seq (``g``, then type it), "continue live from here" (``c``) and
leave (Escape). Every move posts ``ReplayPositionChanged``; leaving posts :class:`ReplayBar.Closed`, and
continuing live posts ``BranchAtRequested`` at :func:`live_fork_point` right after it, so the app leaves
replay mode and then forks the shown branch there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from life_tui.tui.messages import BranchAtRequested, ReplayPositionChanged
from life_tui.tui.replay_mode import ReplayCursor, live_fork_point

SPEEDS = (1, 2, 5, 10, 25, 50, 100, 250)
"""Playback speeds, events per second."""
DEFAULT_SPEED = 3  # 10 events/s
BIG_STEP = 50


class ReplayBar(Horizontal, can_focus=True):
    """Replay controls over a :class:`ReplayCursor`."""

    DEFAULT_CSS = """
    ReplayBar { height: 1; dock: bottom; background: $warning 30%; }
    ReplayBar:focus-within { background: $warning 50%; }
    ReplayBar > #replay-status { width: 1fr; }
    ReplayBar > #replay-jump { display: none; width: 24; height: 1; border: none; padding: 0; }
    ReplayBar.-jumping > #replay-jump { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,l", "step(1)", "Step"),
        Binding("left,h", "back(1)", "Back"),
        Binding("pagedown", f"step({BIG_STEP})", f"+{BIG_STEP}", show=False),
        Binding("pageup", f"back({BIG_STEP})", f"-{BIG_STEP}", show=False),
        Binding("home", "to_start", "Start", show=False),
        Binding("end", "to_end", "End", show=False),
        Binding("space", "toggle_play", "Play/pause"),
        Binding("plus,equals_sign", "speed(1)", "Faster"),
        Binding("minus", "speed(-1)", "Slower"),
        Binding("g", "ask_jump", "Jump to event"),
        Binding("c", "continue_live", "Continue live here"),
        Binding("escape", "close", "Leave replay"),
    ]

    @dataclass
    class Closed(Message):
        """Replay mode ended at ``seq``; the app shows the live branch again."""

        seq: int

    def __init__(self, cursor: ReplayCursor, *, start: int = 1, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cursor = cursor
        self.start_position = start
        self.speed_index = DEFAULT_SPEED
        self.playing = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="replay-status", markup=False)
        yield Input(placeholder="event seq", id="replay-jump", type="integer")

    def on_mount(self) -> None:
        self.cursor.start(self.start_position)
        self._moved()
        self.focus()

    @property
    def speed(self) -> int:
        return SPEEDS[self.speed_index]

    # ----------------------------------------------------------------------------------- moves
    def action_step(self, count: int) -> None:
        self.cursor.step(count)
        self._moved()

    def action_back(self, count: int) -> None:
        self.cursor.back(count)
        self._moved()

    def action_to_start(self) -> None:
        self.cursor.jump(1)
        self._moved()

    def action_to_end(self) -> None:
        self.cursor.jump(self.cursor.total)
        self._moved()

    def jump_to_seq(self, seq: int) -> None:
        self.cursor.jump_to_seq(seq)
        self._moved()

    def _moved(self) -> None:
        if self.cursor.at_end and self.playing:
            self._pause()
        self._render_status()
        self.post_message(ReplayPositionChanged(self.cursor.seq, self.cursor.total))

    # ----------------------------------------------------------------------------------- playback
    def action_toggle_play(self) -> None:
        if self.playing:
            self._pause()
        else:
            if self.cursor.at_end:
                self.cursor.jump(1)
            self.playing = True
            self._restart_timer()
        self._render_status()

    def action_speed(self, delta: int) -> None:
        self.speed_index = max(0, min(self.speed_index + delta, len(SPEEDS) - 1))
        if self.playing:
            self._restart_timer()
        self._render_status()

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(1 / self.speed, self._tick)

    def _pause(self) -> None:
        self.playing = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _tick(self) -> None:
        # A timer's callback runs in the timer's own task, not in this widget's message loop, and Textual
        # stops it only when the bar itself closes: as the app shuts down it could still step the other
        # panes while their widgets are being removed.
        if self.is_running and self.app.is_running:
            self.action_step(1)

    # ----------------------------------------------------------------------------------- jump, leave
    def action_ask_jump(self) -> None:
        self.add_class("-jumping")
        self.query_one("#replay-jump", Input).focus()

    @on(Input.Submitted, "#replay-jump")
    def _jump_submitted(self, submitted: Input.Submitted) -> None:
        submitted.stop()
        self.remove_class("-jumping")
        submitted.input.value = ""
        self.focus()
        if submitted.value.strip().isdigit():
            self.jump_to_seq(int(submitted.value))

    def action_close(self) -> None:
        if self.has_class("-jumping"):
            self.remove_class("-jumping")
            self.focus()
            return
        self._pause()
        self.post_message(self.Closed(self.cursor.seq))

    def action_continue_live(self) -> None:
        self._pause()
        at = live_fork_point(self.cursor.recent(), self.cursor.seq)
        self.post_message(self.Closed(self.cursor.seq))
        self.post_message(BranchAtRequested(at))

    # ----------------------------------------------------------------------------------- status
    def _render_status(self) -> None:
        c = self.cursor
        state = "▶ playing" if self.playing else "⏸ paused"
        current = c.current.kind if c.current is not None else "—"
        self.query_one("#replay-status", Static).update(
            f"REPLAY {state} · event {c.seq}/{c.total} {current} · {self.speed} ev/s · "
            "←/→ step  space play  +/- speed  g jump  c continue live  esc leave"
        )
