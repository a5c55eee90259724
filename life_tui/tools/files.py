"""The file tools: ``read_file``, ``write_file``, ``edit_file``, ``delete_file``, ``list_dir``, ``glob``, ``grep``.

Every path goes through :class:`~life_tui.tools.fs_policy.FsPolicy` (confined to the workspace, links
followed only inside it, hard-linked files refused, protected paths never written). Text is UTF-8;
``read_file`` renders lines in the hashline form and ``edit_file`` takes hashline operations (see
:mod:`life_tui.tools.hashline`). Every change is returned as an effect for the runtime to journal:
``file.written`` with the new content's blob and the previous content's blob (stored before the file is
replaced, so a rewind can always restore it), or ``file.deleted``. Blocking work runs in a thread.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import re
import time
from collections.abc import Callable
from typing import Any

from life_tui.errors import InvalidInput, NotFound
from life_tui.kernel.kinds import FileDeleted, FileWritten
from life_tui.tools import hashline
from life_tui.tools.fs_policy import FsPolicy, IsADirectory, WsPath
from life_tui.tools.registry import ToolAnnotations, ToolContext, ToolOutput, ToolSpec

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Files read or edited whole (read_file, edit_file) and content written (write_file)."""
READ_LIMIT = 2000
READ_OUTPUT_CHARS = 15_000
"""A read_file page stays under the runtime's inline result limit (16,000 characters), so the model sees
whole lines and a next offset rather than a cut through the middle."""
LINE_CHARS = 2000
MAX_ENTRIES = 500
MAX_GLOB_RESULTS = 500
MAX_GREP_MATCHES = 1000
GREP_FILE_BYTES = 4 * 1024 * 1024
GREP_LINE_CHARS = 300
WALK_ENTRIES = 200_000
SNIFF_BYTES = 8192
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)
"""Not entered by glob and grep unless the pattern or path names them."""


def policy_for(ctx: ToolContext) -> FsPolicy:
    """The session's policy: its protected paths, and the keystore (a protected dir named ``keys``) unreadable."""
    return FsPolicy(ctx.workspace, ctx.protected, secret=tuple(p for p in ctx.protected if p.name == "keys"))


def capability_path(raw: Any, default: str = ".") -> str:
    """A path argument as the approval policy sees it: normalised (``./a/../b`` is ``b``), never raising."""
    text = raw if isinstance(raw, str) and raw else default
    return posixpath.normpath(text)


def _blobs(ctx: ToolContext) -> Any:
    if ctx.blobs is None:
        raise InvalidInput("file writes need the session's blob store, and this context has none")
    return ctx.blobs


def _decode(data: bytes, rel: str) -> str:
    """UTF-8 text, or an error for binary (a NUL byte) and non-UTF-8 content."""
    if b"\x00" in data[:SNIFF_BYTES]:
        raise _Binary(f"{rel} is a binary file ({len(data)} bytes); file tools show and edit text files only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Binary(
            f"{rel} is not UTF-8 text ({len(data)} bytes; invalid byte at offset {exc.start}); "
            "file tools show and edit UTF-8 text only"
        ) from None


class _Binary(InvalidInput):
    pass


def _int_arg(args: dict[str, Any], name: str, default: int, *, low: int) -> int:
    value = args.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InvalidInput(f"{name} must be an integer at least {low}")
    return value


def _lines_word(n: int) -> str:
    return f"{n} line{'' if n == 1 else 's'}"


# ------------------------------------------------------------------------------------------ read_file
def _read_file_sync(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    offset = _int_arg(args, "offset", 1, low=1)
    limit = min(_int_arg(args, "limit", READ_LIMIT, low=1), READ_LIMIT)
    data, path = policy_for(ctx).read_bytes(args["path"], max_bytes=MAX_FILE_BYTES)
    try:
        text = _decode(data, path.rel)
    except _Binary as exc:
        return ToolOutput(str(exc), is_error=True, data={"path": path.rel, "binary": True, "size_bytes": len(data)})
    texts = hashline.Document.parse(text).texts
    total = len(texts)
    if total == 0:
        return ToolOutput(f"{path.rel} is empty", data={"path": path.rel, "lines": 0, "total_lines": 0})
    if offset > total:
        raise InvalidInput(f"offset {offset} is past the end of {path.rel} ({_lines_word(total)})")
    rows: list[str] = []
    used = 0
    for n in range(offset, min(total, offset - 1 + limit) + 1):
        row = hashline.render_line(n, texts[n - 1], max_chars=LINE_CHARS)
        if rows and used + len(row) + 1 > READ_OUTPUT_CHARS:
            break
        rows.append(row)
        used += len(row) + 1
    last = offset + len(rows) - 1
    if last < total:
        rows.append(f"… {total - last} more lines of {total}; continue with offset={last + 1}")
    return ToolOutput("\n".join(rows), data={"path": path.rel, "lines": last - offset + 1, "total_lines": total})


async def _read_file(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    return await asyncio.to_thread(_read_file_sync, args, ctx)


# ----------------------------------------------------------------------------------------- write_file
def _written(
    ctx: ToolContext, path: WsPath, new: bytes, previous: bytes | None, digests: dict[str, str | None]
) -> FileWritten:
    return FileWritten(
        path=path.rel,
        blob_hash=str(digests["new"]),
        size_bytes=len(new),
        previous_blob=digests.get("previous"),
        call_id=ctx.call_id,
    )


def _store(ctx: ToolContext, new: bytes, previous: bytes | None) -> dict[str, str | None]:
    """Blobs of both versions, stored before the file changes (a rewind can always find the old one)."""
    blobs = _blobs(ctx)
    return {"new": blobs.put(new), "previous": blobs.put(previous) if previous is not None else None}


def _write_file_sync(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    content: str = args["content"]
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("content is not valid Unicode text (a lone surrogate)") from None
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"content is {len(data)} bytes, over the {MAX_FILE_BYTES}-byte limit of write_file")
    _blobs(ctx)
    digests: dict[str, str | None] = {}

    def transform(previous: bytes | None, _path: WsPath) -> bytes | None:
        if previous == data:
            return None
        digests.update(_store(ctx, data, previous))
        return data

    done = policy_for(ctx).update(args["path"], transform, create_parents=True)
    lines = len(hashline.Document.parse(content).lines)
    if done.written is None:
        return ToolOutput(
            f"{done.path.rel} already has this content; nothing was written", data={"path": done.path.rel}
        )
    verb = "created" if done.previous is None else "replaced"
    return ToolOutput(
        f"{verb} {done.path.rel} ({len(data)} bytes, {_lines_word(lines)})",
        data={"path": done.path.rel, "size_bytes": len(data), "created": done.previous is None},
        effects=(_written(ctx, done.path, data, done.previous, digests),),
    )


async def _write_file(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    return await asyncio.to_thread(_write_file_sync, args, ctx)


# ------------------------------------------------------------------------------------------ edit_file
def _edit_file_sync(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    ops = hashline.parse_ops(args["ops"])
    _blobs(ctx)
    result: list[hashline.EditResult] = []
    digests: dict[str, str | None] = {}

    def transform(previous: bytes | None, path: WsPath) -> bytes | None:
        if previous is None:
            raise NotFound(f"no file {path.rel!r} in the workspace", hint="create it with write_file")
        text = _decode(previous, path.rel)
        edited = hashline.apply_edits(text, ops)
        result.append(edited)
        new = edited.content.encode("utf-8")
        if len(new) > MAX_FILE_BYTES:
            raise InvalidInput(f"the edited file would be {len(new)} bytes, over the {MAX_FILE_BYTES}-byte limit")
        if new == previous:
            return None
        digests.update(_store(ctx, new, previous))
        return new

    done = policy_for(ctx).update(args["path"], transform, create_parents=False, max_bytes=MAX_FILE_BYTES)
    edited = result[0]
    total = len(edited.document.lines)
    shown = hashline.render_windows(edited.document, edited.changed)
    if done.written is None:
        return ToolOutput(f"{done.path.rel}: the edit changes nothing; nothing was written\n{shown}")
    n = len(ops)
    return ToolOutput(
        f"edited {done.path.rel} ({n} op{'' if n == 1 else 's'}; now {_lines_word(total)}):\n{shown}",
        data={"path": done.path.rel, "ops": n, "total_lines": total, "size_bytes": len(done.written)},
        effects=(_written(ctx, done.path, done.written, done.previous, digests),),
    )


async def _edit_file(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    return await asyncio.to_thread(_edit_file_sync, args, ctx)


# ---------------------------------------------------------------------------------------- delete_file
def _delete_file_sync(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    blobs = _blobs(ctx)
    kept: list[str] = []
    path, content = policy_for(ctx).unlink(
        args["path"], max_bytes=MAX_FILE_BYTES, keep=lambda data, _p: kept.append(blobs.put(data))
    )
    previous = kept[0]
    return ToolOutput(
        f"deleted {path.rel} ({len(content)} bytes)",
        data={"path": path.rel, "size_bytes": len(content)},
        effects=(FileDeleted(path=path.rel, previous_blob=previous, call_id=ctx.call_id),),
    )


async def _delete_file(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    return await asyncio.to_thread(_delete_file_sync, args, ctx)


# ------------------------------------------------------------------------------------------- list_dir
def _list_dir_sync(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    def shown(e: os.DirEntry[str]) -> tuple[int, str]:
        if e.is_symlink():
            return 2, f"{e.name}@"
        if e.is_dir(follow_symlinks=False):
            return 0, f"{e.name}/"
        return 1, e.name

    policy = policy_for(ctx)
    # Entries may stat relative to the directory's descriptor: read them while it is open.
    with policy.open_dir(args.get("path", ".")) as (fd, path), os.scandir(fd) as it:
        ranked = sorted(shown(e) for e in it)
    rows = [name for _, name in ranked]
    out = rows[:MAX_ENTRIES]
    if len(rows) > MAX_ENTRIES:
        out.append(f"… {len(rows) - MAX_ENTRIES} more entries")
    return ToolOutput("\n".join(out) or f"{path.rel} is empty", data={"path": path.rel, "count": len(rows)})


async def _list_dir(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    return await asyncio.to_thread(_list_dir_sync, args, ctx)


# ----------------------------------------------------------------------------------------------- glob
_MAGIC = re.compile(r"[*?\[]")


def _segment_regex(segment: str) -> str:
    """One path segment of a glob (``*``, ``?``, ``[...]``, ``[!...]``) as a regex that never crosses ``/``."""
    out, i = [], 0
    while i < len(segment):
        c = segment[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < len(segment) and segment[j] in "!^":
                j += 1
            if j < len(segment) and segment[j] == "]":
                j += 1
            while j < len(segment) and segment[j] != "]":
                j += 1
            if j >= len(segment):
                out.append(re.escape(c))
            else:
                body = segment[i + 1 : j]
                negate = body[:1] in ("!", "^")
                body = body[1:] if negate else body
                body = body.replace("\\", "\\\\")
                out.append(f"[{'^/' if negate else ''}{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob (``**`` for any number of directories) as a regex over ``/``-separated relative paths."""
    segments = pattern.split("/")
    parts: list[str] = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
        else:
            parts.append(_segment_regex(seg) + ("" if last else "/"))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _check_pattern(pattern: str, what: str) -> list[str]:
    if not pattern or "\x00" in pattern:
        raise InvalidInput(f"{what} must be a non-empty pattern without NUL bytes")
    if pattern.startswith(("/", "~")):
        raise InvalidInput(f"{what} {pattern!r} must be relative (give the base directory as 'path')")
    segments = [s for s in pattern.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise InvalidInput(f"{what} {pattern!r} may not contain '..'")
    if not segments:
        raise InvalidInput(f"{what} {pattern!r} matches nothing")
    return segments


def _skips(*named: str) -> frozenset[str]:
    """Directories glob and grep do not enter: :data:`SKIPPED_DIRS` minus those the call names."""
    words = {part for text in named for part in re.split(r"[/\\]", text)}
    return frozenset(SKIPPED_DIRS - words)


def _glob_sync(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    pattern = args["pattern"]
    segments = _check_pattern(pattern, "pattern")
    policy = policy_for(ctx)
    base = policy.lexical(args.get("path", "."))
    literal = 0
    while literal < len(segments) - 1 and not _MAGIC.search(segments[literal]):
        literal += 1
    start = WsPath((*base.parts, *segments[:literal]))
    rest = segments[literal:]
    regex = glob_regex("/".join(rest))
    depth = None if "**" in rest else len(rest)
    matches: list[str] = []
    try:
        with policy.open_dir(start) as (_, resolved_start):
            pass
        for path, entry, _fd in policy.walk_files(
            start, skip_dirs=_skips(pattern, args.get("path", ".")), max_depth=depth, max_entries=WALK_ENTRIES
        ):
            rel = "/".join(path.parts[len(resolved_start.parts) :])
            if regex.match(rel):
                matches.append(path.rel + ("/" if entry.is_dir(follow_symlinks=False) else ""))
    except NotFound:
        matches = []
    matches.sort()
    out = matches[:MAX_GLOB_RESULTS]
    if len(matches) > MAX_GLOB_RESULTS:
        out.append(f"… {len(matches) - MAX_GLOB_RESULTS} more matches; narrow the pattern")
    if not matches:
        return ToolOutput(f"no paths match {pattern!r} under {base.rel}", data={"count": 0})
    return ToolOutput("\n".join(out), data={"count": len(matches)})


async def _glob(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    return await asyncio.to_thread(_glob_sync, args, ctx)


# ----------------------------------------------------------------------------------------------- grep
def _grep_lines(rel: str, text: str, regex: re.Pattern[str], out: list[str], cap: int) -> None:
    for n, raw in enumerate(text.split("\n"), 1):
        if len(out) >= cap:
            return
        line = raw.removesuffix("\r")
        if regex.search(line):
            shown = line if len(line) <= GREP_LINE_CHARS else line[:GREP_LINE_CHARS] + "…"
            out.append(f"{rel}:{n}:{shown}")


def _file_filter(file_glob: str | None) -> Callable[[str], bool]:
    """grep's ``glob``: matched against the file name, or (with a ``/``) the path under the search base."""
    if file_glob is None:
        return lambda _rel: True
    compiled = glob_regex("/".join(_check_pattern(file_glob, "glob")))
    if "/" in file_glob.strip("/"):
        return lambda rel: compiled.match(rel) is not None
    return lambda rel: compiled.match(rel.rsplit("/", 1)[-1]) is not None


def _grep_sync(args: dict[str, Any], ctx: ToolContext, deadline: float) -> ToolOutput:
    try:
        regex = re.compile(args["pattern"], re.IGNORECASE if args.get("case_insensitive") else 0)
    except re.error as exc:
        raise InvalidInput(f"invalid regular expression {args['pattern']!r}: {exc}") from None
    cap = min(_int_arg(args, "max_matches", 100, low=1), MAX_GREP_MATCHES)
    file_glob = args.get("glob")
    wanted = _file_filter(file_glob)
    policy = policy_for(ctx)
    base = policy.lexical(args.get("path", "."))
    out: list[str] = []
    skipped = {"binary": 0, "large": 0, "unreadable": 0}
    stopped = False

    def search(rel: str, data: bytes) -> None:
        if b"\x00" in data[:SNIFF_BYTES]:
            skipped["binary"] += 1
            return
        _grep_lines(rel, data.decode("utf-8", errors="replace"), regex, out, cap)

    try:
        with policy.open_file(base) as (fd, path, st):  # a single file, named explicitly
            if st.st_size > GREP_FILE_BYTES:
                raise InvalidInput(f"{path.rel} is {st.st_size} bytes, over grep's {GREP_FILE_BYTES}-byte limit")
            search(path.rel, os.read(fd, GREP_FILE_BYTES + 1))
    except IsADirectory:
        with policy.open_dir(base) as (_, root):
            pass
        for path, entry, dfd in policy.walk_files(
            base, skip_dirs=_skips(args.get("path", ".")), max_entries=WALK_ENTRIES
        ):
            if len(out) >= cap:
                break
            if time.monotonic() > deadline:
                stopped = True
                break
            if not entry.is_file(follow_symlinks=False):
                continue
            rel = "/".join(path.parts[len(root.parts) :])
            if not wanted(rel):
                continue
            opened = policy.open_at(dfd, path)
            if opened is None:
                skipped["unreadable"] += 1
                continue
            ffd, st = opened
            try:
                if st.st_size > GREP_FILE_BYTES:
                    skipped["large"] += 1
                    continue
                search(path.rel, os.read(ffd, GREP_FILE_BYTES + 1))
            finally:
                os.close(ffd)
    notes = []
    if len(out) >= cap:
        notes.append(f"stopped at {cap} matches (max_matches)")
    if stopped:
        notes.append("stopped: the search ran out of time; narrow the path or the glob")
    skipped_text = ", ".join(f"{n} {why}" for why, n in skipped.items() if n)
    if skipped_text:
        notes.append(f"skipped files: {skipped_text}")
    body = "\n".join(out) if out else f"no matches for {args['pattern']!r} under {base.rel}"
    if notes:
        body += "\n… " + "; ".join(notes)
    return ToolOutput(body, data={"matches": len(out)})


async def _grep(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    deadline = time.monotonic() + GREP.timeout_s - 5
    return await asyncio.to_thread(_grep_sync, args, ctx, deadline)


# ---------------------------------------------------------------------------------------------- specs
def _path_prop(what: str) -> dict[str, str]:
    return {"type": "string", "description": f"{what}, relative to the workspace."}


_READ = ToolAnnotations(read_only=True, idempotent=True)
_WRITE = ToolAnnotations(destructive=True)

READ_FILE = ToolSpec(
    name="read_file",
    description=(
        "Read a UTF-8 text file in the workspace. Each line is shown as '<line> <tag> | <text>'; the 8-hex "
        f"tag names the line for edit_file. Use offset/limit for long files (up to {READ_LIMIT} lines a call). "
        "Binary files are refused."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "path": _path_prop("The file"),
            "offset": {"type": "integer", "description": "First line to read (1-based, default 1)."},
            "limit": {"type": "integer", "description": f"Maximum number of lines (default and at most {READ_LIMIT})."},
        },
        "required": ["path"],
        "additionalProperties": False,
    },
    run=_read_file,
    annotations=_READ,
    timeout_s=30.0,
    capabilities=lambda a: [f"fs:read:{capability_path(a.get('path'))}"],
)
WRITE_FILE = ToolSpec(
    name="write_file",
    description=(
        "Create or overwrite a file in the workspace with the given UTF-8 content (written atomically; "
        "missing parent directories are created). To change part of a file, use edit_file."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "path": _path_prop("The file"),
            "content": {"type": "string", "description": "The whole new content of the file."},
        },
        "required": ["path", "content"],
        "additionalProperties": False,
    },
    run=_write_file,
    annotations=_WRITE,
    timeout_s=30.0,
    capabilities=lambda a: [f"fs:write:{capability_path(a.get('path'))}"],
)
_OP_SCHEMA = {
    "type": "object",
    "properties": {
        "op": {
            "type": "string",
            "enum": sorted(hashline.ALIASES),
            "description": "replace (the line becomes text), insert_after (text goes after the line), delete.",
        },
        "tag": {
            "type": "string",
            "description": "The line's tag from read_file (e.g. 'a1b2c3d4'); '0' with insert_after is the top.",
        },
        "text": {"type": "string", "description": "New text for replace/insert_after; may hold several lines."},
        "new_text": {"type": "string", "description": "Same as text."},
    },
    "required": ["op", "tag"],
    "additionalProperties": False,
}
EDIT_FILE = ToolSpec(
    name="edit_file",
    description=(
        "Edit a text file by line tags from read_file: ops replace, insert_after (tag '0': top of the file) "
        "and delete, each naming a different line. All tags are checked first: if the file changed since it "
        "was read (a stale tag) or two ops name the same line, nothing is written and the current lines are "
        "shown. Returns the changed region with its new tags."
    ),
    input_schema={
        "type": "object",
        "properties": {"path": _path_prop("The file"), "ops": {"type": "array", "items": _OP_SCHEMA}},
        "required": ["path", "ops"],
        "additionalProperties": False,
    },
    run=_edit_file,
    annotations=_WRITE,
    timeout_s=30.0,
    capabilities=lambda a: [f"fs:write:{capability_path(a.get('path'))}"],
)
DELETE_FILE = ToolSpec(
    name="delete_file",
    description="Delete a regular file in the workspace (not a directory or a link). Its content is kept for rewind.",
    input_schema={
        "type": "object",
        "properties": {"path": _path_prop("The file")},
        "required": ["path"],
        "additionalProperties": False,
    },
    run=_delete_file,
    annotations=_WRITE,
    timeout_s=30.0,
    capabilities=lambda a: [f"fs:write:{capability_path(a.get('path'))}"],
)
LIST_DIR = ToolSpec(
    name="list_dir",
    description="List a directory in the workspace: directories end with '/', symbolic links with '@'.",
    input_schema={
        "type": "object",
        "properties": {"path": _path_prop("The directory (default '.')")},
        "additionalProperties": False,
    },
    run=_list_dir,
    annotations=_READ,
    timeout_s=30.0,
    capabilities=lambda a: [f"fs:read:{capability_path(a.get('path'))}"],
)
GLOB = ToolSpec(
    name="glob",
    description=(
        "Find paths by glob pattern (e.g. '**/*.py', 'src/*.ts'; '**' spans directories), relative to 'path' "
        f"(default the workspace). Sorted, at most {MAX_GLOB_RESULTS}; links are never followed; "
        ".git, node_modules, .venv and cache directories are skipped unless named."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "The glob pattern."},
            "path": _path_prop("The base directory (default '.')"),
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
    run=_glob,
    annotations=_READ,
    timeout_s=30.0,
    capabilities=lambda a: [f"fs:read:{capability_path(a.get('path'))}"],
)
GREP = ToolSpec(
    name="grep",
    description=(
        "Search file contents with a Python regular expression; prints 'file:line:text' for each matching "
        "line. 'path' is a file or directory (default the workspace), 'glob' filters file names "
        "(e.g. '*.py', or 'src/**/*.py' with a '/'). Binary files are skipped; links are never followed."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "The regular expression (Python syntax)."},
            "path": _path_prop("The file or directory to search (default '.')"),
            "glob": {"type": "string", "description": "Only search files matching this glob."},
            "max_matches": {
                "type": "integer",
                "description": f"Stop after this many matches (default 100, max {MAX_GREP_MATCHES}).",
            },
            "case_insensitive": {"type": "boolean", "description": "Ignore case (default false)."},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
    run=_grep,
    annotations=_READ,
    timeout_s=60.0,
    capabilities=lambda a: [f"fs:read:{capability_path(a.get('path'))}"],
)

FILE_TOOLS: tuple[ToolSpec, ...] = (READ_FILE, WRITE_FILE, EDIT_FILE, DELETE_FILE, LIST_DIR, GLOB, GREP)
