"""The chat transcript as a pure fold: events in, a list of blocks (user turns, text, reasoning, tool cards).

Kept apart from the widgets so the folding rules are tested without a screen, and so the chat pane can
rebuild a long session's transcript in one pass (``reset``) and then update only the blocks a batch of
live events touched (``apply`` returns their indexes). Streaming deltas and the final
``assistant.message`` describe the same text: the message only closes the block the deltas built (or
creates it when a session was recorded without deltas).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from life_tui.kernel.event import Event

BlockKind = Literal["user", "text", "reasoning", "tool", "notice"]
ToolStatus = Literal["requested", "awaiting approval", "running", "done", "failed", "denied", "expired"]


@dataclass
class Approval:
    """An approval prompt on a tool card: open until granted, denied or expired."""

    approval_id: str
    arguments: dict[str, Any]
    risk: str = "medium"
    outcome: str = ""
    """``""`` while open, else ``granted (once)``, ``granted (session)``, ``denied: reason``, ``expired``."""

    @property
    def open(self) -> bool:
        return not self.outcome


@dataclass(frozen=True)
class FileChange:
    """A file a tool call wrote or deleted: blob digests of the content before and after (diffs)."""

    path: str
    after_blob: str | None
    before_blob: str | None


@dataclass
class Block:
    """One thing in the transcript. ``version`` grows with every change so widgets redraw only when needed."""

    kind: BlockKind
    seq: int
    text: str = ""
    done: bool = False
    run_id: str | None = None
    call_id: str = ""
    tool_name: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    status: ToolStatus = "requested"
    duration_ms: float | None = None
    output: str = ""
    is_error: bool = False
    approval: Approval | None = None
    files: list[FileChange] = field(default_factory=list)
    version: int = 0

    def arguments_text(self) -> str:
        return json.dumps(self.arguments, indent=2, sort_keys=True, ensure_ascii=False)


class Transcript:
    """Folds a branch's events into blocks; :meth:`apply` says which blocks changed."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._open_text: int | None = None
        self._open_reasoning: int | None = None
        self._tools: dict[str, int] = {}
        self._approvals: dict[str, int] = {}
        self._closed: set[int] = set()

    def apply(self, events: Iterable[Event]) -> set[int]:
        """Fold ``events``; returns the indexes of blocks that were created or changed."""
        touched: set[int] = set()
        for e in events:
            index = self._apply_one(e)
            if index is not None:
                touched.add(index)
            touched |= self._closed
            self._closed.clear()
        for index in touched:
            self.blocks[index].version += 1
        return touched

    def open_approvals(self) -> list[Block]:
        return [b for b in self.blocks if b.approval is not None and b.approval.open]

    # ----------------------------------------------------------------------------------- the rules
    def _add(self, block: Block) -> int:
        self.blocks.append(block)
        return len(self.blocks) - 1

    def _close_streams(self) -> None:
        for index in (self._open_text, self._open_reasoning):
            if index is not None:
                self.blocks[index].done = True
                self._closed.add(index)
        self._open_text = self._open_reasoning = None

    def _apply_one(self, e: Event) -> int | None:
        kind = e.kind
        if kind == "user.message":
            self._close_streams()
            return self._add(Block("user", e.seq, text=str(e.payload_dict().get("content", "")), done=True))
        if kind == "assistant.reasoning_delta":
            delta = str(e.payload_dict().get("delta", ""))
            if self._open_reasoning is None:
                self._open_reasoning = self._add(Block("reasoning", e.seq, run_id=e.run_id))
            self.blocks[self._open_reasoning].text += delta
            return self._open_reasoning
        if kind == "assistant.text_delta":
            delta = str(e.payload_dict().get("delta", ""))
            if self._open_text is None:
                self._open_text = self._add(Block("text", e.seq, run_id=e.run_id))
            self.blocks[self._open_text].text += delta
            return self._open_text
        if kind == "assistant.message":
            return self._message(e)
        if kind.startswith(("tool.call_", "approval.")):
            return self._tool_event(e)
        if kind in ("file.written", "file.deleted"):
            p = e.payload_dict()
            index = self._tools.get(str(p.get("call_id") or ""))
            if index is None:
                return None
            after = str(p["blob_hash"]) if kind == "file.written" else None
            before = p.get("previous_blob")
            self.blocks[index].files.append(FileChange(str(p.get("path", "")), after, str(before) if before else None))
            return index
        if kind == "run.finished":
            self._close_streams()
            reason = str(e.payload_dict().get("reason", ""))
            if reason not in ("completed", "final_answer", "end_turn", ""):
                return self._add(Block("notice", e.seq, text=f"turn ended: {reason}", done=True, run_id=e.run_id))
            return None
        if kind in ("run.errored", "error.raised"):
            p = e.payload_dict()
            text = str(p.get("error") or p.get("message") or kind)
            return self._add(Block("notice", e.seq, text=f"error: {text}", done=True, is_error=True, run_id=e.run_id))
        if kind == "context.compacted":
            return self._add(Block("notice", e.seq, text="earlier messages were compacted (expandable)", done=True))
        return None

    def _message(self, e: Event) -> int | None:
        p = e.payload_dict()
        content = str(p.get("content", ""))
        reasoning = str(p.get("reasoning") or "")
        touched: int | None = None
        if reasoning and self._open_reasoning is None and not self._had_reasoning_in_run(e.run_id):
            touched = self._add(Block("reasoning", e.seq, text=reasoning, done=True, run_id=e.run_id))
        if self._open_text is not None:
            block = self.blocks[self._open_text]
            if content and block.text != content:
                block.text = content  # the stored message is the truth; deltas may have been cut short
            touched = self._open_text
        elif content:
            touched = self._add(Block("text", e.seq, text=content, done=True, run_id=e.run_id))
        self._close_streams()
        return touched

    def _had_reasoning_in_run(self, run_id: str | None) -> bool:
        for block in reversed(self.blocks):
            if block.kind == "user":
                return False
            if block.kind == "reasoning" and block.run_id == run_id:
                return True
        return False

    def _tool_event(self, e: Event) -> int | None:
        p = e.payload_dict()
        kind = e.kind
        if kind == "tool.call_requested":
            self._close_streams()
            call_id = str(p.get("call_id", ""))
            block = Block(
                "tool",
                e.seq,
                call_id=call_id,
                tool_name=str(p.get("tool_name", "")),
                arguments=dict(p.get("arguments") or {}),
                run_id=e.run_id,
            )
            self._tools[call_id] = self._add(block)
            return self._tools[call_id]
        if kind == "approval.requested":
            index = self._tools.get(str(p.get("call_id", "")))
            if index is None:
                return None
            block = self.blocks[index]
            approval_id = str(p.get("approval_id", ""))
            block.approval = Approval(approval_id, dict(p.get("arguments") or {}), risk=str(p.get("risk", "medium")))
            block.status = "awaiting approval"
            self._approvals[approval_id] = index
            return index
        if kind.startswith("approval."):
            index = self._approvals.get(str(p.get("approval_id", "")))
            if index is None:
                return None
            block = self.blocks[index]
            assert block.approval is not None
            if kind == "approval.granted":
                block.approval.outcome = f"granted ({p.get('scope', 'once')})"
                block.status = "requested"
            elif kind == "approval.denied":
                reason = str(p.get("reason") or "")
                block.approval.outcome = f"denied: {reason}" if reason else "denied"
                block.status = "denied"
            elif kind == "approval.expired":
                block.approval.outcome = "expired"
                block.status = "expired"
            return index
        index = self._tools.get(str(p.get("call_id", "")))
        if index is None:
            return None
        block = self.blocks[index]
        if kind == "tool.call_started":
            block.status = "running"
        elif kind == "tool.call_completed":
            block.status = "failed" if p.get("is_error") else "done"
            block.output = str(p.get("result", ""))
            block.is_error = bool(p.get("is_error"))
            block.duration_ms = float(p.get("duration_ms") or 0.0)
            block.done = True
        elif kind == "tool.call_failed":
            block.status = "failed"
            block.output = str(p.get("error", ""))
            block.is_error = True
            block.duration_ms = float(p.get("duration_ms") or 0.0)
            block.done = True
        return index
