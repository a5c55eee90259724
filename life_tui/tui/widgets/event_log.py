"""The event log pane: every event of the shown branch, one line each, virtualised.

``EventRows`` is a Line API widget (``ScrollView`` + ``render_line``): it draws only the visible lines
and fetches their events by seq range through :class:`EventWindow`, so a million-event branch costs a few
ranged reads, never a million widgets. Rows inherited from a parent branch (seq at or before the fork
point) carry a marker. The cursor follows the tail while it sits on the last row; moving it posts
:class:`EventSelected`; Enter opens the event's JSON; ``b`` asks the app to branch there. ``/`` opens the
filter (``kind:tool. text``), which builds an index of matching seqs in a thread worker.

Live batches arrive up to 30 times a second while an answer streams, so growing the log stays off the
layout path (issue 6: no frame over 50 ms): the rows keep their size and only the scroll range grows
(:meth:`EventRows._resize`), and the status line has a fixed height and is redrawn only when its text
changes.

:class:`EventLogPane` is the pane the app composes (the Pane protocol: ``reset`` + ``apply``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from life_tui.kernel.event import Event
from life_tui.tui.messages import BranchAtRequested, EventSelected
from life_tui.tui.panes import PaneContext
from life_tui.tui.widgets.event_source import EventFilter, EventWindow, HeldEvents, scan_index
from life_tui.tui.widgets.event_summary import summary
from life_tui.tui.widgets.redraw import show_content

KIND_WIDTH = 24
INHERITED_MARK = "┆"
LINE_CACHE = 256
SQL_FILTER_FROM = 100_000
"""From this many events a filter's index is asked of DuckDB (``journal.sql.matching_seqs``: 0.3-0.6 s over
a million events) instead of scanned here (about 3.5 s); below it the scan is quicker than DuckDB's start."""
"""Drawn rows kept for redrawing (a few pages). Each is a Textual Strip of ~15 objects that every full
garbage collection walks, so a larger cache makes the collector's pauses longer while an answer streams."""


def _clock(occurred_at: int) -> str:
    return datetime.fromtimestamp(occurred_at / 1_000_000, UTC).strftime("%H:%M:%S")


class EventRows(ScrollView, can_focus=True):
    """The rows themselves; the pane around it owns the filter and the status line."""

    DEFAULT_CSS = """
    EventRows { background: $surface; overflow-x: hidden; }
    EventRows > .event-rows--cursor { background: $accent 40%; text-style: bold; }
    EventRows > .event-rows--inherited { color: $text-muted; }
    EventRows > .event-rows--kind { color: $secondary; }
    EventRows > .event-rows--seq { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-rows--cursor",
        "event-rows--inherited",
        "event-rows--kind",
        "event-rows--seq",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last (follow)", show=False),
        Binding("enter", "open", "Event JSON"),
        Binding("b", "branch", "Branch here"),
        Binding("R", "app.rewind", "Rewind files to here"),
    ]

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        held = HeldEvents()
        self.window = EventWindow(held.read, 0)
        self.cursor = -1
        """The selected row (-1: none, an empty branch)."""
        self.follow = True
        """Stay on the last row as events arrive (on while the cursor is there)."""
        self.inherited_through = 0
        self._palette: _Palette | None = None
        self._prefetching: set[int] = set()
        self._laid_out = True
        """False from a scroll-range change that needs a layout until that layout is done: a scroll asked
        for in between is refused (the scrollbar is not there yet), so following the tail retries after it."""
        self._lines: LRUCache[tuple[int, int, int, int], Strip] = LRUCache(LINE_CACHE)

    # ----------------------------------------------------------------------------------- data
    def show(self, window: EventWindow, inherited_through: int, *, keep_seq: int | None = None) -> None:
        """Show ``window`` (a new branch, a replay point, a new filter); the cursor goes to ``keep_seq``'s
        row, or to the end when following."""
        if window is not self.window:
            self._lines.clear()  # a seq names another event in another branch
        self.window = window
        self.inherited_through = inherited_through
        self._resize()
        row = window.row_of(keep_seq) if keep_seq is not None and not self.follow else None
        self.move_to(row if row is not None else window.rows - 1, scroll_tail=True)

    def grew(self) -> None:
        """The window gained rows: follow the tail if the cursor was on it."""
        self._resize()
        if self.follow:
            self.move_to(self.window.rows - 1, scroll_tail=True)
        else:
            self.refresh()

    def _resize(self) -> None:
        """Set the scroll range to the window's rows. A layout (of the whole screen) is needed only when the
        rows start or stop overflowing the view (the scrollbar appears or goes); otherwise only the range
        and the scrollbar change, and those are updated in place."""
        size = Size(self.size.width, self.window.rows)
        if size == self.virtual_size:
            return
        height = self.size.height
        overflow_unchanged = (size.height > height) == (self.virtual_size.height > height)
        if self.is_mounted and height and size.width == self.virtual_size.width and overflow_unchanged:
            self.set_reactive(EventRows.virtual_size, size)
            self._scroll_update(size)
        else:
            self.virtual_size = size
            self._laid_out = False

    @property
    def selected_seq(self) -> int | None:
        return self.window.seq_at(self.cursor) if 0 <= self.cursor < self.window.rows else None

    def selected_event(self) -> Event | None:
        seq = self.selected_seq
        return self.window.event(seq) if seq is not None else None

    # ----------------------------------------------------------------------------------- cursor
    def move_to(self, row: int, *, scroll_tail: bool = False) -> None:
        rows = self.window.rows
        new = max(0, min(row, rows - 1)) if rows else -1
        changed = new != self.cursor
        self.cursor = new
        self.follow = rows == 0 or new == rows - 1
        height = max(self.scrollable_content_region.height, 1)
        top = int(self.scroll_y)
        if scroll_tail and self.follow:
            self.scroll_to(y=max(rows - height, 0), animate=False, immediate=True)
            if not self._laid_out:
                self.call_after_refresh(self._settle_on_tail)
        elif new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        self.refresh()
        self._prefetch(height)
        seq = self.selected_seq
        if changed and seq is not None:
            self.post_message(EventSelected(seq))

    def on_resize(self) -> None:
        """Shown again (or resized) while following: the tail, not the top. Rows that arrived while the pane
        was hidden were scrolled to with no height to scroll in."""
        if self.follow and self.window.rows and self.size.height:
            self.call_after_refresh(self._settle_on_tail)

    def _settle_on_tail(self) -> None:
        """After the layout a new scroll range needed: if the cursor still follows the tail, show it."""
        self._laid_out = True
        if self.follow and self.scroll_y != self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def _prefetch(self, height: int) -> None:
        """Read the block the next page in either direction needs before the cursor gets there, off the UI
        thread, so crossing into it costs a draw, not a Parquet row-group read."""
        window = self.window
        start = window.block_to_prefetch(self.cursor, 2 * height) if self.cursor >= 0 else None
        if start is not None and start not in self._prefetching:
            self._prefetching.add(start)

            def load() -> None:
                try:
                    window.load_block(start)
                finally:
                    self._prefetching.discard(start)

            self.run_worker(load, thread=True, group="event-log-prefetch", name=f"prefetch {start}")

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(self.scrollable_content_region.height - 1, 1))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.window.rows - 1, scroll_tail=True)

    def action_open(self) -> None:
        event = self.selected_event()
        if event is not None:
            from life_tui.tui.screens.event_detail import EventDetailScreen

            self.app.push_screen(EventDetailScreen(event, inherited=event.seq <= self.inherited_through))

    def action_branch(self) -> None:
        seq = self.selected_seq
        if seq is not None:
            self.post_message(BranchAtRequested(seq))

    # ----------------------------------------------------------------------------------- drawing
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._palette = None
        self._lines.clear()

    def _styles(self) -> _Palette:
        """The row styles, resolved once (resolving a widget's style costs ~0.3 ms; a frame draws 50 rows)."""
        if self._palette is None:
            base = self.rich_style
            self._palette = _Palette(
                base=base,
                muted=base + self.get_component_rich_style("event-rows--inherited"),
                seq=base + self.get_component_rich_style("event-rows--seq"),
                kind=base + self.get_component_rich_style("event-rows--kind"),
                cursor=self.get_component_rich_style("event-rows--cursor"),
            )
        return self._palette

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = int(self.scroll_y) + y
        styles = self._styles()
        if not 0 <= row < self.window.rows:
            return Strip.blank(width, styles.base)
        seq = self.window.seq_at(row)
        key = (seq, width, self.inherited_through, len(str(self.window.head)))
        strip = self._lines.get(key)
        if strip is None:
            event = self.window.event(seq)
            if event is None:
                return Strip.blank(width, styles.base)
            strip = self._lines[key] = self._draw(event, width, styles)
        return strip.apply_style(styles.cursor) if row == self.cursor else strip

    def _draw(self, event: Event, width: int, styles: _Palette) -> Strip:
        digits = max(len(str(self.window.head)), 3)
        inherited = event.seq <= self.inherited_through
        text = styles.muted if inherited else styles.base
        used = digits + 2 + 9 + KIND_WIDTH + 1
        segments = [
            Segment(INHERITED_MARK if inherited else " ", text),
            Segment(f"{event.seq:>{digits}} ", styles.seq),
            Segment(f"{_clock(event.occurred_at)} ", text),
            Segment(f"{event.kind[:KIND_WIDTH]:<{KIND_WIDTH}} ", styles.kind),
            Segment(summary(event, max(width - used, 0)), text),
        ]
        return Strip(segments).crop_extend(0, width, styles.base)


@dataclass(frozen=True)
class _Palette:
    base: Style
    muted: Style
    seq: Style
    kind: Style
    cursor: Style


class EventLogPane(Vertical):
    """The event log pane: a filter line, the rows and a status line. Implements the Pane protocol."""

    DEFAULT_CSS = """
    EventLogPane { height: 1fr; }
    EventLogPane > #event-filter { display: none; height: 3; }
    EventLogPane.-filtering > #event-filter { display: block; }
    EventLogPane > EventRows { height: 1fr; }
    EventLogPane > #event-log-status { height: 1; color: $text-muted; background: $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._pane = PaneContext(session_id="", branch="")
        self._held: HeldEvents | None = HeldEvents()
        self._window = EventWindow(self._held.read, 0)
        self.filter = EventFilter()
        self.indexing = False

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: kind:tool. kind:user.message words…  (Enter applies, Esc clears)", id="event-filter"
        )
        yield EventRows()
        yield Static("", id="event-log-status")

    @property
    def rows(self) -> EventRows:
        return self.query_one(EventRows)

    # ----------------------------------------------------------------------------------- Pane
    def reset(self, events: Sequence[Event], context: PaneContext) -> None:
        self._pane = context
        if context.read_range is not None and context.head is not None:
            self._held = None
            self._window = EventWindow(context.read_range, context.head())
        else:
            self._held = HeldEvents(events)
            self._window = EventWindow(self._held.read, self._held.head)
        self.rows.follow = True
        self._show()

    def apply(self, events: Sequence[Event]) -> None:
        if not events:
            return
        if self._held is not None:
            self._held.extend(events)
        if self.indexing:
            self._window.grow(events)  # the running scan restarts below and sees them
            self._start_index()
            return
        self._window.grow(events, self.filter if self.filter.active else None)
        self.rows.grew()
        self._update_status()

    # ----------------------------------------------------------------------------------- filter
    def _show(self, keep_seq: int | None = None) -> None:
        if self.filter.active:
            self._start_index(keep_seq)
        else:
            self._window.set_index(None)
            self.rows.show(self._window, self._pane.inherited_through, keep_seq=keep_seq)
            self._update_status()

    def set_filter(self, wanted: EventFilter) -> None:
        keep = self.rows.selected_seq
        self.filter = wanted
        self._show(keep)

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#event-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#event-filter", Input).value = ""
        self.remove_class("-filtering")
        self.set_filter(EventFilter())
        self.rows.focus()

    @on(Input.Submitted, "#event-filter")
    def _filter_submitted(self, submitted: Input.Submitted) -> None:
        submitted.stop()
        self.set_filter(EventFilter.parse(submitted.value))
        if not self.filter.active:
            self.remove_class("-filtering")
        self.rows.focus()

    def _start_index(self, keep_seq: int | None = None) -> None:
        self.indexing = True
        self._update_status()
        self._build_index(self._window, self.filter, keep_seq)

    @work(thread=True, exclusive=True, group="event-log-filter")
    def _build_index(self, window: EventWindow, wanted: EventFilter, keep_seq: int | None) -> None:
        worker = get_current_worker()

        def cancelled() -> bool:
            return worker.is_cancelled or not self.is_running  # superseded, or the pane is being removed

        def progress(done: int, total: int) -> None:
            if not cancelled():
                self.app.call_from_thread(self._show_progress, f"filtering… {done * 100 // max(total, 1)}%")

        seqs = self._indexed_by_sql(window, wanted)
        if seqs is None:
            seqs = scan_index(window.read_range, window.head, wanted, progress=progress, cancelled=cancelled)
        if seqs is not None and not cancelled():
            self.app.call_from_thread(self._index_ready, window, wanted, seqs, keep_seq)

    def _indexed_by_sql(self, window: EventWindow, wanted: EventFilter) -> list[int] | None:
        """The index from the journal's SQL views, for a long branch of a journal the pane knows; None: scan."""
        journal = self._pane.extras.get("journal")
        if journal is None or not self._pane.session_id or window.head < SQL_FILTER_FROM:
            return None
        from life_tui.errors import LifeError
        from life_tui.journal.sql import matching_seqs

        try:
            return matching_seqs(
                journal,
                self._pane.session_id,
                self._pane.branch,
                kinds=wanted.kinds,
                text=wanted.text,
                through=window.head,
            )
        except (LifeError, OSError) as exc:  # a segment that cannot be read this way: the scan still can
            self.log.warning(f"the SQL filter failed, scanning instead: {exc}")
            return None

    def _show_progress(self, note: str) -> None:
        if self.is_running:  # checked on the UI thread: the pane may have begun to close since the scan asked
            self._update_status(note)

    def _index_ready(self, window: EventWindow, wanted: EventFilter, seqs: list[int], keep_seq: int | None) -> None:
        if not self.is_running:
            return  # the pane is being removed (the app shuts down): its rows may already be gone
        if window is not self._window or wanted != self.filter:
            return  # a newer reset or filter superseded this scan
        self.indexing = False
        window.set_index(seqs)
        self.rows.show(window, self._pane.inherited_through, keep_seq=keep_seq)
        self._update_status()

    # ----------------------------------------------------------------------------------- status
    def _update_status(self, note: str | None = None) -> None:
        rows = self.rows
        seq = rows.selected_seq
        parts = [f"{self._pane.branch or '—'}", f"event {seq or 0}/{self._window.head}"]
        if self.filter.active:
            parts.append(f"filter {self.filter.describe()}: {self._window.rows if not self.indexing else '…'} match")
        if self._pane.inherited_through:
            parts.append(f"{INHERITED_MARK} inherited ≤ {self._pane.inherited_through}")
        parts.append("following" if rows.follow else "")
        if note or self.indexing:
            parts.append(note or "filtering…")
        status = self.query_one("#event-log-status", Static)
        show_content(status, " · ".join(p for p in parts if p), layout=False)  # one line of fixed height

    @on(EventSelected)
    def _selected(self, _message: EventSelected) -> None:
        self._update_status()  # the message goes on up to the app
