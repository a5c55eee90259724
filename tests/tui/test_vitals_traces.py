"""The traces pane: the waterfall of a turn recorded by the real loop (phases, provider calls with tokens
and cost, tool calls), turn selection, reading an older turn back by range, following the newest, replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.rig import RuntimeRig, open_rig
from textual.app import App, ComposeResult
from textual.widgets import Static

from life_tui.kernel.event import Event
from life_tui.observability.spans import SpanKind, spans_for_run
from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedTurn
from life_tui.tui.panes import PaneContext
from life_tui.tui.widgets.traces import TracesPane, Waterfall, waterfall_rows


class TracesApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TracesPane(id="traces")


@pytest.fixture
async def recorded(tmp_path: Path) -> list[Event]:
    """Two turns through the real loop: one reads a file (two provider calls), one just answers."""
    async with open_rig(RuntimeRig, tmp_path, {"notes.txt": "hello\n"}) as rig:
        session, _ = await rig.session(
            ScriptedTurn(
                text="reading",
                tool_calls=[ScriptedCall(name="read_file", arguments={"path": "notes.txt"})],
                cost_usd=0.01,
            ),
            ScriptedTurn(text="it says hello", cost_usd=0.02),
            ScriptedTurn(text="bye", chunk_chars=1),
        )
        await session.submit("what is in notes.txt?")
        await session.submit("thanks")
        return rig.events(session)


def plain(app: App[None], selector: str) -> str:
    widget = app.query_one(selector)
    content = widget.content if isinstance(widget, Static) else widget.render()
    return str(content)


def test_rows_nest_calls_under_their_phases_or_under_the_turn(recorded: list[Event]) -> None:
    runs = [e.run_id for e in recorded if e.kind == "run.started"]
    spans = spans_for_run(recorded, runs[0])
    rows = waterfall_rows(spans)
    assert rows[0].span.kind == SpanKind.INVOKE_AGENT and rows[0].depth == 0
    chat_rows = [r for r in rows if r.span.kind == SpanKind.CHAT]
    tool_rows = [r for r in rows if r.span.kind == SpanKind.EXECUTE_TOOL]
    assert len(chat_rows) == 2 and len(tool_rows) == 1
    assert {r.depth for r in chat_rows + tool_rows} == {2}  # under the provider / tools phases
    starts = [r.span.start_us for r in rows if r.depth == 1]
    assert starts == sorted(starts)
    flat = waterfall_rows(spans, phases=False)
    assert [r.span.kind for r in flat] == [SpanKind.INVOKE_AGENT, SpanKind.CHAT, SpanKind.EXECUTE_TOOL, SpanKind.CHAT]
    assert {r.depth for r in flat[1:]} == {1}


async def test_the_newest_turn_is_followed_and_older_ones_are_read_back(recorded: list[Event]) -> None:
    reads: list[tuple[int, int]] = []

    def read_range(after: int, through: int) -> list[Event]:
        reads.append((after, through))
        return [e for e in recorded if after < e.seq <= through]

    ctx = PaneContext(session_id=recorded[0].session_id, branch="main", read_range=read_range)
    app = TracesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(TracesPane)
        pane.reset(recorded, ctx)
        await pilot.pause()
        header = plain(app, "#traces-header")
        assert header.startswith("turn 2/2 thanks") and "final_answer" in header and "following" in header
        deltas = [e for e in pane._run_events if e.kind == "assistant.text_delta"]
        assert len(deltas) == 1  # "bye" streamed as three deltas; only the first is kept
        pane.focus()
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert pane.selected == pane.runs[0].run_id
        first = pane.runs[0]
        assert reads == [(first.first_seq - 1, first.last_seq)]
        header = plain(app, "#traces-header")
        assert header.startswith("turn 1/2 what is in notes.txt?") and "$0.0300" in header
        waterfall = plain(app, "#traces-waterfall")
        assert "  tool read_file " in waterfall
        chat_lines = [line for line in waterfall.splitlines() if "chat scripted" in line]
        assert len(chat_lines) == 2 and "$0.0100" in chat_lines[0] and "$0.0200" in chat_lines[1]
        await pilot.press("p")
        assert "phase provider" not in plain(app, "#traces-waterfall")
        await pilot.press("p", "right_square_bracket")
        await pilot.pause()
        assert pane.selected is None and plain(app, "#traces-header").startswith("turn 2/2")


async def test_a_pinned_turn_stays_while_a_new_one_streams_in(recorded: list[Event]) -> None:
    second_start = next(e.seq for e in recorded if e.kind == "user.message" and e.seq > 2)
    app = TracesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(TracesPane)
        pane.reset(recorded[: second_start - 1], PaneContext(session_id="s", branch="main"))
        first = pane.shown_run_id
        pane.select_run(first)
        for event in recorded[second_start - 1 :]:
            pane.apply([event])
        await pilot.pause()
        assert pane.shown_run_id == first and len(pane.runs) == 2
        pane.select_run(None)  # without read_range the pane kept every run's events
        await pilot.pause()
        assert plain(app, "#traces-header").startswith("turn 2/2 thanks")


async def test_replay_mid_turn_shows_the_spans_so_far(recorded: list[Event]) -> None:
    tool_started = next(e.seq for e in recorded if e.kind == "tool.call_started")
    app = TracesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(TracesPane)
        pane.reset(recorded[:tool_started], PaneContext(session_id="s", branch="main"))
        await pilot.pause()
        header = plain(app, "#traces-header")
        assert header.startswith("turn 1/1") and "running" in header
        tool_line = next(line for line in plain(app, "#traces-waterfall").splitlines() if "read_file" in line)
        assert tool_line.rstrip().endswith("running")
        pane.reset([], PaneContext(session_id="s", branch="main"))
        await pilot.pause()
        assert plain(app, "#traces-waterfall") == "no turn to trace yet"
        assert isinstance(app.query_one("#traces-waterfall"), Waterfall)
