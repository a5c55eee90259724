"""Approval policy: which tool calls run, which ask a person, which are refused.

Rules are ``(pattern, decision)`` pairs; a pattern is a glob over the tool name (``bash``, ``mcp__*``) or a
capability pattern (``fs:write:src/**``, ``exec:cmd:rm``). Modes: ``default`` asks for anything not
read-only, ``auto`` (``--yes``) allows what would ask, ``plan`` refuses anything that is not read-only.
Deny always wins, in every mode (reliability-test-plan.md B3). An approval is bound to the exact call: the
tool and a BLAKE3 hash of its canonical arguments; it is single-use unless granted for the session, and
it expires.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import blake3
import msgspec

from life_tui.kernel.capability import matches as capability_matches

DEFAULT_EXPIRY_S = 300.0
_encoder = msgspec.json.Encoder(order="sorted")


class Decision(StrEnum):
    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


class ApprovalMode(StrEnum):
    DEFAULT = "default"
    AUTO = "auto"
    PLAN = "plan"


@dataclass(frozen=True)
class Rule:
    pattern: str
    decision: Decision

    def matches(self, tool_name: str, capabilities: list[str]) -> bool:
        if ":" in self.pattern:
            return any(capability_matches(self.pattern, c) for c in capabilities)
        return fnmatch.fnmatchcase(tool_name, self.pattern)


@dataclass(frozen=True)
class ApprovalPolicy:
    mode: ApprovalMode = ApprovalMode.DEFAULT
    rules: tuple[Rule, ...] = ()
    expiry_s: float = DEFAULT_EXPIRY_S
    session_grants: frozenset[str] = field(default_factory=frozenset)

    def decide(self, tool_name: str, *, read_only: bool, capabilities: list[str]) -> tuple[Decision, str]:
        """The decision for a call and why (the reason is shown to the user and the model)."""
        matched = [r for r in self.rules if r.matches(tool_name, capabilities)]
        if any(r.decision is Decision.DENY for r in matched):
            rule = next(r for r in matched if r.decision is Decision.DENY)
            return Decision.DENY, f"denied by rule {rule.pattern!r}"
        if self.mode is ApprovalMode.PLAN and not read_only:
            return Decision.DENY, "plan mode allows only read-only tools"
        if tool_name in self.session_grants:  # the user's answer to an earlier ask, rule-made or not
            return Decision.ALLOW, "approved for this session"
        if any(r.decision is Decision.ASK for r in matched):
            if self.mode is ApprovalMode.AUTO:
                return Decision.ALLOW, "auto mode"
            return Decision.ASK, "a rule asks for approval"
        if any(r.decision is Decision.ALLOW for r in matched):
            return Decision.ALLOW, "allowed by rule"
        if read_only:
            return Decision.ALLOW, "read-only tool"
        if self.mode is ApprovalMode.AUTO:
            return Decision.ALLOW, "auto mode"
        return Decision.ASK, "tools that change things ask first"


def parse_rules(entries: dict[str, str] | list[Any]) -> tuple[Rule, ...]:
    """Rules from config: ``{"bash": "ask", "fs:write:.env": "deny"}`` or ``[["bash", "ask"], ...]``."""
    pairs = entries.items() if isinstance(entries, dict) else [tuple(e) for e in entries]
    return tuple(Rule(str(p), Decision(str(d))) for p, d in pairs)


def arguments_hash(tool_name: str, arguments: dict[str, Any]) -> str:
    """The binding of an approval: BLAKE3 of the canonical (sorted-key) JSON of tool and arguments."""
    return blake3.blake3(_encoder.encode({"tool": tool_name, "arguments": arguments})).hexdigest()


def approval_id_for(call_id: str) -> str:
    """Deterministic, so a replay reproduces the same approval events."""
    return f"apr_{call_id}"
