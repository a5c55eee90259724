"""The event contract: ids, canonical encoding and hashing, kinds, state types, capabilities."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from life_tui.kernel import kinds
from life_tui.kernel.capability import Capability, CapabilityDomain, matches
from life_tui.kernel.clock import FakeClock, iso_utc
from life_tui.kernel.event import (
    Event,
    canonical_bytes,
    decode_event,
    encode_event,
    hash_is_valid,
    seal_event,
)
from life_tui.kernel.ids import is_ulid, new_ulid, ulid_ms
from life_tui.kernel.state import AgentStateVector, BudgetState, OperatingMode, estimate_mode


def _event(payload: bytes = b'{"content":"hi"}', kind: str = "user.message", **kw: object) -> Event:
    fields: dict[str, object] = {
        "event_id": new_ulid(),
        "session_id": new_ulid(),
        "branch": "main",
        "seq": 1,
        "kind": kind,
        "occurred_at": 1,
        "payload": msgspec.Raw(payload),
    }
    fields.update(kw)
    return seal_event(Event(**fields))[0]  # type: ignore[arg-type]


def test_ulids_are_valid_sortable_and_unique() -> None:
    far_future = 4_000_000_000_000  # later than any id made before in this process (ids never go backwards)
    ids = [new_ulid(far_future) for _ in range(1000)]
    assert all(is_ulid(i) for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert ulid_ms(ids[0]) == far_future
    assert not is_ulid("not-a-ulid") and not is_ulid("8" + "0" * 25)


def test_hash_covers_every_field_and_round_trips() -> None:
    e = _event()
    assert hash_is_valid(e)
    assert decode_event(encode_event(e)) == e
    for change in (
        {"seq": 2},
        {"kind": "x"},
        {"actor": "agent"},
        {"payload": msgspec.Raw(b'{"content":"ho"}')},
        {"prev_hash": "ab"},
    ):
        tampered = msgspec.structs.replace(e, **change)
        assert not hash_is_valid(tampered), change


def test_canonical_bytes_exclude_only_the_hash() -> None:
    e = _event()
    body = canonical_bytes(e)
    assert b'"hash":""' in body and e.hash.encode() not in body
    assert encode_event(e).replace(e.hash.encode(), b"") == body


def test_unknown_kinds_round_trip_byte_for_byte() -> None:
    raw = b'{"z":1,"a":[1,2,{"nested":"\\u00e9"}],"weird key":null}'
    e = _event(raw, kind="vendor.something_new")
    again = decode_event(encode_event(e))
    assert bytes(again.payload) == raw
    assert again.data() == {"z": 1, "a": [1, 2, {"nested": "é"}], "weird key": None}
    assert hash_is_valid(again)


def test_registered_kinds_decode_to_typed_payloads() -> None:
    e = _event(b'{"content":"hello","pinned":true}')
    data = e.data()
    assert isinstance(data, kinds.UserMessage)
    assert data.content == "hello" and data.pinned


def test_kinds_cover_the_life_taxonomy() -> None:
    registered = set(kinds.registered_kinds())
    needed = {
        "user.message",
        "signal.external",
        "session.created",
        "session.resumed",
        "session.closed",
        "branch.created",
        "branch.merged",
        "assistant.text_delta",
        "assistant.message",
        "assistant.reasoning_delta",
        "tool.call_requested",
        "tool.call_started",
        "tool.call_completed",
        "tool.call_failed",
        "phase.entered",
        "mode.changed",
        "budget.updated",
        "memory.observation_appended",
        "memory.reflection_compacted",
        "memory.proposed",
        "memory.committed",
        "memory.tombstoned",
        "approval.requested",
        "approval.granted",
        "approval.denied",
        "approval.expired",
        "file.written",
        "file.deleted",
        "context.compacted",
        "error.raised",
    }
    assert needed <= registered
    with pytest.raises(ValueError, match="registered twice"):
        kinds.register("user.message", "Input")(type("Dup", (kinds.Payload,), {}))


def test_go_agent_os_minimum_fields_are_present() -> None:
    e = _event()
    assert e.event_type == e.kind
    assert e.tenant_id == "local" and e.schema_version == 1 and e.agent_id


def test_budget_defaults_are_lifes() -> None:
    b = BudgetState()
    assert (
        b.tokens_remaining,
        b.time_remaining_ms,
        b.cost_remaining_usd,
        b.tool_calls_remaining,
        b.error_budget_remaining,
    ) == (
        120_000,
        300_000,
        5.0,
        48,
        8,
    )
    assert b.exhausted == []
    assert BudgetState(tokens_remaining=0, tool_calls_remaining=0).exhausted == ["tokens", "tool_calls"]


@pytest.mark.parametrize(
    ("state", "pending", "mode"),
    [
        (AgentStateVector(), 0, OperatingMode.EXPLORE),
        (AgentStateVector(), 1, OperatingMode.ASK_HUMAN),
        (AgentStateVector(error_streak=3), 0, OperatingMode.RECOVER),
        (AgentStateVector(error_streak=3), 2, OperatingMode.ASK_HUMAN),
        (AgentStateVector(progress=0.99, uncertainty=0.1), 0, OperatingMode.SLEEP),
        (AgentStateVector(uncertainty=0.2, context_pressure=0.9), 0, OperatingMode.EXPLORE),
        (AgentStateVector(uncertainty=0.2, side_effect_pressure=0.7), 0, OperatingMode.VERIFY),
        (AgentStateVector(uncertainty=0.2), 0, OperatingMode.EXECUTE),
    ],
)
def test_mode_estimation_follows_life_priority(state: AgentStateVector, pending: int, mode: OperatingMode) -> None:
    assert estimate_mode(state, pending) is mode


@pytest.mark.parametrize(
    ("pattern", "cap", "ok"),
    [
        ("*", "fs:read:a", True),
        ("fs:read:*", "fs:read:src/a.py", True),
        ("fs:write:src/**", "fs:write:src/deep/a.py", True),
        ("fs:write:src/*.py", "fs:write:docs/a.py", False),
        ("fs:read:", "fs:read:anything", True),
        ("exec:cmd:git", "exec:cmd:git", True),
        ("exec:cmd:git", "exec:cmd:rm", False),
        ("fs:read:*", "fs:write:a", False),
        ("fs:write:notes/*.txt", "fs:write:notes/a:b.txt", True),
        ("fs:write:a:b.txt", "fs:write:a:b.txt", True),
        ("fs:write:a:*", "fs:write:b:c", False),
        ("payments:initiate", "payments:initiate", True),
    ],
)
def test_capability_matching(pattern: str, cap: str, ok: bool) -> None:
    assert matches(pattern, cap) is ok


def test_capability_parts() -> None:
    c = Capability.of(CapabilityDomain.EXEC_CMD, "git")
    assert c == "exec:cmd:git" and c.domain == "exec:cmd:" and c.target == "git"


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(start_us=1_000_000, tick_us=5)
    assert clock.now_us() == 1_000_000 and clock.now_us() == 1_000_005
    clock.advance(1.5)
    assert clock.now_us() == 2_500_010
    assert iso_utc(0) == "1970-01-01T00:00:00.000000Z"


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.integers(), st.text(max_size=20), st.none(), st.booleans()),
        max_size=6,
    )
)
def test_any_json_payload_round_trips_and_hashes(payload: dict[str, object]) -> None:
    e = _event(msgspec.json.encode(payload), kind="custom.any")
    again = decode_event(encode_event(e))
    assert again == e and hash_is_valid(again) and again.payload_dict() == payload
