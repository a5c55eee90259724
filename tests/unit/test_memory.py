"""Memory: the fold of the five memory events (supersedes, tombstones, scopes, observations, reflections,
proposals), the shared memory branch, BM25 search, the context's memory block, and each memory tool's happy
path and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from life_tui.journal import Journal, JournalOptions
from life_tui.journal.view import SYSTEM_SESSION
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Actor, Event
from life_tui.runtime.projection import ConversationProjection
from life_tui.tools.memory import (
    MEMORY_BRANCH,
    MEMORY_FORGET,
    MEMORY_READ,
    MEMORY_SEARCH,
    MEMORY_TOOLS,
    MEMORY_WRITE,
    MemoryEntry,
    MemoryProjection,
    MemoryState,
    combined,
    fold_memory,
    is_shared,
    memory_block,
    record_shared,
    search,
    shared_memory,
)
from life_tui.tools.registry import ToolContext, ToolOutput, ToolRegistry


def commit(state: MemoryState, seq: int, memory_id: str, content: str, scope: str = "session", **kw: Any) -> None:
    fold_memory(state, "memory.committed", {"scope": scope, "memory_id": memory_id, "content": content, **kw}, seq, seq)


def ids(state: MemoryState, scope: str | None = None) -> list[str]:
    return [e.memory_id for e in state.entries(scope)]


# ---------------------------------------------------------------------------------------- the fold
def test_committed_entries_are_stored_with_their_text() -> None:
    state = MemoryState()
    commit(state, 1, "m1", "the build uses uv", tags=["build"])
    (entry,) = state.entries()
    assert (entry.memory_id, entry.scope, entry.content, entry.tags, entry.seq) == (
        "m1",
        "session",
        "the build uses uv",
        ["build"],
        1,
    )


def test_supersedes_replaces_and_a_chain_keeps_only_the_last() -> None:
    state = MemoryState()
    commit(state, 1, "m1", "python 3.11")
    commit(state, 2, "m2", "python 3.12", supersedes="m1")
    commit(state, 3, "m3", "python 3.13", supersedes="m2")
    assert ids(state) == ["m3"]
    assert state.status("m1") == "superseded by m2"
    assert state.find("m1") is None
    assert state.find("m3") is not None


def test_tombstones_remove_and_a_late_commit_of_a_tombstoned_id_stays_out() -> None:
    state = MemoryState()
    commit(state, 1, "m1", "a")
    commit(state, 2, "m2", "b")
    fold_memory(state, "memory.tombstoned", {"scope": "session", "memory_id": "m1", "reason": "wrong"}, 3)
    assert ids(state) == ["m2"]
    assert state.status("m1") == "forgotten: wrong"
    commit(state, 4, "m1", "a again")
    assert ids(state) == ["m2"]
    assert state.status("unknown") is None


def test_scopes_are_separate_and_listed_in_scope_order() -> None:
    state = MemoryState()
    commit(state, 1, "u1", "user fact", scope="user")
    commit(state, 2, "s1", "session fact")
    commit(state, 3, "o1", "org fact", scope="org")
    commit(state, 4, "s2", "supersedes across scopes does nothing", supersedes="u1")
    assert ids(state) == ["s1", "s2", "u1", "o1"]
    assert ids(state, "user") == ["u1"]
    assert ids(state, "agent") == []


def test_observations_reflections_and_proposals() -> None:
    state = MemoryState()
    for seq in (1, 2, 3):
        fold_memory(
            state,
            "memory.observation_appended",
            {"scope": "session", "observation_id": f"o{seq}", "text": f"saw {seq}", "tags": ["t"]},
            seq,
        )
    fold_memory(
        state, "memory.reflection_compacted", {"scope": "session", "summary": "saw 1-2", "covers_through_seq": 2}, 4
    )
    memory = state.scope("session")
    assert [o.observation_id for o in memory.observations] == ["o3"]
    assert memory.reflection is not None and memory.reflection.summary == "saw 1-2"
    fold_memory(state, "memory.proposed", {"scope": "session", "proposal_id": "p1", "entries": ["x", "y"]}, 5)
    assert state.scope("session").proposals == {"p1": ["x", "y"]}
    commit(state, 6, "m1", "x", proposal_id="p1")
    assert state.scope("session").proposals == {}
    assert fold_memory(state, "user.message", {"content": "ignored"}, 7) is state
    assert state.seq == 6


def test_the_conversation_fold_carries_session_memory_through_a_snapshot() -> None:
    projection = ConversationProjection()
    state = projection.initial()
    payloads: list[k.Payload] = [
        k.MemoryCommitted(scope="session", memory_id="m1", content="keep", tags=["a"]),
        k.MemoryCommitted(scope="session", memory_id="m2", content="newer", supersedes="m1"),
        k.MemoryCommitted(scope="session", memory_id="m3", content="gone"),
        k.MemoryTombstoned(scope="session", memory_id="m3", reason="obsolete"),
    ]
    for seq, p in enumerate(payloads, 1):
        event = Event(
            event_id=f"e{seq}", session_id="s", branch="main", seq=seq, kind=p.KIND, occurred_at=seq, payload=_raw(p)
        )
        state = projection.apply(state, event)
    assert ids(state.memory) == ["m2"]
    again = projection.decode(projection.encode(state))
    assert ids(again.memory) == ["m2"]
    assert again.memory.status("m3") == "forgotten: obsolete"


def _raw(payload: k.Payload) -> Any:
    import msgspec

    return msgspec.Raw(msgspec.json.encode(payload))


# ------------------------------------------------------------------------------------------- search
def test_bm25_ranks_by_term_rarity_and_frequency_and_ties_go_to_the_newer() -> None:
    entries = [
        MemoryEntry(memory_id="a", scope="session", content="deploys go through the staging cluster", seq=1),
        MemoryEntry(memory_id="b", scope="session", content="the staging cluster is slow; staging needs VPN", seq=2),
        MemoryEntry(memory_id="c", scope="session", content="lunch is at noon", seq=3),
        MemoryEntry(memory_id="d", scope="session", content="unrelated", seq=4, tags=["staging"]),
    ]
    ranked = search(entries, "Staging VPN")
    assert [e.memory_id for _, e in ranked] == ["b", "d", "a"]
    assert ranked[0][0] > ranked[1][0]
    assert search(entries, "nothing matches") == []
    assert search(entries, "...") == []
    assert search([], "x") == []
    same = [MemoryEntry(memory_id=i, scope="user", content="same words", seq=s) for i, s in (("old", 1), ("new", 2))]
    assert [e.memory_id for _, e in search(same, "words")] == ["new", "old"]
    assert len(search(entries, "staging", limit=1)) == 1


# -------------------------------------------------------------------------------------- memory block
def test_the_memory_block_lists_reflections_then_newest_entries_and_stops_between_entries() -> None:
    state = MemoryState()
    for seq in range(1, 41):
        commit(state, seq, f"m{seq:02d}", f"fact number {seq} " + "x" * 40)
    fold_memory(
        state, "memory.reflection_compacted", {"scope": "user", "summary": "the gist", "covers_through_seq": 0}, 41
    )
    block = memory_block(state, 800)
    assert block is not None
    lines = block.splitlines()
    assert lines[0].startswith("Memory: entries committed earlier")
    assert lines[1] == "[user reflection] the gist"
    assert lines[2].startswith("[session] m40: fact number 40")
    assert lines[-1].startswith("… ") and lines[-1].endswith(" more (memory_read)")
    assert len(block) <= 800 + len(lines[-1]) + 1
    assert memory_block(MemoryState(), 1000) is None
    tagged = MemoryState()
    commit(tagged, 1, "t", "with tags", tags=["a", "b"])
    assert "[session] t (tags: a, b): with tags" in (memory_block(tagged, 1000) or "")


def test_combined_takes_the_session_scope_from_the_session_and_the_rest_from_shared() -> None:
    session, shared = MemoryState(), MemoryState()
    commit(session, 1, "s", "mine")
    commit(session, 2, "stray", "a user entry recorded in the session", scope="user")
    commit(shared, 1, "u", "everyone's", scope="user")
    commit(shared, 2, "x", "another session's", scope="session")
    assert ids(combined(session, shared)) == ["s", "u"]


# ------------------------------------------------------------------------------------ shared memory
@pytest.fixture
def journal(tmp_path: Path) -> Any:
    j = Journal.open(tmp_path / "journal", options=JournalOptions(background=False))
    yield j
    j.close()


def test_shared_memory_lives_in_a_hidden_branch_created_on_first_use(journal: Journal) -> None:
    shared = shared_memory(journal)
    assert shared is shared_memory(journal)
    assert shared.state().entries() == []
    record_shared(journal, [k.MemoryCommitted(scope="user", memory_id="u1", content="prefers tabs")], run_id="r1")
    assert ids(shared.state()) == ["u1"]
    record_shared(journal, [k.MemoryCommitted(scope="user", memory_id="u2", content="prefers spaces", supersedes="u1")])
    record_shared(journal, [k.MemoryTombstoned(scope="user", memory_id="u2", reason="undecided")])
    assert ids(shared.state()) == []
    assert record_shared(journal, []) == []
    events = journal.read(SYSTEM_SESSION, MEMORY_BRANCH)
    assert [e.kind for e in events] == ["branch.created", "memory.committed", "memory.committed", "memory.tombstoned"]
    assert events[1].run_id == "r1" and events[1].actor == Actor.TOOL
    assert events[1].payload_dict()["content"] == "prefers tabs"
    assert all(s.session_id != SYSTEM_SESSION for s in journal.sessions())


def test_shared_memory_folds_from_a_snapshot_then_incrementally(journal: Journal) -> None:
    record_shared(journal, [k.MemoryCommitted(scope="org", memory_id=f"o{i}", content=f"fact {i}") for i in range(5)])
    first = shared_memory(journal).state()
    assert len(first.entries("org")) == 5
    # A second process view (a fresh SharedMemory) folds the branch from scratch and agrees.
    from life_tui.tools.memory import SharedMemory

    assert ids(SharedMemory(journal).state()) == ids(first)
    record_shared(journal, [k.MemoryCommitted(scope="agent", memory_id="a1", content="late")])
    assert ids(shared_memory(journal).state(), "agent") == ["a1"]
    projection = MemoryProjection()
    assert ids(projection.decode(projection.encode(first))) == ids(first)


def test_a_system_session_that_exists_already_is_reused(journal: Journal) -> None:
    journal.create_session("journal", session_id=SYSTEM_SESSION)
    record_shared(journal, [k.MemoryCommitted(scope="user", memory_id="u", content="c")])
    assert ids(shared_memory(journal).state()) == ["u"]


def test_is_shared() -> None:
    assert is_shared(k.MemoryCommitted(scope="user", memory_id="m", content="c"))
    assert is_shared(k.MemoryTombstoned(scope="org", memory_id="m"))
    assert not is_shared(k.MemoryCommitted(scope="session", memory_id="m", content="c"))
    assert not is_shared(k.SkillActivated(name="x", body="", source="tool"))
    assert not is_shared({"scope": "user"})


# --------------------------------------------------------------------------------------------- tools
@dataclass
class FakeState:
    memory: MemoryState = field(default_factory=MemoryState)


@dataclass
class Rig:
    """A session state and a journal; effects are applied the way the runtime records them."""

    journal: Journal
    state: FakeState = field(default_factory=FakeState)
    registry: ToolRegistry = field(default_factory=lambda: ToolRegistry(list(MEMORY_TOOLS)))
    seq: int = 0

    def ctx(self) -> ToolContext:
        return ToolContext(
            workspace=Path("."), session_id="s", call_id="c", state=lambda: self.state, journal=self.journal
        )

    async def run(self, name: str, **args: Any) -> ToolOutput:
        out = await self.registry.run(name, args, self.ctx())
        for effect in out.effects:
            if is_shared(effect):
                record_shared(self.journal, [effect])
            else:
                self.seq += 1
                data = {f: getattr(effect, f) for f in effect.__struct_fields__}
                fold_memory(self.state.memory, effect.KIND, data, self.seq, self.seq)
        return out


@pytest.fixture
def rig(journal: Journal) -> Rig:
    return Rig(journal)


async def test_memory_write_commits_real_entries(rig: Rig) -> None:
    out = await rig.run("memory_write", scope="session", content="  the tests run with pytest  ", tags=["tests", " "])
    assert not out.is_error
    (effect,) = out.effects
    assert isinstance(effect, k.MemoryCommitted)
    assert effect.content == "the tests run with pytest" and effect.tags == ["tests"]
    assert effect.memory_id.startswith("mem_") and out.data["memory_id"] == effect.memory_id
    assert "this session" in out.content
    shared = await rig.run("memory_write", scope="user", content="call me Sam")
    assert "user scope (shared by every session)" in shared.content
    assert [e.content for e in shared_memory(rig.journal).state().entries("user")] == ["call me Sam"]
    assert MEMORY_WRITE.capabilities_for({"scope": "user"}) == ["memory:write:user"]
    assert not MEMORY_WRITE.annotations.read_only


async def test_memory_write_supersedes_within_its_scope(rig: Rig) -> None:
    first = await rig.run("memory_write", scope="user", content="editor: vim")
    old = first.data["memory_id"]
    wrong_scope = await rig.run("memory_write", scope="session", content="editor: emacs", supersedes=old)
    assert wrong_scope.is_error and "user-scope memory" in wrong_scope.content
    second = await rig.run("memory_write", scope="user", content="editor: emacs", supersedes=old)
    assert not second.is_error and f"superseding {old}" in second.content
    assert [e.content for e in shared_memory(rig.journal).state().entries("user")] == ["editor: emacs"]
    again = await rig.run("memory_write", scope="user", content="editor: nano", supersedes=old)
    assert again.is_error and "superseded by" in again.content
    missing = await rig.run("memory_write", scope="user", content="x", supersedes="mem_nope")
    assert missing.is_error and "no current memory 'mem_nope'" in missing.content


async def test_memory_write_errors(rig: Rig) -> None:
    assert "must be one of" in (await rig.run("memory_write", scope="galaxy", content="x")).content
    assert "missing the required field 'content'" in (await rig.run("memory_write", scope="user")).content
    assert "the content is empty" in (await rig.run("memory_write", scope="user", content="   ")).content
    assert "at most 8000" in (await rig.run("memory_write", scope="user", content="x" * 9000)).content
    assert (
        "at most 16 tags"
        in (await rig.run("memory_write", scope="user", content="x", tags=list("abcdefghijklmnopq"))).content
    )
    assert "unknown field" in (await rig.run("memory_write", scope="user", content="x", importance=3)).content


async def test_memory_read_lists_current_entries_newest_first(rig: Rig) -> None:
    assert (await rig.run("memory_read")).content == "no memory in any scope"
    for i in range(3):
        await rig.run("memory_write", scope="session", content=f"session fact {i}")
    await rig.run("memory_write", scope="org", content="org fact")
    all_scopes = await rig.run("memory_read")
    assert all_scopes.data["count"] == 4
    session = await rig.run("memory_read", scope="session", limit=2)
    lines = session.content.splitlines()
    assert lines[0].endswith("session fact 2") and lines[1].endswith("session fact 1")
    assert lines[2] == "… 1 more (raise limit)"
    assert (await rig.run("memory_read", scope="agent")).content == "no memory in agent scope"
    assert (await rig.run("memory_read", limit=0)).is_error
    assert MEMORY_READ.annotations.read_only


async def test_memory_search(rig: Rig) -> None:
    await rig.run("memory_write", scope="session", content="the API key lives in the vault")
    await rig.run("memory_write", scope="user", content="prefers short answers", tags=["style"])
    await rig.run("memory_write", scope="user", content="the vault is at vault.example")
    hits = await rig.run("memory_search", query="vault")
    assert hits.data["count"] == 2
    assert all("vault" in line for line in hits.content.splitlines())
    scoped = await rig.run("memory_search", query="vault", scope="session")
    assert scoped.data["count"] == 1 and "[session]" in scoped.content
    by_tag = await rig.run("memory_search", query="style")
    assert by_tag.data["count"] == 1
    assert (await rig.run("memory_search", query="kubernetes")).content == "no memory matches 'kubernetes'"
    assert "no words" in (await rig.run("memory_search", query=" ?! ")).content
    assert (await rig.run("memory_search")).is_error
    assert MEMORY_SEARCH.annotations.read_only


async def test_memory_forget_tombstones_in_the_entrys_scope(rig: Rig) -> None:
    kept = (await rig.run("memory_write", scope="session", content="keep me")).data["memory_id"]
    doomed = (await rig.run("memory_write", scope="agent", content="forget me")).data["memory_id"]
    out = await rig.run("memory_forget", memory_id=doomed, reason="it changed")
    assert not out.is_error and "agent scope" in out.content
    (effect,) = out.effects
    assert isinstance(effect, k.MemoryTombstoned) and effect.scope == "agent"
    listed = await rig.run("memory_read")
    assert listed.data["ids"] == [kept]
    again = await rig.run("memory_forget", memory_id=doomed, reason="twice")
    assert again.is_error and "forgotten: it changed" in again.content
    assert (await rig.run("memory_forget", memory_id="mem_nope", reason="x")).is_error
    assert "say why" in (await rig.run("memory_forget", memory_id=kept, reason=" ")).content
    assert MEMORY_FORGET.annotations.destructive


async def test_tools_without_a_state_or_journal_see_empty_memory() -> None:
    registry = ToolRegistry(list(MEMORY_TOOLS))
    ctx = ToolContext(workspace=Path("."), session_id="s", call_id="c")
    assert (await registry.run("memory_read", {}, ctx)).content == "no memory in any scope"
