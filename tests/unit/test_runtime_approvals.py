"""The approval policy (reliability-test-plan B3/B4): the precedence matrix, deny wins, plan mode, session
grants, rule parsing, and the binding of an approval to the exact call (tool + arguments hash)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from life_tui.runtime.approvals import (
    ApprovalMode,
    ApprovalPolicy,
    Decision,
    Rule,
    approval_id_for,
    arguments_hash,
    parse_rules,
)

TOOLS = ("read_file", "list_dir", "write_file", "bash", "mcp__git__commit")
READ_ONLY = {"read_file": True, "list_dir": True}
CAPS = {
    "read_file": ["fs:read:src/a.py"],
    "list_dir": ["fs:read:."],
    "write_file": ["fs:write:.env"],
    "bash": ["exec:cmd:rm"],
    "mcp__git__commit": [],
}
PATTERNS = (
    "read_file",
    "list_dir",
    "write_file",
    "bash",
    "mcp__*",
    "*_file",
    "*",
    "nothing",
    "fs:write:.env",
    "exec:cmd:*",
)


def reference(
    mode: ApprovalMode, rules: list[tuple[str, Decision]], tool: str, read_only: bool, grants: frozenset[str]
) -> Decision:
    """The precedence table of the spec, written independently of the implementation.

    deny rule > plan denies non-read-only > session grant > ask rule (auto: allow) > allow rule > read-only
    > auto > ask.
    """
    matched: set[Decision] = set()
    for pattern, decision in rules:
        if ":" in pattern:
            domain_action, _, target = pattern.rpartition(":")
            hit = any(
                c.rpartition(":")[0] == domain_action and (target in ("*", "**") or c.rpartition(":")[2] == target)
                for c in CAPS[tool]
            )
        else:
            hit = pattern in ("*", tool) or (pattern.endswith("*") and tool.startswith(pattern[:-1]))
            hit = hit or (pattern.startswith("*") and tool.endswith(pattern[1:]))
        if hit:
            matched.add(decision)
    if Decision.DENY in matched:
        return Decision.DENY
    if mode is ApprovalMode.PLAN and not read_only:
        return Decision.DENY
    if tool in grants:
        return Decision.ALLOW
    if Decision.ASK in matched:
        return Decision.ALLOW if mode is ApprovalMode.AUTO else Decision.ASK
    if Decision.ALLOW in matched or read_only or mode is ApprovalMode.AUTO:
        return Decision.ALLOW
    return Decision.ASK


rule_lists = st.lists(st.tuples(st.sampled_from(PATTERNS), st.sampled_from(list(Decision))), max_size=4)


@settings(max_examples=400, deadline=None)
@given(
    mode=st.sampled_from(list(ApprovalMode)),
    rules=rule_lists,
    tool=st.sampled_from(TOOLS),
    read_only=st.booleans() | st.none(),
    grants=st.frozensets(st.sampled_from(TOOLS), max_size=2),
)
def test_precedence_matrix_matches_the_reference_table(
    mode: ApprovalMode, rules: list[tuple[str, Decision]], tool: str, read_only: bool | None, grants: frozenset[str]
) -> None:
    ro = READ_ONLY.get(tool, False) if read_only is None else read_only
    policy = ApprovalPolicy(mode=mode, rules=tuple(Rule(p, d) for p, d in rules), session_grants=grants)
    decision, why = policy.decide(tool, read_only=ro, capabilities=CAPS[tool])
    assert decision is reference(mode, rules, tool, ro, grants), why
    assert why  # every decision says why


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from(list(ApprovalMode)),
    rules=rule_lists,
    tool=st.sampled_from(TOOLS),
    read_only=st.booleans(),
    grants=st.frozensets(st.sampled_from(TOOLS), max_size=3),
)
def test_deny_always_wins(
    mode: ApprovalMode, rules: list[tuple[str, Decision]], tool: str, read_only: bool, grants: frozenset[str]
) -> None:
    deny = Rule(tool, Decision.DENY)
    for position in range(len(rules) + 1):  # wherever the deny rule sits among the others
        ordered = [Rule(p, d) for p, d in rules]
        ordered.insert(position, deny)
        policy = ApprovalPolicy(mode=mode, rules=tuple(ordered), session_grants=grants | {tool})
        decision, why = policy.decide(tool, read_only=read_only, capabilities=CAPS[tool])
        assert decision is Decision.DENY
        assert why.startswith("denied by rule")


@given(rules=rule_lists, tool=st.sampled_from(TOOLS), grants=st.frozensets(st.sampled_from(TOOLS)))
def test_plan_mode_denies_every_write_and_auto_mode_never_asks(
    rules: list[tuple[str, Decision]], tool: str, grants: frozenset[str]
) -> None:
    parsed = tuple(Rule(p, d) for p, d in rules)
    plan = ApprovalPolicy(mode=ApprovalMode.PLAN, rules=parsed, session_grants=grants)
    assert plan.decide(tool, read_only=False, capabilities=CAPS[tool])[0] is Decision.DENY
    auto = ApprovalPolicy(mode=ApprovalMode.AUTO, rules=parsed, session_grants=grants)
    for ro in (True, False):
        assert auto.decide(tool, read_only=ro, capabilities=CAPS[tool])[0] is not Decision.ASK


def test_default_mode_table() -> None:
    policy = ApprovalPolicy()
    assert policy.decide("read_file", read_only=True, capabilities=[]) == (Decision.ALLOW, "read-only tool")
    assert policy.decide("bash", read_only=False, capabilities=[]) == (
        Decision.ASK,
        "tools that change things ask first",
    )
    # An ask rule makes even a read-only tool ask; an allow rule lets a writer run unasked.
    asking = ApprovalPolicy(rules=parse_rules({"list_dir": "ask", "write_*": "allow"}))
    assert asking.decide("list_dir", read_only=True, capabilities=[])[0] is Decision.ASK
    assert asking.decide("write_file", read_only=False, capabilities=[])[0] is Decision.ALLOW


def test_auto_mode_allows_what_would_ask_but_not_what_is_denied() -> None:
    auto = ApprovalPolicy(mode=ApprovalMode.AUTO, rules=parse_rules({"list_dir": "ask", "bash": "deny"}))
    assert auto.decide("list_dir", read_only=True, capabilities=[]) == (Decision.ALLOW, "auto mode")
    assert auto.decide("write_file", read_only=False, capabilities=[]) == (Decision.ALLOW, "auto mode")
    assert auto.decide("bash", read_only=False, capabilities=[]) == (Decision.DENY, "denied by rule 'bash'")


def test_plan_mode_allows_reads_and_names_the_reason_for_writes() -> None:
    plan = ApprovalPolicy(mode=ApprovalMode.PLAN)
    assert plan.decide("read_file", read_only=True, capabilities=[])[0] is Decision.ALLOW
    assert plan.decide("write_file", read_only=False, capabilities=[]) == (
        Decision.DENY,
        "plan mode allows only read-only tools",
    )
    # Neither an allow rule nor a session grant lets a write through in plan mode.
    granted = ApprovalPolicy(
        mode=ApprovalMode.PLAN, rules=parse_rules({"*": "allow"}), session_grants=frozenset({"bash"})
    )
    assert granted.decide("bash", read_only=False, capabilities=[])[0] is Decision.DENY


def test_session_grants_skip_the_question_for_that_tool_only() -> None:
    policy = ApprovalPolicy(rules=parse_rules({"list_dir": "ask"}), session_grants=frozenset({"list_dir", "bash"}))
    assert policy.decide("list_dir", read_only=True, capabilities=[]) == (Decision.ALLOW, "approved for this session")
    assert policy.decide("bash", read_only=False, capabilities=[]) == (Decision.ALLOW, "approved for this session")
    assert policy.decide("write_file", read_only=False, capabilities=[])[0] is Decision.ASK
    # A grant never overrides a deny rule.
    denied = ApprovalPolicy(rules=parse_rules({"bash": "deny"}), session_grants=frozenset({"bash"}))
    assert denied.decide("bash", read_only=False, capabilities=[])[0] is Decision.DENY


def test_capability_rules_match_the_capabilities_of_the_call() -> None:
    policy = ApprovalPolicy(
        mode=ApprovalMode.AUTO, rules=parse_rules([["fs:write:.env", "deny"], ["exec:cmd:*", "ask"]])
    )
    assert policy.decide("write_file", read_only=False, capabilities=["fs:write:.env"])[0] is Decision.DENY
    assert policy.decide("write_file", read_only=False, capabilities=["fs:write:src/a.py"])[0] is Decision.ALLOW
    strict = ApprovalPolicy(rules=parse_rules([["exec:cmd:*", "ask"]]))
    assert strict.decide("bash", read_only=True, capabilities=["exec:cmd:ls"])[0] is Decision.ASK
    assert strict.decide("bash", read_only=True, capabilities=[])[0] is Decision.ALLOW


def test_parse_rules_accepts_tables_and_pairs_and_rejects_unknown_decisions() -> None:
    assert parse_rules({"bash": "ask"}) == (Rule("bash", Decision.ASK),)
    assert parse_rules([("bash", "deny"), ["mcp__*", "allow"]]) == (
        Rule("bash", Decision.DENY),
        Rule("mcp__*", Decision.ALLOW),
    )
    with pytest.raises(ValueError):
        parse_rules({"bash": "maybe"})


# ------------------------------------------------------------------------------------------ binding
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
arguments = st.dictionaries(st.text(min_size=1, max_size=6), json_values, min_size=1, max_size=5)


def _reversed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed(v) for v in value]
    return value


@given(args=arguments)
def test_arguments_hash_ignores_key_order(args: dict[str, Any]) -> None:
    digest = arguments_hash("bash", args)
    assert arguments_hash("bash", _reversed(args)) == digest
    assert len(digest) == 64 and int(digest, 16) >= 0


@given(args=arguments, data=st.data())
def test_any_argument_change_changes_the_hash(args: dict[str, Any], data: st.DataObject) -> None:
    digest = arguments_hash("bash", args)
    key = data.draw(st.sampled_from(sorted(args)))
    changed = copy.deepcopy(args)
    new_value = data.draw(json_values.filter(lambda v: v != args[key] or type(v) is not type(args[key])))
    changed[key] = new_value
    assert arguments_hash("bash", changed) != digest
    removed = {k: v for k, v in args.items() if k != key}
    assert arguments_hash("bash", removed) != digest
    added = {**args, key + "_extra": 1}
    assert arguments_hash("bash", added) != digest
    assert arguments_hash("bash2", args) != digest  # the tool is part of the binding


def test_arguments_hash_distinguishes_types_and_nesting() -> None:
    assert arguments_hash("t", {"n": 1}) != arguments_hash("t", {"n": "1"})
    assert arguments_hash("t", {"n": 1}) != arguments_hash("t", {"n": True})
    assert arguments_hash("t", {"a": {"b": 1}}) != arguments_hash("t", {"a": {"b": 2}})
    assert arguments_hash("t", {"a": {"x": 1, "y": 2}}) == arguments_hash("t", {"a": {"y": 2, "x": 1}})


def test_approval_ids_are_deterministic_per_call() -> None:
    assert approval_id_for("call_1") == approval_id_for("call_1") == "apr_call_1"
    assert approval_id_for("call_1") != approval_id_for("call_2")
