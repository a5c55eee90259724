"""The event log keeps the tail in view while it follows, and grows without laying out the screen."""

from __future__ import annotations

from collections.abc import Callable

from history_support import Host
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static
from vitals_support import EventMaker, context
from waits import until

from life_tui.kernel.event import Event
from life_tui.tui.widgets.event_log import EventLogPane, EventRows


def events(maker: EventMaker, count: int) -> list[Event]:
    return [maker("user.message", {"content": f"message {i}"}) for i in range(count)]


async def test_a_branch_longer_than_the_view_opens_on_its_last_row() -> None:
    maker = EventMaker()
    pane = EventLogPane()
    async with Host(pane).run_test(size=(90, 16)) as pilot:
        pane.reset(events(maker, 60), context())  # first overflow: the scrollbar arrives with the next layout
        rows = pane.query_one(EventRows)
        await until(pilot, lambda: rows.scroll_y == rows.max_scroll_y > 0, "the view to settle on the tail")
        assert rows.selected_seq == 60 and rows.follow
        last = rows.render_line(rows.scrollable_content_region.height - 1).text
        assert last.lstrip().startswith("60 ")


async def test_live_rows_keep_the_tail_in_view_without_a_layout() -> None:
    maker = EventMaker()
    pane = EventLogPane()
    async with Host(pane).run_test(size=(90, 16)) as pilot:
        pane.reset(events(maker, 60), context())
        rows = pane.query_one(EventRows)
        # Measure from a view that has had its layout (the scrollbar) and settled on the tail.
        await until(pilot, lambda: rows.scroll_y == rows.max_scroll_y > 0, "the view to settle on the tail")
        status = pane.query_one("#event-log-status", Static)
        layouts: list[str] = []
        for widget in (rows, status):
            original = widget.refresh

            def spy(*regions: Region, original: Callable[..., Widget] = original, **flags: bool) -> Widget:
                if flags.get("layout"):
                    layouts.append(type(original.__self__).__name__)  # type: ignore[attr-defined]
                return original(*regions, **flags)

            widget.refresh = spy  # type: ignore[method-assign]
        for _ in range(5):
            pane.apply(events(maker, 3))
            assert rows.scroll_y == rows.max_scroll_y
        await pilot.pause()
        assert layouts == []  # the rows grew and the status changed, and the screen was not laid out for it
        assert rows.selected_seq == 75
        assert rows.render_line(rows.scrollable_content_region.height - 1).text.lstrip().startswith("75 ")
        assert "event 75/75" in str(status.render())
