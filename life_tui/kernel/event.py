"""The event envelope, the draft callers hand to the journal, and the canonical encoding used for hashing.

One envelope for every event (SPEC §2). The payload is kept as the exact JSON bytes it was stored with
(:class:`msgspec.Raw`): decoding it is lazy (most readers need only kinds and seqs) and events of kinds
this version does not know round-trip byte for byte.

Canonical encoding: the envelope as compact JSON, every field present in declaration order (absent
optional fields as ``null``), dict keys sorted. ``hash`` is BLAKE3 over the canonical encoding of the event
*without* its ``hash`` field; ``prev_hash`` is the hash of the previous event on the branch (``""`` for the first), so
each branch is a hash chain that runs through its ancestors' events up to the fork point.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import blake3
import msgspec

from life_tui.kernel.clock import iso_utc

SCHEMA_VERSION = 1
DEFAULT_TENANT = "local"
DEFAULT_AGENT = "agent"


NO_PAYLOAD = msgspec.Raw(b"null")


class Actor(StrEnum):
    """Who caused an event."""

    USER = "user"
    AGENT = "agent"
    SYSTEM = "system"
    TOOL = "tool"


class Event(msgspec.Struct, frozen=True):
    """One stored event. Immutable; every field but ``payload`` is set by the journal or the caller's draft.

    ``occurred_at`` is microseconds since the Unix epoch (UTC). ``seq`` counts from 1 per (session, branch);
    a branch's own events continue the numbering of its parent after the fork point. The Go "Agent OS"
    contract's minimum fields are all present (``event_type`` is an alias of ``kind``; ``tenant_id``
    defaults to ``"local"``).
    """

    event_id: str
    session_id: str
    branch: str
    seq: int
    kind: str
    occurred_at: int
    actor: str = Actor.SYSTEM.value
    agent_id: str = DEFAULT_AGENT
    tenant_id: str = DEFAULT_TENANT
    run_id: str | None = None
    parent_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    schema_version: int = SCHEMA_VERSION
    payload: msgspec.Raw = NO_PAYLOAD
    """Required: the default only lets events be built positionally (fast); decoding refuses its absence."""
    prev_hash: str = ""
    hash: str = ""

    def __post_init__(self) -> None:
        if self.payload is NO_PAYLOAD:
            raise ValueError(f"event {self.event_id} has no payload")

    @property
    def event_type(self) -> str:
        return self.kind

    @property
    def time_iso(self) -> str:
        return iso_utc(self.occurred_at)

    def payload_dict(self) -> dict[str, Any]:
        """The payload as plain JSON data (always works, whatever the kind)."""
        value = _json_decoder.decode(self.payload)
        return value if isinstance(value, dict) else {"value": value}

    def data(self) -> Any:
        """The payload as its typed record when the kind is registered, else as a dict."""
        from life_tui.kernel.kinds import decode_payload

        return decode_payload(self.kind, self.payload)

    def to_json(self) -> bytes:
        return encode_event(self)


class EventDraft(msgspec.Struct, frozen=True, kw_only=True):
    """What a caller appends: the journal assigns id (unless given), seq, time (unless given) and hashes.

    ``payload`` is a registered payload record, a dict, or already-encoded JSON (:class:`msgspec.Raw`).
    """

    kind: str
    payload: Any
    actor: str = Actor.SYSTEM.value
    agent_id: str = DEFAULT_AGENT
    tenant_id: str = DEFAULT_TENANT
    run_id: str | None = None
    parent_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    occurred_at: int | None = None
    event_id: str | None = None


_encoder = msgspec.json.Encoder(order="deterministic")
_json_decoder = msgspec.json.Decoder()
_event_decoder = msgspec.json.Decoder(Event)
_UNHASHED_END = b'"hash":""}'


def encode_payload(payload: Any) -> msgspec.Raw:
    """Canonical JSON bytes of a payload (dict keys sorted); already-encoded payloads pass through."""
    if isinstance(payload, msgspec.Raw):
        return payload
    return msgspec.Raw(_encoder.encode(payload))


def canonical_bytes(event: Event) -> bytes:
    """The bytes that ``hash`` covers: the canonical encoding of the event without its ``hash``."""
    if event.hash:
        event = msgspec.structs.replace(event, hash="")
    return _encoder.encode(event)


def compute_hash(unhashed: bytes) -> str:
    return blake3.blake3(unhashed).hexdigest()


def seal_event(unhashed_event: Event) -> tuple[Event, bytes]:
    """Hash an event built with ``hash=""``; returns the hashed event and its full canonical encoding."""
    body = _encoder.encode(unhashed_event)
    digest = compute_hash(body)
    assert body.endswith(_UNHASHED_END)
    full = body[:-2] + digest.encode() + b'"}'
    return msgspec.structs.replace(unhashed_event, hash=digest), full


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(data: bytes | bytearray | memoryview | str) -> Event:
    """Decode one event from its JSON encoding; raises ``msgspec.ValidationError``/``DecodeError``."""
    return _event_decoder.decode(data)


def hash_is_valid(event: Event) -> bool:
    return bool(event.hash) and compute_hash(canonical_bytes(event)) == event.hash
