"""FsPolicy on its own: lexical normalisation, the O_NOFOLLOW walk and its link splicing, hard links,
special files, protected and secret paths, atomic writes, deletes, renames and the tree walk."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from life_tui.errors import InvalidInput, NotFound
from life_tui.tools.fs_policy import FsPolicy as Policy
from life_tui.tools.fs_policy import (
    HardLinkedFile,
    IsADirectory,
    NotADirectory,
    PathOutsideWorkspace,
    ProtectedPath,
    WsPath,
)

CANARY = "host-canary-7f3e1c"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (root / "README.md").write_text("# hi\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "canary.txt").write_text(CANARY)
    return root


@pytest.fixture
def policy(ws: Path) -> Policy:
    return Policy(
        ws, protected=[ws / ".git", ws / ".life" / "config.toml", ws / "state" / "journal"], secret=[ws / "keys"]
    )


def rel(policy: Policy, path: str) -> str:
    return policy.lexical(path).rel


# ------------------------------------------------------------------------------------------ lexical
def test_relative_and_absolute_paths_inside(policy: Policy, ws: Path) -> None:
    assert rel(policy, "README.md") == "README.md"
    assert rel(policy, "./src//pkg/./mod.py") == "src/pkg/mod.py"
    assert rel(policy, "src/pkg/../../README.md") == "README.md"
    assert rel(policy, str(ws / "src")) == "src"
    assert rel(policy, str(ws)) == "." and rel(policy, ".") == "." and rel(policy, "") == "."


def test_the_workspace_may_be_given_through_a_link(tmp_path: Path, ws: Path) -> None:
    (tmp_path / "alias").symlink_to(ws)
    policy = Policy(tmp_path / "alias")
    assert policy.root == ws.resolve()
    assert rel(policy, str(tmp_path / "alias" / "README.md")) == "README.md"
    assert rel(policy, str(ws / "README.md")) == "README.md"


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../outside/canary.txt", "src/../../outside/canary.txt", "..", "/", "~/.ssh/id_rsa", "~"],
)
def test_paths_outside_are_refused_before_any_access(policy: Policy, path: str) -> None:
    with pytest.raises(PathOutsideWorkspace, match=r"outside the workspace|'~' is not expanded"):
        policy.lexical(path)


def test_prefix_confusion_compares_parts_not_strings(tmp_path: Path, ws: Path, policy: Policy) -> None:
    evil = tmp_path / "ws-evil"
    evil.mkdir()
    for path in (str(evil / "x"), f"{ws}-evil/x", f"{ws}evil", "../ws-evil/x"):
        with pytest.raises(PathOutsideWorkspace):
            policy.lexical(path)


@pytest.mark.parametrize(
    "path", ["/proc/self/root/etc/passwd", "/proc/1/cwd/x", "/proc/self/cwd", "/proc", "/x/../proc/self/root"]
)
def test_proc_paths_are_refused(policy: Policy, path: str) -> None:
    with pytest.raises(PathOutsideWorkspace, match="/proc"):
        policy.lexical(path)


def test_nul_bytes_and_overlong_paths(policy: Policy) -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        policy.lexical("README.md\x00.txt")
    with pytest.raises(InvalidInput, match="255 bytes"):
        policy.lexical("a" * 256)
    with pytest.raises(InvalidInput, match="255 bytes"):
        policy.lexical("é" * 128)  # 256 bytes in UTF-8
    assert policy.lexical("a" * 255).rel == "a" * 255
    with pytest.raises(InvalidInput, match="4096 bytes"):
        policy.lexical("a/" * 2100)
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        policy.lexical("bad\udcff")


# --------------------------------------------------------------------------------------------- walk
def test_links_inside_are_followed_by_splicing(policy: Policy, ws: Path) -> None:
    (ws / "lib").symlink_to("src/pkg")
    (ws / "abs").symlink_to(ws / "src")
    (ws / "src" / "up").symlink_to("../README.md")
    (ws / "chain").symlink_to("lib")
    assert policy.read_bytes("lib/mod.py", max_bytes=100) == (b"x = 1\n", WsPath(("src", "pkg", "mod.py")))
    assert policy.read_bytes("abs/pkg/mod.py", max_bytes=100)[1].rel == "src/pkg/mod.py"
    assert policy.read_bytes("src/up", max_bytes=100)[0] == b"# hi\n"
    assert policy.read_bytes("chain/mod.py", max_bytes=100)[1].rel == "src/pkg/mod.py"
    with policy.open_dir("lib") as (_, where):
        assert where.rel == "src/pkg"


def test_links_leading_outside_are_refused(policy: Policy, ws: Path, tmp_path: Path) -> None:
    (ws / "abs").symlink_to(tmp_path / "outside" / "canary.txt")
    (ws / "relative").symlink_to("../outside/canary.txt")
    (ws / "dir").symlink_to(tmp_path / "outside")
    (ws / "src" / "deep").symlink_to("../../outside")
    (ws / "proc").symlink_to("/proc/self/root")
    (ws / "loop").symlink_to("loop")
    for path in ("abs", "relative", "dir/canary.txt", "src/deep/canary.txt", "proc/etc/passwd"):
        with pytest.raises(PathOutsideWorkspace, match=r"symbolic link to .*outside the workspace"):
            policy.read_bytes(path, max_bytes=1000)
    with pytest.raises(InvalidInput, match="too many symbolic links"):
        policy.read_bytes("loop", max_bytes=10)


def test_missing_files_and_wrong_kinds(policy: Policy, ws: Path) -> None:
    with pytest.raises(NotFound, match=re.escape("no file 'nope.txt'")):
        policy.read_bytes("nope.txt", max_bytes=10)
    with pytest.raises(NotFound, match="no directory 'nope'"):
        policy.read_bytes("nope/x.txt", max_bytes=10)
    with pytest.raises(IsADirectory):
        policy.read_bytes("src", max_bytes=10)
    with pytest.raises(IsADirectory):
        policy.read_bytes(".", max_bytes=10)
    with pytest.raises(NotADirectory):
        policy.read_bytes("README.md/x", max_bytes=10)
    with pytest.raises(InvalidInput, match="over the 3-byte limit"):
        policy.read_bytes("README.md", max_bytes=3)


def test_fifos_are_refused_without_blocking(policy: Policy, ws: Path) -> None:
    os.mkfifo(ws / "pipe")
    with pytest.raises(InvalidInput, match="not a regular file"):
        policy.read_bytes("pipe", max_bytes=10)
    with pytest.raises(InvalidInput, match="not a regular file"):
        policy.write_bytes("pipe", b"x")


def test_hard_links_are_refused_for_reads_and_writes(policy: Policy, ws: Path, tmp_path: Path) -> None:
    canary = tmp_path / "outside" / "canary.txt"
    os.link(canary, ws / "linked.txt")
    with pytest.raises(HardLinkedFile, match="2 hard links"):
        policy.read_bytes("linked.txt", max_bytes=1000)
    with pytest.raises(HardLinkedFile):
        policy.write_bytes("linked.txt", b"overwritten")
    with pytest.raises(HardLinkedFile):
        policy.unlink("linked.txt")
    assert canary.read_text() == CANARY
    assert isinstance(HardLinkedFile("x"), PathOutsideWorkspace)


# ------------------------------------------------------------------------------------------ writes
def test_writes_are_atomic_keep_the_mode_and_leave_no_temp_files(policy: Policy, ws: Path) -> None:
    script = ws / "run.sh"
    script.write_text("old\n")
    script.chmod(0o750)
    done = policy.write_bytes("run.sh", b"new\n")
    assert (done.previous, done.written, done.path.rel) == (b"old\n", b"new\n", "run.sh")
    assert script.read_text() == "new\n" and stat.S_IMODE(script.stat().st_mode) == 0o750
    created = policy.write_bytes("a/b/c.txt", b"deep")
    assert created.previous is None and (ws / "a" / "b" / "c.txt").read_bytes() == b"deep"
    assert not [p for p in ws.rglob("*") if ".life-tmp" in p.name]


def test_a_write_through_an_inside_link_changes_the_target_not_the_link(policy: Policy, ws: Path) -> None:
    (ws / "alias.md").symlink_to("README.md")
    done = policy.write_bytes("alias.md", b"# changed\n")
    assert done.path.rel == "README.md"
    assert (ws / "alias.md").is_symlink() and (ws / "README.md").read_text() == "# changed\n"


def test_transform_can_abort_or_write_nothing(policy: Policy, ws: Path) -> None:
    def boom(_old: bytes | None, _p: WsPath) -> bytes:
        raise InvalidInput("no thanks")

    with pytest.raises(InvalidInput, match="no thanks"):
        policy.update("README.md", boom)
    assert policy.update("README.md", lambda old, _p: None).written is None
    assert (ws / "README.md").read_text() == "# hi\n"
    with pytest.raises(InvalidInput, match="no thanks"):
        policy.update("new/dir/file.txt", boom)
    with pytest.raises(NotFound, match="no directory 'other'"):
        policy.update("other/file.txt", lambda old, _p: b"x", create_parents=False)
    assert not (ws / "new" / "dir" / "file.txt").exists()


def test_a_file_changed_during_the_transform_is_not_overwritten(policy: Policy, ws: Path) -> None:
    def meddle(old: bytes | None, _p: WsPath) -> bytes:
        (ws / "README.md").write_text("someone else's change, longer\n")
        return b"mine\n"

    with pytest.raises(InvalidInput, match="changed while it was being written"):
        policy.update("README.md", meddle)
    assert (ws / "README.md").read_text() == "someone else's change, longer\n"
    assert not [p for p in ws.iterdir() if ".life-tmp" in p.name]


def test_writes_to_directories_are_refused(policy: Policy) -> None:
    with pytest.raises(IsADirectory):
        policy.write_bytes("src", b"x")
    with pytest.raises(IsADirectory):
        policy.write_bytes(".", b"x")


# -------------------------------------------------------------------------------------- protection
@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".git/hooks/pre-commit",
        ".git",
        "vendor/lib/.git/hooks/post-checkout",  # any .git, nested repositories too
        ".GIT/config",  # case-folded
        "state/journal/segments/0001.seg",
        ".life/config.toml",
    ],
)
def test_protected_paths_are_not_writable(policy: Policy, ws: Path, path: str) -> None:
    with pytest.raises(ProtectedPath, match="is protected"):
        policy.write_bytes(path, b"#!/bin/sh\necho pwned\n")
    assert not (ws / ".git").exists() and not (ws / "state").exists()  # not even the parents were created


def test_a_file_cannot_take_the_place_of_a_protected_paths_parent(policy: Policy, ws: Path) -> None:
    with pytest.raises(ProtectedPath, match=re.escape("contains the protected path .life/config.toml")):
        policy.write_bytes(".life", b"squatting")
    assert not (ws / ".life").exists()


def test_links_into_protected_paths_are_resolved_first(policy: Policy, ws: Path) -> None:
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / "hooks").symlink_to(".git/hooks")
    (ws / "cfg").symlink_to(ws / ".life" / "config.toml")
    with pytest.raises(ProtectedPath):
        policy.write_bytes("hooks/pre-commit", b"x")
    with pytest.raises(ProtectedPath):
        policy.write_bytes("cfg", b"x")
    assert list((ws / ".git" / "hooks").iterdir()) == [] and not (ws / ".life").exists()


def test_protected_paths_stay_readable_but_secrets_do_not(policy: Policy, ws: Path) -> None:
    (ws / ".git").mkdir()
    (ws / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (ws / "keys").mkdir()
    (ws / "keys" / "anthropic").write_text("sk-secret")
    assert policy.read_bytes(".git/HEAD", max_bytes=100)[0].startswith(b"ref:")
    with pytest.raises(ProtectedPath, match="keystore"):
        policy.read_bytes("keys/anthropic", max_bytes=100)
    with pytest.raises(ProtectedPath, match="keystore"), policy.open_dir("keys"):
        pass


def test_renames_and_deletes_respect_protection_both_ways(policy: Policy, ws: Path) -> None:
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".life").mkdir()
    (ws / ".life" / "config.toml").write_text("")
    (ws / "state" / "journal").mkdir(parents=True)
    with pytest.raises(ProtectedPath):
        policy.rename(".git", "g")  # out of a protected path
    with pytest.raises(ProtectedPath):
        policy.rename("README.md", ".git/hooks/pre-commit")  # into one
    # Renaming a parent would move a protected path to a name nobody protects (then write it, rename it back).
    with pytest.raises(ProtectedPath, match="contains the protected path state/journal"):
        policy.rename("state", "s")
    with pytest.raises(ProtectedPath, match=re.escape("contains the protected path .life/config.toml")):
        policy.rename(".life", "life")
    with pytest.raises(ProtectedPath):
        policy.rename("README.md", "state")  # over a parent of one
    with pytest.raises(ProtectedPath):
        policy.unlink(".git/hooks")
    assert (ws / ".git" / "hooks").is_dir() and (ws / ".life" / "config.toml").is_file()
    assert (ws / "state" / "journal").is_dir()
    assert policy.rename("src", "source") == (WsPath(("src",)), WsPath(("source",)))
    assert (ws / "source" / "pkg" / "mod.py").exists()
    # A nested repository's .git is protected by its name, so it stays protected wherever it moves.
    (ws / "vendor" / "lib" / ".git").mkdir(parents=True)
    policy.rename("vendor", "v")
    with pytest.raises(ProtectedPath):
        policy.write_bytes("v/lib/.git/config", b"[core]\n\thooksPath = /tmp\n")


def test_unlink_removes_regular_files_only(policy: Policy, ws: Path) -> None:
    (ws / "alias").symlink_to("README.md")
    with pytest.raises(InvalidInput, match="symbolic link"):
        policy.unlink("alias")
    with pytest.raises(IsADirectory):
        policy.unlink("src")

    def refuse(_data: bytes, _p: WsPath) -> None:
        raise InvalidInput("could not keep a copy")

    with pytest.raises(InvalidInput, match="could not keep a copy"):
        policy.unlink("README.md", keep=refuse)
    assert (ws / "README.md").exists()  # the copy comes first; without it the file stays
    path, content = policy.unlink("README.md")
    assert (path.rel, content) == ("README.md", b"# hi\n") and not (ws / "README.md").exists()
    assert (ws / "alias").is_symlink()


# --------------------------------------------------------------------------------------------- tree
def test_walk_reports_links_without_following_them(policy: Policy, ws: Path, tmp_path: Path) -> None:
    (ws / "out").symlink_to(tmp_path / "outside")
    (ws / "node_modules" / "dep").mkdir(parents=True)
    (ws / "node_modules" / "dep" / "index.js").write_text("")
    seen = [p.rel for p, _e, _fd in policy.walk_files(".", skip_dirs=frozenset({"node_modules"}))]
    assert seen == ["README.md", "node_modules", "out", "src", "src/pkg", "src/pkg/mod.py"]
    assert [p.rel for p, _e, _fd in policy.walk_files(".", max_depth=1)] == ["README.md", "node_modules", "out", "src"]
    assert all("outside" not in p for p in seen)


def test_a_protected_path_holding_the_whole_workspace_protects_all_of_it(ws: Path, tmp_path: Path) -> None:
    policy = Policy(ws, protected=[tmp_path])
    with pytest.raises(ProtectedPath, match=re.escape("inside the protected path .")):
        policy.write_bytes("README.md", b"x")
    assert policy.read_bytes("README.md", max_bytes=100)[0] == b"# hi\n"
