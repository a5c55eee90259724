"""The runtime's event writer over a real journal: events are stamped and folded the moment they are
submitted, made durable in order by a background commit, and waited for only where the loop must (before
a tool runs, at the end of a run); a failed commit fails the writer. Also the journal's ``stage_batch`` /
``commit`` pair it is built on, and the number of disk syncs a tick costs (the loop's overhead)."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path
from typing import Any

import pytest

from life_tui.errors import LifeError
from life_tui.journal import Journal, JournalOptions
from life_tui.journal.faults import Fault, FaultyFileLayer
from life_tui.kernel.clock import FakeClock
from life_tui.kernel.event import Event, EventDraft
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.loop import RunLimits
from life_tui.runtime.providers.scripted import Script, ScriptedCall, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session, SessionOptions
from life_tui.runtime.writer import EventWriter
from life_tui.tools.basic import default_registry
from life_tui.tools.registry import ToolAnnotations, ToolContext, ToolOutput, ToolSpec


def note(text: str) -> EventDraft:
    return EventDraft(kind="user.message", payload={"content": text}, actor="user")


def open_journal(root: Path, fs: FaultyFileLayer | None = None) -> Journal:
    return Journal.open(root, options=JournalOptions(background=False), fs=fs, clock=FakeClock(tick_us=1000))


# ------------------------------------------------------------------------------------ stage and commit
def test_staged_events_are_numbered_at_once_and_readable_only_once_committed(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "j")
    sid = journal.create_session("s").session_id
    head = journal.head(sid)
    first = journal.stage_batch(sid, "main", [note("a"), note("b")])
    second = journal.stage_batch(sid, "main", [note("c")])
    assert [e.seq for e in first.events + second.events] == [head + 1, head + 2, head + 3]
    assert second.events[0].prev_hash == first.events[-1].hash  # the chain continues across staged batches
    assert journal.head(sid) == head  # nothing is visible before a commit
    assert journal.commit(second) == second.events  # committing the later batch writes the earlier one too
    assert first.done and first.error is None
    assert [e.payload_dict()["content"] for e in journal.read(sid, after=head)] == ["a", "b", "c"]
    assert journal.stage_batch(sid, "main", []).events == []
    journal.close()
    reopened = open_journal(tmp_path / "j")
    assert reopened.head(sid) == head + 3
    reopened.close()


def test_a_failed_commit_fails_every_batch_staged_with_it(tmp_path: Path) -> None:
    fs = FaultyFileLayer()
    journal = open_journal(tmp_path / "j", fs)
    sid = journal.create_session("s").session_id
    head = journal.head(sid)
    fs.faults.append(Fault("fsync", 1, errno.EIO))
    first = journal.stage_batch(sid, "main", [note("a")])
    second = journal.stage_batch(sid, "main", [note("b")])
    with pytest.raises(LifeError):
        journal.commit(first)
    assert second.done and second.error is not None
    with pytest.raises(LifeError):
        journal.commit(second)
    journal.close()
    # Nothing was acknowledged; what reached the file before the failed sync may survive, but only whole:
    # both batches went out in one frame.
    assert open_journal(tmp_path / "j").head(sid) in (head, head + 2)


# ------------------------------------------------------------------------------------------ the writer
async def test_the_writer_folds_on_submission_and_acknowledges_once_durable(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "j")
    sid = journal.create_session("s").session_id
    head = journal.head(sid)
    folded: list[int] = []
    writer = EventWriter(journal, sid, "main", lambda events: folded.extend(e.seq for e in events))
    pending = writer.submit([note("a")])
    assert folded == [head + 1]  # folded before any disk I/O: the loop's next state read includes it
    assert journal.head(sid) == head
    written = await writer.write(note("b"), note("c"))
    assert [e.seq for e in written] == [head + 2, head + 3]
    assert pending.done() and journal.head(sid) == head + 3  # durable in order: the earlier one first
    assert folded == [head + 1, head + 2, head + 3]
    await writer.settle()
    writer.close()
    journal.close()


async def test_a_failed_commit_fails_the_writer_and_everything_after_it(tmp_path: Path) -> None:
    fs = FaultyFileLayer()
    journal = open_journal(tmp_path / "j", fs)
    sid = journal.create_session("s").session_id
    writer = EventWriter(journal, sid, "main", lambda events: None)
    fs.faults.append(Fault("fsync", 1, errno.EIO))
    with pytest.raises(LifeError):
        await writer.write(note("lost"))
    with pytest.raises(LifeError):
        await writer.settle()
    later = writer.submit([note("after")])
    with pytest.raises(LifeError):
        await later
    writer.close()
    journal.close()


# ------------------------------------------------------------------------------- the loop's disk waits
class CountingLayer(FaultyFileLayer):
    """Counts WAL syncs (the disk waits a tick costs)."""

    def wal_syncs(self) -> int:
        return sum(1 for op, path in self.log if op == "fsync" and "/wal/" in path)


async def session_with_tool(
    journal: Journal, tmp_path: Path, tool: str, run: Any, turns: list[ScriptedTurn], **schema: Any
) -> Session:
    """A session whose scripted model plays ``turns``, with the basic tools plus ``tool`` (``run``), auto-approved."""
    tools = default_registry()
    tools.register(
        ToolSpec(
            name=tool,
            description=f"test tool {tool}",
            input_schema={"type": "object", "properties": schema},
            run=run,
            annotations=ToolAnnotations(read_only=True),
        )
    )
    workspace = tmp_path / "ws"
    workspace.mkdir()
    return await Session.create(
        journal,
        name=tool,
        workspace=workspace,
        provider=ScriptedProvider(Script(model="scripted", turns=turns)),
        options=SessionOptions(approval_mode=ApprovalMode.AUTO, tools=tools),
    )


async def test_a_tool_calling_tick_waits_for_the_disk_once_before_its_tool_runs(tmp_path: Path) -> None:
    fs = CountingLayer()
    journal = Journal.open(tmp_path / "j", options=JournalOptions(background=False), fs=fs)
    seen_before_running: list[list[str]] = []

    async def probe(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        # Readers see only durable events: the call's start must already be among them.
        assert ctx.journal is not None
        events: list[Event] = ctx.journal.read(ctx.session_id, "main")
        seen_before_running.append([e.kind for e in events if e.payload_dict().get("call_id") == ctx.call_id])
        return ToolOutput("ok")

    ticks = 10
    # Distinct arguments: a third identical call in a row would be refused as a doom loop.
    turns = [ScriptedTurn(tool_calls=[ScriptedCall(name="probe", arguments={"n": n})]) for n in range(ticks - 1)]
    session = await session_with_tool(
        journal, tmp_path, "probe", probe, [*turns, ScriptedTurn(text="done")], n={"type": "integer"}
    )
    before = fs.wal_syncs()
    outcome = await session.submit("go", limits=RunLimits(max_turns=ticks + 1))
    syncs = fs.wal_syncs() - before
    await session.close()
    journal.close()
    assert outcome.reason == "final_answer"
    assert seen_before_running == [["tool.call_requested", "tool.call_started"]] * (ticks - 1)
    # One wait per tool (its start is durable before it runs) plus the run's opening and closing writes;
    # everything else rides along. Before the writer folded on submission a tick cost six.
    assert syncs <= (ticks - 1) + 4, syncs


async def test_a_cancelled_run_still_records_how_it_ended(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "j")
    release = asyncio.Event()

    async def wait(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        await release.wait()
        return ToolOutput("never")

    session = await session_with_tool(
        journal, tmp_path, "wait", wait, [ScriptedTurn(tool_calls=[ScriptedCall(name="wait")])]
    )
    task = session.start("go")
    for _ in range(200):
        await asyncio.sleep(0.005)
        if any(e.kind == "tool.call_started" for e in journal.read(session.session_id)):
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    kinds = [e.kind for e in journal.read(session.session_id)]
    assert kinds[-1] == "run.finished" and session.state.run.turns >= 1
    await session.close()
    journal.close()
