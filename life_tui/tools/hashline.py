"""Hashline: file lines addressed by short content tags, so edits name lines the model has actually seen.

Each line gets a tag: the first 8 hex characters of BLAKE3 of ``f"{line_no}:{text}"`` (1-based line
number, the line's text without its line ending). ``read_file`` renders lines as ``  12 a1b2c3d4 | text``
(the number right-aligned to 4, then the tag, ``|`` and the text). The number is part of the hash, so a
line that moved (lines were inserted or deleted above it) gets a new tag: the model's old tags go stale
and an edit built on them fails instead of landing in the wrong place.

Edit operations (``op`` in snake case; the Praxis names are accepted as aliases):

- ``replace`` (``replace_line``) ``{tag, text}``: the line becomes ``text``;
- ``insert_after`` (``insert_after_tag``) ``{tag, text}``: ``text`` goes after the line; the tag ``"0"``
  means "before the first line" (the top of the file, which also works on an empty file);
- ``delete`` (``delete_line``) ``{tag}``: the line goes.

``text`` may hold several lines (split on ``\\n``; one trailing newline is ignored, so ``"a\\n"`` is the single
line ``a``; ``""`` is one empty line). ``new_text`` is accepted for ``text``. A tag may be given as the bare
8 hex characters or with its line number (``12 a1b2c3d4`` or ``12:a1b2c3d4``), in which case the number
must match too.

Rules, checked before anything is written: every tag must be a line of the **current** file
(:class:`StaleTag` otherwise), and no two operations may name the same line (:class:`OverlappingEdits`;
replace a line with several lines instead of replacing and inserting after it). Either error fails the
whole edit, and its message re-renders the current lines around the lines concerned so the model can
retry without another read. Because all anchors are distinct lines of the original file, the order of the
operations does not matter.

Unlike the Praxis flavour (which rewrites with ``str.lines()`` and so drops the final newline), a file keeps
its line endings: each untouched line keeps its own (``\\n`` or ``\\r\\n``), new lines take the ending of
the line they replace or the file's dominant one (``\n`` in an empty file), and a file without a final
newline still has none (unless the edit leaves an empty last line, which only exists with one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from blake3 import blake3

from life_tui.errors import InvalidInput

TAG_LEN = 8
TOP = "0"
"""The pseudo tag of the position before the first line (``insert_after`` only)."""
CONTEXT = 3
OpKind = Literal["replace", "insert_after", "delete"]
ALIASES: dict[str, OpKind] = {
    "replace": "replace",
    "replace_line": "replace",
    "insert_after": "insert_after",
    "insert_after_tag": "insert_after",
    "delete": "delete",
    "delete_line": "delete",
}
_RENDERED = re.compile(r"^ *(\d+) ([0-9a-f]{8}) \| (.*)$")
_TAG_ARG = re.compile(r"^\s*(?:(\d+)\s*[:\s]\s*)?([0-9a-fA-F]{8})\s*$")
_MOVED_SEARCH_BUDGET = 40_000


class HashlineError(InvalidInput):
    """An edit was refused; nothing was written."""


class StaleTag(HashlineError):
    """A tag is not a line of the current file."""


class OverlappingEdits(HashlineError):
    """Two operations name the same line."""


def line_tag(line_no: int, text: str) -> str:
    """The tag of line ``line_no`` (1-based) holding ``text`` (without its line ending)."""
    return str(blake3(f"{line_no}:{text}".encode("utf-8", "surrogatepass")).hexdigest())[:TAG_LEN]


def render_line(line_no: int, text: str, *, max_chars: int | None = None) -> str:
    shown = text
    if max_chars is not None and len(text) > max_chars:
        shown = f"{text[:max_chars]}… [{len(text) - max_chars} more characters]"
    return f"{line_no:>4} {line_tag(line_no, text)} | {shown}"


def render(texts: Sequence[str], start: int = 1, *, max_chars: int | None = None) -> str:
    """Lines ``texts`` (the first being line ``start``) in the hashline form, joined with ``\\n``."""
    return "\n".join(render_line(n, t, max_chars=max_chars) for n, t in enumerate(texts, start))


def parse_rendered(rendered: str) -> list[tuple[int, str, str]]:
    """``(line_no, tag, text)`` for every hashline line of ``rendered`` (other lines are skipped)."""
    out = []
    for row in rendered.split("\n"):
        m = _RENDERED.match(row)
        if m:
            out.append((int(m.group(1)), m.group(2), m.group(3)))
    return out


# ------------------------------------------------------------------------------------------ document
@dataclass
class Line:
    text: str
    eol: str
    """The ending written after this line (``\\n`` or ``\\r\\n``), unless it is the last line of a file
    without a final newline."""


@dataclass
class Document:
    """A text file as lines with their own endings, and whether the last line ends with one."""

    lines: list[Line]
    final_newline: bool
    eol: str
    """The dominant line ending, given to new lines."""

    @classmethod
    def parse(cls, content: str) -> Document:
        if content == "":
            return cls([], True, "\n")
        crlf = content.count("\r\n")
        eol = "\r\n" if crlf > content.count("\n") - crlf else "\n"
        pieces = content.split("\n")
        final_newline = pieces[-1] == ""
        if final_newline:
            pieces.pop()
        lines = []
        for i, piece in enumerate(pieces):
            terminated = final_newline or i < len(pieces) - 1
            if terminated and piece.endswith("\r"):
                lines.append(Line(piece[:-1], "\r\n"))
            else:
                lines.append(Line(piece, "\n" if terminated else eol))
        return cls(lines, final_newline, eol)

    def serialise(self) -> str:
        if not self.lines:
            return ""
        out = "".join(line.text + line.eol for line in self.lines)
        if not self.final_newline:
            out = out[: len(out) - len(self.lines[-1].eol)]
        return out

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    def tags(self) -> list[str]:
        return [line_tag(n, line.text) for n, line in enumerate(self.lines, 1)]


# ---------------------------------------------------------------------------------------------- ops
@dataclass(frozen=True)
class EditOp:
    kind: OpKind
    tag: str
    """The 8-hex tag, or ``"0"`` (top of the file, ``insert_after`` only)."""
    line_hint: int | None = None
    text: str | None = None

    def new_lines(self) -> list[str]:
        return split_text(self.text or "")


def split_text(text: str) -> list[str]:
    """The lines of an op's ``text``: split on ``\\n``, ``\\r`` endings dropped, one final newline ignored."""
    pieces = text.split("\n")
    if len(pieces) > 1 and pieces[-1] == "":
        pieces.pop()
    return [p[:-1] if p.endswith("\r") else p for p in pieces]


def parse_ops(raw: Iterable[Mapping[str, Any]]) -> list[EditOp]:
    """Operations from tool arguments; malformed ones fail with a message naming the op."""
    ops = []
    for i, item in enumerate(raw):
        where = f"ops[{i}]"
        if not isinstance(item, Mapping):
            raise HashlineError(f"{where} must be an object with 'op' and 'tag'")
        name = item.get("op")
        kind = ALIASES.get(name) if isinstance(name, str) else None
        if kind is None:
            raise HashlineError(f"{where}.op must be one of replace, insert_after, delete (got {name!r})")
        tag_arg = item.get("tag")
        if not isinstance(tag_arg, str):
            raise HashlineError(f"{where} needs a 'tag' (a string like 'a1b2c3d4', from read_file)")
        text = item.get("text", item.get("new_text"))
        if kind != "delete" and not isinstance(text, str):
            raise HashlineError(f"{where} ({kind}) needs a 'text' string")
        if kind == "delete" and text is not None:
            raise HashlineError(f"{where} (delete) takes no 'text'")
        if tag_arg.strip() == TOP:
            if kind != "insert_after":
                raise HashlineError(f"{where}: the tag '0' (top of the file) only works with insert_after")
            ops.append(EditOp(kind, TOP, 0, text))
            continue
        m = _TAG_ARG.match(tag_arg)
        if m is None:
            raise HashlineError(f"{where}.tag {tag_arg!r} is not a tag (8 hex characters, like 'a1b2c3d4')")
        ops.append(EditOp(kind, m.group(2).lower(), int(m.group(1)) if m.group(1) else None, text))
    if not ops:
        raise HashlineError("ops is empty: give at least one operation")
    return ops


@dataclass(frozen=True)
class EditResult:
    content: str
    document: Document
    changed: list[tuple[int, int]]
    """1-based line ranges ``(first, last)`` of the new file that changed; a deletion is an empty range
    ``(n, n - 1)`` at the line after it."""


def render_windows(
    doc: Document, ranges: Iterable[tuple[int, int]], *, context: int = CONTEXT, budget: int = 400
) -> str:
    """The lines of ``doc`` around each range (merged when they touch), windows separated by ``…``."""
    total = len(doc.lines)
    if total == 0:
        return "(the file is empty)"
    spans = sorted((max(1, min(a, total) - context), min(total, max(a, b) + context)) for a, b in ranges)
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out: list[str] = []
    shown = 0
    for a, b in merged:
        if shown >= budget:
            out.append("… (more changes; read_file to see them)")
            break
        last = min(b, a + budget - shown - 1)
        if a > 1:
            out.append("…")
        out.append(render(doc.texts[a - 1 : last], a, max_chars=2000))
        shown += last - a + 1
    if merged and merged[-1][1] < total:
        out.append(f"… ({total} lines in all)")
    return "\n".join(out)


def _find_moved(doc: Document, line_no: int | None, tag: str) -> int | None:
    """The current line a stale ``tag`` most likely meant: a line whose text, at a nearby number, has that tag."""
    total = len(doc.lines)
    if total == 0:
        return None
    centre = line_no if line_no is not None else None
    spread = max(1, min(200, _MOVED_SEARCH_BUDGET // max(total, 1)))
    candidates = range(1, total + 1) if centre is None else range(max(1, centre - 200), min(total, centre + 200) + 1)
    for i in candidates:
        text = doc.lines[i - 1].text
        for delta in range(-spread, spread + 1):
            n = i + delta
            if n >= 1 and line_tag(n, text) == tag:
                return i
    return None


def apply_edits(content: str, ops: Sequence[EditOp]) -> EditResult:
    """Apply ``ops`` to ``content``; every tag is checked first, and any problem fails the whole edit."""
    doc = Document.parse(content)
    by_tag: dict[str, list[int]] = {}
    for n, t in enumerate(doc.tags(), 1):
        by_tag.setdefault(t, []).append(n)

    anchors: list[int] = []
    stale: list[tuple[EditOp, int | None]] = []
    for op in ops:
        if op.tag == TOP:
            anchors.append(0)
            continue
        lines = by_tag.get(op.tag, [])
        if op.line_hint is not None:
            lines = [n for n in lines if n == op.line_hint]
        if len(lines) != 1:
            if len(lines) > 1:  # two lines with one tag: 32 bits make this very rare, but be exact
                raise HashlineError(
                    f"the tag {op.tag} names lines {', '.join(map(str, lines))}; give it as '<line> {op.tag}'"
                )
            stale.append((op, _find_moved(doc, op.line_hint, op.tag)))
            anchors.append(-1)
            continue
        anchors.append(lines[0])

    if stale:
        near: list[tuple[int, int]] = [(n, n) for _, n in stale if n is not None]
        near += [(op.line_hint, op.line_hint) for op, n in stale if n is None and op.line_hint]
        near += [(a, a) for a in anchors if a > 0]
        names = ", ".join(repr(op.tag) for op, _ in stale)
        moved = [f"{op.tag} looks like line {n} (it moved)" for op, n in stale if n is not None]
        if not near:
            near = [(1, min(len(doc.lines), 2 * CONTEXT + 1))]
        raise StaleTag(
            f"edit refused, nothing was written: the tag{'s' if len(stale) > 1 else ''} {names} "
            f"{'are' if len(stale) > 1 else 'is'} not in the current file (it changed since it was read, or "
            f"the tag is mistyped){'; ' + '; '.join(moved) if moved else ''}. Current lines:\n"
            + render_windows(doc, near)
        )

    seen: dict[int, int] = {}
    for i, a in enumerate(anchors):
        if a in seen:
            where = "the top of the file" if a == 0 else f"line {a}"
            raise OverlappingEdits(
                f"edit refused, nothing was written: ops[{seen[a]}] and ops[{i}] both name {where}; use one "
                "op per line (to replace a line with several lines, give one replace with multi-line text). "
                "Current lines:\n" + render_windows(doc, [(max(a, 1), max(a, 1))])
            )
        seen[a] = i

    plan = dict(zip(anchors, ops, strict=True))
    new: list[Line] = []
    changed: list[tuple[int, int]] = []

    def insert(texts: list[str], eol: str) -> None:
        start = len(new) + 1
        new.extend(Line(t, eol) for t in texts)
        changed.append((start, len(new)))

    if 0 in plan:
        insert(plan[0].new_lines(), doc.eol)
    for n, line in enumerate(doc.lines, 1):
        planned = plan.get(n)
        if planned is None:
            new.append(line)
        elif planned.kind == "replace":
            insert(planned.new_lines(), line.eol)
        elif planned.kind == "delete":
            changed.append((len(new) + 1, len(new)))
        else:
            new.append(line)
            insert(planned.new_lines(), doc.eol)
    # Without a final newline an empty last line would vanish ("a\n" is one line): then the file ends with one.
    final_newline = doc.final_newline or (bool(new) and new[-1].text == "")
    result = Document(new, final_newline, doc.eol)
    return EditResult(result.serialise(), result, changed)
