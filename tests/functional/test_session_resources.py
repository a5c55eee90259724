"""Sessions of one lineage share their provider: a fork and its parent can be closed in either order, and
the provider is closed once, by the last of them (front ends close the branch they leave)."""

from __future__ import annotations

from pathlib import Path

import pytest

from life_tui.journal.store import Journal, JournalOptions
from life_tui.runtime.providers.scripted import Script, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session


class Tracked(ScriptedProvider):
    closed = 0

    async def aclose(self) -> None:
        self.closed += 1


@pytest.mark.parametrize("parent_first", [True, False])
async def test_the_last_session_of_a_lineage_closes_the_provider(tmp_path: Path, parent_first: bool) -> None:
    provider = Tracked(Script(turns=[ScriptedTurn(text="hi"), ScriptedTurn(text="again")]))
    journal = Journal.open(tmp_path / "journal", options=JournalOptions(background=False))
    try:
        parent = await Session.create(journal, name="lineage", workspace=tmp_path, provider=provider)
        await parent.submit("hello")
        fork = await parent.fork(journal.head(parent.session_id), "alt")
        first, second = (parent, fork) if parent_first else (fork, parent)
        await first.close()
        assert provider.closed == 0
        assert (await second.submit("still there?")).final_answer == "again"
        await second.close()
        assert provider.closed == 1
    finally:
        journal.close()


async def test_switching_provider_closes_the_old_one_only_when_unshared(tmp_path: Path) -> None:
    first = Tracked(Script(turns=[ScriptedTurn(text="hi")]))
    journal = Journal.open(tmp_path / "journal", options=JournalOptions(background=False))
    try:
        parent = await Session.create(journal, name="switch", workspace=tmp_path, provider=first)
        fork = await parent.fork(journal.head(parent.session_id), "alt")
        await fork.switch_provider(Tracked(Script(turns=[])))
        assert first.closed == 0  # the parent still uses it
        await parent.switch_provider(Tracked(Script(turns=[])))
        assert first.closed == 1
        await fork.close()
        await parent.close()
    finally:
        journal.close()
