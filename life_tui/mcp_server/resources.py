"""Resources of ``life-tui mcp``: sessions, a session, its event ranges, and the soul/config summary.

URIs: ``life://sessions`` (the list), ``life://sessions/{session_id}`` (one session and its branches),
``life://sessions/{session_id}/events{?branch,after,through,kinds,limit}`` (a range of events; ``kinds``
comma-separated) and ``life://config`` (who the agent is, how it is configured and how this server runs).
Every body is JSON. Reading goes through the same functions as the session tools, so a resource and a
tool never disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec

from life_tui.errors import NotFound
from life_tui.kernel.state import SoulProfile
from life_tui.mcp_server import session_ops
from life_tui.mcp_server.workstation import Workstation

SESSIONS_URI = "life://sessions"
CONFIG_URI = "life://config"
SESSION_TEMPLATE = "life://sessions/{session_id}"
EVENTS_TEMPLATE = "life://sessions/{session_id}/events{?branch,after,through,kinds,limit}"
LISTED_SESSIONS = 50


@dataclass(frozen=True)
class ResourceEntry:
    uri: str
    name: str
    description: str


@dataclass(frozen=True)
class TemplateEntry:
    uri_template: str
    name: str
    description: str


TEMPLATES = (
    TemplateEntry(SESSION_TEMPLATE, "session", "One session: name, workspace, counts and branches."),
    TemplateEntry(
        EVENTS_TEMPLATE,
        "session events",
        "Events of a session branch with after < seq <= through; kinds is a comma-separated filter.",
    ),
)


def listed(work: Workstation) -> list[ResourceEntry]:
    entries = [
        ResourceEntry(SESSIONS_URI, "sessions", "The journal's sessions, most recent first."),
        ResourceEntry(CONFIG_URI, "config", "The agent's soul, the configured defaults, and this server's options."),
    ]
    for info in work.journal.sessions()[:LISTED_SESSIONS]:
        entries.append(ResourceEntry(f"{SESSIONS_URI}/{info.session_id}", info.name, f"session {info.name}"))
    return entries


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


async def read(work: Workstation, uri: str) -> str:
    """The JSON body of ``uri``; an unknown URI or session raises NotFound."""
    parts = urlsplit(uri)
    if parts.scheme != "life":
        raise NotFound(f"no resource {uri!r}", hint="life:// URIs only; see resources/list")
    path = [p for p in f"{parts.netloc}{parts.path}".split("/") if p]
    body: Any
    if path == ["sessions"]:
        body = await session_ops.sessions(work, {"limit": 500}, _no_progress)
    elif path == ["config"]:
        body = config_summary(work)
    elif len(path) == 2 and path[0] == "sessions":
        body = session_ops._session_info(work, work.resolve(path[1]))
    elif len(path) == 3 and path[0] == "sessions" and path[2] == "events":
        query = parse_qs(parts.query)
        args: dict[str, Any] = {"session": path[1], "branch": _first(query, "branch")}
        for key in ("after", "through", "limit"):
            value = _first(query, key)
            if value is not None:
                args[key] = int(value)
        kinds = _first(query, "kinds")
        if kinds:
            args["kinds"] = [k for k in kinds.split(",") if k]
        body = await session_ops.session_events(work, args, _no_progress)
    else:
        raise NotFound(f"no resource {uri!r}", hint="see resources/list and resources/templates/list")
    return json.dumps(body, ensure_ascii=False)


async def _no_progress(_progress: float, _message: str) -> None:
    return None


def config_summary(work: Workstation) -> dict[str, Any]:
    settings = work.settings
    return {
        "soul": msgspec.to_builtins(SoulProfile()),
        "defaults": msgspec.to_builtins(settings.defaults),
        "budget": msgspec.to_builtins(settings.budget),
        "approvals": {"mode": work.approval_mode.value, "rules": msgspec.to_builtins(settings.approvals.rules)},
        "shell": msgspec.to_builtins(settings.shell),
        "server": {
            "workspace": str(work.options.workspace),
            "journal": str(work.options.journal),
            "session": work.options.session,
            "chat_provider": work.options.provider or settings.defaults.provider,
        },
    }
