"""Hashline: tags, rendering, parsing, and edits checked against a plain list-of-lines model (Hypothesis).

The model applies the same operations bottom-up on a Python list (one at a time, highest anchor first),
which is a different algorithm from the module's single pass; both must agree on every random program,
whatever order the operations are given in. Stale and overlapping programs must fail without a change.
"""

from __future__ import annotations

import random
import re

import pytest
from blake3 import blake3
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from life_tui.errors import InvalidInput
from life_tui.tools.hashline import (
    TOP,
    Document,
    EditOp,
    HashlineError,
    OverlappingEdits,
    StaleTag,
    apply_edits,
    line_tag,
    parse_ops,
    parse_rendered,
    render,
    render_windows,
)

# Line texts never hold '\n' (it ends a line) nor '\r' (a trailing one would read as a CRLF ending).
LINE = st.text(alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=["Cs"]), max_size=12)
LINES = st.lists(LINE, max_size=12)
EOL = st.sampled_from(["\n", "\r\n"])


def build(lines: list[str], eol: str, final_newline: bool) -> str:
    if not lines:
        return ""
    return eol.join(lines) + (eol if final_newline else "")


# --------------------------------------------------------------------------------------------- tags
def test_the_tag_is_blake3_of_number_and_text() -> None:
    assert line_tag(12, "let x = 1;") == blake3(b"12:let x = 1;").hexdigest()[:8]
    assert re.fullmatch(r"[0-9a-f]{8}", line_tag(1, ""))
    assert line_tag(1, "same") != line_tag(2, "same")  # the number is part of the tag


def test_render_format() -> None:
    assert render(["let x = 1;"], 12) == f"  12 {line_tag(12, 'let x = 1;')} | let x = 1;"
    assert render(["a", "b"]).split("\n")[1] == f"   2 {line_tag(2, 'b')} | b"
    long = "x" * 50
    row = render([long], max_chars=10)
    assert row.endswith("xxxxxxxxxx… [40 more characters]") and line_tag(1, long) in row  # tag of the whole line


@given(LINES, st.integers(min_value=1, max_value=20_000))
def test_render_then_parse_gives_numbers_tags_and_texts(texts: list[str], start: int) -> None:
    parsed = parse_rendered(render(texts, start))
    assert parsed == [(n, line_tag(n, t), t) for n, t in enumerate(texts, start)]


# ----------------------------------------------------------------------------------------- document
@given(st.lists(st.sampled_from(["a", "b", " ", "\n", "\r", "\r\n", "é"]), max_size=40).map("".join))
def test_documents_round_trip_byte_for_byte(content: str) -> None:
    assert Document.parse(content).serialise() == content


def test_document_keeps_endings_and_the_final_newline() -> None:
    doc = Document.parse("a\r\nb\nc")
    assert doc.texts == ["a", "b", "c"] and not doc.final_newline
    assert [line.eol for line in doc.lines[:2]] == ["\r\n", "\n"]
    assert Document.parse("x\r\ny\r\n").eol == "\r\n" and Document.parse("x\ny\r\n").eol == "\n"
    assert Document.parse("").texts == [] and Document.parse("\n").texts == [""]


# ------------------------------------------------------------------------------------------- the model
def model_apply(lines: list[str], program: list[tuple[str, int, list[str]]]) -> list[str]:
    """Apply (kind, anchor, new_lines) one by one, highest anchor first (so lower anchors stay valid)."""
    out = list(lines)
    for kind, anchor, new in sorted(program, key=lambda p: p[1], reverse=True):
        if kind == "replace":
            out[anchor - 1 : anchor] = new
        elif kind == "delete":
            del out[anchor - 1]
        else:
            out[anchor:anchor] = new
    return out


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[str], str, bool, list[tuple[str, int, list[str]]]]:
    lines = draw(LINES)
    eol = draw(EOL)
    # Without a final newline an empty last line does not exist ("a\n" is one line), and "" has no lines.
    final_newline = draw(st.booleans()) or not lines or lines[-1] == ""
    anchors = draw(st.lists(st.integers(min_value=0, max_value=len(lines)), unique=True, max_size=6))
    program = []
    for a in anchors:
        kind = "insert_after" if a == 0 else draw(st.sampled_from(["replace", "insert_after", "delete"]))
        new = [] if kind == "delete" else draw(st.lists(LINE, min_size=1, max_size=3))
        program.append((kind, a, new))
    return lines, eol, final_newline, program


def to_ops(lines: list[str], program: list[tuple[str, int, list[str]]], rng: random.Random) -> list[EditOp]:
    raw = []
    for kind, a, new in program:
        op: dict[str, object] = {"op": kind, "tag": TOP if a == 0 else line_tag(a, lines[a - 1])}
        if kind != "delete":
            # One trailing newline is ignored, so a final empty line needs one more; others may have one.
            op["text"] = "\n".join(new) + ("\n" if new[-1] == "" or rng.random() < 0.3 else "")
        raw.append(op)
    rng.shuffle(raw)
    return parse_ops(raw) if raw else []


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.randoms())
def test_random_edit_programs_agree_with_the_list_model(
    case: tuple[list[str], str, bool, list[tuple[str, int, list[str]]]], rng: random.Random
) -> None:
    lines, eol, final_newline, program = case
    assume(program)
    content = build(lines, eol, final_newline)
    result = apply_edits(content, to_ops(lines, program, rng))
    expected = model_apply(lines, program)
    # A file without any line ending has none to copy: its new lines end with "\n".
    seen_eol = eol if len(lines) > 1 or (lines and final_newline) else "\n"
    final = final_newline or not lines or expected[-1:] == [""]  # an empty last line needs its newline
    assert result.content == build(expected, seen_eol, final)
    # Re-rendering the edited file agrees with rendering the model, tag for tag.
    assert render(Document.parse(result.content).texts) == render(expected)
    assert result.document.texts == expected
    # Lines above the first change keep their tags (their numbers did not move).
    first = min(a for _, a, _ in program)
    assert (
        Document.parse(result.content).tags()[: max(first - 1, 0)]
        == Document.parse(content).tags()[: max(first - 1, 0)]
    )
    # Every changed range lies inside the new file.
    assert all(1 <= a <= len(expected) + 1 and b <= len(expected) for a, b in result.changed)


@given(programs(), st.text(alphabet="0123456789abcdef", min_size=8, max_size=8))
def test_a_stale_tag_fails_the_whole_edit(
    case: tuple[list[str], str, bool, list[tuple[str, int, list[str]]]], bogus: str
) -> None:
    lines, eol, final_newline, program = case
    assume(bogus not in Document.parse(build(lines, eol, final_newline)).tags())
    content = build(lines, eol, final_newline)
    ops = [*to_ops(lines, program, random.Random(0)), EditOp("delete", bogus)]
    with pytest.raises(StaleTag) as err:
        apply_edits(content, ops)
    assert bogus in str(err.value) and "nothing was written" in str(err.value)


@given(programs(), st.data())
def test_two_ops_on_one_line_fail_the_whole_edit(
    case: tuple[list[str], str, bool, list[tuple[str, int, list[str]]]], data: st.DataObject
) -> None:
    lines, eol, final_newline, program = case
    assume(program)
    _kind, anchor, _ = data.draw(st.sampled_from(program))
    second = "insert_after" if anchor == 0 else data.draw(st.sampled_from(["replace", "insert_after", "delete"]))
    tag = TOP if anchor == 0 else line_tag(anchor, lines[anchor - 1])
    ops = [*to_ops(lines, program, random.Random(1)), EditOp(second, tag, None, None if second == "delete" else "x")]  # type: ignore[arg-type]
    with pytest.raises(OverlappingEdits):
        apply_edits(build(lines, eol, final_newline), ops)


# ------------------------------------------------------------------------------------ line endings
def edit(content: str, *raw: dict[str, object]) -> str:
    return apply_edits(content, parse_ops(raw)).content


def tag_of(content: str, n: int) -> str:
    return Document.parse(content).tags()[n - 1]


def test_crlf_files_stay_crlf() -> None:
    content = "one\r\ntwo\r\nthree\r\n"
    out = edit(content, {"op": "replace", "tag": tag_of(content, 2), "text": "TWO\nTWO-B"})
    assert out == "one\r\nTWO\r\nTWO-B\r\nthree\r\n"
    out = edit(content, {"op": "insert_after", "tag": TOP, "text": "zero\r\n"})
    assert out == "zero\r\none\r\ntwo\r\nthree\r\n"


def test_mixed_endings_are_kept_line_by_line() -> None:
    content = "a\r\nb\nc\r\n"
    out = edit(content, {"op": "replace", "tag": tag_of(content, 2), "text": "B"})
    assert out == "a\r\nB\nc\r\n"


def test_a_file_without_a_final_newline_keeps_it_that_way() -> None:
    content = "a\nb"
    assert edit(content, {"op": "insert_after", "tag": tag_of(content, 2), "text": "c"}) == "a\nb\nc"
    assert edit(content, {"op": "replace", "tag": tag_of(content, 2), "text": "B"}) == "a\nB"
    assert edit(content, {"op": "delete", "tag": tag_of(content, 2)}) == "a"
    with_newline = "a\nb\n"
    assert edit(with_newline, {"op": "delete", "tag": tag_of(with_newline, 2)}) == "a\n"
    assert edit(with_newline, {"op": "insert_after", "tag": tag_of(with_newline, 2), "text": "c"}) == "a\nb\nc\n"


def test_inserting_at_the_top_works_on_an_empty_file() -> None:
    assert edit("", {"op": "insert_after", "tag": "0", "text": "first"}) == "first\n"
    assert edit("x\n", {"op": "insert_after", "tag": "0", "text": "a\nb"}) == "a\nb\nx\n"


def test_text_lines() -> None:
    content = "a\nb\n"
    t = tag_of(content, 1)
    assert edit(content, {"op": "replace", "tag": t, "text": ""}) == "\nb\n"  # an empty line, not a deletion
    assert edit(content, {"op": "replace", "tag": t, "text": "x\n"}) == "x\nb\n"  # one trailing newline ignored
    assert edit(content, {"op": "replace", "tag": t, "text": "x\n\n"}) == "x\n\nb\n"


# ------------------------------------------------------------------------------------------- ops
def test_praxis_names_and_new_text_are_accepted() -> None:
    content = "a\nb\nc\n"
    out = edit(
        content,
        {"op": "replace_line", "tag": tag_of(content, 1), "new_text": "A"},
        {"op": "insert_after_tag", "tag": tag_of(content, 2), "new_text": "b2"},
        {"op": "delete_line", "tag": tag_of(content, 3)},
    )
    assert out == "A\nb\nb2\n"


def test_tags_may_carry_their_line_number() -> None:
    content = "a\nb\n"
    t = tag_of(content, 2)
    assert edit(content, {"op": "delete", "tag": f"2 {t}"}) == "a\n"
    assert edit(content, {"op": "delete", "tag": f"2:{t.upper()}"}) == "a\n"
    with pytest.raises(StaleTag):
        edit(content, {"op": "delete", "tag": f"1:{t}"})  # the number must match as well


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ([], "ops is empty"),
        (["delete"], "must be an object"),
        ([{"op": "swap", "tag": "aaaaaaaa"}], "must be one of replace, insert_after, delete"),
        ([{"op": "delete"}], "needs a 'tag'"),
        ([{"op": "replace", "tag": "aaaaaaaa"}], "needs a 'text'"),
        ([{"op": "delete", "tag": "aaaaaaaa", "text": "x"}], "takes no 'text'"),
        ([{"op": "replace", "tag": "0", "text": "x"}], "only works with insert_after"),
        ([{"op": "delete", "tag": "line 3"}], "is not a tag"),
    ],
)
def test_malformed_ops(ops: list[object], message: str) -> None:
    with pytest.raises(HashlineError, match=re.escape(message)):
        parse_ops(ops)  # type: ignore[arg-type]
    assert issubclass(HashlineError, InvalidInput)


# --------------------------------------------------------------------------------------- messages
def test_a_stale_tag_message_shows_the_current_lines_and_spots_a_moved_line() -> None:
    before = "".join(f"line {i}\n" for i in range(1, 31))
    old_tag = tag_of(before, 20)
    after = "inserted\n" + before  # someone added a line at the top: line 20 is now line 21
    with pytest.raises(StaleTag) as err:
        edit(after, {"op": "replace", "tag": old_tag, "text": "x"})
    message = str(err.value)
    assert "looks like line 21 (it moved)" in message
    assert render(["line 20"], 21) in message  # the current line with its current tag, ready to retry
    assert render(["line 17"], 18) in message and "line 29" not in message


def test_an_overlap_message_names_both_ops_and_shows_the_line() -> None:
    content = "a\nb\nc\n"
    t = tag_of(content, 2)
    with pytest.raises(OverlappingEdits) as err:
        edit(content, {"op": "replace", "tag": t, "text": "B"}, {"op": "insert_after", "tag": t, "text": "b2"})
    assert "ops[0] and ops[1] both name line 2" in str(err.value)
    assert render(["a", "b", "c"]) in str(err.value)


def test_render_windows_merges_and_separates() -> None:
    doc = Document.parse("".join(f"{i}\n" for i in range(1, 41)))
    shown = render_windows(doc, [(5, 5), (7, 7), (30, 30)])
    rows = parse_rendered(shown)
    assert [n for n, _, _ in rows] == [*range(2, 11), *range(27, 34)]
    assert shown.split("\n")[0] == "…" and "… (40 lines in all)" in shown
    assert render_windows(Document.parse(""), [(1, 0)]) == "(the file is empty)"
