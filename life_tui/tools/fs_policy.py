"""FsPolicy: every path a file tool touches is confined to the workspace, and protected paths stay unwritten.

How a path argument becomes a file (the design, in the order the checks run):

1. **Lexical checks, no file system access.** The argument must be a string without NUL bytes, at most
   4096 bytes long with no component over 255 bytes; a leading ``~`` is refused (it is never expanded).
   An absolute path under ``/proc`` is refused outright (``/proc/self/root``, ``/proc/<pid>/cwd`` and
   friends are magic links that can point anywhere). Relative paths are taken from the workspace root;
   absolute paths must lie under the root (canonical, or as the workspace was given). Paths are compared
   **part by part**, never as string prefixes, so ``/ws-evil`` is not inside ``/ws``. ``.`` and ``..``
   are resolved lexically; a ``..`` that climbs above the root fails. No ``..`` survives this step.

2. **An ``openat`` walk with ``O_NOFOLLOW``.** The file is reached from a descriptor of the root, one
   component at a time (``os.open(part, O_DIRECTORY | O_NOFOLLOW, dir_fd=parent)``), and the last
   component is opened with ``O_NOFOLLOW`` as well. The kernel therefore never follows a symbolic link for
   us. When a component *is* a link, the policy reads it (``readlinkat``), splices the link text into the
   path (absolute targets must lie under the root, relative ones are resolved lexically against the
   directories walked so far), checks the result is still inside, and **restarts the walk from the root**
   with the new path (at most 40 links, like the kernel). Links that stay inside the workspace work;
   links that lead out fail with :class:`PathOutsideWorkspace`. Because the decision and the open happen
   on the same descriptors, a link swapped in between a check and an open (the symlink-swap race) makes
   the ``O_NOFOLLOW`` open fail (and the walk restart and re-check) instead of escaping: there is no
   separate "check" step to race against.

3. **What the walk opened is checked with ``fstat``.** Reads and writes only touch regular files; FIFOs,
   sockets and devices are refused (FIFOs are opened ``O_NONBLOCK`` so the open itself cannot hang).

4. **Hard links are refused, for reading and for writing.** A regular file with ``st_nlink > 1`` shares
   its content with another name the policy cannot see, and that name may be outside the workspace (a
   hard link to a host file is the classic escape, and the test plan requires reading one to fail).
   Proving every other link is inside would mean scanning the whole workspace for the inode (and a
   link may sit in a directory we cannot read), so the policy does not try: such files fail with
   :class:`HardLinkedFile` and the model is told to use a copy. Writes would be harmless in practice
   (an atomic write renames a new inode over the name, which detaches it from the other links rather
   than writing through them), but they are refused as well, so the rule is one sentence.
   Directories cannot be hard-linked.

5. **Protected paths are never written.** ``protected`` (the journal, config, the keystore, ``.git``,
   given by the session) and any path component named ``.git`` anywhere in the workspace (nested
   repositories and submodules have hooks too) cannot be written, created, deleted or renamed, and
   neither can their parents be renamed or deleted (renaming a parent would move the protected path).
   The check runs on the **resolved** path before anything is created, and again after every link the
   walk follows, so ``link-to-git/hooks/pre-commit`` fails too. Names are compared case-folded
   (``.GIT`` on a case-insensitive file system is ``.git``). ``secret`` paths (the keystore) cannot be
   read either.

6. **Writes are atomic.** New content goes to a temporary file created ``O_CREAT | O_EXCL | O_NOFOLLOW``
   in the target's (walked) directory, is fsynced, then renamed over the name with ``renameat``, which
   never follows a link at the destination. The old file's mode is kept. If the file changed between
   reading its previous content and the rename, nothing is written and the call fails.

Directories the walk creates for ``create_parents`` are made with ``mkdirat`` and then opened with
``O_NOFOLLOW`` like any other component, so a directory swapped for a link right after its creation is
caught the same way.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from life_tui.errors import InvalidInput, NotFound

MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255
MAX_SYMLINKS = 40
MAX_RETRIES = 1000
"""How often one walk looks again at a component that changed under it (vanished, or swapped again)."""
ALWAYS_PROTECTED_NAMES = frozenset({".git"})
"""A path with any of these components is protected wherever it is in the workspace."""

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_MISSING: tuple[int, os.stat_result] = (-1, os.stat_result((0,) * 10))


class PathOutsideWorkspace(InvalidInput):
    """The path leads outside the workspace (absolute, ``..``, a link, ``/proc``, a hard link)."""


class HardLinkedFile(PathOutsideWorkspace):
    """The file has more than one hard link; another may be outside the workspace."""


class IsADirectory(InvalidInput):
    """A file operation named a directory."""


class NotADirectory(InvalidInput):
    """A directory operation (or a path's middle component) named something else."""


class ProtectedPath(InvalidInput):
    """The path is inside the workspace but protected (journal, config, keys, ``.git``)."""


@dataclass(frozen=True)
class WsPath:
    """A normalised path inside the workspace: its components from the root (``()`` is the root)."""

    parts: tuple[str, ...]

    @property
    def rel(self) -> str:
        return "/".join(self.parts) or "."

    @property
    def name(self) -> str:
        return self.parts[-1] if self.parts else "."

    def child(self, name: str) -> WsPath:
        return WsPath((*self.parts, name))

    def __str__(self) -> str:
        return self.rel


@dataclass(frozen=True)
class Update:
    """What :meth:`FsPolicy.update` did: the resolved path, the content before (None: the file was new)
    and after (None: nothing was written because nothing changed)."""

    path: WsPath
    previous: bytes | None
    written: bytes | None


def _utf8(value: str, what: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid Unicode text (a lone surrogate)") from None


def _quote(path: str) -> str:
    return repr(path if len(path) <= 200 else path[:200] + "…")


def _fold(parts: Iterable[str]) -> tuple[str, ...]:
    return tuple(p.casefold() for p in parts)


class FsPolicy:
    """Confines file tools to ``workspace``; see the module docstring for the rules."""

    def __init__(self, workspace: Path, protected: Iterable[Path] = (), secret: Iterable[Path] = ()) -> None:
        self.given = Path(os.path.abspath(workspace))
        self.root = Path(workspace).resolve(strict=True)
        if not self.root.is_dir():
            raise NotFound(f"the workspace {self.root} is not a directory")
        self._protected = self._inside(protected)
        self._secret = self._inside(secret)

    def _inside(self, paths: Iterable[Path]) -> tuple[tuple[str, ...], ...]:
        """Protected (or secret) paths as parts under the root; one that holds the whole workspace is ``()``."""
        out = []
        root_parts = self.root.parts
        for p in paths:
            for candidate in {Path(os.path.abspath(p)), Path(p).resolve()}:
                parts = self._relative_parts(PurePosixPath(candidate))
                if parts is not None:
                    out.append(_fold(parts))
                elif root_parts[: len(candidate.parts)] == candidate.parts:
                    out.append(())
        return tuple(sorted(set(out)))

    # ---------------------------------------------------------------------------------- lexical
    def _relative_parts(self, absolute: PurePosixPath) -> tuple[str, ...] | None:
        """``absolute`` (already normalised) relative to the root, compared part by part; None if outside."""
        parts = absolute.parts
        for base in (self.root, self.given):
            bparts = PurePosixPath(base).parts
            if parts[: len(bparts)] == bparts:
                return tuple(parts[len(bparts) :])
        return None

    @staticmethod
    def _normalise(parts: Iterable[str], shown: str) -> tuple[str, ...]:
        out: list[str] = []
        for part in parts:
            if part in ("", ".", "/"):
                continue
            if part == "..":
                if not out:
                    raise PathOutsideWorkspace(
                        f"{_quote(shown)} is outside the workspace ('..' climbs above its root)",
                        hint="file tools only reach paths inside the workspace",
                    )
                out.pop()
            else:
                out.append(part)
        return tuple(out)

    @staticmethod
    def _check_lengths(parts: tuple[str, ...], shown: str) -> None:
        if len(_utf8("/".join(parts), "the path")) > MAX_PATH_BYTES:
            raise InvalidInput(f"the path {_quote(shown)} is longer than {MAX_PATH_BYTES} bytes")
        for part in parts:
            if len(_utf8(part, "the path")) > MAX_NAME_BYTES:
                raise InvalidInput(f"the path {_quote(shown)} has a name longer than {MAX_NAME_BYTES} bytes")

    def lexical(self, path: str | WsPath) -> WsPath:
        """Validate and normalise a path argument without touching the file system."""
        if isinstance(path, WsPath):
            return path
        if not isinstance(path, str):
            raise InvalidInput(f"a path must be a string, not {type(path).__name__}")
        if "\x00" in path:
            raise InvalidInput("a path may not contain a NUL byte")
        if len(_utf8(path, "the path")) > MAX_PATH_BYTES:
            raise InvalidInput(f"the path {_quote(path)} is longer than {MAX_PATH_BYTES} bytes")
        if path.startswith("~"):
            raise PathOutsideWorkspace(
                f"{_quote(path)}: '~' is not expanded; paths are relative to the workspace",
                hint="give a path relative to the workspace",
            )
        pure = PurePosixPath(path)
        if pure.is_absolute():
            normal = self._normalise(pure.parts[1:], path)  # '/..' is '/', as in POSIX
            if normal[:1] == ("proc",) or "/proc/" in path:
                raise PathOutsideWorkspace(
                    f"{_quote(path)} is under /proc; /proc paths (/proc/self/root, /proc/<pid>/cwd...) "
                    "are never allowed",
                    hint="file tools only reach paths inside the workspace",
                )
            parts = self._relative_parts(PurePosixPath("/", *normal))
            if parts is None:
                raise PathOutsideWorkspace(
                    f"{_quote(path)} is outside the workspace {self.root}",
                    hint="file tools only reach paths inside the workspace",
                )
        else:
            parts = self._normalise(pure.parts, path)
        self._check_lengths(parts, path)
        return WsPath(parts)

    # ------------------------------------------------------------------------------- protection
    def protected_reason(self, path: WsPath, *, subtree: bool = False) -> str | None:
        """Why ``path`` may not be written (None if it may). ``subtree``: ``path`` would be moved or
        removed as a whole, so a protected path *inside* it counts too."""
        folded = _fold(path.parts)
        if any(p in ALWAYS_PROTECTED_NAMES for p in folded):
            return "it is inside git's internals (.git)"
        for prot in self._protected:
            if folded[: len(prot)] == prot:
                return f"it is inside the protected path {'/'.join(prot) or '.'}"
            if subtree and prot[: len(folded)] == folded:
                return f"it contains the protected path {'/'.join(prot)}"
        return None

    def check_writable(self, path: WsPath, *, subtree: bool = False) -> None:
        why = self.protected_reason(path, subtree=subtree)
        if why is not None:
            raise ProtectedPath(
                f"{_quote(path.rel)} is protected: {why}",
                hint="tools may not write the journal, config, keys or git internals",
            )

    def is_secret(self, path: WsPath) -> bool:
        folded = _fold(path.parts)
        return any(folded[: len(s)] == s for s in self._secret)

    def _check_readable(self, path: WsPath) -> None:
        if self.is_secret(path):
            raise ProtectedPath(f"{_quote(path.rel)} is in the keystore; file tools never read it")

    # ------------------------------------------------------------------------------------- walk
    def _open_root(self) -> int:
        return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def _splice(self, walked: tuple[str, ...], link: str, target: str, rest: tuple[str, ...]) -> tuple[str, ...]:
        """The path after replacing the link at ``walked/<link>`` by its ``target``, checked to stay inside."""
        shown = "/".join((*walked, link))
        pure = PurePosixPath(target)
        if pure.is_absolute():
            normal = self._normalise(pure.parts[1:], target)
            base = self._relative_parts(PurePosixPath("/", *normal))
            if base is None:
                raise PathOutsideWorkspace(
                    f"{_quote(shown)} is a symbolic link to {target}, outside the workspace",
                    hint="file tools do not follow links out of the workspace",
                )
        else:
            try:
                base = self._normalise((*walked, *pure.parts), target)
            except PathOutsideWorkspace:
                raise PathOutsideWorkspace(
                    f"{_quote(shown)} is a symbolic link to {target}, outside the workspace",
                    hint="file tools do not follow links out of the workspace",
                ) from None
        parts = (*base, *rest)
        self._check_lengths(parts, shown)
        return parts

    def _walk(
        self, path: WsPath, *, parent: bool, create: bool = False, write: bool = False, follow_final: bool = True
    ) -> tuple[int, WsPath]:
        """Open the directory at ``path`` (or, with ``parent``, the directory holding its last component)
        by an ``O_NOFOLLOW`` walk from the root; links inside the workspace are followed by splicing and
        restarting. Returns an open descriptor (the caller closes it) and the resolved path."""
        parts = path.parts
        hops = retries = 0
        while True:
            current = WsPath(parts)
            if write:
                self.check_writable(current)
            dir_parts = parts[:-1] if parent else parts
            fd = self._open_root()
            try:
                restart: tuple[str, ...] | None = None
                i = 0
                while i < len(dir_parts):
                    part = dir_parts[i]
                    try:
                        nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                    except FileNotFoundError:
                        if not create:
                            raise NotFound(
                                f"no directory {_quote('/'.join(dir_parts[: i + 1]))} in the workspace"
                            ) from None
                        with suppress(FileExistsError):
                            os.mkdir(part, 0o777, dir_fd=fd)
                        retries = _retry(retries, path)  # then open it like any other component
                        continue
                    except OSError as exc:
                        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                            raise
                        try:
                            st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                        except FileNotFoundError:
                            retries = _retry(retries, path)  # it vanished under us: look at it afresh
                            continue
                        if not stat.S_ISLNK(st.st_mode):
                            raise NotADirectory(f"{_quote('/'.join(dir_parts[: i + 1]))} is not a directory") from None
                        try:
                            target = os.readlink(part, dir_fd=fd)
                        except OSError:
                            retries = _retry(retries, path)  # swapped again under us: look at it afresh
                            continue
                        restart = self._splice(dir_parts[:i], part, target, parts[i + 1 :])
                        break
                    os.close(fd)
                    fd = nfd
                    i += 1
                if restart is None and parent and parts and follow_final:
                    try:
                        final: os.stat_result | None = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
                    except FileNotFoundError:
                        final = None
                    if final is not None and stat.S_ISLNK(final.st_mode):
                        try:
                            target = os.readlink(parts[-1], dir_fd=fd)
                        except OSError:
                            restart = parts  # swapped again under us: look at it afresh
                        else:
                            restart = self._splice(parts[:-1], parts[-1], target, ())
                if restart is None:
                    return fd, current
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
            hops += 1
            if hops > MAX_SYMLINKS:
                raise InvalidInput(f"{_quote(path.rel)} goes through too many symbolic links (or kept changing)")
            parts = restart

    @contextmanager
    def open_dir(self, path: str | WsPath) -> Iterator[tuple[int, WsPath]]:
        """An open descriptor of the directory at ``path`` (links inside the workspace followed)."""
        fd, resolved = self._walk(self.lexical(path), parent=False)
        try:
            self._check_readable(resolved)
            yield fd, resolved
        finally:
            os.close(fd)

    def _open_regular(self, dir_fd: int, path: WsPath, flags: int = _READ_FLAGS) -> tuple[int, os.stat_result] | None:
        """Open the regular file ``path.name`` in ``dir_fd``; None when it is (now) a symbolic link."""
        try:
            fd = os.open(path.name, flags, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return None
            if exc.errno == errno.ENOENT:
                raise NotFound(f"no file {_quote(path.rel)} in the workspace") from None
            raise
        try:
            st = os.fstat(fd)
            self._check_regular(path, st)
        except BaseException:
            os.close(fd)
            raise
        return fd, st

    @staticmethod
    def _check_regular(path: WsPath, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectory(f"{_quote(path.rel)} is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(f"{_quote(path.rel)} is not a regular file (a device, FIFO or socket)")
        if st.st_nlink > 1:
            raise HardLinkedFile(
                f"{_quote(path.rel)} has {st.st_nlink} hard links; file tools refuse hard-linked files "
                "because another link may be outside the workspace",
                hint="work on a copy of the file instead",
            )

    @contextmanager
    def open_file(self, path: str | WsPath) -> Iterator[tuple[int, WsPath, os.stat_result]]:
        """An open, read-only descriptor of the regular file at ``path`` (links inside followed)."""
        wanted = self.lexical(path)
        if not wanted.parts:
            raise IsADirectory("'.' is the workspace directory, not a file")
        for _ in range(MAX_SYMLINKS):
            dir_fd, resolved = self._walk(wanted, parent=True)
            try:
                self._check_readable(resolved)
                opened = self._open_regular(dir_fd, resolved)
            finally:
                os.close(dir_fd)
            if opened is not None:
                break
            wanted = resolved  # it became a link between the walk and the open: walk again
        else:
            raise InvalidInput(f"{_quote(wanted.rel)} kept changing while it was opened")
        fd, st = opened
        try:
            yield fd, resolved, st
        finally:
            os.close(fd)

    def read_bytes(self, path: str | WsPath, *, max_bytes: int) -> tuple[bytes, WsPath]:
        """The content of a regular file; files over ``max_bytes`` fail."""
        with self.open_file(path) as (fd, resolved, st):
            if st.st_size > max_bytes:
                raise InvalidInput(
                    f"{_quote(resolved.rel)} is {st.st_size} bytes, over the {max_bytes}-byte limit of file tools",
                    hint="use grep, or read it with the shell",
                )
            return _read_all(fd, max_bytes, resolved), resolved

    # ------------------------------------------------------------------------------------ write
    def update(
        self,
        path: str | WsPath,
        transform: Callable[[bytes | None, WsPath], bytes | None],
        *,
        create_parents: bool = True,
        max_bytes: int = 32 * 1024 * 1024,
    ) -> Update:
        """Atomically replace the file at ``path`` with ``transform(previous, resolved_path)``.

        ``previous`` is None when the file does not exist. ``transform`` may raise to abort (nothing is
        written) or return None to write nothing. Parents are created inside the workspace when asked."""
        wanted = self.lexical(path)
        if not wanted.parts:
            raise IsADirectory("'.' is the workspace directory, not a file")
        self.check_writable(wanted, subtree=True)  # not even a file where a protected path's parent belongs
        for _ in range(MAX_SYMLINKS):
            dir_fd, resolved = self._walk(wanted, parent=True, create=create_parents, write=True)
            try:
                self.check_writable(resolved, subtree=True)
                previous: bytes | None = None
                before: os.stat_result | None = None
                try:
                    opened = self._open_regular(dir_fd, resolved)
                except NotFound:
                    opened = _MISSING
                if opened is None:
                    wanted = resolved  # it became a link between the walk and the open: walk again
                    continue
                if opened is not _MISSING:
                    old_fd, before = opened
                    try:
                        if before.st_size > max_bytes:
                            raise InvalidInput(
                                f"{_quote(resolved.rel)} is {before.st_size} bytes, over the {max_bytes}-byte limit "
                                "of file tools",
                                hint="change it with the shell",
                            )
                        previous = _read_all(old_fd, max_bytes, resolved)
                    finally:
                        os.close(old_fd)
                new = transform(previous, resolved)
                if new is None:
                    return Update(resolved, previous, None)
                mode = stat.S_IMODE(before.st_mode) if before is not None else None
                _replace_atomically(dir_fd, resolved, new, mode, before)
                return Update(resolved, previous, new)
            finally:
                os.close(dir_fd)
        raise InvalidInput(f"{_quote(wanted.rel)} kept changing while it was written")

    def write_bytes(self, path: str | WsPath, data: bytes, *, create_parents: bool = True) -> Update:
        return self.update(path, lambda _old, _p: data, create_parents=create_parents)

    def unlink(
        self,
        path: str | WsPath,
        *,
        max_bytes: int = 32 * 1024 * 1024,
        keep: Callable[[bytes, WsPath], None] | None = None,
    ) -> tuple[WsPath, bytes]:
        """Delete a regular file (not a link, not a directory); returns its path and last content.

        ``keep`` sees the content before the file goes (to store it) and may raise to keep the file."""
        wanted = self.lexical(path)
        if not wanted.parts:
            raise IsADirectory("'.' is the workspace directory, not a file")
        self.check_writable(wanted, subtree=True)
        dir_fd, resolved = self._walk(wanted, parent=True, write=True, follow_final=False)
        try:
            self.check_writable(resolved, subtree=True)
            opened = self._open_regular(dir_fd, resolved)
            if opened is None:
                raise InvalidInput(f"{_quote(resolved.rel)} is a symbolic link; only regular files can be deleted")
            fd, st = opened
            try:
                content = _read_all(fd, max_bytes, resolved)
            finally:
                os.close(fd)
            now = os.stat(resolved.name, dir_fd=dir_fd, follow_symlinks=False)
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                raise InvalidInput(f"{_quote(resolved.rel)} changed while it was deleted; nothing was deleted")
            if keep is not None:
                keep(content, resolved)
            os.unlink(resolved.name, dir_fd=dir_fd)
            return resolved, content
        finally:
            os.close(dir_fd)

    def rename(self, source: str | WsPath, destination: str | WsPath) -> tuple[WsPath, WsPath]:
        """Rename inside the workspace. Neither side may be protected or contain a protected path."""
        src, dst = self.lexical(source), self.lexical(destination)
        for p in (src, dst):
            if not p.parts:
                raise InvalidInput("the workspace directory itself cannot be renamed")
            self.check_writable(p, subtree=True)
        src_fd, src_r = self._walk(src, parent=True, write=True, follow_final=False)
        try:
            dst_fd, dst_r = self._walk(dst, parent=True, write=True, follow_final=False)
            try:
                for p in (src_r, dst_r):
                    self.check_writable(p, subtree=True)
                st = os.stat(src_r.name, dir_fd=src_fd, follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                    self._check_regular(src_r, st)
                os.rename(src_r.name, dst_r.name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
                return src_r, dst_r
            finally:
                os.close(dst_fd)
        finally:
            os.close(src_fd)

    # ------------------------------------------------------------------------------------- tree
    def walk_files(
        self,
        base: str | WsPath,
        *,
        skip_dirs: frozenset[str] = frozenset(),
        max_depth: int | None = None,
        max_entries: int = 200_000,
    ) -> Iterator[tuple[WsPath, os.DirEntry[str], int]]:
        """Every entry under ``base`` (depth first, names sorted), as (path, entry, directory fd).

        Symbolic links are reported but never followed; directories are opened with ``O_NOFOLLOW`` from
        their parent's descriptor, so a directory swapped for a link mid-walk is skipped. Directories
        named in ``skip_dirs`` are reported but not entered; secret paths are neither reported nor entered;
        entries deeper than ``max_depth`` levels (1: the base's own entries) are not visited. The directory
        fd is valid only until the next item. Stops after ``max_entries`` entries."""
        seen = 0
        with self.open_dir(base) as (fd, resolved):
            stack: list[tuple[int, WsPath, int]] = [(os.dup(fd), resolved, 1)]
            try:
                while stack:
                    dfd, dpath, depth = stack.pop()
                    try:
                        with os.scandir(dfd) as it:
                            entries = sorted(it, key=lambda e: e.name)
                        subdirs: list[tuple[int, WsPath, int]] = []
                        try:
                            for entry in entries:
                                seen += 1
                                if seen > max_entries:
                                    return
                                epath = dpath.child(entry.name)
                                if self.is_secret(epath):
                                    continue
                                yield epath, entry, dfd
                                deeper = max_depth is None or depth < max_depth
                                if deeper and entry.name not in skip_dirs and entry.is_dir(follow_symlinks=False):
                                    try:
                                        subdirs.append((os.open(entry.name, _DIR_FLAGS, dir_fd=dfd), epath, depth + 1))
                                    except OSError:
                                        continue
                        finally:
                            stack.extend(reversed(subdirs))
                    finally:
                        os.close(dfd)
            finally:
                for dfd, _, _ in stack:
                    os.close(dfd)

    def open_at(self, dir_fd: int, path: WsPath) -> tuple[int, os.stat_result] | None:
        """Open a regular, singly-linked file named ``path.name`` in a walked directory (see
        :meth:`walk_files`); None when it is a link, not a plain file, or secret."""
        if self.is_secret(path):
            return None
        try:
            return self._open_regular(dir_fd, path)
        except (InvalidInput, NotFound, OSError):
            return None


def _retry(count: int, path: WsPath) -> int:
    """One more look at a path that changed under the walk; a path that never settles fails."""
    if count >= MAX_RETRIES:
        raise InvalidInput(f"{_quote(path.rel)} kept changing while it was opened", hint="retry when it is stable")
    return count + 1


def _read_all(fd: int, max_bytes: int, path: WsPath) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise InvalidInput(f"{_quote(path.rel)} is over the {max_bytes}-byte limit of file tools")
        chunks.append(chunk)


def _replace_atomically(
    dir_fd: int, path: WsPath, data: bytes, mode: int | None, before: os.stat_result | None
) -> None:
    """Write ``data`` to a temporary file in ``dir_fd`` and rename it over ``path.name``."""
    tmp = f".life-tmp-{secrets.token_hex(8)}"
    fd = os.open(tmp, _TMP_FLAGS, 0o666, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            now: os.stat_result | None = os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            now = None
        if _identity(now) != _identity(before):
            raise InvalidInput(
                f"{_quote(path.rel)} changed while it was being written; nothing was written",
                hint="read it again and retry",
            )
        os.rename(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    with suppress(OSError):
        os.fsync(dir_fd)


def _identity(st: os.stat_result | None) -> tuple[int, ...] | None:
    if st is None:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode)
