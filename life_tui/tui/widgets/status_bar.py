"""The status bar: provider/model, session/branch, operating mode, context %, cost and sandbox state.

A pane like the others: a fold over the shown branch's events (:class:`StatusFacts`), so it is right for
a live session, a reopened one and a replay position alike. It also shows a progress spinner while a
turn runs for more than a moment (the "work over ~0.3 s" indicator). The fold is pure and lives beside
the widget because nothing else reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from life_tui.kernel.event import Event
from life_tui.tui.panes import PaneContext

PROGRESS_AFTER_S = 0.3
"""A running turn shows the spinner once it has run this long (quicker work would only flicker)."""
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@dataclass
class StatusFacts:
    """What the status bar shows, folded from events."""

    provider: str = ""
    model: str = ""
    mode: str = "explore"
    input_tokens: int = 0
    cost_usd: float = 0.0
    sandbox: str = "-"
    running: bool = False
    label: str = ""

    def apply(self, e: Event) -> None:
        kind = e.kind
        if kind not in _INTERESTING:
            return
        p = e.payload_dict()
        if kind == "session.created":
            spec = str(p.get("config", {}).get("provider", ""))
            self.provider, _, self.model = spec.partition(":")
        elif kind in ("run.started", "provider.switched"):
            self.provider = str(p.get("provider") or self.provider)
            self.model = str(p.get("model") or self.model)
            self.running = self.running or kind == "run.started"
        elif kind == "run.finished":
            self.running = False
        elif kind in ("mode.changed", "autonomic.mode_changed") and p.get("mode"):
            self.mode = str(p["mode"])
        elif kind == "assistant.message":
            usage = p.get("usage") or {}
            tokens = int(usage.get("input_tokens", 0)) + int(usage.get("cache_read_input_tokens", 0))
            self.input_tokens = tokens or self.input_tokens
            self.cost_usd += float(p.get("cost_usd") or 0.0)
        elif kind == "tool.call_started" and p.get("sandboxed") and self.sandbox != "UNSANDBOXED":
            self.sandbox = "sandboxed"
        elif kind == "sandbox.unsandboxed_run":
            self.sandbox = "UNSANDBOXED"


_INTERESTING = frozenset(
    {
        "session.created",
        "run.started",
        "run.finished",
        "provider.switched",
        "mode.changed",
        "autonomic.mode_changed",
        "assistant.message",
        "tool.call_started",
        "sandbox.unsandboxed_run",
    }
)


class StatusBar(Widget):
    """One line at the bottom of the main screen; a fold over the shown branch's events."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    frame: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.facts = StatusFacts()
        self.context = PaneContext(session_id="", branch="")
        self._busy_for = 0.0
        self.replay_label = ""
        """Set by replay mode ("replay 12/40") so nobody mistakes the past for the live session."""

    def on_mount(self) -> None:
        self.set_interval(0.1, self._tick)

    def _tick(self) -> None:
        if self.facts.running:
            self._busy_for += 0.1
            if self._busy_for >= PROGRESS_AFTER_S:
                self.frame += 1
        elif self._busy_for:
            self._busy_for = 0.0
            self.refresh()

    @property
    def busy(self) -> bool:
        """True once a running turn has lasted long enough to show the spinner."""
        return self.facts.running and self._busy_for >= PROGRESS_AFTER_S

    # ---------------------------------------------------------------------------------- the fold
    def reset(self, events: Sequence[Event], context: PaneContext) -> None:
        self.context = context
        self.facts = StatusFacts(label=str(context.extras.get("provider_label", "")))
        self.apply(events)

    def apply(self, events: Sequence[Event]) -> None:
        before = replace(self.facts)
        for e in events:
            self.facts.apply(e)
        if self.facts != before:
            self.refresh()

    # --------------------------------------------------------------------------------- rendering
    def context_percent(self) -> float:
        window = self.context.context_window or 1
        return 100.0 * self.facts.input_tokens / window

    def render(self) -> Content:
        f, ctx = self.facts, self.context
        model = f"{f.provider}:{f.model}" if f.model else f.provider or "no provider"
        session = ctx.session_id[-8:] if ctx.session_id else "-"
        parts: list[tuple[str, str]] = []
        if self.busy:
            parts.append((f"{SPINNER[self.frame % len(SPINNER)]} working", "$accent"))
        if self.replay_label:
            parts.append((self.replay_label, "bold $warning"))
        if f.label:
            parts.append((f.label, "$warning"))
        parts += [
            (model, "bold"),
            (f"{session}/{ctx.branch}", ""),
            (f"mode {f.mode}", ""),
            (f"ctx {self.context_percent():.0f}%", ""),
            (f"${f.cost_usd:.4f}", ""),
            (f"sandbox {f.sandbox}", "$error" if f.sandbox == "UNSANDBOXED" else ""),
        ]
        pieces: list[Content | str] = []
        for i, (text, style) in enumerate(parts):
            if i:
                pieces.append(" │ ")
            pieces.append(Content.styled(text, style) if style else text)
        return Content.assemble(*pieces)
