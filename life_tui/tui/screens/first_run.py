"""The first-run screen: no provider is configured, so say how to configure one and offer the demo.

SPEC §1: with no account the app still opens and is useful. The demo is the built-in scripted session
(``scripted:demo``), labelled as scripted wherever it shows, which exercises tools, gauges, wallet and
traces without calling a model. The screen dismisses with True (start the demo) or False (quit).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

INTRO = """[b]No model provider is configured.[/b]

life-tui talks to Anthropic, any OpenAI-compatible server (OpenAI, Ollama, vLLM, LM Studio, Groq,
OpenRouter...) or a scripted provider. To configure one, either:

  • set [b]ANTHROPIC_API_KEY[/b] or [b]OPENAI_API_KEY[/b] (and [b]OPENAI_BASE_URL[/b] for a local server),
  • pass [b]--provider anthropic:MODEL[/b] (or openai:MODEL, ollama:MODEL),
  • or write [b]provider = "anthropic:claude-sonnet-4-6"[/b] under [b][defaults][/b] in the config file.

Meanwhile you can try the [b]scripted demo[/b]: a recorded tour that calls real tools in this
workspace, with no model called and nothing spent."""


class FirstRunScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,d", "demo", "Start the scripted demo"),
        Binding("escape,q", "leave", "Quit"),
    ]
    DEFAULT_CSS = """
    FirstRunScreen { align: center middle; }
    FirstRunScreen > Vertical { width: 90; max-width: 100%; height: auto; border: round $primary;
        background: $surface; padding: 1 2; }
    FirstRunScreen .first-run--hint { color: $text-muted; margin-top: 1; }
    FirstRunScreen Horizontal { height: auto; margin-top: 1; }
    FirstRunScreen Button { margin-right: 2; }
    """

    def __init__(self, hint: str) -> None:
        super().__init__()
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(INTRO)
            if self.hint:
                yield Static(self.hint, classes="first-run--hint", markup=False)
            with Horizontal():
                yield Button("Start the scripted demo (Enter)", id="demo", variant="primary")
                yield Button("Quit (Esc)", id="leave")

    def on_mount(self) -> None:
        # query, not query_one: a screen closed before its widgets were mounted (the app shutting down) has none
        for demo in self.query("#demo").results(Button):
            demo.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "demo")

    def action_demo(self) -> None:
        self.dismiss(True)

    def action_leave(self) -> None:
        self.dismiss(False)
