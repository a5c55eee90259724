"""Output capping and neutralising (life_tui.tools.output): the pieces S6 relies on, without processes.

Bounded memory while a stream is fed, head + tail within the model's budget with one omission marker,
escape sequences and control characters neutralised, invalid UTF-8 replaced, and no cut ever splitting a
UTF-8 character (Hypothesis over arbitrary text, budgets and chunkings).
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from life_tui.tools.output import OutputCollector, head_tail, neutralise

MARKER = re.compile(r"\[… (\d+) bytes omitted(?:; [^\]]*)? …\]")


# ------------------------------------------------------------------------------------------ neutralise
def test_ansi_csi_sequences_are_removed_and_the_text_kept() -> None:
    assert neutralise(b"\x1b[31mred\x1b[0m \x1b[1;4mbold\x1b[m") == "red bold"
    assert neutralise(b"\x1b[2J\x1b[H\x1b[?1049hscreen") == "screen"


def test_osc_sequences_are_removed_whatever_ends_them() -> None:
    title = b"\x1b]0;evil title\x07after"
    clipboard = b"\x1b]52;c;SGVsbG8=\x1b\\done"
    link = b"\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
    assert neutralise(title) == "after"
    assert neutralise(clipboard) == "done"
    assert neutralise(link) == "click"
    assert neutralise(b"\x1b]0;unterminated title") == ""


def test_dcs_and_other_escapes_are_removed() -> None:
    assert neutralise(b"a\x1bPq#0;2;0;0;0\x1b\\b") == "ab"
    assert neutralise(b"a\x1b7b\x1b8c\x1b(Bd\x1b=e") == "abcde"


def test_control_characters_become_visible_and_newlines_tabs_stay() -> None:
    text = neutralise(b"bell\x07 nul\x00 bs\x08 del\x7f tab\tline\n")
    assert text == "bell␇ nul␀ bs␈ del␡ tab\tline\n"
    assert not any(ord(c) < 0x20 and c not in "\n\t" for c in text)


def test_carriage_returns_cannot_overwrite_a_line() -> None:
    assert neutralise(b"progress 10%\rprogress 100%\r\ndone") == "progress 10%\nprogress 100%\ndone"


def test_c1_controls_and_bidi_overrides_are_neutralised() -> None:
    text = neutralise("a\u009b31mb\u202eevil\u202c c\u2066d\u2069".encode())
    assert "\u009b" not in text and "\u202e" not in text and "\u2066" not in text
    assert "evil" in text


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert neutralise(b"ok \xff\xfe bad \xc3(") == "ok \ufffd\ufffd bad \ufffd("


@given(st.binary(max_size=400))
def test_neutralised_text_has_no_escape_or_control_characters(data: bytes) -> None:
    text = neutralise(data)
    assert "\x1b" not in text
    assert not any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text)


# ------------------------------------------------------------------------------------------ head_tail
def test_short_text_is_returned_unchanged() -> None:
    assert head_tail("hello\nworld\n", 100) == "hello\nworld\n"


def test_long_text_becomes_head_marker_tail_within_budget() -> None:
    text = "".join(f"line {i:05d}\n" for i in range(10_000))
    cut = head_tail(text, 2048, note="full output in blob abc")
    assert len(cut.encode()) <= 2048
    assert cut.startswith("line 00000\n")
    assert cut.endswith("line 09999\n")
    (marker,) = MARKER.findall(cut)
    assert "blob abc" in cut
    shown = len(cut.encode()) - len(MARKER.search(cut).group().encode()) - 1  # type: ignore[union-attr]
    assert int(marker) == len(text.encode()) - shown
    # Cut at line boundaries: every shown line is whole.
    assert all(re.fullmatch(r"line \d{5}", line) for line in cut.splitlines() if not line.startswith("[…"))


@settings(max_examples=300)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=1, max_codepoint=0x1FFFF, blacklist_categories=("Cs",)), max_size=3000
    ),
    st.integers(min_value=80, max_value=4000),
)
def test_cuts_never_split_a_character_and_respect_the_budget(text: str, budget: int) -> None:
    cut = head_tail(text, budget)
    assert len(cut.encode("utf-8")) <= budget
    if len(text.encode()) <= budget:
        assert cut == text
    else:
        # Every character shown is one of the original's (no replacement char appears from a split).
        assert cut.count("\ufffd") <= text.count("\ufffd")
        head, _, tail = MARKER.split(cut, maxsplit=1)[0], None, MARKER.split(cut, maxsplit=1)[-1]
        assert text.startswith(head.rstrip("\n")) or not head
        assert text.endswith(tail.lstrip("\n")) or not tail


# ---------------------------------------------------------------------------------------- collector
def test_collector_keeps_everything_below_the_cap() -> None:
    out = OutputCollector(keep_bytes=1024)
    for _ in range(10):
        out.feed(b"0123456789")
    assert (out.total, out.kept, out.truncated) == (100, 100, False)
    assert out.text() == "0123456789" * 10


def test_collector_memory_stays_bounded_for_a_flood() -> None:
    out = OutputCollector(keep_bytes=64 * 1024)
    chunk = b"y\n" * 32 * 1024
    for _ in range(3200):  # 200 MiB
        out.feed(chunk)
    assert out.total == 200 * 1024 * 1024
    assert out.kept <= 64 * 1024
    view = out.for_model(10 * 1024)
    assert len(view.encode()) <= 10 * 1024
    assert view.startswith("y\ny\n") and view.endswith("y\n")
    (omitted,) = MARKER.findall(view)
    assert int(omitted) == out.total - (len(view.encode()) - len(MARKER.search(view).group().encode()) - 1)  # type: ignore[union-attr]


def test_collector_keeps_the_last_bytes_of_the_stream() -> None:
    out = OutputCollector(keep_bytes=1000)
    out.feed(b"START\n" + b"x" * 100_000 + b"\nTHE END\n")
    assert out.text().startswith("START\n")
    assert out.text().endswith("\nTHE END\n")
    assert out.for_model(200).endswith("THE END\n")


@settings(max_examples=200)
@given(
    st.text(
        alphabet=st.characters(
            min_codepoint=0xA0, max_codepoint=0x1FFFF, blacklist_categories=("Cs",), blacklist_characters="\ufffd"
        ),
        min_size=1,
        max_size=2000,
    ),
    st.integers(min_value=40, max_value=600),
    st.lists(st.integers(min_value=1, max_value=97), min_size=1, max_size=20),
)
def test_collector_cuts_never_split_a_character(text: str, keep: int, sizes: list[int]) -> None:
    """Multi-byte text fed in arbitrary chunk sizes: what is kept and shown decodes without U+FFFD."""
    data = text.encode("utf-8")
    out = OutputCollector(keep_bytes=keep)
    pos, i = 0, 0
    while pos < len(data):
        step = sizes[i % len(sizes)]
        out.feed(data[pos : pos + step])
        pos += step
        i += 1
    assert out.total == len(data)
    assert out.kept <= keep
    assert "\ufffd" not in out.text()
    view = out.for_model(300)
    assert "\ufffd" not in view
    assert len(view.encode()) <= 300
    head, tail = out.parts()
    assert data.startswith(head)
    assert data.endswith(tail)
