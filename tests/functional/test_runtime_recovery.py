"""Reopening a session whose process died mid-run closes that run cleanly and lets work go on."""

from __future__ import annotations

from pathlib import Path

from life_tui.journal import Journal, JournalOptions
from life_tui.kernel.event import EventDraft
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.providers.scripted import Script, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session, SessionOptions


def _draft(kind: str, payload: dict[str, object], run_id: str = "RUN") -> EventDraft:
    return EventDraft(kind=kind, payload=payload, run_id=run_id)


async def test_a_run_the_process_died_in_is_closed_on_reopen(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j", options=JournalOptions(background=False))
    sid = journal.create_session("crashed", workspace=str(tmp_path)).session_id
    # What a killed process leaves: a started run, streamed text, a tool call waiting for approval.
    journal.append_batch(
        sid,
        "main",
        [
            _draft("user.message", {"content": "refactor the module"}),
            _draft("run.started", {"provider": "scripted", "model": "scripted"}),
            _draft(
                "assistant.message",
                {"content": "First I will look.", "tool_calls": [{"id": "c1", "name": "list_dir", "arguments": {}}]},
            ),
            _draft("tool.call_requested", {"call_id": "c1", "tool_name": "list_dir"}),
            _draft("approval.requested", {"approval_id": "apr_c1", "call_id": "c1", "tool_name": "list_dir"}),
            _draft("mode.changed", {"previous": "explore", "mode": "ask_human"}),
            _draft("assistant.text_delta", {"delta": "Now I "}),
            _draft("assistant.text_delta", {"delta": "will edit"}),
        ],
    )
    provider = ScriptedProvider(Script(turns=[ScriptedTurn(text="Picking up again.")]))
    session = await Session.open(
        journal, sid, provider=provider, options=SessionOptions(approval_mode=ApprovalMode.AUTO)
    )
    tail = journal.read(sid, after=journal.head(sid) - 5)
    kinds = [e.kind for e in tail]
    assert kinds == ["session.resumed", "assistant.message", "approval.expired", "mode.changed", "run.finished"]
    partial, expired, mode, finished = (e.payload_dict() for e in tail[1:])
    assert partial["content"] == "Now I will edit" and partial["stop_reason"] == "interrupted"
    assert expired == {"approval_id": "apr_c1"}
    assert mode["previous"] == "ask_human" and mode["mode"] != "ask_human"
    assert finished["reason"] == "interrupted"
    assert all(e.run_id == "RUN" for e in tail[1:])
    state = session.state
    assert not state.run.active and not state.pending
    # The session goes on: the model sees the interrupted call answered, and a new run finishes normally.
    outcome = await session.submit("continue")
    assert outcome.reason == "final_answer"
    request = provider.requests[-1]
    tool_results = [m for m in request.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tool_results] == ["c1"] and tool_results[0].is_error
    assert any(m.role == "assistant" and m.content == "Now I will edit" for m in request.messages)
    await session.close()
    # Reopening again adds no second closing: the run is already finished.
    again = await Session.open(journal, sid, provider=provider, options=SessionOptions())
    assert journal.read(sid, after=journal.head(sid) - 1)[0].kind == "session.resumed"
    await again.close()
    journal.close()
