"""The context compiler: what the model sees, built deterministically from the session's state.

Typed blocks in a fixed order, each with a token budget: system (base instructions + soul), project
instructions (AGENTS.md or LIFE.md), skills catalogue, memory, earlier-conversation summaries,
observations, tool definitions, then the history. The same state always compiles to the same request.

Compaction is an event (``context.compacted``) naming the seq range it summarises; the compiled history
leaves that range out and carries the summary instead. The events stay in the journal and a
``context.expanded`` event brings the range back. Pinned user messages are never compacted. Summaries are
extractive and deterministic (no model call), so compaction costs nothing and replays exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from life_tui.kernel.state import SoulProfile
from life_tui.runtime.projection import ConversationState, MessageRecord
from life_tui.runtime.providers.base import Message, SystemBlock, ToolCall, ToolDefinition

BASE_INSTRUCTIONS = (
    "You are an agent working in a terminal workstation. You can call tools to read and change the "
    "workspace; every action you take is recorded. Prefer small, verifiable steps. When a tool call is "
    "refused or blocked, do not retry it unchanged: explain and propose an alternative."
)
PROJECT_FILES = ("AGENTS.md", "LIFE.md")
INTERRUPTED = "(no result: the run stopped before this call completed)"


def estimate_tokens(text: str) -> int:
    """Before a call, ~4 characters per token (the provider's reported usage is the truth afterwards)."""
    return math.ceil(len(text) / 4) if text else 0


@dataclass(frozen=True)
class ContextBudgets:
    window: int = 200_000
    reserve_output: int = 8_192
    system: int = 2_000
    project: int = 8_000
    skills: int = 2_000
    memory: int = 6_000
    summaries: int = 4_000
    observations: int = 4_000
    compact_at: float = 0.85
    """Compact when the history fills this share of what is left for it."""
    compact_to: float = 0.5
    """...down to this share."""

    @property
    def input_budget(self) -> int:
        return self.window - self.reserve_output


@dataclass(frozen=True)
class ContextInputs:
    soul: SoulProfile = field(default_factory=SoulProfile)
    project_instructions: str | None = None
    skills_catalogue: str | None = None
    memory: str | None = None
    observations: str | None = None
    tools: tuple[ToolDefinition, ...] = ()


@dataclass(frozen=True)
class CompiledContext:
    system: list[SystemBlock]
    messages: list[Message]
    tools: list[ToolDefinition]
    tokens: int
    history_tokens: int
    history_budget: int
    window: int

    @property
    def utilisation(self) -> float:
        return self.tokens / self.window if self.window else 0.0


def load_project_instructions(workspace: Path) -> str | None:
    """AGENTS.md (or LIFE.md) at the workspace root, if present."""
    parts = []
    for name in PROJECT_FILES:
        path = workspace / name
        if path.is_file():
            try:
                parts.append(f"# {name}\n{path.read_text(encoding='utf-8', errors='replace')}")
            except OSError:
                continue
    return "\n\n".join(parts) or None


def _truncate(text: str, budget: int) -> str:
    limit = budget * 4
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut + " …[truncated]"


class HistoryCache:
    """Per-message work the compiler would otherwise redo every tick.

    A folded message never changes (it is keyed by the seq of its event within one branch), so its token
    estimate and its neutral :class:`Message` are computed once. Without this a session of 10k events
    spends most of each tick re-converting its whole history.
    """

    def __init__(self) -> None:
        self.tokens: dict[int, int] = {}
        self.messages: dict[int, Message] = {}
        self._signature: tuple[tuple[int, int, bool], ...] | None = None
        self._seen = 0
        self._history: list[MessageRecord] = []
        self._history_tokens = 0
        self._out: list[Message] = []
        self._open: dict[str, str] = {}

    def history(self, state: ConversationState) -> tuple[list[MessageRecord], int, list[Message]]:
        """Visible history, its token estimate and its messages, updated with only what is new.

        Messages are append-only between compactions, so only those folded since the last call are
        processed; a new, expanded or changed compaction starts over (per-message results stay memoised).
        """
        signature = tuple((c.from_seq, c.to_seq, c.expanded) for c in state.compactions)
        if signature != self._signature or len(state.messages) < self._seen:
            self._signature, self._seen = signature, 0
            self._history, self._history_tokens, self._out, self._open = [], 0, [], {}
        ranges = _hidden(state)
        for m in state.messages[self._seen :]:
            if not m.pinned and any(a <= m.seq <= b for a, b in ranges):
                continue
            self._history.append(m)
            self._history_tokens += _message_tokens(m, self)
            _append_message(self._out, self._open, m, self)
        self._seen = len(state.messages)
        tail = [
            Message(role="tool", content=INTERRUPTED, tool_call_id=call_id, tool_name=name, is_error=True)
            for call_id, name in self._open.items()
        ]
        return self._history, self._history_tokens, self._out + tail


def _message_tokens(m: MessageRecord, cache: HistoryCache | None = None) -> int:
    if cache is not None:
        known = cache.tokens.get(m.seq)
        if known is not None:
            return known
    extra = sum(estimate_tokens(str(c.arguments)) + 8 for c in m.tool_calls)
    tokens = estimate_tokens(m.content) + estimate_tokens(m.reasoning or "") + extra + 4
    if cache is not None:
        cache.tokens[m.seq] = tokens
    return tokens


def _convert(m: MessageRecord, cache: HistoryCache | None) -> Message:
    if cache is not None:
        known = cache.messages.get(m.seq)
        if known is not None:
            return known
    if m.role == "tool":
        message = Message(
            role="tool", content=m.content, tool_call_id=m.tool_call_id, tool_name=m.tool_name, is_error=m.is_error
        )
    elif m.role == "assistant":
        calls = [ToolCall(id=c.id, name=c.name, arguments=dict(c.arguments)) for c in m.tool_calls]
        message = Message(role="assistant", content=m.content, tool_calls=calls, reasoning=m.reasoning)
    else:
        message = Message(role="user", content=m.content)
    if cache is not None:
        cache.messages[m.seq] = message
    return message


def _hidden(state: ConversationState) -> list[tuple[int, int]]:
    return [(c.from_seq, c.to_seq) for c in state.compactions if not c.expanded]


def visible_history(state: ConversationState) -> list[MessageRecord]:
    """Messages not covered by an active compaction (pinned ones always stay)."""
    ranges = _hidden(state)
    return [m for m in state.messages if m.pinned or not any(a <= m.seq <= b for a, b in ranges)]


def _append_message(
    out: list[Message], open_calls: dict[str, str], m: MessageRecord, cache: HistoryCache | None
) -> None:
    """Add one history message; every tool call gets exactly one result, orphans are dropped."""
    if m.role == "tool":
        if m.tool_call_id in open_calls:
            open_calls.pop(m.tool_call_id)
            out.append(_convert(m, cache))
        return
    for call_id, name in list(open_calls.items()):  # a call that never got its result
        out.append(Message(role="tool", content=INTERRUPTED, tool_call_id=call_id, tool_name=name, is_error=True))
        open_calls.pop(call_id)
    out.append(_convert(m, cache))
    if m.role == "assistant" and m.tool_calls:
        open_calls.update({c.id: c.name for c in m.tool_calls})


def _to_messages(history: list[MessageRecord], cache: HistoryCache | None = None) -> list[Message]:
    """Neutral messages; every tool call gets exactly one result, orphans are dropped."""
    out: list[Message] = []
    open_calls: dict[str, str] = {}
    for m in history:
        _append_message(out, open_calls, m, cache)
    out.extend(
        Message(role="tool", content=INTERRUPTED, tool_call_id=call_id, tool_name=name, is_error=True)
        for call_id, name in open_calls.items()
    )
    return out


def compile_context(
    state: ConversationState, inputs: ContextInputs, budgets: ContextBudgets, cache: HistoryCache | None = None
) -> CompiledContext:
    system_text = inputs.soul.persona_block() + "\n\n" + BASE_INSTRUCTIONS
    blocks = [SystemBlock(name="system", text=_truncate(system_text, budgets.system))]
    optional = (
        ("project", inputs.project_instructions, budgets.project),
        ("skills", inputs.skills_catalogue, budgets.skills),
        ("memory", inputs.memory, budgets.memory),
    )
    blocks += [SystemBlock(name=n, text=_truncate(t, b)) for n, t, b in optional if t]
    summaries = [c for c in state.compactions if not c.expanded]
    if summaries:
        text = "\n\n".join(
            f"Earlier conversation (events #{c.from_seq}-#{c.to_seq}), summarised:\n{c.summary}" for c in summaries
        )
        blocks.append(SystemBlock(name="summaries", text=_truncate(text, budgets.summaries)))
    if inputs.observations:
        blocks.append(SystemBlock(name="observations", text=_truncate(inputs.observations, budgets.observations)))
    # Cache the stable prefix: everything before the history changes rarely.
    blocks[-1] = SystemBlock(name=blocks[-1].name, text=blocks[-1].text, cache=True)
    tools = list(inputs.tools)
    fixed = sum(estimate_tokens(b.text) for b in blocks) + sum(
        estimate_tokens(t.description) + estimate_tokens(str(t.input_schema)) + 8 for t in tools
    )
    if cache is not None:
        history, history_tokens, messages = cache.history(state)
    else:
        history = visible_history(state)
        history_tokens = sum(_message_tokens(m) for m in history)
        messages = _to_messages(history)
    history_budget = max(budgets.input_budget - fixed, 0)
    return CompiledContext(
        system=blocks,
        messages=messages,
        tools=tools,
        tokens=fixed + history_tokens,
        history_tokens=history_tokens,
        history_budget=history_budget,
        window=budgets.window,
    )


def plan_compaction(
    state: ConversationState, compiled: CompiledContext, budgets: ContextBudgets, target_fraction: float | None = None
) -> tuple[int, int] | None:
    """The seq range to compact, or None. Ranges end before a user message and never touch the last one.

    Without a ``target_fraction`` the history is compacted when it fills ``compact_at`` of its budget. A
    homeostasis ruling (compress, emergency) gives one: compact while the whole context is above that
    fraction of the window, down toward it.
    A range the user expanded again stays expanded while the history still fits the window: only what
    follows it is compacted (it would otherwise be re-compacted on the very next turn, undoing the expansion).
    """
    fixed = compiled.tokens - compiled.history_tokens
    ruled = target_fraction is not None and compiled.tokens > compiled.window * target_fraction
    if not ruled and compiled.history_tokens <= compiled.history_budget * budgets.compact_at:
        return None
    history = visible_history(state)
    if compiled.history_tokens <= compiled.history_budget and not ruled:
        floor = max((c.to_seq for c in state.compactions if c.expanded), default=0)
        history = [m for m in history if m.seq > floor]
    users = [i for i, m in enumerate(history) if m.role == "user" and not m.pinned]
    if len(users) < 2:
        return None
    target = compiled.history_budget * budgets.compact_to
    if ruled and target_fraction is not None:
        target = min(target, max(compiled.window * target_fraction - fixed, 0))
    end = None
    for boundary in users[1:]:  # cut just before a user message, keeping the latest turn whole
        removed = sum(_message_tokens(m) for m in history[:boundary] if not m.pinned)
        end = boundary
        if compiled.history_tokens - removed <= target:
            break
    if end is None or end == 0:
        return None
    chosen = [m for m in history[:end] if not m.pinned]
    if not chosen:
        return None
    return chosen[0].seq, chosen[-1].seq


def plan_manual_compaction(state: ConversationState) -> tuple[int, int] | None:
    """What ``/compact`` summarises: every visible message before the latest user message (the latest turn
    stays whole, pinned messages stay out); None when there is nothing before it."""
    history = visible_history(state)
    users = [i for i, m in enumerate(history) if m.role == "user"]
    if not users:
        return None
    chosen = [m for m in history[: users[-1]] if not m.pinned]
    if not chosen:
        return None
    return chosen[0].seq, chosen[-1].seq


def summarise(messages: list[MessageRecord], limit_chars: int = 6_000) -> str:
    """A deterministic extractive summary: who said what, which tools ran, first lines only."""
    lines = []
    for m in messages:
        first = " ".join(m.content.split())[:200]
        if m.role == "user":
            lines.append(f"- user: {first}")
        elif m.role == "assistant":
            calls = ", ".join(c.name for c in m.tool_calls)
            lines.append(f"- assistant: {first}" + (f" [called {calls}]" if calls else ""))
        else:
            status = "failed" if m.is_error else "ok"
            lines.append(f"- {m.tool_name} {status}: {first[:120]}")
    text = "\n".join(lines)
    return text if len(text) <= limit_chars else text[: limit_chars - 20] + "\n- … (more)"
