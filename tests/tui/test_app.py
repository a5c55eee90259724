"""The workstation end to end under Pilot: a prompt streams into the chat, a tool needs approval, slash
commands, themes, panes and a clean quit; each test checks the widgets and the journal."""

from __future__ import annotations

from pathlib import Path

from app_support import call, workstation
from textual.widgets import Static

from life_tui.runtime.providers.scripted import ScriptedTurn
from life_tui.tui.widgets.chat import ChatPane
from life_tui.tui.widgets.chat_blocks import TextBlock, ToolCard, UserBlock
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
        for _ in range(200):  # until the card's prompt is on screen and focused (no fixed sleep)
            await ws.pilot.pause()
            prompts = ws.app.query_one(ChatPane).open_prompts()
            if prompts and ws.app.focused is prompts[0]:
                break
        else:
            raise AssertionError("the approval prompt never got the focus")
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
        for _ in range(200):
            await ws.pilot.pause()
            if ws.app.query_one(ChatPane).open_prompts():
                break
        ws.app.query_one(ChatPane).open_prompts()[0].focus()
        await ws.pilot.press("n")
        await ws.settle()
        assert "approval.denied" in ws.kinds() and "file.written" not in ws.kinds()
        assert (ws.rig.workspace / "notes.md").read_text() == "v1\n"
        assert ws.app.query_one(ToolCard).query_one(".tool--header", Static).render()
