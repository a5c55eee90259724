"""The chat transcript fold, without a screen: which blocks events make, and which a batch touches."""

from __future__ import annotations

from typing import Any

import msgspec

from life_tui.kernel.event import Event, encode_payload
from life_tui.tui.widgets.chat_model import Transcript


def ev(seq: int, kind: str, run_id: str | None = "r1", **payload: Any) -> Event:
    return Event(
        event_id=f"e{seq}",
        session_id="s",
        branch="main",
        seq=seq,
        kind=kind,
        occurred_at=seq,
        run_id=run_id,
        payload=encode_payload(payload),
    )


def test_deltas_build_one_text_block_and_the_message_closes_it() -> None:
    t = Transcript()
    t.apply([ev(1, "user.message", content="hi")])
    touched = t.apply([ev(2, "assistant.text_delta", delta="Hel"), ev(3, "assistant.text_delta", delta="lo")])
    assert touched == {1} and t.blocks[1].text == "Hello" and not t.blocks[1].done
    touched = t.apply([ev(4, "assistant.message", content="Hello!")])
    assert touched == {1} and t.blocks[1].text == "Hello!" and t.blocks[1].done
    assert [b.kind for b in t.blocks] == ["user", "text"]


def test_a_message_without_deltas_is_its_own_block_with_its_reasoning() -> None:
    t = Transcript()
    t.apply([ev(1, "user.message", content="q"), ev(2, "assistant.message", content="a", reasoning="think")])
    assert [(b.kind, b.text, b.done) for b in t.blocks] == [
        ("user", "q", True),
        ("reasoning", "think", True),
        ("text", "a", True),
    ]


def test_reasoning_closes_when_a_tool_call_starts_and_the_closing_is_reported() -> None:
    t = Transcript()
    t.apply([ev(1, "assistant.reasoning_delta", delta="hmm")])
    touched = t.apply([ev(2, "tool.call_requested", call_id="c1", tool_name="read_file", arguments={"path": "a"})])
    assert touched == {0, 1} and t.blocks[0].done


def test_a_tool_card_follows_its_call_through_approval_and_completion() -> None:
    t = Transcript()
    t.apply(
        [
            ev(1, "tool.call_requested", call_id="c1", tool_name="write_file", arguments={"path": "n.md"}),
            ev(
                2,
                "approval.requested",
                approval_id="a1",
                call_id="c1",
                tool_name="write_file",
                arguments={"path": "n.md"},
            ),
        ]
    )
    card = t.blocks[0]
    assert card.status == "awaiting approval" and card.approval is not None and card.approval.open
    assert t.open_approvals() == [card]
    t.apply([ev(3, "approval.granted", approval_id="a1", scope="session")])
    assert card.approval.outcome == "granted (session)" and not t.open_approvals()
    t.apply(
        [
            ev(4, "tool.call_started", call_id="c1", tool_name="write_file"),
            ev(5, "file.written", path="n.md", blob_hash="new", previous_blob="old", size_bytes=3, call_id="c1"),
            ev(6, "tool.call_completed", call_id="c1", tool_name="write_file", result="ok", duration_ms=12.5),
        ]
    )
    assert (card.status, card.output, card.duration_ms, card.done) == ("done", "ok", 12.5, True)
    assert [(f.path, f.before_blob, f.after_blob) for f in card.files] == [("n.md", "old", "new")]


def test_denied_failed_and_expired_calls_say_so() -> None:
    t = Transcript()
    t.apply(
        [
            ev(1, "tool.call_requested", call_id="c1", tool_name="bash"),
            ev(2, "approval.requested", approval_id="a1", call_id="c1", tool_name="bash"),
            ev(3, "approval.denied", approval_id="a1", reason="no"),
            ev(4, "tool.call_requested", call_id="c2", tool_name="bash"),
            ev(5, "tool.call_failed", call_id="c2", tool_name="bash", error="boom"),
            ev(6, "tool.call_requested", call_id="c3", tool_name="bash"),
            ev(7, "approval.requested", approval_id="a3", call_id="c3", tool_name="bash"),
            ev(8, "approval.expired", approval_id="a3"),
        ]
    )
    assert [(b.status, b.approval.outcome if b.approval else "") for b in t.blocks] == [
        ("denied", "denied: no"),
        ("failed", ""),
        ("expired", "expired"),
    ]
    assert t.blocks[1].is_error and t.blocks[1].output == "boom"


def test_runs_that_end_badly_leave_a_notice_and_good_ones_do_not() -> None:
    t = Transcript()
    t.apply([ev(1, "run.finished", reason="final_answer"), ev(2, "run.finished", reason="cancelled")])
    assert [(b.kind, b.text) for b in t.blocks] == [("notice", "turn ended: cancelled")]
    t.apply([ev(3, "run.errored", error="provider down")])
    assert t.blocks[-1].is_error and "provider down" in t.blocks[-1].text


def test_versions_grow_only_for_touched_blocks() -> None:
    t = Transcript()
    t.apply([ev(1, "user.message", content="a"), ev(2, "assistant.text_delta", delta="x")])
    before = [b.version for b in t.blocks]
    t.apply([ev(3, "assistant.text_delta", delta="y")])
    assert [b.version for b in t.blocks] == [before[0], before[1] + 1]
    assert msgspec.json.decode(ev(3, "x", a=1).payload) == {"a": 1}
