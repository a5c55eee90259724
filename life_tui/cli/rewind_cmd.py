"""``life-tui rewind SESSION SEQ``: put the workspace files tools changed back the way they were at event SEQ.

The same plan and application as the workstation's rewind (``runtime.rewind``): a dry run by default
lists what would be restored, created or removed and what is refused; ``--yes`` applies it and records
``workspace.rewound`` (with backups, so the rewind itself can be rewound). Only the effects the file
tools recorded are undone; what the shell changed is not in the record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from life_tui.cli.common import open_writer
from life_tui.errors import InvalidInput
from life_tui.journal.catalog import MAIN


def rewind(
    session: Annotated[str, typer.Argument(help="Session id, unique id prefix, name, or 'last'.")],
    seq: Annotated[int, typer.Argument(help="Restore the files as they were right after this event.")],
    branch: Annotated[str, typer.Option("--branch", "-b", help="Branch whose file changes to undo.")] = MAIN,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply (default: only show what would change).")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why, kept with the event.")] = "",
) -> None:
    """Restore the workspace files that tools changed after event SEQ (a dry run unless --yes)."""
    from life_tui.journal.blobs import BlobStore  # the runtime is imported only when the command runs
    from life_tui.runtime.rewind import Workspace, plan_rewind, rewind_draft
    from life_tui.runtime.session import protected_paths

    with open_writer() as journal:
        sid = journal.resolve_session(session)
        info = journal.session(sid)
        if not info.workspace:
            raise InvalidInput(f"session {sid} has no recorded workspace", hint="it was not started in a workspace")
        root = Path(info.workspace).resolve()
        workspace = Workspace(
            root=root, blobs=BlobStore(journal.layout.blobs, journal.fs), protected=protected_paths(journal, root)
        )
        plan = plan_rewind(journal, sid, branch, seq, workspace)
        for line in plan.describe() or [f"nothing changed by tools after event {seq}"]:
            typer.echo(line)
        if not yes:
            if not plan.empty:
                typer.echo(f"(dry run: `life-tui rewind {session} {seq} --yes` restores {len(plan.changes)} file(s))")
            return
        draft = rewind_draft(plan, workspace, reason or "life-tui rewind")
        event = journal.append(sid, branch, draft)
        typer.echo(f"rewound {len(plan.changes)} file(s) in {root} to event {seq} (recorded as event {event.seq})")
