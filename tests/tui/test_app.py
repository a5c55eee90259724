"""The workstation end to end under Pilot: a prompt streams into the chat, a tool needs approval, slash
commands, themes, panes and a clean quit; each test checks the widgets and the journal."""

from __future__ import annotations

from pathlib import Path

from app_support import call, workstation
from textual.widgets import DataTable, Static

from life_tui.runtime.config import Settings
from life_tui.runtime.providers.scripted import ScriptedTurn
from life_tui.tui.screens.help import HelpScreen
from life_tui.tui.widgets.chat import ChatPane
from life_tui.tui.widgets.chat_blocks import TextBlock, ToolCard, UserBlock
from life_tui.tui.widgets.event_log import EventRows
from life_tui.tui.widgets.prompt_input import PromptInput
from life_tui.tui.widgets.status_bar import StatusBar


async def test_a_prompt_streams_into_the_chat_and_the_journal(tmp_path: Path) -> None:
    turn = ScriptedTurn(text="Hello **there**, this answer streams.", chunk_chars=5, cost_usd=0.25)
    async with workstation(tmp_path, turn) as ws:
        await ws.pilot.press(*"hi", "enter")
        await ws.settle()
        chat = ws.app.query_one(ChatPane)
        users = list(chat.query(UserBlock))
        texts = list(chat.query(TextBlock))
        assert [u.content for u in users] == ["hi"] or [str(u.render()) for u in users] == ["hi"]
        assert len(texts) == 1 and texts[0].shown == "Hello **there**, this answer streams."
        kinds = ws.kinds()
        assert kinds.count("assistant.text_delta") >= 5
        assert "user.message" in kinds and kinds[-1] == "run.finished"
        assert ws.app.query_one(PromptInput).text == ""
        status = ws.app.query_one(StatusBar)
        assert status.facts.cost_usd == 0.25
        assert "$0.2500" in str(status.render())


def _writes_then_answers() -> list[ScriptedTurn]:
    return [
        ScriptedTurn(text="I will write it.", tool_calls=[call("write_file", path="notes.md", content="v2\n")]),
        ScriptedTurn(text="Done."),
    ]


async def test_an_approval_is_answered_inline_and_recorded(tmp_path: Path) -> None:
    async with workstation(tmp_path, *_writes_then_answers(), files={"notes.md": "v1\n"}) as ws:
        await ws.pilot.press(*"write notes", "enter")

        def prompt_focused() -> bool:
            prompts = ws.app.query_one(ChatPane).open_prompts()
            return bool(prompts) and ws.app.focused is prompts[0]

        await ws.until(prompt_focused, "the approval prompt to get the focus")
        prompts = ws.app.query_one(ChatPane).open_prompts()
        shown = " ".join(str(s.render()) for s in prompts[0].query(Static))
        assert '"path": "notes.md"' in shown and '"content": "v2\\n"' in shown
        await ws.pilot.press("y")
        await ws.settle()
        kinds = ws.kinds()
        assert kinds.index("approval.requested") < kinds.index("approval.granted") < kinds.index("file.written")
        granted = [e for e in ws.session.journal.read(ws.session.session_id) if e.kind == "approval.granted"]
        assert granted[0].payload_dict()["scope"] == "once"
        card = ws.app.query_one(ToolCard)
        assert card.prompt is None and "granted (once)" in str(card.header.render())
        diff = str(card.query_one(".tool--diff", Static).render())
        assert "-v1" in diff and "+v2" in diff and "b/notes.md" in diff
        assert (ws.rig.workspace / "notes.md").read_text() == "v2\n"
        assert ws.app.focused is ws.app.query_one(PromptInput).area


async def test_a_denied_call_is_not_run(tmp_path: Path) -> None:
    async with workstation(tmp_path, *_writes_then_answers(), files={"notes.md": "v1\n"}) as ws:
        await ws.pilot.press(*"write notes", "enter")
        await ws.until(lambda: ws.app.query_one(ChatPane).open_prompts(), "the approval prompt")
        ws.app.query_one(ChatPane).open_prompts()[0].focus()
        await ws.pilot.press("n")
        await ws.settle()
        assert "approval.denied" in ws.kinds() and "file.written" not in ws.kinds()
        assert (ws.rig.workspace / "notes.md").read_text() == "v1\n"
        assert ws.app.query_one(ToolCard).query_one(".tool--header", Static).render()


async def test_slash_commands_switch_theme_branch_and_report_cost(tmp_path: Path) -> None:
    turns = [ScriptedTurn(text="one", cost_usd=0.5), ScriptedTurn(text="on the fork")]
    async with workstation(tmp_path, *turns) as ws:
        app = ws.app
        await ws.pilot.press(*"first", "enter")
        await ws.settle()
        await ws.pilot.press(*"/theme light", "enter")
        await ws.until(lambda: app.theme == "life-light", "/theme light to switch the theme")
        head = ws.session.journal.head(ws.session.session_id, "main")
        await ws.pilot.press(*f"/branch {head}", "enter")
        await ws.until(lambda: app.session is not None and app.session.branch == "fork-1", "the fork to be shown")
        await ws.settle()
        assert app.query_one(StatusBar).context.branch == "fork-1"
        await ws.pilot.press(*"second", "enter")
        await ws.settle()
        fork = ws.session.journal.read(ws.session.session_id, "fork-1", after=head)
        assert [e.payload_dict()["content"] for e in fork if e.kind == "user.message"] == ["second"]
        texts = [b.shown for b in app.query_one(ChatPane).query(TextBlock)]
        assert texts == ["one", "on the fork"]  # the fork shows the inherited turn and its own
        await ws.pilot.press(*"/cost", "enter")
        await ws.pilot.press(*"/nonsense", "enter")

        def told(text: str) -> bool:
            return any(text in str(n.message) for n in app._notifications)

        await ws.until(lambda: told("$0.5000") and told("unknown command /nonsense"), "both commands' notes")


async def test_the_help_screen_lists_remapped_keys_and_the_palette_every_action(tmp_path: Path) -> None:
    settings = Settings(tui={"keys": {"help": "f5"}, "theme": "life-high-contrast"})
    async with workstation(tmp_path, settings=settings) as ws:
        app = ws.app
        assert app.theme == "life-high-contrast"
        await ws.pilot.press("f1")  # no longer bound
        await ws.pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await ws.pilot.press("f5")
        await ws.until(lambda: isinstance(app.screen, HelpScreen), "the help screen")
        table = app.screen.query_one("#help-keys", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert ("app", "F5", "Help") in [tuple(r) for r in rows]
        assert any(r[2] == "Approve once" for r in rows) or any(r[1] == "Ctrl+Q" for r in rows)
        await ws.pilot.press("escape")
        await ws.until(lambda: not isinstance(app.screen, HelpScreen), "the help screen to close")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Quit", "Help", "Event log", "Vitals", "Full screen", "/theme", "/branch", "/replay"} <= titles


async def test_narrow_terminals_show_the_chat_and_toggle_panes(tmp_path: Path) -> None:
    async with workstation(tmp_path, size=(80, 24)) as ws:
        app = ws.app
        assert app.query_one("#side").has_class("-hidden")
        await ws.pilot.press("f2")
        await ws.until(lambda: not app.query_one("#side").has_class("-hidden"), "F2 to show the side column")
        assert app.query_one("#vitals").has_class("-hidden")
        await ws.pilot.press("f11")
        await ws.until(lambda: app.screen.maximized is app.query_one("#chat-column"), "F11 to maximise the chat")
        await ws.pilot.press("f11")
        await ws.until(lambda: app.screen.maximized is None, "F11 to restore the layout")


async def test_ctrl_q_cancels_the_turn_and_leaves_the_journal_consistent(tmp_path: Path) -> None:
    slow = ScriptedTurn(text="x" * 400, chunk_chars=2, delay_ms=20)
    async with workstation(tmp_path, slow) as ws:
        await ws.pilot.press(*"go", "enter")
        await ws.until(lambda: "assistant.text_delta" in ws.kinds(), "the answer to start streaming")
        await ws.pilot.press("ctrl+q")
        await ws.pilot.pause()
        assert ws.app.session is None and not ws.session.running
        kinds = ws.kinds()
        finished = [e for e in ws.session.journal.read(ws.session.session_id) if e.kind == "run.finished"]
        assert kinds[-1] == "run.finished" and finished[0].payload_dict()["reason"] == "cancelled"
        assert ws.app._exit


async def test_an_event_log_hidden_while_events_arrive_shows_the_tail_when_shown_again(tmp_path: Path) -> None:
    turns = [ScriptedTurn(text=f"answer {i}") for i in range(4)]
    async with workstation(tmp_path, *turns) as ws:
        app = ws.app
        await ws.pilot.press("f2")
        await ws.until(lambda: app.query_one("#events").has_class("-hidden"), "F2 to hide the event log")
        for i in range(4):
            await ws.session.submit(f"question {i}")
        await ws.settle()
        rows = app.query_one(EventRows)
        assert rows.window.rows > 40  # more rows than the pane can show
        await ws.pilot.press("f2")
        await ws.until(lambda: not app.query_one("#events").has_class("-hidden"), "F2 to show the event log")

        def last_row() -> str:
            return rows.render_line(rows.scrollable_content_region.height - 1).text

        await ws.until(lambda: "run.finished" in last_row(), "the revealed log to show its tail")
        assert rows.follow and rows.scroll_y == rows.max_scroll_y
