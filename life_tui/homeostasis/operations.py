"""What a tool call is, as far as the gates care: its signature, and whether it runs a shell, writes files
or memory, or reaches the network.

The fold (per-tick mutation counts, doom-loop signatures) and the controller (which gate decides a call)
must classify a call the same way, and the runtime adapter must sign a pending call exactly as the fold
signed its request, so this lives in one module they all import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import blake3
import msgspec

from life_tui.kernel.capability import CapabilityDomain

SHELL_TOOLS = frozenset({"bash", "shell", "exec", "command"})
FILE_WRITE_TOOLS = frozenset(
    {
        "write_file",
        "edit_file",
        "delete_file",
        "create_directory",
        "move_file",
        "memory_write",
        "memory_forget",
        "memory_propose",
        "memory_commit",
    }
)
_canonical = msgspec.json.Encoder(order="deterministic")


def call_signature(name: str, arguments: Mapping[str, Any]) -> str:
    """``name:`` + BLAKE3 of the arguments' canonical JSON (keys sorted): equal calls, equal signatures."""
    try:
        body = _canonical.encode(dict(arguments))
    except (TypeError, msgspec.EncodeError):
        body = repr(sorted(arguments.items())).encode()
    return f"{name}:{blake3.blake3(body).hexdigest()[:32]}"


def is_shell(name: str, capabilities: Iterable[str] = ()) -> bool:
    return name in SHELL_TOOLS or any(c.startswith(CapabilityDomain.EXEC_CMD.value) for c in capabilities)


def is_file_write(name: str, capabilities: Iterable[str] = ()) -> bool:
    """A call that writes or deletes workspace files, or writes memory."""
    return name in FILE_WRITE_TOOLS or any(c.startswith(CapabilityDomain.FS_WRITE.value) for c in capabilities)


def is_network(capabilities: Iterable[str]) -> bool:
    return any(c.startswith(CapabilityDomain.NET_EGRESS.value) for c in capabilities)
