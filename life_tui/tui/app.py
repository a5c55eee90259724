"""``LifeApp``: the workstation's shell. It composes the panes, owns the session, and routes messages.

The app is thin on purpose. Data comes from ``runtime.Session`` through the bridge (``bridge.py``), which
posts the shown branch's durable events; the app hands them to every pane (``reset`` on open, switch or
replay jump; ``apply`` for live batches). Panes talk upward with messages (a prompt was submitted, an
approval answered, a branch requested) and the app turns those into Session calls. Keys come from one
table (``keys.py``), themes from TOML files (``theme.py``), slash commands and the palette from
``commands.py``.

Layout: the chat column (conversation + input) on the left; on the right the event log above the vitals
(gauges, wallet, traces in tabs); the status bar and key footer at the bottom. Below 100 columns only the
chat shows until a pane is toggled (F2, F3); F11 makes the focused pane full-screen.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import get_current_worker

from life_tui.errors import LifeError, NotFound
from life_tui.journal.blobs import BlobStore
from life_tui.kernel.event import Event
from life_tui.runtime.config import Settings
from life_tui.tui import strip_cycles
from life_tui.tui.bridge import RuntimeBridge
from life_tui.tui.collector import Collector
from life_tui.tui.keys import app_bindings, keymap_from
from life_tui.tui.messages import (
    BranchAtRequested,
    BranchSwitchRequested,
    EventSelected,
    EventsReset,
    EventsStored,
    SessionOpenRequested,
)
from life_tui.tui.panes import Pane, PaneContext
from life_tui.tui.theme import DEFAULT_THEME, load_themes
from life_tui.tui.widgets.chat import ChatPane
from life_tui.tui.widgets.chat_blocks import ApprovalAnswered
from life_tui.tui.widgets.event_log import EventLogPane
from life_tui.tui.widgets.gauges import GaugesPane
from life_tui.tui.widgets.prompt_input import PromptInput
from life_tui.tui.widgets.replay_bar import ReplayBar
from life_tui.tui.widgets.status_bar import StatusBar
from life_tui.tui.widgets.traces import TracesPane
from life_tui.tui.widgets.wallet import WalletPane

if TYPE_CHECKING:
    from life_tui.finance.view import WalletView
    from life_tui.runtime.session import Session

# Start-up budget (issue 6: first frame <= 0.7 s): the runtime's Session, the slash-command table and the
# history screens are imported where they are first used, after the first frame, never at module load.
SessionOpener = Callable[[], Awaitable["Session"]]
AFTER_FIRST_FRAME = (
    "life_tui.runtime.session",
    "life_tui.tui.widgets.chat_text",
    "life_tui.tui.commands",
    "life_tui.tui.history",
)
"""Modules loaded on a thread once the first frame is drawn, so neither the frame nor the UI waits for them."""
NARROW_WIDTH = 100
"""Below this many columns the side panes start hidden (the chat alone is usable at 80×24)."""
APPROVAL_WAIT_S = 5.0
"""An answer may come a moment before the loop starts waiting for it; wait this long for it to."""
PANE_IDS = ("chat", "events", "gauges", "wallet", "traces", "status")


@dataclass
class Launch:
    """What the app opens: a session (``opener``), or the first-run screen when no provider is configured."""

    opener: SessionOpener | None
    settings: Settings = field(default_factory=Settings)
    not_configured_hint: str = ""
    """Non-empty: no provider is configured; the first-run screen shows this and offers the demo."""
    demo_opener: SessionOpener | None = None


class LifeApp(App[None]):
    """The workstation. Construct with a :class:`Launch`; ``life-tui`` with no arguments runs it."""

    TITLE = "life-tui"
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = list(app_bindings())
    CSS = """
    #main { height: 1fr; }
    #chat-column { width: 1fr; min-width: 40; }
    #side { width: 45%; min-width: 36; border-left: vkey $panel-lighten-1; }
    #events { height: 1fr; }
    #vitals { height: 1fr; }
    .-hidden { display: none; }
    #side.-alone { width: 1fr; }
    """

    def __init__(self, launch: Launch) -> None:
        strip_cycles.install()  # drawn lines are freed when dropped, not by full garbage collections
        super().__init__()
        self.launch = launch
        self.settings = launch.settings
        self.session: Session | None = None
        self.queued_prompt: str | None = None
        """A message typed before the first session finished opening."""
        self.bridge = RuntimeBridge(self)
        self.turn: asyncio.Task[Any] | None = None
        self.live_paused = False
        """Replay mode sets this: live batches wait in ``held_events`` so panes keep showing the past."""
        self.held_events: list[Event] = []
        self.hidden_panes: set[str] = set()
        self._narrow_applied = False
        self.collector = Collector()
        """Full garbage collections wait for the end of a turn (see ``collector.py``)."""
        themes = load_themes()
        self.theme_problems = themes.problems
        for theme in themes.themes.values():
            self.register_theme(theme)
        wanted = str(self.settings.tui.get("theme", DEFAULT_THEME))
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME

    # -------------------------------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="chat-column"):
                yield ChatPane(id="chat")
                yield PromptInput(id="prompt", commands=_slash_names)
            with Vertical(id="side"):
                yield EventLogPane(id="events")
                with TabbedContent(id="vitals"):
                    with TabPane("Gauges", id="tab-gauges"):
                        yield GaugesPane(id="gauges")
                    with TabPane("Wallet", id="tab-wallet"):
                        yield WalletPane(id="wallet")
                    with TabPane("Traces", id="tab-traces"):
                        yield TracesPane(id="traces")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        for problem in self.theme_problems:
            self.notify(problem, title="theme skipped", severity="warning")
        try:
            self.set_keymap(keymap_from(self.settings.tui))
        except LifeError as exc:
            self.notify(f"{exc}", title="[tui.keys] ignored", severity="error")
        self.query_one(PromptInput).focus_input()
        self.call_after_refresh(self._open_first)

    def on_resize(self) -> None:
        if not self._narrow_applied:
            self._narrow_applied = True
            if self.size.width < NARROW_WIDTH:
                self.hidden_panes |= {"events", "vitals"}
            self._apply_visibility()

    def panes(self) -> list[Pane]:
        """Every pane of the main screen (the folds the bridge feeds), in a fixed order."""
        found: list[Pane] = []
        for pane_id in PANE_IDS:
            widget = self.screen_stack[0].query_one(f"#{pane_id}")
            found.append(widget)  # type: ignore[arg-type]
        return found

    # ------------------------------------------------------------------------------------- session
    @work(group="open", exclusive=True)
    async def _open_first(self) -> None:
        await asyncio.to_thread(_load_modules, AFTER_FIRST_FRAME)
        launch = self.launch
        opener = launch.opener
        if opener is None or launch.not_configured_hint:
            from life_tui.tui.screens.first_run import FirstRunScreen

            wants_demo = await self.push_screen_wait(FirstRunScreen(launch.not_configured_hint))
            if not wants_demo or launch.demo_opener is None:
                self.exit()
                return
            opener = launch.demo_opener
        try:
            session = await opener()
        except LifeError as exc:
            self.notify(f"{exc}", title="could not open the session", severity="error", timeout=30)
            return
        self.show_session(session)

    def show_session(self, session: Session) -> None:
        """Show ``session`` in every pane (a reset), then follow its live events.

        Callers reach here after awaiting an open or a fork; if the app began to shut down meanwhile, the
        session is only recorded (whoever shuts down closes it) and no pane, bridge or turn is started."""
        self.session = session
        if not self.is_running:
            return
        self.live_paused = False
        self.held_events = []
        self.query_one(PromptInput).workspace = session.workspace
        self.run_worker(self.bridge.follow(session), group="bridge", exclusive=True, name="bridge")
        self.refresh_wallet()
        self.collector.start()  # once the workstation is up: start-up is frozen, full collections wait
        if self.queued_prompt is not None:
            prompt, self.queued_prompt = self.queued_prompt, None
            self.start_turn(prompt)

    def on_unmount(self) -> None:
        self.collector.stop()

    async def leave(self, previous: Session | None) -> None:
        """Close the session the app just switched away from (its provider and MCP servers stay open while
        the shown session shares them)."""
        if previous is None or previous is self.session:
            return
        try:
            await previous.close()
        except LifeError as exc:
            self.log.error(f"closing the previous session failed: {exc}")

    def pane_context(self) -> PaneContext:
        session = self.session
        if session is None:
            return PaneContext(session_id="", branch="")
        journal, sid, branch = session.journal, session.session_id, session.branch
        blobs = BlobStore(journal.layout.blobs, journal.fs)
        info = journal.branch(sid, branch)
        return PaneContext(
            session_id=sid,
            branch=branch,
            context_window=self.settings.context.window,
            read_range=lambda after, through: journal.read(sid, branch, after=after, through=through),
            head=lambda: journal.head(sid, branch),
            inherited_through=info.fork_seq if info.parent else 0,
            extras={
                "read_blob": blobs.get,
                "provider_label": getattr(session.provider, "label", ""),
                "settings": self.settings,
                "journal": journal,
                "workspace": session.workspace,
            },
        )

    def reset_panes(self, events: Sequence[Event], context: PaneContext | None = None) -> None:
        """Start every pane over from ``events`` (a branch switch, a replay jump)."""
        ctx = context or self.pane_context()
        for pane in self.panes():
            pane.reset(events, ctx)

    def on_events_reset(self, message: EventsReset) -> None:
        if not self.is_running:  # shutting down: the panes are being removed
            return
        self.reset_panes(message.events)

    def on_events_stored(self, message: EventsStored) -> None:
        if not self.is_running:  # a batch the bridge posted as the app began to shut down: panes are going
            return
        if self.live_paused:
            self.held_events.extend(message.events)
            return
        for pane in self.panes():
            pane.apply(message.events)
        if any(e.kind.startswith("finance.") for e in message.events):
            self.refresh_wallet()

    @work(group="wallet", exclusive=True, thread=True)
    def refresh_wallet(self) -> None:
        """The global wallet (every session's spend, deposits, caps) for the wallet pane, read off the UI
        thread: the first read folds the journal's ledger."""
        session = self.session
        if session is None:
            return
        try:
            view = session.wallet_view()
        except LifeError as exc:
            self._from_worker_thread(self.notify, f"the wallet could not be read: {exc}", severity="warning")
            return
        self._from_worker_thread(self._show_wallet, view)

    def _show_wallet(self, view: WalletView) -> None:
        if self.is_running:  # checked again on the UI thread: the app may have begun to shut down since
            self.query_one(WalletPane).show_wallet(view)

    def _from_worker_thread(self, callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """``call_from_thread`` for a thread worker's result, dropped once the app is shutting down (its
        panes are being removed) or the worker was cancelled (a newer read superseded it)."""
        if get_current_worker().is_cancelled or not self.is_running:
            return
        try:
            self.call_from_thread(callback, *args, **kwargs)
        except RuntimeError:  # the app's loop stopped between the check and the call
            if self.is_running:
                raise

    @on(EventSelected)
    def _event_selected(self, message: EventSelected) -> None:
        if not self.is_running:  # the event log follows a late batch while the app shuts down
            return
        self.query_one(TracesPane).select_seq(message.seq)  # the traces pane shows the selected event's turn

    # --------------------------------------------------------------------------------------- turns
    @on(PromptInput.Submitted)
    async def _submitted(self, message: PromptInput.Submitted) -> None:
        from life_tui.tui import commands

        if message.text.startswith("/"):
            await commands.run_slash(self, message.text)
        else:
            self.start_turn(message.text)

    def start_turn(self, prompt: str) -> None:
        session = self.session
        if session is None:  # typed while the session is still opening: sent as soon as it is open
            self.queued_prompt = prompt
            self.notify("the session is opening: your message is sent as soon as it is open")
            return
        if session.running:
            self.notify("a turn is running: wait for it, or press Esc to cancel it", severity="warning")
            return
        try:
            self.turn = session.start(prompt)
        except LifeError as exc:
            self.notify(f"{exc}", severity="error")
            return
        self.turn.add_done_callback(self._turn_done)

    def _turn_done(self, task: asyncio.Task[Any]) -> None:
        self.collector.turn_ended()
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.notify(f"the turn failed: {exc}", severity="error", timeout=15)
            return
        outcome = task.result()
        if outcome.reason not in ("final_answer", "cancelled"):
            detail = f": {outcome.error}" if outcome.error else ""
            self.notify(f"turn ended: {outcome.reason}{detail}", severity="warning", timeout=10)

    def action_cancel_turn(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        if self.session is not None and self.session.running:
            self.run_worker(self.session.cancel(), group="cancel")
            self.notify("cancelling the turn…")

    @on(ApprovalAnswered)
    async def _approval_answered(self, message: ApprovalAnswered) -> None:
        session = self.session
        if session is None:
            return
        waited = 0.0
        while message.approval_id not in session.pending_approvals() and waited < APPROVAL_WAIT_S:
            await asyncio.sleep(0.02)
            waited += 0.02
        try:
            if message.decision == "deny":
                session.deny(message.approval_id, reason="denied by the user")
            else:
                session.approve(message.approval_id, scope=message.decision)
        except NotFound as exc:
            self.notify(f"{exc}", severity="warning")
            return
        if self.is_running:  # the answer may come as the app shuts down (the prompt is then being removed)
            self.query_one(PromptInput).focus_input()

    # ------------------------------------------------------------------------------------ branches
    @on(BranchAtRequested)
    async def _branch_at(self, message: BranchAtRequested) -> None:
        session = self.session
        if session is None:
            return
        from life_tui.tui import commands

        name = commands.free_branch_name(session)
        try:
            forked = await session.fork(message.seq, name)
        except LifeError as exc:
            self.notify(f"{exc}", severity="error")
            return
        self.notify(f"branch {name} at event {message.seq}: continue there")
        self.show_session(forked)
        await self.leave(session)

    @on(BranchSwitchRequested)
    async def _switch_branch(self, message: BranchSwitchRequested) -> None:
        if self.session is not None:
            await self.open_session(self.session.session_id, message.branch)

    @on(SessionOpenRequested)
    async def _open_session(self, message: SessionOpenRequested) -> None:
        await self.open_session(message.session_id, message.branch)

    async def open_session(self, session_id: str, branch: str) -> None:
        current = self.session
        if current is None:
            return
        if current.running:
            await current.cancel()
        from life_tui.runtime.session import Session

        try:
            opened = await Session.open(
                current.journal,
                session_id,
                branch=branch,
                provider=current.provider,
                workspace=current.workspace if session_id == current.session_id else None,
                options=current.options,
                shares=current,
            )
        except LifeError as exc:
            self.notify(f"{exc}", severity="error")
            return
        self.show_session(opened)
        await self.leave(current)

    # ------------------------------------------------------------- history: tree, compare, sessions, replay, rewind
    def action_branch_tree(self) -> None:
        from life_tui.tui import history

        history.open_branch_tree(self)

    def action_compare(self) -> None:
        from life_tui.tui import history

        history.open_compare(self)

    def action_sessions(self) -> None:
        from life_tui.tui import history

        history.open_sessions(self)

    async def action_replay(self) -> None:
        from life_tui.tui import history

        await history.start_replay(self)

    def action_rewind(self) -> None:
        from life_tui.tui import history

        history.ask_rewind(self)

    @on(ReplayBar.Closed)
    async def _replay_closed(self, message: ReplayBar.Closed) -> None:
        from life_tui.tui import history

        await history.leave_replay(self)

    # --------------------------------------------------------------------------------------- panes
    def action_toggle_pane(self, name: str) -> None:
        self.hidden_panes ^= {name}
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        hidden = self.hidden_panes
        main = self.screen_stack[0]
        main.query_one("#chat-column").set_class("chat" in hidden, "-hidden")
        main.query_one("#events").set_class("events" in hidden, "-hidden")
        main.query_one("#vitals").set_class("vitals" in hidden, "-hidden")
        side_hidden = {"events", "vitals"} <= hidden
        main.query_one("#side").set_class(side_hidden, "-hidden")
        main.query_one("#side").set_class("chat" in hidden, "-alone")

    def action_fullscreen(self) -> None:
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
            return
        focused = screen.focused
        target: Widget | None = None
        for node in [focused, *(focused.ancestors if focused else [])]:
            if isinstance(node, Widget) and node.id in ("chat-column", "events", "vitals"):
                target = node
                break
        if target is None:
            target = screen.query_one("#chat-column")
        screen.maximized = target

    def action_help(self) -> None:
        from life_tui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self))

    def action_next_theme(self) -> None:
        from life_tui.tui import commands

        names = commands.theme_names(self)
        at = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(at + 1) % len(names)]
        self.notify(f"theme {self.theme}")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from life_tui.tui import commands

        yield from commands.palette_commands(self)
        yield from super().get_system_commands(screen)

    # ---------------------------------------------------------------------------------------- quit
    async def action_quit(self) -> None:
        """Cancel the running turn, close the session (every event durable), then exit."""
        await self.shutdown_session()
        self.exit()

    async def shutdown_session(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        self.workers.cancel_group(self, "bridge")
        try:
            await session.close()
        except LifeError as exc:
            self.log.error(f"closing the session failed: {exc}")


def _slash_names() -> list[str]:
    """The slash commands for the input's completion (the command table loads on first use)."""
    from life_tui.tui import commands

    return commands.slash_names()


def _load_modules(names: Sequence[str]) -> None:
    for name in names:
        importlib.import_module(name)
