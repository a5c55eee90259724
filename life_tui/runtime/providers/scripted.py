"""The scripted provider: deterministic turns from a YAML or JSON script (tests, demos, offline work).

A script is a list of turns (or ``{"model": ..., "turns": [...]}``). Each turn may have ``text``,
``reasoning``, ``tool_calls`` (``name``, ``arguments``, optional ``id``), ``usage``, ``stop_reason``,
``chunk_chars`` (stream the text in pieces of this size), ``delay_ms`` (between pieces), ``cost_usd`` (what
the turn is billed, as if a paid model had answered; scripted turns are otherwise free) and ``error``
(``{message, retryable, status}``: the call fails instead). Turns are answered in order; a script that
runs out fails with a clear error. ``scripted:demo`` is the built-in demo, labelled as such wherever it
is shown.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from life_tui.errors import InvalidInput
from life_tui.runtime.providers.base import (
    ModelRequest,
    ModelResponse,
    ProviderError,
    ReasoningDelta,
    StreamItem,
    TextDelta,
    ToolCall,
    Usage,
)

DEMO = "demo"


class ScriptedCall(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    arguments: dict[str, Any] = {}
    id: str | None = None


class ScriptedError(msgspec.Struct, frozen=True, kw_only=True):
    message: str = "scripted failure"
    retryable: bool = False
    status: int | None = None


class ScriptedTurn(msgspec.Struct, frozen=True, kw_only=True):
    text: str = ""
    reasoning: str = ""
    tool_calls: list[ScriptedCall] = []
    usage: Usage | None = None
    stop_reason: str | None = None
    chunk_chars: int = 12
    delay_ms: float = 0.0
    cost_usd: float | None = None
    error: ScriptedError | None = None


class Script(msgspec.Struct, frozen=True, kw_only=True):
    model: str = "scripted"
    label: str = ""
    turns: list[ScriptedTurn] = []


def load_script(source: str | Path) -> Script:
    """Load ``demo`` (built in) or a .yaml/.yml/.json file."""
    if str(source) == DEMO:
        raw: Any = json.loads(resources.files("life_tui.runtime.providers").joinpath("demo_script.json").read_text())
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise InvalidInput(f"no script file {path}", hint="pass scripted:demo or scripted:PATH.yaml")
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            import yaml

            try:
                raw = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise InvalidInput(f"{path.name} is not valid YAML: {exc}") from None
        else:
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path.name} is not valid JSON: {exc}") from None
    if isinstance(raw, list):
        raw = {"turns": raw}
    try:
        return msgspec.convert(raw, Script)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"the script {source} is malformed: {exc}") from None


class ScriptedProvider:
    name = "scripted"

    def __init__(self, script: Script, *, start_at: int = 0) -> None:
        self.script = script
        self.model = script.model
        self.label = script.label
        self._next = start_at
        self.requests: list[ModelRequest] = []

    @property
    def turns_used(self) -> int:
        return self._next

    def next_turn_cost_usd(self) -> float | None:
        """What the next turn is billed (its ``cost_usd``), known before the call: its reservation."""
        if self._next < len(self.script.turns):
            return self.script.turns[self._next].cost_usd
        return None

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        if self._next >= len(self.script.turns):
            raise ProviderError(
                f"scripted: the script has no turn {self._next + 1} (it has {len(self.script.turns)})", retryable=False
            )
        turn = self.script.turns[self._next]
        self._next += 1
        if turn.error is not None:
            raise ProviderError(
                f"scripted: {turn.error.message}", retryable=turn.error.retryable, status=turn.error.status
            )
        size = max(turn.chunk_chars, 1)
        for text, kind in ((turn.reasoning, ReasoningDelta), (turn.text, TextDelta)):
            for i in range(0, len(text), size):
                if turn.delay_ms:
                    await asyncio.sleep(turn.delay_ms / 1000)
                yield kind(text[i : i + size])
        calls = [
            ToolCall(id=c.id or f"call_{self._next}_{i}", name=c.name, arguments=dict(c.arguments))
            for i, c in enumerate(turn.tool_calls, 1)
        ]
        usage = turn.usage or Usage(
            # A rough stand-in for what a model would report: the last messages by size, older ones flat,
            # so a long session does not make the scripted provider itself slow.
            input_tokens=sum(len(m.content) for m in request.messages[-20:]) // 4
            + 25 * max(len(request.messages) - 20, 0)
            + 50,
            output_tokens=max(len(turn.text) // 4, 1),
        )
        stop = turn.stop_reason or ("tool_use" if calls else "end_turn")
        yield ModelResponse(
            text=turn.text,
            reasoning=turn.reasoning,
            tool_calls=calls,
            stop_reason=stop,  # type: ignore[arg-type]
            usage=usage,
            model=self.model,
            recorded_cost_usd=turn.cost_usd,
        )

    async def aclose(self) -> None:
        return None
