"""The workstation end to end under Pilot: a prompt streams into the chat, a tool needs approval, slash
commands, themes, panes and a clean quit; each test checks the widgets and the journal."""

from __future__ import annotations

from pathlib import Path

from app_support import call, workstation

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
