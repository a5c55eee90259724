"""Skills and memory through ``runtime.Session`` with the scripted provider, a real journal and a real
workspace: activation by the tool and by ``/name`` (the next request carries the skill's body and only its
allowed tools; other tools are refused), deactivation, reopening; memory entries in the next request's
memory block, wider scopes seen from a second session; every skill and memory tool reached through the
runtime, with the journal holding the calls and their events, and a replay reproducing the session."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from life_tui import paths
from life_tui.errors import InvalidInput, NotFound
from life_tui.journal import Journal, JournalOptions
from life_tui.journal.view import SYSTEM_SESSION
from life_tui.kernel.event import Event
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.providers.base import ModelRequest, StreamItem
from life_tui.runtime.providers.scripted import Script, ScriptedCall, ScriptedProvider, ScriptedTurn
from life_tui.runtime.replay import replay_branch
from life_tui.runtime.session import Session, SessionOptions
from life_tui.tools.memory import MEMORY_BRANCH
from life_tui.tools.skills import default_prompt

DATA = Path(__file__).resolve().parents[1] / "data" / "skills"
LAST_ID = "$LAST_MEMORY_ID"
ALL_TOOLS = {
    "activate_skill",
    "bash",
    "delete_file",
    "edit_file",
    "glob",
    "grep",
    "list_dir",
    "memory_forget",
    "memory_read",
    "memory_search",
    "memory_write",
    "read_file",
    "write_file",
}


def call(tool: str, **arguments: Any) -> ScriptedCall:
    return ScriptedCall(name=tool, arguments=arguments)


def turn(text: str = "", *calls: ScriptedCall) -> ScriptedTurn:
    return ScriptedTurn(text=text, tool_calls=list(calls))


class MemoryAwareScripted(ScriptedProvider):
    """A scripted model that can refer to the memory id a tool just returned (``$LAST_MEMORY_ID``)."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        if self._next < len(self.script.turns):
            seen = re.findall(r"mem_[0-9A-Z]{26}", " ".join(m.content for m in request.messages))
            planned = self.script.turns[self._next]
            calls = [
                msgspec.structs.replace(
                    c, arguments={k: (seen[-1] if v == LAST_ID and seen else v) for k, v in c.arguments.items()}
                )
                for c in planned.tool_calls
            ]
            turns = list(self.script.turns)
            turns[self._next] = msgspec.structs.replace(planned, tool_calls=calls)
            self.script = msgspec.structs.replace(self.script, turns=turns)
        async for item in super().stream(request):
            yield item


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(DATA / "workspace", ws)
    shutil.copytree(DATA / "user", paths.resolve().user_skills)
    (ws / "a.txt").write_text("alpha\nbeta\n")
    return ws


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal.open(tmp_path / "journal", options=JournalOptions(background=False))
    yield j
    j.close()


async def new_session(
    journal: Journal, workspace: Path, *turns: ScriptedTurn, name: str = "test"
) -> tuple[Session, ScriptedProvider]:
    provider = MemoryAwareScripted(Script(model="scripted", turns=list(turns)))
    options = SessionOptions(approval_mode=ApprovalMode.AUTO)
    session = await Session.create(journal, name=name, workspace=workspace, provider=provider, options=options)
    return session, provider


def tool_names(request: ModelRequest) -> set[str]:
    return {t.name for t in request.tools}


def block(request: ModelRequest, name: str) -> str | None:
    return next((b.text for b in request.system if b.name == name), None)


def kinds(events: list[Event], prefix: str = "") -> list[str]:
    return [e.kind for e in events if e.kind.startswith(prefix) and e.kind != "tool.call_started"]


def payloads(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [e.payload_dict() for e in events if e.kind == kind]


# -------------------------------------------------------------------------------------------- skills
async def test_the_catalogue_is_in_the_first_request(journal: Journal, workspace: Path) -> None:
    session, provider = await new_session(journal, workspace, turn("hello"))
    assert "- review: Review code changes" in (session.skills.catalogue() or "")
    assert {s.path.parent.name for s in session.skills.skipped} >= {"bad-yaml", "unclosed"}
    await session.submit("hi")
    skills = block(provider.requests[0], "skills")
    assert skills is not None and skills.startswith("Available skills")
    assert "<active-skill" not in skills
    assert tool_names(provider.requests[0]) == ALL_TOOLS
    await session.close()


async def test_the_tool_activates_a_skill_and_narrows_the_tools(journal: Journal, workspace: Path) -> None:
    session, provider = await new_session(
        journal,
        workspace,
        turn("I'll use the review skill.", call("activate_skill", name="review")),
        turn("", call("memory_write", scope="session", content="nope"), call("read_file", path="a.txt")),
        turn("Reviewed."),
    )
    outcome = await session.submit("review a.txt")
    assert outcome.reason == "final_answer"
    before, after = provider.requests[0], provider.requests[1]
    assert tool_names(before) == ALL_TOOLS
    assert tool_names(after) == {"read_file", "list_dir", "activate_skill"}
    skills = block(after, "skills")
    assert skills is not None
    assert skills.startswith('<active-skill name="review" allowed-tools="read_file, list_dir">\n# Code review')
    events = journal.read(session.session_id)
    tail = [e.kind for e in events if e.kind.startswith(("tool.", "skill."))]
    assert tail[:4] == ["tool.call_requested", "tool.call_started", "tool.call_completed", "skill.activated"]
    (activated,) = payloads(events, "skill.activated")
    assert (activated["name"], activated["source"], activated["allowed_tools"]) == (
        "review",
        "tool",
        ["read_file", "list_dir"],
    )
    (refused,) = payloads(events, "tool.call_failed")
    assert refused["tool_name"] == "memory_write"
    assert "not available while the skill 'review' is active (it allows: read_file, list_dir)" in refused["error"]
    completed = [p["tool_name"] for p in payloads(events, "tool.call_completed")]
    assert completed == ["activate_skill", "read_file"]
    assert not payloads(events, "memory.committed")
    assert session.state.skill is not None and session.state.skill.name == "review"
    await session.close()


async def test_a_skill_activated_earlier_in_the_same_response_already_narrows(
    journal: Journal, workspace: Path
) -> None:
    session, _ = await new_session(
        journal,
        workspace,
        turn("", call("activate_skill", name="review"), call("memory_read")),
        turn("done"),
    )
    await session.submit("go")
    (refused,) = payloads(journal.read(session.session_id), "tool.call_failed")
    assert refused["tool_name"] == "memory_read"
    await session.close()


async def test_slash_name_activates_and_slash_skill_off_deactivates(journal: Journal, workspace: Path) -> None:
    session, provider = await new_session(
        journal, workspace, turn("Reviewing."), turn("Back to normal."), turn("Summary."), turn("Plain.")
    )
    await session.submit("/review check a.txt please")
    first = provider.requests[0]
    assert first.messages[-1].content == "check a.txt please"  # the model reads the rest
    assert tool_names(first) == {"read_file", "list_dir", "activate_skill"}
    assert (block(first, "skills") or "").startswith('<active-skill name="review"')
    await session.submit("/skill off thanks")
    second = provider.requests[1]
    assert second.messages[-1].content == "thanks"
    assert tool_names(second) == ALL_TOOLS
    assert "<active-skill" not in (block(second, "skills") or "")
    await session.submit("/summarize")
    third = provider.requests[2]
    assert third.messages[-1].content == default_prompt("summarize")
    assert tool_names(third) == ALL_TOOLS  # summarize does not narrow
    assert (block(third, "skills") or "").startswith('<active-skill name="summarize" allowed-tools="all tools">')
    await session.submit("/skill off")
    assert provider.requests[3].messages[-1].content == "The user turned the 'summarize' skill off."
    events = journal.read(session.session_id)
    typed = [p["content"] for p in payloads(events, "user.message")]
    assert typed == ["/review check a.txt please", "/skill off thanks", "/summarize", "/skill off"]  # as typed
    order = [e.kind for e in events if e.kind in ("skill.activated", "skill.deactivated", "user.message")]
    assert order == [
        "skill.activated",
        "user.message",
        "skill.deactivated",
        "user.message",
        "skill.activated",
        "user.message",
        "skill.deactivated",
        "user.message",
    ]
    activated = payloads(events, "skill.activated")
    assert [(p["name"], p["source"], p["prompt"]) for p in activated] == [
        ("review", "command", "check a.txt please"),
        ("summarize", "command", default_prompt("summarize")),
    ]
    # The history keeps what the model read.
    assert [m.content for m in session.state.messages if m.role == "user"][:2] == ["check a.txt please", "thanks"]
    assert session.state.skill is None
    await session.close()


async def test_a_new_activation_replaces_the_active_skill(journal: Journal, workspace: Path) -> None:
    session, provider = await new_session(
        journal, workspace, turn("", call("activate_skill", name="notes")), turn("ok")
    )
    await session.submit("/review first")
    assert provider.requests[0].tools and tool_names(provider.requests[0]) == {
        "read_file",
        "list_dir",
        "activate_skill",
    }
    assert tool_names(provider.requests[1]) == {"memory_write", "memory_read", "memory_search", "activate_skill"}
    assert (block(provider.requests[1], "skills") or "").startswith('<active-skill name="notes"')
    await session.close()


async def test_bad_commands_are_refused_before_anything_is_recorded(journal: Journal, workspace: Path) -> None:
    session, provider = await new_session(journal, workspace, turn("ok"))
    head = journal.head(session.session_id)
    with pytest.raises(NotFound):
        await session.submit("/nope do something")
    with pytest.raises(InvalidInput):
        await session.submit("/skill off")
    assert journal.head(session.session_id) == head
    assert not provider.requests
    await session.submit("/usr/bin is full")  # not a skill name: plain text
    assert provider.requests[0].messages[-1].content == "/usr/bin is full"
    await session.close()


async def test_the_api_activates_and_deactivates_outside_a_turn(journal: Journal, workspace: Path) -> None:
    session, provider = await new_session(journal, workspace, turn("one"), turn("two"))
    await session.activate_skill("deploy")  # user-only skills are fine for the user
    await session.submit("go")
    assert tool_names(provider.requests[0]) == {"read_file", "list_dir", "activate_skill"}
    await session.deactivate_skill()
    with pytest.raises(NotFound):
        await session.deactivate_skill()
    with pytest.raises(NotFound):
        await session.activate_skill("nope")
    await session.submit("again")
    assert tool_names(provider.requests[1]) == ALL_TOOLS
    sources = [p["source"] for p in payloads(journal.read(session.session_id), "skill.activated")]
    assert sources == ["user"]
    await session.close()


async def test_a_reopened_session_keeps_its_active_skill_and_memory(journal: Journal, workspace: Path) -> None:
    session, _ = await new_session(
        journal, workspace, turn("", call("memory_write", scope="session", content="the answer is 42")), turn("ok")
    )
    await session.submit("/notes remember the answer")
    await session.close()
    provider = ScriptedProvider(Script(turns=[turn("still here")]))
    again = await Session.open(journal, session.session_id, provider=provider)
    assert again.state.skill is not None and again.state.skill.name == "notes"
    await again.submit("what was it?")
    request = provider.requests[0]
    assert (block(request, "skills") or "").startswith('<active-skill name="notes"')
    assert "the answer is 42" in (block(request, "memory") or "")
    await again.close()


# -------------------------------------------------------------------------------------------- memory
async def test_memory_entries_are_in_the_next_requests_memory_block(journal: Journal, workspace: Path) -> None:
    session, provider = await new_session(
        journal,
        workspace,
        turn(
            "",
            call("memory_write", scope="session", content="the repo uses ruff", tags=["lint"]),
            call("memory_write", scope="user", content="the user is called Sam"),
        ),
        turn("Noted."),
    )
    await session.submit("remember things")
    assert block(provider.requests[0], "memory") is None
    memory = block(provider.requests[1], "memory")
    assert memory is not None
    assert re.search(r"\[session\] mem_\w+ \(tags: lint\): the repo uses ruff", memory)
    assert re.search(r"\[user\] mem_\w+: the user is called Sam", memory)
    events = journal.read(session.session_id)
    (committed,) = payloads(events, "memory.committed")  # the session-scope one; the user one is shared
    assert (committed["scope"], committed["content"], committed["tags"]) == ("session", "the repo uses ruff", ["lint"])
    shared = journal.read(SYSTEM_SESSION, MEMORY_BRANCH, kinds=["memory.committed"])
    assert [e.payload_dict()["content"] for e in shared] == ["the user is called Sam"]
    assert shared[0].run_id == session.state.run.run_id
    await session.close()


async def test_wider_scopes_are_visible_from_a_second_session(journal: Journal, workspace: Path) -> None:
    first, _ = await new_session(
        journal,
        workspace,
        turn(
            "",
            call("memory_write", scope="user", content="prefers tabs over spaces"),
            call("memory_write", scope="org", content="releases ship on Tuesdays"),
            call("memory_write", scope="session", content="only for the first session"),
        ),
        turn("ok"),
    )
    await first.submit("remember")
    await first.close()
    second, provider = await new_session(
        journal,
        workspace,
        turn("", call("memory_read"), call("memory_search", query="tabs")),
        turn("", call("memory_forget", memory_id=LAST_ID, reason="switched to spaces")),
        turn("done"),
        name="second",
    )
    await second.submit("what do you know?")
    memory = block(provider.requests[0], "memory") or ""
    assert "prefers tabs over spaces" in memory and "releases ship on Tuesdays" in memory
    assert "only for the first session" not in memory
    results = payloads(journal.read(second.session_id), "tool.call_completed")
    assert "prefers tabs" in results[0]["result"] and "only for the first" not in results[0]["result"]
    assert "prefers tabs" in results[1]["result"]
    assert "forgot mem_" in results[2]["result"] and "(user scope)" in results[2]["result"]
    assert "prefers tabs" not in (block(provider.requests[2], "memory") or "")
    assert [e.content for e in second.memory().entries()] == ["releases ship on Tuesdays"]
    await second.close()


# ------------------------------------------------------------------------ every tool, then a replay
def every_tool_script() -> list[ScriptedTurn]:
    return [
        # turn 1 ("/notes ..."): the notes skill allows the memory tools but not memory_forget
        turn("", call("memory_write", scope="session", content="decided: SQLite for the cache", tags=["decision"])),
        turn("", call("memory_write", scope="session", content="decided: DuckDB for the cache", supersedes=LAST_ID)),
        turn("", call("memory_write", scope="user", content="likes terse answers")),
        turn("", call("memory_read", scope="session"), call("memory_search", query="cache")),
        turn("", call("memory_forget", memory_id=LAST_ID, reason="not allowed under notes")),
        turn("Notes kept."),
        # turn 2 ("/skill off ..."): every tool again
        turn("", call("memory_forget", memory_id=LAST_ID, reason="the user changed their mind")),
        turn("", call("activate_skill", name="review")),
        turn("", call("read_file", path="a.txt"), call("list_dir", path=".")),
        turn("All done."),
    ]


async def test_every_tool_through_the_runtime_and_the_replay_reproduces(journal: Journal, workspace: Path) -> None:
    session, _ = await new_session(journal, workspace, *every_tool_script())
    first = await session.submit("/notes keep track of the cache decision")
    second = await session.submit("/skill off now forget it and review a.txt")
    assert (first.reason, second.reason) == ("final_answer", "final_answer")
    events = journal.read(session.session_id)
    completed = [p["tool_name"] for p in payloads(events, "tool.call_completed")]
    assert completed == [
        "memory_write",
        "memory_write",
        "memory_write",
        "memory_read",
        "memory_search",
        "memory_forget",
        "activate_skill",
        "read_file",
        "list_dir",
    ]
    assert all(not p.get("is_error") for p in payloads(events, "tool.call_completed"))
    (refused,) = payloads(events, "tool.call_failed")
    assert refused["tool_name"] == "memory_forget" and "skill 'notes'" in refused["error"]
    assert len(payloads(events, "tool.call_requested")) == len(completed) + 1
    assert [e.kind for e in events if e.kind.startswith(("skill.", "memory."))] == [
        "skill.activated",
        "memory.committed",
        "memory.committed",
        "skill.deactivated",
        "memory.tombstoned",
        "skill.activated",
    ]
    first_id = payloads(events, "memory.committed")[0]["memory_id"]
    assert payloads(events, "memory.committed")[1]["supersedes"] == first_id
    assert session.memory().entries("session") == []
    assert [e.content for e in session.memory().entries("user")] == ["likes terse answers"]
    read_result = payloads(events, "tool.call_completed")[3]["result"]
    assert "DuckDB" in read_result and "SQLite" not in read_result
    await session.close()

    report = await replay_branch(journal, session.session_id)
    assert report.ok, str(report.divergence)
    assert report.turns == 2 and report.outcomes == ["final_answer", "final_answer"]
    assert report.compared > 50
    # The replay served recorded results: the shared memory was not written again.
    assert len(journal.read(SYSTEM_SESSION, MEMORY_BRANCH, kinds=["memory.committed"])) == 1


async def test_a_changed_skill_file_is_the_replays_first_divergence(journal: Journal, workspace: Path) -> None:
    session, _ = await new_session(journal, workspace, turn("Reviewed."))
    await session.submit("/review a.txt")
    await session.close()
    skill = workspace / "skills" / "review" / "SKILL.md"
    skill.write_text(skill.read_text().replace("Never edit files", "Feel free to edit files"))
    report = await replay_branch(journal, session.session_id)
    assert not report.ok and report.divergence is not None
    assert report.divergence.expected == "skill.activated" and "body" in report.divergence.detail
