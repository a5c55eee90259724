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
        return split(self)[0]

    @property
    def target(self) -> str:
        return split(self)[1]


def split(capability: str) -> tuple[str, str]:
    """``("fs:write:", "a:b.txt")``: the domain is the first two colon-separated parts, the target the rest.

    Splitting at the first two colons (not the last) keeps targets that contain colons intact.
    """
    parts = capability.split(":", 2)
    if len(parts) < 3:
        return capability, ""
    return f"{parts[0]}:{parts[1]}:", parts[2]


def matches(pattern: str, capability: str) -> bool:
    """True when ``capability`` falls under ``pattern``: ``*`` matches all, targets may be globs."""
    if pattern == "*":
        return True
    p_head, p_target = split(pattern)
    c_head, c_target = split(capability)
    if p_head != c_head:
        return False
    return fnmatch.fnmatchcase(c_target, p_target) if p_target not in ("", "*") else True
