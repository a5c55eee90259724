"""Tool output made safe for a model and a terminal: bounded while it streams, neutralised, cut on characters.

:class:`OutputCollector` takes a byte stream of any length and keeps at most ``keep_bytes`` of it (the first
bytes, and a rolling window of the last ones) while the caller keeps draining the pipe, so a flood never
grows memory. :func:`neutralise` turns bytes into text a terminal cannot act on: invalid UTF-8 becomes U+FFFD,
ANSI CSI/OSC/DCS sequences are removed, other control characters (all but newline and tab) become visible
control pictures, bidirectional overrides are dropped. :func:`head_tail` cuts text to a byte budget as a
head and a tail with an omission marker, never inside a character and preferably at a line break.

Reused by the shell tool and by anything else that shows a process's or a server's output to the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KEEP_BYTES = 1 << 20
"""What the agent keeps of one output while it streams (head plus tail)."""
MODEL_BYTES = 10 * 1024
"""What the model is shown of one output, in UTF-8 bytes, marker included."""
TAIL_SHARE = 0.25
"""Of ``keep_bytes``, the part kept as a rolling tail (the rest is the head)."""

# ESC-introduced sequences: CSI (ESC [ ... final), OSC / DCS / SOS / PM / APC strings (ended by BEL or ST,
# or unterminated up to the end), and two- or three-byte escapes (ESC ( B, ESC =, ESC 7...).
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]?                     # CSI
    | \x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?   # OSC, DCS, SOS, PM, APC
    | \x1b[ -/]*[0-~]?                           # other escapes (nF, Fp, Fe, Fs)
    | \x9b[0-?]*[ -/]*[@-~]?                     # 8-bit CSI
    | [\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?   # 8-bit string introducers
    """,
    re.VERBOSE,
)
# Control characters left after the escapes are gone (newline and tab stay), and invisible text direction
# controls that can make a line read differently from what it is.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _control_picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ ␁ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"  # C1 controls have no picture


def neutralise(data: bytes | str) -> str:
    """Text that is safe to show: valid UTF-8, no terminal escape sequences, no control characters.

    CR LF becomes LF and a lone CR becomes LF (a progress bar's frames stay readable and cannot overwrite
    an earlier line); other C0/C1 controls become visible control pictures (␇, ␛ cannot occur: every ESC
    starts a removed sequence).
    """
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = _ESCAPES.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _BIDI.sub("", text)
    return _CONTROLS.sub(_control_picture, text)


def _utf8_prefix(data: bytes, limit: int) -> bytes:
    """The longest prefix of ``data`` of at most ``limit`` bytes that does not end inside a character."""
    if len(data) <= limit:
        return data
    cut = limit
    # Step back over continuation bytes (10xxxxxx) to the start of the character the cut falls in.
    back = 0
    while cut > 0 and back < 4 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
        back += 1
    return data[:cut]


def _utf8_suffix(data: bytes, limit: int) -> bytes:
    """The longest suffix of ``data`` of at most ``limit`` bytes that does not start inside a character."""
    if len(data) <= limit:
        return data
    start = len(data) - limit
    ahead = 0
    while start < len(data) and ahead < 4 and (data[start] & 0xC0) == 0x80:
        start += 1
        ahead += 1
    return data[start:]


def _without_partial_end(data: bytes) -> bytes:
    """``data`` without an incomplete UTF-8 sequence at its end (the rest of it was cut off)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:
            continue  # a continuation byte: keep looking for its lead
        need = 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4 if byte >> 3 == 0b11110 else 1
        return data[:-back] if need > back else data
    return data


def _without_partial_start(data: bytes) -> bytes:
    """``data`` without continuation bytes at its start (their lead byte was cut off)."""
    start = 0
    while start < min(3, len(data)) and data[start] & 0xC0 == 0x80:
        start += 1
    return data[start:]


def _cuts(head: bytes, tail: bytes, room: int) -> tuple[bytes, bytes]:
    """A prefix of ``head`` and a suffix of ``tail`` within ``room`` bytes together, on character boundaries;
    at a line break instead when one is close (within a quarter of the piece)."""
    h = _utf8_prefix(head, room // 2)
    t = _utf8_suffix(tail, room - len(h))
    nl = h.rfind(b"\n")
    if nl >= 0 and len(h) - nl <= max(len(h) // 4, 1):
        h = h[: nl + 1]
    nl = t.find(b"\n")
    if 0 <= nl <= max(len(t) // 4, 1):
        t = t[nl + 1 :]
    return h, t


def _around(head: str, tail: str, hidden: int, budget: int, note: str) -> str:
    """The start of ``head`` and the end of ``tail`` around a marker counting every byte not shown
    (``hidden`` are bytes already missing between the two)."""
    head_b, tail_b = head.encode("utf-8", "replace"), tail.encode("utf-8", "replace")
    extra = f"; {note}" if note else ""
    widest = f"\n[… {len(head_b) + len(tail_b) + hidden} bytes omitted{extra} …]\n"
    room = max(budget - len(widest.encode("utf-8")), 0)
    h, t = _cuts(head_b, tail_b, room)
    omitted = len(head_b) - len(h) + hidden + len(tail_b) - len(t)
    marker = f"[… {omitted} bytes omitted{extra} …]"
    head_s, tail_s = h.decode("utf-8"), t.decode("utf-8")
    sep_before = "" if not head_s or head_s.endswith("\n") else "\n"
    sep_after = "\n" if tail_s else ""
    return f"{head_s}{sep_before}{marker}{sep_after}{tail_s}"


def head_tail(text: str, budget: int = MODEL_BYTES, *, note: str = "") -> str:
    """``text`` if it fits ``budget`` UTF-8 bytes; else its head and tail around an omission marker.

    The whole result, marker included, stays within ``budget`` bytes. Cuts fall on character boundaries
    and, when a line break is near, on a line boundary. ``note`` is appended to the marker (where to find
    the full output, for instance).
    """
    size = len(text.encode("utf-8", "replace"))  # (a lone surrogate counts as the "?" it is sent as)
    if size <= budget:
        return text
    # One text: the head is its start and the tail its end; nothing is missing in between beforehand,
    # but both pieces come from the same bytes, so count the text once.
    return _around(text, text, -size, budget, note)


@dataclass
class OutputCollector:
    """Keeps at most ``keep_bytes`` of a stream: its first bytes and a rolling window of its last bytes.

    ``feed`` never stores more than the cap, so the caller can drain a flood to the end (a writer blocked on
    a full pipe would otherwise never exit) at constant memory. ``total`` counts every byte seen.
    """

    keep_bytes: int = KEEP_BYTES
    tail_share: float = TAIL_SHARE
    total: int = 0
    _head: bytearray = field(default_factory=bytearray)
    _tail: bytearray = field(default_factory=bytearray)

    @property
    def _head_cap(self) -> int:
        return self.keep_bytes - self._tail_cap

    @property
    def _tail_cap(self) -> int:
        return int(self.keep_bytes * self.tail_share)

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self._tail += chunk
        excess = len(self._tail) - self._tail_cap
        if excess > 0:
            del self._tail[:excess]

    @property
    def kept(self) -> int:
        return len(self._head) + len(self._tail)

    @property
    def dropped(self) -> int:
        """Bytes seen but not kept (between the head and the tail)."""
        return self.total - self.kept

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def parts(self) -> tuple[bytes, bytes]:
        """Head and tail, each trimmed to whole UTF-8 characters at the cut between them."""
        head, tail = bytes(self._head), bytes(self._tail)
        if not self.truncated:
            return head + tail, b""
        # Trim a character split by the drop: an incomplete sequence at the head's end, a stray
        # continuation at the tail's start.
        return _without_partial_end(head), _without_partial_start(tail)

    def text(self) -> str:
        """Everything kept, neutralised; a marker stands where bytes were dropped."""
        head, tail = self.parts()
        if not self.truncated:
            return neutralise(head)
        gap = self.total - len(head) - len(tail)
        head_text, tail_text = neutralise(head), neutralise(tail)
        sep = "" if head_text.endswith("\n") else "\n"
        return f"{head_text}{sep}[… {gap} bytes omitted …]\n{tail_text}"

    def for_model(self, budget: int = MODEL_BYTES, *, note: str = "") -> str:
        """What the model reads: the kept output, neutralised, cut to ``budget`` bytes around one marker."""
        head, tail = self.parts()
        if not self.truncated:
            return head_tail(neutralise(head), budget, note=note)
        gap = self.total - len(head) - len(tail)
        return _around(neutralise(head), neutralise(tail), gap, budget, note)
