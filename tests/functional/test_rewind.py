"""Workspace rewind through a real session: files written, edited and deleted by tools go back to how they
were at an event; the dry run lists what would change without touching anything; the rewind is journaled
with backups so it can itself be rewound; protected and outside paths are refused whatever the journal says;
files nobody changed are left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes.rig import RuntimeRig, open_rig

from life_tui.errors import Conflict, InvalidInput
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Actor, EventDraft
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.providers.scripted import ScriptedCall, ScriptedTurn
from life_tui.runtime.rewind import Action, apply_rewind, plan_rewind, preview_rewind, workspace_of
from life_tui.runtime.session import Session


def call(name: str, **arguments: Any) -> ScriptedCall:
    return ScriptedCall(name=name, arguments=arguments)


def turns_changing_files() -> list[ScriptedTurn]:
    """Turn 1 writes notes.md and edits nothing; turn 2 overwrites notes.md, creates new.txt, deletes keep.txt."""
    return [
        ScriptedTurn(tool_calls=[call("write_file", path="notes.md", content="v1\n")]),
        ScriptedTurn(text="wrote v1"),
        ScriptedTurn(
            tool_calls=[
                call("write_file", path="notes.md", content="v2\n"),
                call("write_file", path="sub/new.txt", content="fresh\n"),
                call("delete_file", path="keep.txt"),
            ]
        ),
        ScriptedTurn(text="changed things"),
    ]


async def run_two_turns(rig: RuntimeRig) -> tuple[Session, int]:
    """Returns the session and the seq of the end of the first turn (notes.md is v1 there)."""
    session, _ = await rig.session(*turns_changing_files(), approval_mode=ApprovalMode.AUTO)
    await session.submit("write v1")
    after_first = rig.journal.head(session.session_id, session.branch)
    await session.submit("change more")
    return session, after_first


def files_of(rig: RuntimeRig) -> dict[str, str]:
    return {str(p.relative_to(rig.workspace)): p.read_text() for p in sorted(rig.workspace.rglob("*")) if p.is_file()}


async def test_rewind_restores_written_created_and_deleted_files(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"keep.txt": "keep me\n", "other.txt": "untouched\n"}) as rig:
        session, after_first = await run_two_turns(rig)
        assert files_of(rig) == {"notes.md": "v2\n", "other.txt": "untouched\n", "sub/new.txt": "fresh\n"}

        plan = await preview_rewind(session, after_first)
        assert {(c.path, c.action) for c in plan.changes} == {
            ("notes.md", Action.RESTORE),
            ("sub/new.txt", Action.REMOVE),
            ("keep.txt", Action.CREATE),
        }
        assert files_of(rig)["notes.md"] == "v2\n"  # the dry run wrote nothing

        event = await apply_rewind(session, plan, reason="undo turn 2")
        assert files_of(rig) == {"keep.txt": "keep me\n", "notes.md": "v1\n", "other.txt": "untouched\n"}
        stored = rig.journal.read(session.session_id, session.branch)[-1]
        assert stored.event_id == event.event_id and stored.kind == "workspace.rewound"
        data = stored.data()
        assert isinstance(data, k.WorkspaceRewound)
        assert data.to_seq == after_first and data.reason == "undo turn 2"
        assert data.restored["sub/new.txt"] is None
        assert set(data.backup) == {"notes.md", "sub/new.txt", "keep.txt"} and data.backup["keep.txt"] is None


async def test_rewind_to_the_start_removes_what_tools_created(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"keep.txt": "keep me\n"}) as rig:
        session, _ = await run_two_turns(rig)
        await apply_rewind(session, await preview_rewind(session, 0))
        assert files_of(rig) == {"keep.txt": "keep me\n"}


async def test_a_rewind_can_be_rewound(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"keep.txt": "keep me\n"}) as rig:
        session, after_first = await run_two_turns(rig)
        before_rewind = rig.journal.head(session.session_id, session.branch)
        await apply_rewind(session, await preview_rewind(session, after_first))
        assert files_of(rig)["notes.md"] == "v1\n"
        # Rewinding to just before the rewind brings back the state it replaced, from its backups.
        await apply_rewind(session, await preview_rewind(session, before_rewind))
        assert files_of(rig) == {"notes.md": "v2\n", "sub/new.txt": "fresh\n"}


async def test_files_already_as_they_were_are_listed_unchanged(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"keep.txt": "keep me\n"}) as rig:
        session, after_first = await run_two_turns(rig)
        (rig.workspace / "notes.md").write_text("v1\n")  # the user put it back by hand
        plan = await preview_rewind(session, after_first)
        assert "notes.md" in plan.unchanged
        assert "notes.md" not in {c.path for c in plan.changes}
        assert any(line.startswith("unchanged notes.md") for line in plan.describe())


async def test_nothing_to_rewind_is_a_conflict(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"keep.txt": "keep me\n"}) as rig:
        session, _ = await run_two_turns(rig)
        head = rig.journal.head(session.session_id, session.branch)
        plan = await preview_rewind(session, head)
        assert plan.empty
        with pytest.raises(Conflict):
            await apply_rewind(session, plan)
        assert rig.journal.read(session.session_id, session.branch)[-1].kind != "workspace.rewound"


async def test_an_event_outside_the_branch_is_refused(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {}) as rig:
        session, _ = await rig.session(ScriptedTurn(text="hi"))
        await session.submit("hello")
        with pytest.raises(InvalidInput):
            await preview_rewind(session, 10_000)


async def test_protected_and_outside_paths_are_refused_whatever_the_journal_says(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"a.txt": "now\n"}) as rig:
        session, _ = await rig.session(ScriptedTurn(text="hi"))
        (rig.workspace / ".git").mkdir()
        (rig.workspace / ".git" / "config").write_text("[core]\n")
        outside = tmp_path / "outside.txt"
        outside.write_text("host\n")
        blobs = workspace_of(session).blobs
        old = blobs.put(b"old\n")
        forged = [
            k.FileWritten(path="../outside.txt", blob_hash=blobs.put(b"x"), size_bytes=1, previous_blob=old),
            k.FileWritten(path=".git/config", blob_hash=blobs.put(b"y"), size_bytes=1, previous_blob=old),
            k.FileWritten(path=str(outside), blob_hash=blobs.put(b"z"), size_bytes=1, previous_blob=old),
            k.FileWritten(path="a.txt", blob_hash=blobs.put(b"now\n"), size_bytes=4, previous_blob=old),
        ]
        start = rig.journal.head(session.session_id, session.branch)
        await session.record(*(EventDraft(kind=p.KIND, payload=p, actor=Actor.TOOL) for p in forged))
        plan = await preview_rewind(session, start)
        assert {r.path for r in plan.refused} == {"../outside.txt", ".git/config", str(outside)}
        assert [c.path for c in plan.changes] == ["a.txt"]
        await apply_rewind(session, plan)
        assert (rig.workspace / "a.txt").read_text() == "old\n"
        assert outside.read_text() == "host\n"
        assert (rig.workspace / ".git" / "config").read_text() == "[core]\n"


async def test_a_missing_blob_is_refused_not_guessed(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"a.txt": "now\n"}) as rig:
        session, _ = await rig.session(ScriptedTurn(text="hi"))
        ghost = "0" * 64
        written = k.FileWritten(path="a.txt", blob_hash="1" * 64, size_bytes=1, previous_blob=ghost)
        start = rig.journal.head(session.session_id, session.branch)
        await session.record(EventDraft(kind=written.KIND, payload=written, actor=Actor.TOOL))
        plan = plan_rewind(rig.journal, session.session_id, session.branch, start, workspace_of(session))
        assert plan.empty and [r.path for r in plan.refused] == ["a.txt"]
        assert "not in the store" in plan.refused[0].reason


async def test_rewind_on_a_fork_reads_inherited_effects(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {"keep.txt": "keep me\n"}) as rig:
        session, after_first = await run_two_turns(rig)
        head = rig.journal.head(session.session_id, session.branch)
        fork = await session.fork(head, "alt")
        rig.sessions.append(fork)
        plan = await preview_rewind(fork, after_first)
        assert {c.path for c in plan.changes} == {"notes.md", "sub/new.txt", "keep.txt"}
        await apply_rewind(fork, plan)
        assert rig.journal.read(session.session_id, "alt")[-1].kind == "workspace.rewound"
        assert rig.journal.read(session.session_id, "main")[-1].kind != "workspace.rewound"
