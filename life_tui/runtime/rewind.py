"""Rewind: put the workspace files tools changed back the way they were at an event, as a journaled action.

Every change a file tool makes is recorded with the content before and after it (``file.written`` and
``file.deleted`` carry blob ids; the blobs are stored before the file changes). So the content of a path at
event ``to_seq`` is the *previous* content named by the first change to that path after ``to_seq``
(``previous_blob`` of a write or delete, ``backup`` of an earlier rewind); ``None`` there means the file did
not exist yet. Paths nobody changed after ``to_seq`` are left alone, and so is anything tools never
recorded (files the shell changed, for instance): the rewind only undoes recorded effects.

A rewind is planned first (:func:`plan_rewind`, the dry run: what would change, what is refused and why)
and then applied (:func:`apply_rewind`), which writes the files through the same :class:`FsPolicy` the file
tools use (so a path outside the workspace, or a protected one such as the journal or ``.git``, is never
touched, whatever the journal says) and records ``workspace.rewound`` with a backup blob of every file it
replaced, so the rewind itself can be rewound. It lives in the runtime, not in a front end, so the TUI (a
confirmed action) and the CLI share one implementation.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from life_tui.errors import Conflict, InvalidInput, LifeError, NotFound
from life_tui.journal.blobs import BlobStore
from life_tui.journal.view import JournalView
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Actor, Event, EventDraft
from life_tui.runtime.session import Session, protected_paths
from life_tui.tools.fs_policy import FsPolicy

FILE_KINDS = (k.FileWritten.KIND, k.FileDeleted.KIND, k.WorkspaceRewound.KIND)
MAX_REWIND_BYTES = 32 * 1024 * 1024
"""The largest file a rewind reads to back it up (the file tools' own limit)."""


class Action(StrEnum):
    RESTORE = "restore"
    """The file exists and its content goes back to what it was."""
    CREATE = "create"
    """The file is gone and comes back."""
    REMOVE = "remove"
    """The file did not exist at the event and is removed."""


@dataclass(frozen=True)
class FileChange:
    path: str
    action: Action
    target_blob: str | None
    """The blob the file is restored to (None: the file is removed)."""
    current_blob: str | None
    """SHA-256 of the file's content now (None: it does not exist)."""


@dataclass(frozen=True)
class Refusal:
    path: str
    reason: str


@dataclass(frozen=True)
class RewindPlan:
    """What a rewind to ``to_seq`` would do; applying it is :func:`apply_rewind`."""

    session_id: str
    branch: str
    to_seq: int
    changes: tuple[FileChange, ...]
    refused: tuple[Refusal, ...] = ()
    unchanged: tuple[str, ...] = ()
    """Paths changed after the event whose content is already what it was then."""

    @property
    def empty(self) -> bool:
        return not self.changes

    def describe(self) -> list[str]:
        """One line per path, for a dry run or a confirmation prompt."""
        lines = [f"{c.action.value:8} {c.path}" for c in self.changes]
        lines += [f"unchanged {p}" for p in self.unchanged]
        lines += [f"refused  {r.path}: {r.reason}" for r in self.refused]
        return lines


@dataclass
class _PathHistory:
    """The content a path had at ``to_seq``: known once the first change after it is seen."""

    target: str | None = None
    order: int = 0


@dataclass(frozen=True)
class Workspace:
    """Where a rewind writes: the workspace root, its protected paths and the journal's blob store."""

    root: Path
    blobs: BlobStore
    protected: tuple[Path, ...] = field(default_factory=tuple)

    def policy(self) -> FsPolicy:
        return FsPolicy(self.root, self.protected, secret=tuple(p for p in self.protected if p.name == "keys"))


def targets_at(events: list[Event], to_seq: int) -> dict[str, str | None]:
    """Each path changed after ``to_seq`` mapped to the blob it held at ``to_seq`` (None: absent then)."""
    found: dict[str, _PathHistory] = {}
    for e in events:
        if e.seq <= to_seq or e.kind not in FILE_KINDS:
            continue
        data = e.data()
        before: dict[str, str | None]
        if isinstance(data, k.FileWritten | k.FileDeleted):
            before = {data.path: data.previous_blob}
        elif isinstance(data, k.WorkspaceRewound):
            before = {path: data.backup.get(path) for path in data.restored}
        else:
            continue
        for path, blob in before.items():
            if path not in found:
                found[path] = _PathHistory(target=blob, order=len(found))
    return {path: h.target for path, h in sorted(found.items(), key=lambda item: item[1].order)}


def _current(policy: FsPolicy, path: str) -> bytes | None:
    try:
        data, _ = policy.read_bytes(path, max_bytes=MAX_REWIND_BYTES)
    except NotFound:
        return None
    return data


def plan_rewind(journal: JournalView, session_id: str, branch: str, to_seq: int, workspace: Workspace) -> RewindPlan:
    """The dry run: compare each path's content at ``to_seq`` with the file now; nothing is written."""
    head = journal.head(session_id, branch)
    if not 0 <= to_seq <= head:
        raise InvalidInput(
            f"cannot rewind to event {to_seq}: the branch has events 1..{head}", hint="pick an event of the branch"
        )
    events = journal.read(session_id, branch, after=to_seq, kinds=FILE_KINDS)
    policy = workspace.policy()
    changes: list[FileChange] = []
    refused: list[Refusal] = []
    unchanged: list[str] = []
    for path, target in targets_at(events, to_seq).items():
        try:
            checked = policy.lexical(path)
            policy.check_writable(checked)
            now = _current(policy, path)
        except LifeError as exc:
            refused.append(Refusal(path, exc.message))
            continue
        now_blob = hashlib.sha256(now).hexdigest() if now is not None else None
        if now_blob == target:
            unchanged.append(path)
        elif target is not None and not workspace.blobs.has(target):
            refused.append(Refusal(path, f"its content at event {to_seq} (blob {target[:12]}) is not in the store"))
        elif target is None:
            changes.append(FileChange(path, Action.REMOVE, None, now_blob))
        else:
            action = Action.CREATE if now is None else Action.RESTORE
            changes.append(FileChange(path, action, target, now_blob))
    return RewindPlan(session_id, branch, to_seq, tuple(changes), tuple(refused), tuple(unchanged))


def _apply_files(plan: RewindPlan, workspace: Workspace) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Write the planned contents; returns (restored, backup) for the event. Stops at the first failure,
    recording what was done so far (the caller still journals it)."""
    policy = workspace.policy()
    restored: dict[str, str | None] = {}
    backup: dict[str, str | None] = {}
    for change in plan.changes:
        now = _current(policy, change.path)
        backup_blob = workspace.blobs.put(now) if now is not None else None
        if change.target_blob is None:
            if now is not None:
                policy.unlink(change.path, max_bytes=MAX_REWIND_BYTES)
        else:
            policy.write_bytes(change.path, workspace.blobs.get(change.target_blob))
        restored[change.path] = change.target_blob
        backup[change.path] = backup_blob
    return restored, backup


def rewind_draft(plan: RewindPlan, workspace: Workspace, reason: str = "") -> EventDraft:
    """Apply ``plan`` to the files and return the ``workspace.rewound`` draft that records it."""
    if plan.empty:
        raise Conflict(
            f"nothing to rewind: no file tools changed after event {plan.to_seq} differ from then",
            hint="pick an earlier event",
        )
    restored, backup = _apply_files(plan, workspace)
    payload = k.WorkspaceRewound(to_seq=plan.to_seq, restored=restored, backup=backup, reason=reason)
    return EventDraft(kind=payload.KIND, payload=payload, actor=Actor.USER)


async def apply_rewind(session: Session, plan: RewindPlan, *, reason: str = "") -> Event:
    """Apply a plan through a live session (its ordered writer records the event); refuses during a turn."""
    if session.running:
        raise Conflict("a turn is running", hint="wait for it or cancel it before rewinding files")
    if (plan.session_id, plan.branch) != (session.session_id, session.branch):
        raise InvalidInput("the rewind plan was made for another session or branch")
    workspace = workspace_of(session)
    draft = await asyncio.to_thread(rewind_draft, plan, workspace, reason)
    (event,) = await session.record(draft)
    return event


async def preview_rewind(session: Session, to_seq: int) -> RewindPlan:
    """The dry run for a live session's branch."""
    return await asyncio.to_thread(
        plan_rewind, session.journal, session.session_id, session.branch, to_seq, workspace_of(session)
    )


def workspace_of(session: Session) -> Workspace:
    """The session's workspace as a rewind sees it (its protected paths, the journal's blobs)."""
    journal = session.journal
    return Workspace(
        root=session.workspace,
        blobs=BlobStore(journal.layout.blobs, journal.fs),
        protected=protected_paths(journal, session.workspace),
    )
