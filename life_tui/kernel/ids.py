"""ULID identifiers (26 characters, Crockford base32, time-ordered).

Implemented here rather than imported: the generator sits on the append path and python-ulid costs
70-100 ms to import. Ids made in the same millisecond by one process are strictly increasing (the random
part is incremented), so sorting ids sorts by creation order. Encoding uses a 1024-entry table of
character pairs and caches the 10-character time prefix per millisecond (~1 µs an id).
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_RANDOM_BITS = 80
_RANDOM_MASK = (1 << _RANDOM_BITS) - 1
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0
_prefix = ""


def _encode(value: int) -> str:
    """26 characters for a 128-bit value (130 bits: 13 pairs of 5-bit characters)."""
    p = _PAIRS
    return "".join(p[(value >> shift) & 1023] for shift in range(120, -10, -10))


def _time_prefix(ms: int) -> str:
    return _encode(ms << _RANDOM_BITS)[:10]


def _random_part(rand: int) -> str:
    p = _PAIRS
    return (
        p[(rand >> 70) & 1023] + p[(rand >> 60) & 1023] + p[(rand >> 50) & 1023] + p[(rand >> 40) & 1023]
        + p[(rand >> 30) & 1023] + p[(rand >> 20) & 1023] + p[(rand >> 10) & 1023] + p[rand & 1023]
    )  # fmt: skip


def new_ulid(now_ms: int | None = None) -> str:
    """A new ULID. ``now_ms`` defaults to the system clock."""
    global _last_ms, _last_rand, _prefix
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    with _lock:
        if ms <= _last_ms:
            rand = (_last_rand + 1) & _RANDOM_MASK
        else:
            rand = int.from_bytes(os.urandom(10), "big")
            _last_ms = ms
            _prefix = _time_prefix(ms)
        _last_rand = rand
        return _prefix + _random_part(rand)


def is_ulid(text: str) -> bool:
    return len(text) == 26 and all(c in _DECODE for c in text.upper()) and text[0] in "01234567"


def ulid_ms(text: str) -> int:
    """The millisecond timestamp stored in a ULID."""
    value = 0
    for c in text.upper():
        value = (value << 5) | _DECODE[c]
    return value >> _RANDOM_BITS
