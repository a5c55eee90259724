"""The context compiler: block order and budgets, determinism, tool-call/result pairing, and compaction
(ranges, pinned messages, the summary, expansion)."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from life_tui.kernel.event import Event, encode_payload
from life_tui.kernel.state import SoulProfile
from life_tui.runtime.context import (
    INTERRUPTED,
    ContextBudgets,
    ContextInputs,
    compile_context,
    estimate_tokens,
    load_project_instructions,
    plan_compaction,
    summarise,
    visible_history,
)
from life_tui.runtime.projection import ConversationProjection, ConversationState, MessageRecord, ToolCallRecord
from life_tui.runtime.providers.base import Message, ToolDefinition

TOOL = ToolDefinition(name="list_dir", description="List a directory.", input_schema={"type": "object"})


class Log:
    """Builds a branch's events and folds them, as the journal and the Session would."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, kind: str, **payload: Any) -> int:
        seq = len(self.events) + 1
        self.events.append(
            Event(
                event_id=f"e{seq}",
                session_id="s",
                branch="main",
                seq=seq,
                kind=kind,
                occurred_at=1_000_000 + seq,
                run_id="r1",
                payload=encode_payload(payload),
            )
        )
        return seq

    def user(self, text: str, *, pinned: bool = False) -> int:
        return self.add("user.message", content=text, pinned=pinned)

    def assistant(self, text: str, calls: list[tuple[str, str]] = ()) -> int:  # type: ignore[assignment]
        tool_calls = [{"id": cid, "name": name, "arguments": {"path": "."}} for cid, name in calls]
        return self.add(
            "assistant.message", content=text, tool_calls=tool_calls, usage={"input_tokens": 5, "output_tokens": 2}
        )

    def result(self, call_id: str, text: str, *, failed: bool = False) -> int:
        if failed:
            return self.add("tool.call_failed", call_id=call_id, tool_name="list_dir", error=text)
        return self.add("tool.call_completed", call_id=call_id, tool_name="list_dir", result=text)

    def state(self) -> ConversationState:
        projection = ConversationProjection()
        state = projection.initial()
        for e in self.events:
            state = projection.apply(state, e)
        return state


def _request_bytes(state: ConversationState, inputs: ContextInputs, budgets: ContextBudgets) -> bytes:
    compiled = compile_context(state, inputs, budgets)
    return msgspec.json.encode([compiled.system, compiled.messages, compiled.tools, compiled.tokens])


# ------------------------------------------------------------------------------------------- blocks
def test_blocks_come_in_a_fixed_order_and_only_the_last_is_cached() -> None:
    log = Log()
    first = log.user("hello")
    log.assistant("hi")
    log.add("context.compacted", from_seq=first, to_seq=first + 1, summary="- user: hello")
    log.user("again")
    inputs = ContextInputs(
        soul=SoulProfile(name="tester", mission="test things"),
        project_instructions="# AGENTS.md\nuse tabs",
        skills_catalogue="skill: lint",
        memory="the user likes tea",
        observations="the build is green",
        tools=(TOOL,),
    )
    compiled = compile_context(log.state(), inputs, ContextBudgets())
    assert [b.name for b in compiled.system] == ["system", "project", "skills", "memory", "summaries", "observations"]
    assert [b.cache for b in compiled.system] == [False] * 5 + [True]
    assert compiled.system[0].text.startswith("You are tester — test things")
    assert "Earlier conversation (events #1-#2), summarised:\n- user: hello" in compiled.system[4].text
    assert compiled.tools == [TOOL]
    # Absent inputs leave their blocks out; the last present block carries the cache mark.
    bare = compile_context(ConversationState(), ContextInputs(), ContextBudgets())
    assert [(b.name, b.cache) for b in bare.system] == [("system", True)]
    assert bare.messages == []


def test_each_block_is_truncated_to_its_budget() -> None:
    budgets = ContextBudgets(project=50, memory=10)
    long_project = "word " * 1000
    compiled = compile_context(
        ConversationState(), ContextInputs(project_instructions=long_project, memory="m" * 500), budgets
    )
    project = next(b for b in compiled.system if b.name == "project")
    memory = next(b for b in compiled.system if b.name == "memory")
    assert project.text.endswith(" …[truncated]") and len(project.text) <= 50 * 4 + len(" …[truncated]")
    assert project.text.startswith("word word")
    assert memory.text == "m" * 40 + " …[truncated]"
    short = compile_context(ConversationState(), ContextInputs(memory="short"), budgets)
    assert next(b for b in short.system if b.name == "memory").text == "short"


def test_token_accounting_and_utilisation() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    log = Log()
    log.user("x" * 400)
    budgets = ContextBudgets(window=20_000)
    compiled = compile_context(log.state(), ContextInputs(tools=(TOOL,)), budgets)
    assert compiled.history_tokens == 100 + 4
    fixed = compiled.tokens - compiled.history_tokens
    assert compiled.history_budget == budgets.window - budgets.reserve_output - fixed
    assert compiled.utilisation == compiled.tokens / 20_000


def test_project_instructions_come_from_agents_md_and_life_md(tmp_path: Any) -> None:
    assert load_project_instructions(tmp_path) is None
    (tmp_path / "AGENTS.md").write_text("be brief")
    (tmp_path / "LIFE.md").write_text("be kind")
    assert load_project_instructions(tmp_path) == "# AGENTS.md\nbe brief\n\n# LIFE.md\nbe kind"


def test_the_same_state_compiles_to_the_same_request() -> None:
    log = Log()
    log.user("list files")
    log.assistant("looking", [("c1", "list_dir"), ("c2", "list_dir")])
    log.result("c1", "a.txt")
    log.result("c2", "nope", failed=True)
    log.assistant("done")
    inputs = ContextInputs(project_instructions="rules", tools=(TOOL,))
    # Two independent folds of the same events: byte-identical requests.
    assert _request_bytes(log.state(), inputs, ContextBudgets()) == _request_bytes(
        log.state(), inputs, ContextBudgets()
    )
    state = log.state()
    assert _request_bytes(state, inputs, ContextBudgets()) == _request_bytes(state, inputs, ContextBudgets())


# ------------------------------------------------------------------------------------------ pairing
def test_tool_results_follow_their_calls_and_failed_calls_are_errors() -> None:
    log = Log()
    log.user("go")
    log.assistant("", [("c1", "list_dir"), ("c2", "list_dir")])
    log.result("c2", "second")  # results may arrive in any order
    log.result("c1", "first", failed=True)
    log.assistant("answer")
    messages = compile_context(log.state(), ContextInputs(), ContextBudgets()).messages
    assert [(m.role, m.tool_call_id, m.content, m.is_error) for m in messages] == [
        ("user", None, "go", False),
        ("assistant", None, "", False),
        ("tool", "c2", "second", False),
        ("tool", "c1", "first", True),
        ("assistant", None, "answer", False),
    ]
    assert [c.id for c in messages[1].tool_calls] == ["c1", "c2"]


def test_an_interrupted_call_gets_a_synthetic_result_and_orphan_results_are_dropped() -> None:
    log = Log()
    log.user("go")
    log.assistant("", [("c1", "list_dir"), ("c2", "list_dir")])
    log.result("c1", "done")
    log.result("ghost", "a result for a call nobody made")
    log.user("why did you stop?")  # c2 never got a result: the run was cancelled
    log.assistant("", [("c3", "list_dir")])  # and the last call of the branch is open too
    messages = compile_context(log.state(), ContextInputs(), ContextBudgets()).messages
    assert [(m.role, m.tool_call_id) for m in messages] == [
        ("user", None),
        ("assistant", None),
        ("tool", "c1"),
        ("tool", "c2"),
        ("user", None),
        ("assistant", None),
        ("tool", "c3"),
    ]
    synthetic = [m for m in messages if m.content == INTERRUPTED]
    assert [(m.tool_call_id, m.tool_name, m.is_error) for m in synthetic] == [
        ("c2", "list_dir", True),
        ("c3", "list_dir", True),
    ]
    assert all(m.tool_call_id != "ghost" for m in messages)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.lists(st.booleans(), max_size=3)), min_size=1, max_size=6))
def test_every_call_is_answered_exactly_once(turns: list[tuple[int, list[bool]]]) -> None:
    """Random turns of calls, some answered and some not: every call gets exactly one result, right after it."""
    log = Log()
    n = 0
    for ncalls, answered in turns:
        log.user("q")
        calls = [(f"c{n + i}", "list_dir") for i in range(ncalls)]
        n += ncalls
        log.assistant("a", calls)
        for (cid, _), ok in zip(calls, answered, strict=False):
            if ok:
                log.result(cid, "r")
    messages = compile_context(log.state(), ContextInputs(), ContextBudgets()).messages
    seen: list[str] = []
    pending: list[str] = []
    for m in messages:
        if m.role == "assistant":
            assert not pending
            pending = [c.id for c in m.tool_calls]
        elif m.role == "tool":
            assert m.tool_call_id in pending
            pending.remove(m.tool_call_id)
            seen.append(m.tool_call_id)
        else:
            assert not pending
    assert not pending
    assert sorted(seen) == sorted(f"c{i}" for i in range(n))


# --------------------------------------------------------------------------------------- compaction
def _conversation(sizes: list[int], pinned: frozenset[int] = frozenset()) -> Log:
    """One turn per size: a user message of that many characters, a tool call and its result, an answer."""
    log = Log()
    for i, size in enumerate(sizes):
        log.user(f"u{i} " + "x" * size, pinned=i in pinned)
        log.assistant(f"a{i}", [(f"c{i}", "list_dir")])
        log.result(f"c{i}", "r" * (size // 2))
        log.assistant(f"done {i}")
    return log


def _budgets_for_history(history_budget: int) -> ContextBudgets:
    fixed = compile_context(ConversationState(), ContextInputs(), ContextBudgets()).tokens
    return ContextBudgets(window=ContextBudgets().reserve_output + fixed + history_budget)


def test_no_compaction_while_the_history_fits() -> None:
    log = _conversation([100, 100])
    budgets = _budgets_for_history(10_000)
    state = log.state()
    assert plan_compaction(state, compile_context(state, ContextInputs(), budgets), budgets) is None


def test_a_single_turn_is_never_compacted_however_large() -> None:
    log = _conversation([50_000])
    budgets = _budgets_for_history(1_000)
    state = log.state()
    assert plan_compaction(state, compile_context(state, ContextInputs(), budgets), budgets) is None


@settings(max_examples=120, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 3_000), min_size=2, max_size=8),
    history_budget=st.integers(200, 4_000),
    pinned=st.frozensets(st.integers(0, 7), max_size=3),
)
def test_compaction_ranges_end_before_a_user_message_and_spare_the_latest_turn(
    sizes: list[int], history_budget: int, pinned: frozenset[int]
) -> None:
    log = _conversation(sizes, pinned)
    budgets = _budgets_for_history(history_budget)
    state = log.state()
    compiled = compile_context(state, ContextInputs(), budgets)
    span = plan_compaction(state, compiled, budgets)
    if compiled.history_tokens <= compiled.history_budget * budgets.compact_at:
        assert span is None
        return
    unpinned_users = [m.seq for m in state.messages if m.role == "user" and not m.pinned]
    if len(unpinned_users) < 2:
        assert span is None
        return
    assert span is not None
    start, end = span
    assert start <= end
    latest_user = max(m.seq for m in state.messages if m.role == "user")
    assert end < latest_user  # the latest turn stays whole
    following = [m for m in state.messages if m.seq > end]
    assert following and following[0].role == "user"  # the range ends just before a user message
    # Apply it: pinned messages survive, and every call in the visible history still has its result.
    log.add("context.compacted", from_seq=start, to_seq=end, summary="s")
    after = log.state()
    visible = {m.seq for m in visible_history(after)}
    for m in after.messages:
        if m.pinned or not start <= m.seq <= end:
            assert m.seq in visible
        else:
            assert m.seq not in visible
    messages = compile_context(after, ContextInputs(), budgets).messages
    calls = [c.id for m in messages if m.role == "assistant" for c in m.tool_calls]
    results = [m.tool_call_id or "" for m in messages if m.role == "tool"]
    assert sorted(calls) == sorted(results)
    assert all(m.content != INTERRUPTED for m in messages)


def test_compaction_removes_enough_and_the_summary_block_replaces_the_range() -> None:
    log = _conversation([2_000, 2_000, 2_000, 100])
    budgets = _budgets_for_history(2_000)
    state = log.state()
    compiled = compile_context(state, ContextInputs(), budgets)
    span = plan_compaction(state, compiled, budgets)
    assert span is not None
    covered = [m for m in visible_history(state) if span[0] <= m.seq <= span[1] and not m.pinned]
    log.add("context.compacted", from_seq=span[0], to_seq=span[1], summary=summarise(covered))
    after = compile_context(log.state(), ContextInputs(), budgets)
    assert after.history_tokens <= compiled.history_budget * budgets.compact_to
    assert [b.name for b in after.system] == ["system", "summaries"]
    assert f"(events #{span[0]}-#{span[1]})" in after.system[1].text
    # Whole turns go, oldest first, just enough of them: turn 2 stays.
    assert all(not m.content.startswith(("u0", "u1", "a0", "a1", "done 0", "done 1")) for m in after.messages)
    assert after.messages[0] == Message(role="user", content="u2 " + "x" * 2_000)
    assert span == (1, 8)


def test_pinned_messages_survive_compaction() -> None:
    log = _conversation([2_000, 2_000, 2_000, 100], pinned=frozenset({1}))
    budgets = _budgets_for_history(2_000)
    state = log.state()
    span = plan_compaction(state, compile_context(state, ContextInputs(), budgets), budgets)
    assert span is not None and span[0] < 5 < span[1]  # the pinned message (seq 5) sits inside the range
    covered = [m for m in visible_history(state) if span[0] <= m.seq <= span[1] and not m.pinned]
    assert "u1" not in summarise(covered)  # it is not summarised either: it stays verbatim
    log.add("context.compacted", from_seq=span[0], to_seq=span[1], summary=summarise(covered))
    messages = compile_context(log.state(), ContextInputs(), budgets).messages
    assert messages[0].content.startswith("u1 ")  # still there, first
    assert not any(m.content.startswith(("u0", "a0", "a1")) for m in messages)


def test_expansion_brings_the_range_back_and_is_not_compacted_again_while_it_fits() -> None:
    log = _conversation([1_200, 1_200, 100])
    state = log.state()
    history = compile_context(state, ContextInputs(), ContextBudgets()).history_tokens
    budgets = _budgets_for_history(int(history / 0.9))  # over the compaction threshold, under the window
    span = plan_compaction(state, compile_context(state, ContextInputs(), budgets), budgets)
    assert span is not None
    compaction_seq = log.add("context.compacted", from_seq=span[0], to_seq=span[1], summary="s")
    hidden = compile_context(log.state(), ContextInputs(), budgets)
    log.add("context.expanded", compaction_seq=compaction_seq)
    expanded_state = log.state()
    expanded = compile_context(expanded_state, ContextInputs(), budgets)
    assert expanded.messages == compile_context(state, ContextInputs(), budgets).messages
    assert len(expanded.messages) > len(hidden.messages)
    assert [b.name for b in expanded.system] == ["system"]
    # The user asked for the range back: while the history still fits the window, the planner leaves it.
    again = plan_compaction(expanded_state, expanded, budgets)
    assert again is None or again[0] > span[1]


def test_an_expanded_range_is_compacted_again_when_the_window_overflows() -> None:
    log = _conversation([4_000, 4_000, 100])
    budgets = _budgets_for_history(2_000)
    span = (1, 4)
    compaction_seq = log.add("context.compacted", from_seq=span[0], to_seq=span[1], summary="s")
    log.add("context.expanded", compaction_seq=compaction_seq)
    state = log.state()
    compiled = compile_context(state, ContextInputs(), budgets)
    assert compiled.history_tokens > compiled.history_budget
    again = plan_compaction(state, compiled, budgets)
    assert again is not None and again[0] == 1


def test_summaries_are_deterministic_extractive_and_bounded() -> None:
    messages = [
        MessageRecord(seq=1, role="user", content="please   list\nthe files"),
        MessageRecord(seq=2, role="assistant", content="sure", tool_calls=[ToolCallRecord(id="c1", name="list_dir")]),
        MessageRecord(seq=3, role="tool", content="a.txt\nb.txt", tool_name="list_dir", tool_call_id="c1"),
        MessageRecord(seq=4, role="tool", content="boom", tool_name="read_file", tool_call_id="c2", is_error=True),
    ]
    text = summarise(messages)
    assert text == summarise(list(messages))
    assert text == "\n".join(
        [
            "- user: please list the files",
            "- assistant: sure [called list_dir]",
            "- list_dir ok: a.txt b.txt",
            "- read_file failed: boom",
        ]
    )
    many = [MessageRecord(seq=i, role="user", content="y" * 300) for i in range(100)]
    bounded = summarise(many, limit_chars=1_000)
    assert len(bounded) <= 1_000 and bounded.endswith("- … (more)")
    assert summarise(many, limit_chars=1_000) == bounded
