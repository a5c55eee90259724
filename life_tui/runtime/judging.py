"""Running the LLM-as-judge evaluators on a finished turn, on demand, and journaling their verdicts.

The judges themselves (prompts, parsing) live in :mod:`life_tui.evaluation.judges` and know nothing of the
runtime; this module does the runtime's part: it reads the turn back from the journal (the run's user
message, assistant messages, tool calls, knowledge retrieved and final answer), adapts a provider to the
judges' :class:`~life_tui.evaluation.judges.JudgeModel` (stream the reply, keep its text, price it with
the price table), and records one ``eval.judge_completed`` per judge through the session's writer, so the
verdicts are durable events the homeostasis fold can read like any other.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace

import msgspec

from life_tui.errors import Conflict, InvalidInput, NotFound
from life_tui.evaluation.judges import JudgeReply, TurnTranscript, judge_turn, select
from life_tui.finance.pricing import Price, cost_usd, price_for
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Actor, Event, EventDraft
from life_tui.runtime.providers import ProviderSpec, build
from life_tui.runtime.providers.base import Message, ModelRequest, ModelResponse, Provider, SystemBlock
from life_tui.runtime.session import Session

JUDGE_MAX_TOKENS = 512
"""Room for the JSON verdict and its explanation (Life asks for 256; explanations need a little more)."""
KNOWLEDGE_TOOLS = frozenset({"memory_read", "memory_search", "read_file", "grep"})
"""Tools whose results count as knowledge the agent retrieved (what the knowledge judges compare with)."""
ARGUMENTS_CHARS = 300
"""A tool call's arguments are cut to this many characters in the transcript."""


class ProviderJudgeModel:
    """A runtime :class:`Provider` as a judge model: one system block, one user message, no tools."""

    def __init__(self, provider: Provider, *, price_overrides: dict[str, dict[str, float]] | None = None) -> None:
        self.provider = provider
        self.price_overrides = {m: msgspec.convert(p, Price) for m, p in (price_overrides or {}).items()}

    async def complete(self, system: str, prompt: str) -> JudgeReply:
        request = ModelRequest(
            model=self.provider.model,
            system=[SystemBlock(name="judge", text=system)],
            messages=[Message(role="user", content=prompt)],
            max_tokens=JUDGE_MAX_TOKENS,
            temperature=0.0,
        )
        response: ModelResponse | None = None
        async for item in self.provider.stream(request):
            if isinstance(item, ModelResponse):
                response = item
        if response is None:
            return JudgeReply(text="", model=self.provider.model)
        model = response.model or self.provider.model
        return JudgeReply(text=response.text, model=model, cost_usd=self._cost(response, model))

    def _cost(self, response: ModelResponse, model: str) -> float:
        if response.recorded_cost_usd is not None:
            return response.recorded_cost_usd
        price, _known = price_for(model, self.price_overrides, provider=self.provider.name)
        usage = response.usage
        return cost_usd(
            price,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
        )


# ------------------------------------------------------------------------------------ reading the turn
def find_run(events: Sequence[Event], run_id: str | None) -> str:
    """The run to judge: ``run_id`` (exact, or a unique prefix) if given, else the last finished run."""
    finished = [e.run_id for e in events if e.kind == k.RunFinished.KIND and e.run_id]
    if run_id is None:
        if not finished:
            raise NotFound("this branch has no finished run to judge", hint="run a turn first")
        return finished[-1]
    started = [e.run_id for e in events if e.kind == k.RunStarted.KIND and e.run_id]
    matches = list(dict.fromkeys(r for r in started if r == run_id or r.startswith(run_id)))
    if run_id in matches:
        matches = [run_id]
    if not matches:
        raise NotFound(f"no run {run_id!r} on this branch", hint="`life-tui log` lists the runs and their ids")
    if len(matches) > 1:
        raise InvalidInput(f"the run prefix {run_id!r} is ambiguous ({len(matches)} runs)", hint="give more of it")
    if matches[0] not in finished:
        raise Conflict(f"run {matches[0]} has not finished", hint="judge it once it has finished")
    return matches[0]


def _call_line(call: dict[str, object]) -> str:
    arguments = json.dumps(call.get("arguments") or {}, ensure_ascii=False, sort_keys=True)
    if len(arguments) > ARGUMENTS_CHARS:
        arguments = arguments[:ARGUMENTS_CHARS] + "…"
    return f"→ {call.get('name')} {arguments}"


def transcript(events: Sequence[Event], run_id: str) -> TurnTranscript:
    """The run's events as the judges see the turn."""
    objective: list[str] = []
    messages: list[str] = []
    knowledge: list[str] = []
    final: str | None = None
    for event in events:
        if event.run_id != run_id:
            continue
        data = event.payload_dict()
        if event.kind == k.UserMessage.KIND:
            objective.append(str(data.get("content", "")))
        elif event.kind == k.AssistantMessage.KIND:
            lines = [str(data.get("content") or "")]
            lines += [_call_line(c) for c in data.get("tool_calls") or [] if isinstance(c, dict)]
            messages.append("\n".join(line for line in lines if line))
        elif event.kind == k.ToolCallCompleted.KIND and data.get("tool_name") in KNOWLEDGE_TOOLS:
            if not data.get("is_error") and data.get("result"):
                knowledge.append(f"[{data['tool_name']}]\n{data['result']}")
        elif event.kind == k.RunFinished.KIND and data.get("reason") == "final_answer":
            answer = data.get("final_answer")
            final = str(answer) if answer is not None else (messages[-1] if messages else "")
    return TurnTranscript(
        run_id=run_id,
        objective="\n\n".join(objective),
        assistant_messages=tuple(messages),
        final_answer=final,
        knowledge_context="\n\n".join(knowledge),
    )


async def read_turn(session: Session, run_id: str | None) -> TurnTranscript:
    """Read the session branch back from the journal and build the transcript of the run to judge."""
    events = await asyncio.to_thread(session.journal.read, session.session_id, session.branch)
    return transcript(events, find_run(events, run_id))


# ------------------------------------------------------------------------------------------ judging
async def judge_transcript(
    session: Session,
    turn: TurnTranscript,
    judges: Sequence[str] | None = None,
    provider: Provider | str | None = None,
) -> list[k.JudgeEvaluation]:
    """Run the judges on ``turn`` (read with :func:`read_turn`) and record one ``eval.judge_completed``
    each; see :func:`judge_run`."""
    chosen, _skipped = select(judges, turn)
    owned = isinstance(provider, str)
    if isinstance(provider, str):
        model_provider = build(ProviderSpec.parse(provider), base_url=session.options.settings.defaults.base_url)
    else:
        model_provider = provider or session.provider
    model = ProviderJudgeModel(model_provider, price_overrides=session.options.settings.prices)
    results: list[k.JudgeEvaluation] = []
    try:
        for judge in chosen:
            result = await judge_turn(judge, turn, model)
            await session.record(EventDraft(kind=result.KIND, payload=result, actor=Actor.SYSTEM))
            results.append(result)
    finally:
        if owned:
            await model_provider.aclose()
    return results


async def judge_run(
    session: Session,
    run_id: str | None = None,
    judges: Sequence[str] | None = None,
    provider: Provider | str | None = None,
    *,
    knowledge_context: str | None = None,
) -> list[k.JudgeEvaluation]:
    """Run the judges on a finished run and record one ``eval.judge_completed`` per judge.

    ``run_id`` None judges the branch's last finished run; ``judges`` None runs every judge that applies
    (the knowledge judges need knowledge context: the run's memory and file reads, or
    ``knowledge_context``); a named judge that cannot apply is an :class:`InvalidInput`. ``provider`` is
    the session's provider by default, a ``name:model`` spec (built here and closed afterwards), or a
    provider. Judges run one after another; each verdict is recorded as soon as it is in. A judge whose
    model fails or whose reply cannot be read is recorded with ``error`` set, and the others still run."""
    turn = await read_turn(session, run_id)
    if knowledge_context is not None:
        turn = replace(turn, knowledge_context=knowledge_context)
    return await judge_transcript(session, turn, judges, provider)


__all__ = [
    "KNOWLEDGE_TOOLS",
    "ProviderJudgeModel",
    "find_run",
    "judge_run",
    "judge_transcript",
    "read_turn",
    "transcript",
]
