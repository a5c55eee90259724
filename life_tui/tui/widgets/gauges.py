"""The homeostasis gauges pane: the three pillars, the modes and the budget, each with a short trend.

A pane is a fold (``reset`` + ``apply``): the events go through the homeostasis controller's own fold
(:class:`~life_tui.homeostasis.fold.HomeostasisProjection`), so the gauges show exactly the state the
regulator decides on, and replay mode shows the state at the replay point. Trends are sampled at tick
boundaries (``budget.updated``, ``run.finished``) rather than per delivery, so a live session and a replay
of it draw the same sparklines however the events were batched. What each gauge says and where
its colour changes lives in :mod:`gauge_readings`; colours are theme variables picked by CSS classes.

A gauge repaints only when its reading or trend changed, and while the pane is off screen (another
vitals tab, a hidden side pane) it only folds, drawing once it is shown (issue 6: no frame over 50 ms
while an answer streams).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from life_tui.homeostasis.fold import HomeostasisProjection
from life_tui.homeostasis.state import HomeostaticState
from life_tui.kernel.event import Event
from life_tui.tui.panes import PaneContext
from life_tui.tui.widgets.gauge_readings import SECTIONS, Level, Reading, readings
from life_tui.tui.widgets.sparkline import sparkline

TREND_CELLS = 8
HISTORY = 32
SAMPLE_KINDS = frozenset({"budget.updated", "run.finished"})
"""Tick boundaries: the gauges' trends take one sample after each."""
LABEL_CELLS = 11
VALUE_CELLS = 14
MIN_BAR_CELLS = 4


class Gauge(Widget):
    """One line: label, bar (fraction gauges) or text, value and trend, coloured by the reading's level."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"gauge--label", "gauge--fill", "gauge--empty", "gauge--trend"}
    DEFAULT_CSS = """
    Gauge { height: 1; width: 1fr; color: $success; }
    Gauge.-warn { color: $warning; }
    Gauge.-critical { color: $error; }
    Gauge.-idle { color: $text-muted; }
    Gauge.-info { color: $foreground; }
    Gauge > .gauge--label { color: $text-muted; }
    Gauge > .gauge--empty { color: $foreground 15%; }
    Gauge > .gauge--trend { color: $text-muted; }
    """

    def __init__(self, reading: Reading, *, id: str | None = None) -> None:
        super().__init__(id=id, classes=f"-{reading.level.value}")
        self.reading = reading
        self.history: tuple[float, ...] = ()

    @property
    def level(self) -> Level:
        return self.reading.level

    def show(self, reading: Reading, history: Sequence[float]) -> None:
        if reading.level is not self.reading.level:
            self.remove_class(f"-{self.reading.level.value}")
            self.add_class(f"-{reading.level.value}")
        changed = reading != self.reading or tuple(history) != self.history
        self.reading, self.history = reading, tuple(history)
        if changed:
            self.refresh()

    def trend_text(self) -> str:
        low, high = self.reading.scale if self.reading.scale is not None else (None, None)
        return sparkline(self.history, TREND_CELLS, low=low, high=high)

    def render(self) -> Content:
        reading, width = self.reading, self.size.width
        label = self.get_visual_style("gauge--label", partial=True)
        trend_cells = TREND_CELLS + 1 if width >= LABEL_CELLS + VALUE_CELLS + TREND_CELLS + MIN_BAR_CELLS else 0
        middle = max(width - LABEL_CELLS - trend_cells, 0)
        parts: list[str | Content | tuple[str, Any]] = [(reading.label[: LABEL_CELLS - 1].ljust(LABEL_CELLS), label)]
        bar_cells = middle - VALUE_CELLS - 1
        if reading.fraction is not None and bar_cells >= MIN_BAR_CELLS:
            filled = round(reading.fraction * bar_cells)
            parts.append("━" * filled)
            parts.append(("━" * (bar_cells - filled), self.get_visual_style("gauge--empty", partial=True)))
            parts.append(" " + reading.text[:VALUE_CELLS].rjust(VALUE_CELLS))
        else:
            parts.append(reading.text[:middle].ljust(middle))
        if trend_cells:
            parts.append((" " + self.trend_text(), self.get_visual_style("gauge--trend", partial=True)))
        return Content.assemble(*parts)


class GaugesModel:
    """The pane's fold: the controller's projection over the branch, and a bounded history per gauge."""

    def __init__(self) -> None:
        self.projection = HomeostasisProjection()
        self.state = self.projection.initial()
        self.history: dict[str, deque[float]] = {}

    def reset(self, events: Sequence[Event], context: PaneContext) -> None:
        self.projection = HomeostasisProjection(context_window=context.context_window)
        self.state = self.projection.initial()
        self.history = {}
        self.apply(events)

    def apply(self, events: Sequence[Event]) -> None:
        for event in events:
            self.state = self.projection.apply(self.state, event)
            if event.kind in SAMPLE_KINDS:
                self.sample()

    def sample(self) -> None:
        for section in readings(self.state).values():
            for reading in section:
                if reading.sample is not None:
                    self.history.setdefault(reading.key, deque(maxlen=HISTORY)).append(reading.sample)

    def trend(self, key: str) -> tuple[float, ...]:
        return tuple(self.history.get(key, ()))


class GaugesPane(VerticalScroll):
    """Homeostasis at a glance: operational, cognitive and economic pillars, modes and budget use."""

    DEFAULT_CSS = """
    GaugesPane { height: 1fr; padding: 0 1; }
    GaugesPane > .gauges--heading { color: $text-accent; text-style: bold; margin-top: 1; }
    GaugesPane > .gauges--heading.-first { margin-top: 0; }
    """
    HEADINGS: ClassVar[dict[str, str]] = {
        "operational": "Operational",
        "cognitive": "Cognitive",
        "economic": "Economic",
        "regulation": "Regulation",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.can_focus = True
        self.model = GaugesModel()
        self._gauges: dict[str, Gauge] = {}
        self._undrawn: HomeostaticState | None = None
        """The state to draw once the pane is back on screen (None: what is shown is current)."""

    def compose(self) -> ComposeResult:
        shown = readings(self.model.state)
        for index, section in enumerate(SECTIONS):
            classes = "gauges--heading -first" if index == 0 else "gauges--heading"
            yield Static(self.HEADINGS[section], classes=classes)
            for reading in shown[section]:
                gauge = self._gauges[reading.key] = Gauge(reading, id=f"gauge-{reading.key}")
                yield gauge

    def on_show(self) -> None:
        if self._undrawn is not None:
            self._draw(self._undrawn)

    def reset(self, events: Sequence[Event], context: PaneContext) -> None:
        self.model.reset(events, context)
        self._show()

    def apply(self, events: Sequence[Event]) -> None:
        self.model.apply(events)
        self._show()

    def show(self, state: HomeostaticState) -> None:
        """Draw a given state without folding (a caller that already holds one); trends are left as they are."""
        self._draw(state)

    def gauge(self, key: str) -> Gauge:
        found = self._gauges.get(key)
        return found if found is not None else self.query_one(f"#gauge-{key}", Gauge)

    def _show(self) -> None:
        self._draw(self.model.state)

    def _draw(self, state: HomeostaticState) -> None:
        if not self.is_mounted:
            return
        if not self.is_on_screen:
            self._undrawn = state
            return
        self._undrawn = None
        for section in readings(state).values():
            for reading in section:
                self.gauge(reading.key).show(reading, self.model.trend(reading.key))
