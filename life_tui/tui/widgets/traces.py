"""The traces pane: a span waterfall of one turn (phases, provider calls with tokens and cost, tool calls).

Spans come from :func:`life_tui.observability.spans.spans_for_run`, a fold over the run's events, so a
replayed, reopened or years-old session has the same trace the live run had. The pane indexes every run
of the branch (first and last seq, the prompt) but keeps only the shown run's events: another run's are
read back through ``PaneContext.read_range`` when the user selects it, so a long session costs the pane
one run's events, not the branch's. It follows the newest run until the user picks an older one
(``[`` / ``]``), and returns to following with ``]`` past the newest. Streaming deltas after the first of a
provider call are not kept: the spans only read the first one (time to first token).

Drawing is the costly part, so it happens only when it can change something (issue 6: no frame over 50 ms
while an answer streams): a batch that adds no kept event to the shown run draws nothing, selecting the
run already shown reads nothing back, lines whose text is unchanged are not redrawn, and while the pane is
off screen (another vitals tab, a hidden side pane) it only folds and draws once it is shown again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Static

from life_tui.kernel.event import Event
from life_tui.observability.spans import Span, SpanKind, SpanStatus, spans_for_run
from life_tui.tui.panes import PaneContext
from life_tui.tui.widgets import figures
from life_tui.tui.widgets.redraw import show_content

DELTA_KINDS = frozenset({"assistant.text_delta", "assistant.reasoning_delta"})
NAME_CELLS = 24
NARROW_NAME_CELLS = 16
"""Below ``WIDE`` columns names are cut shorter so the bar and the tokens and cost still fit."""
WIDE = 70
DURATION_CELLS = 7
DETAIL_CELLS = 14
MIN_BAR_CELLS = 8


@dataclass
class RunIndex:
    """Where a run sits in the branch, and what the user asked."""

    run_id: str
    first_seq: int
    last_seq: int
    prompt: str = ""


@dataclass(frozen=True)
class Row:
    """One waterfall line: a span at its depth in the tree."""

    span: Span
    depth: int


def waterfall_rows(spans: Sequence[Span], *, phases: bool = True) -> list[Row]:
    """The span tree depth first, children by start time; without ``phases`` their children move up."""
    if not spans:
        return []
    by_id = {span.span_id: span for span in spans}
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        parent = span.parent_id
        if not phases:
            while parent is not None and by_id.get(parent) is not None and by_id[parent].kind == SpanKind.PHASE:
                parent = by_id[parent].parent_id
        if not phases and span.kind == SpanKind.PHASE:
            continue
        children.setdefault(parent, []).append(span)
    rows: list[Row] = []

    def visit(span: Span, depth: int) -> None:
        rows.append(Row(span, depth))
        for child in sorted(children.get(span.span_id, []), key=lambda s: s.start_us):
            visit(child, depth + 1)

    for root in children.get(None, []):
        visit(root, 0)
    return rows


def span_label(span: Span) -> str:
    """A short name for a row: ``turn``, ``phase tools``, ``chat <model>``, ``tool <name>``, ``approval <tool>``."""
    if span.kind == SpanKind.INVOKE_AGENT:
        return "turn"
    if span.kind == SpanKind.EXECUTE_TOOL:
        return "tool " + span.name.removeprefix(f"{SpanKind.EXECUTE_TOOL.value} ")
    return span.name


def span_detail(span: Span) -> str:
    """Tokens and cost of a provider call, the run's totals, a tool's outcome, an approval's decision."""
    attrs = span.attributes
    if span.kind in (SpanKind.CHAT, SpanKind.INVOKE_AGENT):
        tokens_in = _int(attrs.get("gen_ai.usage.input_tokens"))
        tokens_out = _int(attrs.get("gen_ai.usage.output_tokens"))
        text = f"{figures.tokens(tokens_in)}→{figures.tokens(tokens_out)}"
        cost = attrs.get("life.cost_usd")
        if isinstance(cost, int | float) and cost:
            text += f" {figures.money_usd(float(cost))}"
        return text
    if span.kind == SpanKind.APPROVAL:
        return str(attrs.get("life.approval.decision", "waiting"))
    if span.kind == SpanKind.EXECUTE_TOOL:
        if span.status == SpanStatus.ERROR:
            return str(attrs.get("error.type", "failed"))
        return "running" if attrs.get("life.in_progress") else "ok"
    return ""


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


class Waterfall(Widget):
    """The rows of one run's spans: name (indented), a bar placed on the run's time line, duration, detail."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "waterfall--invoke_agent",
        "waterfall--phase",
        "waterfall--chat",
        "waterfall--execute_tool",
        "waterfall--approval",
        "waterfall--error",
        "waterfall--track",
        "waterfall--muted",
    }
    DEFAULT_CSS = """
    Waterfall { height: auto; width: 1fr; }
    Waterfall > .waterfall--invoke_agent { color: $text-primary; }
    Waterfall > .waterfall--phase { color: $foreground 45%; }
    Waterfall > .waterfall--chat { color: $text-accent; }
    Waterfall > .waterfall--execute_tool { color: $text-secondary; }
    Waterfall > .waterfall--approval { color: $text-warning; }
    Waterfall > .waterfall--error { color: $text-error; }
    Waterfall > .waterfall--track { color: $foreground 10%; }
    Waterfall > .waterfall--muted { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[Row] = []

    def show(self, rows: list[Row]) -> None:
        if rows == self.rows:
            return
        grew_or_shrank = len(rows) != len(self.rows)
        self.rows = rows
        self.refresh(layout=grew_or_shrank)  # the height is the number of rows: same count, same size

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self.rows), 1)

    def render(self) -> Content:
        if not self.rows:
            return Content.styled("no turn to trace yet", self.get_visual_style("waterfall--muted", partial=True))
        width = self.size.width
        name_cells = NAME_CELLS if width >= WIDE else NARROW_NAME_CELLS
        fixed = name_cells + DURATION_CELLS + 1
        detail_cells = DETAIL_CELLS if width - fixed >= MIN_BAR_CELLS + 1 + DETAIL_CELLS else 0
        bar_cells = max(width - fixed - detail_cells - 1, 0)
        root = self.rows[0].span
        total = max(root.duration_us, 1)
        muted = self.get_visual_style("waterfall--muted", partial=True)
        track = self.get_visual_style("waterfall--track", partial=True)
        lines: list[Content] = []
        for row in self.rows:
            span = row.span
            failed = span.status == SpanStatus.ERROR
            style = self.get_visual_style("waterfall--error" if failed else f"waterfall--{span.kind}", partial=True)
            name = (" " * row.depth + span_label(span))[: name_cells - 1].ljust(name_cells)
            parts: list[str | Content | tuple[str, Any]] = [(name, style if span.kind != SpanKind.PHASE else muted)]
            if bar_cells >= MIN_BAR_CELLS:
                start = min(int((span.start_us - root.start_us) / total * bar_cells), bar_cells - 1)
                length = max(round(span.duration_us / total * bar_cells), 1)
                length = min(length, bar_cells - start)
                parts += [
                    ("·" * start, track),
                    ("█" * length, style),
                    ("·" * (bar_cells - start - length), track),
                    " ",
                ]
            parts.append(f"{figures.duration_ms(span.duration_ms):>{DURATION_CELLS}} ")
            if detail_cells:
                parts.append((span_detail(span)[:DETAIL_CELLS], muted))
            lines.append(Content.assemble(*parts))
        return Content("\n").join(lines)


class TracesPane(VerticalScroll):
    """Where a turn's time and money went: one run's span waterfall, any run of the branch selectable."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "previous_run", "Earlier turn"),
        Binding("right_square_bracket", "next_run", "Later turn"),
        Binding("p", "toggle_phases", "Phases"),
    ]
    DEFAULT_CSS = """
    TracesPane { height: 1fr; padding: 0 1; }
    TracesPane > #traces-header { height: auto; margin-bottom: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.can_focus = True
        self.runs: list[RunIndex] = []
        self.selected: str | None = None
        """The run shown; None follows the newest."""
        self.show_phases = True
        self.context = PaneContext(session_id="", branch="")
        self._shown_run: str | None = None
        self._run_events: list[Event] = []
        self._kept: dict[str, list[Event]] = {}
        """Every run's events, kept only when the context cannot read ranges back."""
        self._stale = False
        """Something changed while the pane was off screen: draw when it is shown."""

    def compose(self) -> ComposeResult:
        yield Static(id="traces-header")
        yield Waterfall(id="traces-waterfall")

    def on_mount(self) -> None:
        self._draw()

    def on_show(self) -> None:
        if self._stale:
            self._draw()

    # ------------------------------------------------------------------------------------- pane
    def reset(self, events: Sequence[Event], context: PaneContext) -> None:
        self.context = context
        self.runs, self._kept = [], {}
        if self.selected is not None and not any(e.run_id == self.selected for e in events):
            self.selected = None
        self._shown_run, self._run_events = None, []
        self._index(events)
        self._load(self.shown_run_id, events)
        self._draw()

    def apply(self, events: Sequence[Event]) -> None:
        runs_before = len(self.runs)
        self._index(events)
        shown = self.shown_run_id
        if shown != self._shown_run:
            self._load(shown, events)
            self._draw()
            return
        kept_before = len(self._run_events)
        self._keep(e for e in events if e.run_id == shown)
        if len(self._run_events) != kept_before or len(self.runs) != runs_before:
            self._draw()

    # ---------------------------------------------------------------------------------- selection
    @property
    def shown_run_id(self) -> str | None:
        if self.selected is not None:
            return self.selected
        return self.runs[-1].run_id if self.runs else None

    def select_run(self, run_id: str | None) -> None:
        """Show ``run_id`` (None: follow the newest run)."""
        if run_id is not None and all(run.run_id != run_id for run in self.runs):
            return
        self.selected = run_id
        if self.shown_run_id != self._shown_run:  # the run shown already holds its events
            self._load(self.shown_run_id, ())
        self._draw()

    def select_seq(self, seq: int) -> None:
        """Show the run that event ``seq`` belongs to (an event selected in the log or the chat)."""
        for run in self.runs:
            if run.first_seq <= seq <= run.last_seq:
                self.select_run(run.run_id)
                return

    def action_previous_run(self) -> None:
        position = self._position()
        if position is not None and position > 0:
            self.select_run(self.runs[position - 1].run_id)

    def action_next_run(self) -> None:
        position = self._position()
        if position is None:
            return
        if position + 1 >= len(self.runs) - 1:
            self.select_run(None)  # the newest: follow it again
        else:
            self.select_run(self.runs[position + 1].run_id)

    def action_toggle_phases(self) -> None:
        self.show_phases = not self.show_phases
        self._draw()

    def _position(self) -> int | None:
        shown = self.shown_run_id
        for position, run in enumerate(self.runs):
            if run.run_id == shown:
                return position
        return None

    # ------------------------------------------------------------------------------------- events
    def _index(self, events: Sequence[Event]) -> None:
        positions = {run.run_id: run for run in self.runs}
        for event in events:
            run_id = event.run_id
            if run_id is None:
                continue
            run = positions.get(run_id)
            if run is None:
                run = positions[run_id] = RunIndex(run_id, event.seq, event.seq)
                self.runs.append(run)
            run.last_seq = event.seq
            if event.kind == "user.message" and not run.prompt:
                run.prompt = str(event.payload_dict().get("content", ""))
            if self.context.read_range is None:
                self._kept.setdefault(run_id, []).append(event)

    def _load(self, run_id: str | None, events: Sequence[Event]) -> None:
        """Hold the events of ``run_id``: from ``events`` when they cover it, else read back."""
        self._shown_run, self._run_events = run_id, []
        if run_id is None:
            return
        run = next(r for r in self.runs if r.run_id == run_id)
        if events and events[0].seq <= run.first_seq:
            source: Sequence[Event] = events
        elif self.context.read_range is not None:
            source = self.context.read_range(run.first_seq - 1, run.last_seq)
        else:
            source = self._kept.get(run_id, [])
        self._keep(e for e in source if e.run_id == run_id)

    def _keep(self, events: Iterable[Event]) -> None:
        kept = self._run_events
        for event in events:
            if event.kind in DELTA_KINDS and kept and kept[-1].kind in DELTA_KINDS:
                continue
            kept.append(event)

    # ------------------------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        if not self.is_mounted:
            return
        if not self.is_on_screen:
            self._stale = True
            return
        self._stale = False
        spans = spans_for_run(self._run_events, self._shown_run) if self._shown_run else []
        show_content(self.query_one("#traces-header", Static), self._header(spans))
        self.query_one(Waterfall).show(waterfall_rows(spans, phases=self.show_phases))

    def _header(self, spans: list[Span]) -> Content:
        position = self._position()
        if position is None or not spans:
            return Content.styled("Traces: no turn yet", "$text-muted")
        run, root = self.runs[position], spans[0]
        prompt = run.prompt.splitlines()[0] if run.prompt else "(no prompt)"
        status = (
            "running" if root.attributes.get("life.in_progress") else str(root.attributes.get("life.run.reason", ""))
        )
        following = "following" if self.selected is None else "[ ] turns"
        return Content.assemble(
            (f"turn {position + 1}/{len(self.runs)} ", "bold $text-accent"),
            (f"{prompt[:60]}\n", "$text"),
            (
                f"{figures.duration_ms(root.duration_ms)} · {status} · {span_detail(root)}"
                f" · {_int(root.attributes.get('life.tool_calls'))} tool call(s) · {following}",
                "$text-muted",
            ),
        )
