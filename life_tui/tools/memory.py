"""Memory (Life's five memory events) and the agent's memory tools.

**The projection.** :func:`fold_memory` folds ``memory.*`` events into a :class:`MemoryState`: per scope
(session < user < agent < org) the committed entries that are still current (a ``supersedes`` id and a
tombstoned id leave them), the observations not yet covered by a reflection, the latest reflection and
the open proposals. Entries are real: the text is in the event (``memory.committed.content``), not a
placeholder reference.

**Where the events live.** Session-scope events are recorded in their own session (after the tool call
that made them) and folded with the rest of the session's state, so they fork, replay and compact with
it. User, agent and org scope events are shared by every session, so they live in one place: the
``memory`` branch of the journal's system session (:data:`MEMORY_BRANCH`; hidden from session listings),
created on first use. Tools never write the journal: they return the events as effects, the runtime
records session-scope ones in the session and :func:`record_shared` appends the others to the shared
branch (carrying the originating run's id). :class:`SharedMemory` keeps the fold of that branch per
journal, resuming from a snapshot and then reading only what was appended since its last look, so a read
costs one head lookup when nothing changed.

**The tools.** ``memory_write`` (commit an entry, optionally superseding one), ``memory_read`` (current
entries), ``memory_search`` (BM25 over entry text and tags) and ``memory_forget`` (tombstone).
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import weakref
from collections import Counter
from collections.abc import Iterable
from typing import Any

import msgspec

from life_tui.errors import Conflict, InvalidInput, NotFound
from life_tui.journal.catalog import MAIN
from life_tui.journal.snapshots import fold
from life_tui.journal.view import SYSTEM_SESSION, JournalView
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Actor, Event, EventDraft
from life_tui.kernel.ids import new_ulid
from life_tui.tools.registry import ToolAnnotations, ToolContext, ToolOutput, ToolSpec

SCOPES = ("session", "user", "agent", "org")
SHARED_SCOPES = frozenset({"user", "agent", "org"})
MEMORY_BRANCH = "memory"
MEMORY_KINDS = frozenset(
    {
        k.ObservationAppended.KIND,
        k.ReflectionCompacted.KIND,
        k.MemoryProposed.KIND,
        k.MemoryCommitted.KIND,
        k.MemoryTombstoned.KIND,
    }
)
MAX_CONTENT_CHARS = 8_000
MAX_TAGS = 16


# ----------------------------------------------------------------------------------------- the state
class MemoryEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    memory_id: str
    scope: str
    content: str
    seq: int = 0
    at: int = 0
    tags: list[str] = []
    supersedes: str | None = None
    proposal_id: str | None = None


class Observation(msgspec.Struct, kw_only=True, omit_defaults=True):
    observation_id: str
    text: str
    seq: int = 0
    tags: list[str] = []


class Reflection(msgspec.Struct, kw_only=True):
    summary: str
    covers_through_seq: int
    seq: int = 0


class ScopeMemory(msgspec.Struct, kw_only=True):
    committed: dict[str, MemoryEntry] = {}
    """Current entries by id, in commit order."""
    superseded: dict[str, str] = {}
    """Old id -> the id that superseded it."""
    tombstoned: dict[str, str] = {}
    """Id -> the reason it was forgotten."""
    observations: list[Observation] = []
    reflection: Reflection | None = None
    proposals: dict[str, list[str]] = {}


class MemoryState(msgspec.Struct, kw_only=True):
    scopes: dict[str, ScopeMemory] = {}
    seq: int = 0

    def scope(self, name: str) -> ScopeMemory:
        found = self.scopes.get(name)
        return found if found is not None else ScopeMemory()

    def entries(self, scope: str | None = None) -> list[MemoryEntry]:
        """Current entries (of one scope, or all in scope order), oldest first within a scope."""
        names = [scope] if scope is not None else list(SCOPES)
        return [e for name in names for e in self.scope(name).committed.values()]

    def find(self, memory_id: str) -> MemoryEntry | None:
        for memory in self.scopes.values():
            entry = memory.committed.get(memory_id)
            if entry is not None:
                return entry
        return None

    def status(self, memory_id: str) -> str | None:
        """Why an id is not current: ``superseded by X`` or ``forgotten: reason``; None when unknown."""
        for memory in self.scopes.values():
            if memory_id in memory.tombstoned:
                reason = memory.tombstoned[memory_id]
                return f"forgotten{': ' + reason if reason else ''}"
            if memory_id in memory.superseded:
                return f"superseded by {memory.superseded[memory_id]}"
        return None


def fold_memory(state: MemoryState, kind: str, data: dict[str, Any], seq: int, at: int = 0) -> MemoryState:
    """Apply one ``memory.*`` event (any other kind is ignored). Pure apart from updating ``state``."""
    if kind not in MEMORY_KINDS:
        return state
    scope = str(data.get("scope", "session"))
    memory = state.scopes.get(scope)
    if memory is None:
        memory = state.scopes[scope] = ScopeMemory()
    state.seq = seq
    if kind == k.MemoryCommitted.KIND:
        memory_id = str(data["memory_id"])
        supersedes = data.get("supersedes")
        entry = MemoryEntry(
            memory_id=memory_id,
            scope=scope,
            content=str(data.get("content", "")),
            seq=seq,
            at=at,
            tags=[str(t) for t in data.get("tags") or []],
            supersedes=str(supersedes) if supersedes else None,
            proposal_id=data.get("proposal_id"),
        )
        if supersedes:
            memory.committed.pop(str(supersedes), None)
            memory.superseded[str(supersedes)] = memory_id
        if memory_id not in memory.tombstoned and memory_id not in memory.superseded:
            memory.committed[memory_id] = entry
        if entry.proposal_id:
            memory.proposals.pop(entry.proposal_id, None)
    elif kind == k.MemoryTombstoned.KIND:
        memory_id = str(data["memory_id"])
        memory.committed.pop(memory_id, None)
        memory.tombstoned[memory_id] = str(data.get("reason", ""))
    elif kind == k.ObservationAppended.KIND:
        memory.observations.append(
            Observation(
                observation_id=str(data.get("observation_id", "")),
                text=str(data.get("text", "")),
                seq=seq,
                tags=[str(t) for t in data.get("tags") or []],
            )
        )
    elif kind == k.ReflectionCompacted.KIND:
        covers = int(data.get("covers_through_seq", 0))
        memory.reflection = Reflection(summary=str(data.get("summary", "")), covers_through_seq=covers, seq=seq)
        memory.observations = [o for o in memory.observations if o.seq > covers]
    elif kind == k.MemoryProposed.KIND:
        memory.proposals[str(data["proposal_id"])] = [str(e) for e in data.get("entries") or []]
    return state


def fold_event(state: MemoryState, event: Event) -> MemoryState:
    if event.kind not in MEMORY_KINDS:
        return state
    return fold_memory(state, event.kind, event.payload_dict(), event.seq, event.occurred_at)


class MemoryProjection:
    """The fold of the shared memory branch, for :func:`life_tui.journal.snapshots.fold`."""

    name = "memory"
    version = 1

    def initial(self) -> MemoryState:
        return MemoryState()

    def apply(self, state: MemoryState, event: Event) -> MemoryState:
        return fold_event(state, event)

    def encode(self, state: MemoryState) -> bytes:
        return msgspec.msgpack.encode(state)

    def decode(self, data: bytes) -> MemoryState:
        return msgspec.msgpack.decode(data, type=MemoryState)


# ------------------------------------------------------------------------------------ shared scopes
class SharedMemory:
    """The user/agent/org memory of one journal, folded once and kept current incrementally."""

    def __init__(self, view: JournalView) -> None:
        self._view = view
        self._lock = threading.Lock()
        self._state: MemoryState | None = None
        self._seq = 0

    def _exists(self) -> bool:
        try:
            self._view.branch(SYSTEM_SESSION, MEMORY_BRANCH)
        except NotFound:
            return False
        return True

    def state(self) -> MemoryState:
        """The current shared memory (reads only what was appended since the last call)."""
        with self._lock:
            if not self._exists():
                return self._state or MemoryState()
            if self._state is None:
                result = fold(self._view, MemoryProjection(), SYSTEM_SESSION, MEMORY_BRANCH)
                self._state, self._seq = result.state, result.seq
                return self._state
            head = self._view.head(SYSTEM_SESSION, MEMORY_BRANCH)
            if head > self._seq:
                for event in self._view.read(SYSTEM_SESSION, MEMORY_BRANCH, after=self._seq, through=head):
                    self._state = fold_event(self._state, event)
                self._seq = head
            return self._state


_shared: weakref.WeakKeyDictionary[JournalView, SharedMemory] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def shared_memory(view: JournalView) -> SharedMemory:
    with _shared_lock:
        found = _shared.get(view)
        if found is None:
            found = _shared[view] = SharedMemory(view)
        return found


def is_shared(payload: Any) -> bool:
    """A memory event of a scope wider than the session (recorded in the shared branch)."""
    return getattr(payload, "KIND", "") in MEMORY_KINDS and getattr(payload, "scope", "session") in SHARED_SCOPES


def record_shared(journal: Any, payloads: Iterable[k.Payload], *, run_id: str | None = None) -> list[Event]:
    """Append shared-scope memory events to the memory branch (created on first use); blocking, durable."""
    drafts = [EventDraft(kind=p.KIND, payload=p, actor=Actor.TOOL, run_id=run_id) for p in payloads]
    if not drafts:
        return []
    try:
        journal.branch(SYSTEM_SESSION, MEMORY_BRANCH)
    except NotFound:
        with contextlib.suppress(Conflict):  # someone else created them in between: fine
            try:
                journal.branch(SYSTEM_SESSION, MAIN)
            except NotFound:
                journal.create_session("journal", session_id=SYSTEM_SESSION, actor=Actor.SYSTEM)
            journal.fork(SYSTEM_SESSION, MAIN, 0, MEMORY_BRANCH, actor=Actor.SYSTEM)
    events: list[Event] = journal.append_batch(SYSTEM_SESSION, MEMORY_BRANCH, drafts)
    return events


# ------------------------------------------------------------------------------------------- search
_WORD = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def search(entries: list[MemoryEntry], query: str, limit: int = 10) -> list[tuple[float, MemoryEntry]]:
    """BM25 (k1 1.2, b 0.75) over each entry's text and tags; ties go to the newer entry."""
    terms = list(dict.fromkeys(tokens(query)))
    if not terms or not entries:
        return []
    docs = [Counter(tokens(e.content + " " + " ".join(e.tags))) for e in entries]
    lengths = [sum(d.values()) for d in docs]
    avg = (sum(lengths) / len(lengths)) or 1.0
    n = len(docs)
    df = {t: sum(1 for d in docs if t in d) for t in terms}
    k1, b = 1.2, 0.75
    scored: list[tuple[float, int, MemoryEntry]] = []
    for i, (entry, doc, length) in enumerate(zip(entries, docs, lengths, strict=True)):
        score = 0.0
        for t in terms:
            tf = doc.get(t, 0)
            if not tf:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg))
        if score > 0:
            scored.append((score, i, entry))
    scored.sort(key=lambda s: (-s[0], -s[2].seq, -s[1]))
    return [(round(score, 4), entry) for score, _, entry in scored[:limit]]


# ----------------------------------------------------------------------------------- views of memory
def _session_memory(ctx: ToolContext) -> MemoryState:
    state = ctx.state() if ctx.state is not None else None
    found = getattr(state, "memory", None)
    return found if isinstance(found, MemoryState) else MemoryState()


def _shared_memory(ctx: ToolContext) -> MemoryState:
    if ctx.journal is None:
        return MemoryState()
    return shared_memory(ctx.journal).state()


def combined(session: MemoryState, shared: MemoryState) -> MemoryState:
    """One state: the session scope from the session, the wider scopes from the shared branch."""
    scopes = {"session": session.scope("session")}
    scopes.update({name: shared.scope(name) for name in SCOPES[1:]})
    return MemoryState(scopes=scopes)


def _view(ctx: ToolContext) -> MemoryState:
    return combined(_session_memory(ctx), _shared_memory(ctx))


def _line(entry: MemoryEntry) -> str:
    tags = f" (tags: {', '.join(entry.tags)})" if entry.tags else ""
    return f"[{entry.scope}] {entry.memory_id}{tags}: {entry.content}"


def memory_block(memory: MemoryState, limit_chars: int) -> str | None:
    """The context's memory block: reflections, then current entries newest first, cut between entries."""
    header = (
        "Memory: entries committed earlier (newest first). Use memory_search or memory_read for more, "
        "memory_write to add or supersede, memory_forget to withdraw."
    )
    lines: list[str] = []
    for name in SCOPES:
        reflection = memory.scope(name).reflection
        if reflection is not None and reflection.summary:
            lines.append(f"[{name} reflection] {reflection.summary}")
    entries = sorted(memory.entries(), key=lambda e: (-e.at, -e.seq, e.memory_id))
    if not lines and not entries:
        return None
    out, used, shown = [header], len(header), 0
    for line in lines + [_line(e) for e in entries]:
        if used + len(line) + 1 > limit_chars:
            break
        out.append(line)
        used += len(line) + 1
        shown += 1
    hidden = len(lines) + len(entries) - shown
    if hidden:
        out.append(f"… {hidden} more (memory_read)")
    return "\n".join(out)


# -------------------------------------------------------------------------------------------- tools
def _scope_arg(args: dict[str, Any], *, required: bool) -> str | None:
    scope = args.get("scope")
    if scope is None:
        if required:
            raise InvalidInput("a scope is required", hint=f"one of {', '.join(SCOPES)}")
        return None
    return str(scope)


def _limit(args: dict[str, Any], default: int, most: int) -> int:
    limit = int(args.get("limit", default))
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    return min(limit, most)


async def _memory_write(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    scope = _scope_arg(args, required=True)
    assert scope is not None
    content = str(args["content"]).strip()
    if not content:
        raise InvalidInput("the content is empty")
    if len(content) > MAX_CONTENT_CHARS:
        raise InvalidInput(
            f"the content has {len(content)} characters (at most {MAX_CONTENT_CHARS})",
            hint="keep one fact per entry",
        )
    tags = [str(t).strip() for t in args.get("tags") or [] if str(t).strip()]
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags")
    supersedes = args.get("supersedes")
    view = _view(ctx)
    if supersedes:
        old = view.find(str(supersedes))
        if old is None:
            why = view.status(str(supersedes))
            raise NotFound(
                f"no current memory {supersedes!r} to supersede" + (f" (it was {why})" if why else ""),
                hint="memory_read lists the current entries",
            )
        if old.scope != scope:
            raise InvalidInput(
                f"{supersedes} is a {old.scope}-scope memory; an entry supersedes one of its own scope",
                hint=f"write with scope {old.scope!r}",
            )
    memory_id = f"mem_{new_ulid()}"
    effect = k.MemoryCommitted(
        scope=scope, memory_id=memory_id, content=content, supersedes=str(supersedes) if supersedes else None, tags=tags
    )
    where = "this session" if scope == "session" else f"{scope} scope (shared by every session)"
    note = f", superseding {supersedes}" if supersedes else ""
    return ToolOutput(
        f"committed {memory_id} to {where}{note}",
        data={"memory_id": memory_id, "scope": scope, "committed": True},
        effects=(effect,),
    )


async def _memory_read(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    scope = _scope_arg(args, required=False)
    limit = _limit(args, 20, 200)
    view = _view(ctx)
    entries = sorted(view.entries(scope), key=lambda e: (-e.at, -e.seq, e.memory_id))
    where = f"{scope} scope" if scope else "any scope"
    if not entries:
        return ToolOutput(f"no memory in {where}", data={"count": 0})
    shown = entries[:limit]
    lines = [_line(e) for e in shown]
    if len(entries) > limit:
        lines.append(f"… {len(entries) - limit} more (raise limit)")
    return ToolOutput("\n".join(lines), data={"count": len(entries), "ids": [e.memory_id for e in shown]})


async def _memory_search(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    query = str(args["query"]).strip()
    if not tokens(query):
        raise InvalidInput("the query has no words to search for")
    scope = _scope_arg(args, required=False)
    limit = _limit(args, 10, 100)
    hits = search(_view(ctx).entries(scope), query, limit)
    if not hits:
        return ToolOutput(f"no memory matches {query!r}", data={"count": 0})
    lines = [f"{score:.2f} {_line(e)}" for score, e in hits]
    return ToolOutput("\n".join(lines), data={"count": len(hits), "ids": [e.memory_id for _, e in hits]})


async def _memory_forget(args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    memory_id = str(args["memory_id"]).strip()
    reason = str(args["reason"]).strip()
    if not reason:
        raise InvalidInput("say why the memory is forgotten (reason)")
    view = _view(ctx)
    entry = view.find(memory_id)
    if entry is None:
        why = view.status(memory_id)
        raise NotFound(
            f"no current memory {memory_id!r}" + (f" (it was {why})" if why else ""),
            hint="memory_read lists the current entries",
        )
    effect = k.MemoryTombstoned(scope=entry.scope, memory_id=memory_id, reason=reason)
    return ToolOutput(
        f"forgot {memory_id} ({entry.scope} scope)",
        data={"memory_id": memory_id, "scope": entry.scope},
        effects=(effect,),
    )


_SCOPE_SCHEMA = {
    "type": "string",
    "enum": list(SCOPES),
    "description": "session (this session only), user, agent or org (shared by every session).",
}

MEMORY_WRITE = ToolSpec(
    name="memory_write",
    description=(
        "Commit a memory entry: one durable fact, preference or decision worth keeping. scope session keeps it "
        "for this session; user, agent and org share it with every later session. supersedes replaces an "
        "entry of the same scope."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "scope": _SCOPE_SCHEMA,
            "content": {"type": "string", "description": "The entry's text."},
            "tags": {"type": "array", "items": {"type": "string"}, "description": "Optional tags."},
            "supersedes": {"type": "string", "description": "The memory id this entry replaces."},
        },
        "required": ["scope", "content"],
        "additionalProperties": False,
    },
    run=_memory_write,
    annotations=ToolAnnotations(),
    timeout_s=10.0,
    capabilities=lambda a: [f"memory:write:{a.get('scope', '')}"],
)
MEMORY_READ = ToolSpec(
    name="memory_read",
    description="List the current memory entries (newest first), of one scope or all.",
    input_schema={
        "type": "object",
        "properties": {
            "scope": _SCOPE_SCHEMA,
            "limit": {"type": "integer", "description": "Most entries to list (default 20)."},
        },
        "additionalProperties": False,
    },
    run=_memory_read,
    annotations=ToolAnnotations(read_only=True, idempotent=True),
    timeout_s=10.0,
    capabilities=lambda a: [f"memory:read:{a.get('scope', '*')}"],
)
MEMORY_SEARCH = ToolSpec(
    name="memory_search",
    description="Search the current memory entries by words (BM25 ranking over text and tags).",
    input_schema={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "Words to look for."},
            "scope": _SCOPE_SCHEMA,
            "limit": {"type": "integer", "description": "Most results (default 10)."},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    run=_memory_search,
    annotations=ToolAnnotations(read_only=True, idempotent=True),
    timeout_s=10.0,
    capabilities=lambda a: [f"memory:read:{a.get('scope', '*')}"],
)
MEMORY_FORGET = ToolSpec(
    name="memory_forget",
    description="Withdraw a memory entry (a tombstone: it leaves every later read; the record stays).",
    input_schema={
        "type": "object",
        "properties": {
            "memory_id": {"type": "string", "description": "The id shown by memory_read or memory_search."},
            "reason": {"type": "string", "description": "Why it no longer holds."},
        },
        "required": ["memory_id", "reason"],
        "additionalProperties": False,
    },
    run=_memory_forget,
    annotations=ToolAnnotations(destructive=True),
    timeout_s=10.0,
    capabilities=lambda a: [f"memory:forget:{a.get('memory_id', '')}"],
)
MEMORY_TOOLS = (MEMORY_WRITE, MEMORY_READ, MEMORY_SEARCH, MEMORY_FORGET)
