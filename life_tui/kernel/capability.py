"""Capabilities: the strings that name what a tool call may touch (``fs:read:``, ``exec:cmd:``...).

A capability is ``domain:action:target``. Policies hold capability *patterns* where the target may be a
glob (``fs:write:src/**``); :func:`matches` decides whether a requested capability falls under a pattern.
Kept in the kernel because tools produce capabilities and the runtime's approval policy consumes them.
"""

from __future__ import annotations

import fnmatch
from enum import StrEnum


class CapabilityDomain(StrEnum):
    FS_READ = "fs:read:"
    FS_WRITE = "fs:write:"
    EXEC_CMD = "exec:cmd:"
    NET_EGRESS = "net:egress:"
    SECRETS_READ = "secrets:read:"
    PAYMENTS = "payments:initiate"


class Capability(str):
    """A requested capability such as ``fs:write:src/app.py``. Construct with :meth:`of`."""

    __slots__ = ()

    @classmethod
    def of(cls, domain: CapabilityDomain, target: str = "") -> Capability:
        return cls(f"{domain.value}{target}")

    @property
    def domain(self) -> str:
        head, _, _ = self.rpartition(":")
        return head + ":"

    @property
    def target(self) -> str:
        return self.rpartition(":")[2]


def matches(pattern: str, capability: str) -> bool:
    """True when ``capability`` falls under ``pattern``: ``*`` matches all, targets may be globs."""
    if pattern == "*":
        return True
    p_head, _, p_target = pattern.rpartition(":")
    c_head, _, c_target = capability.rpartition(":")
    if p_head != c_head:
        return False
    return fnmatch.fnmatchcase(c_target, p_target or "*") if p_target not in ("", "*") else True
