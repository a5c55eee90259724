"""Running the LLM-as-judge evaluators on a finished turn, on demand, and journaling their verdicts.

The judges themselves (prompts, parsing) live in :mod:`life_tui.evaluation.judges` and know nothing of the
runtime; this module does the runtime's part: it reads the turn back from the journal (the run's user
message, assistant messages, tool calls, knowledge retrieved and final answer), adapts a provider to the
judges' :class:`~life_tui.evaluation.judges.JudgeModel` (stream the reply, keep its text), bills each
judge's call like the loop bills its own (its worst case reserved against the session's ledger and every
cap in force before the call, settled at the reported usage after, released if it fails; the
``finance.*`` events go to the session's branch, outside any run, with purpose ``judge:<name>``), and
records one ``eval.judge_completed`` per judge through the session's writer, so the verdicts are durable
events the homeostasis fold can read like any other. A judge whose reservation is refused is not run: its
verdict is recorded with ``error`` saying which cap refused it and what to do.

Judging's events are not part of any run, so a replay of the runs leaves them out (:func:`judging_event`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace

from life_tui.errors import Conflict, InvalidInput, LifeError, NotFound
from life_tui.evaluation.judges import JudgeReply, TurnTranscript, judge_turn, select
from life_tui.finance.view import to_usd
from life_tui.kernel import kinds as k
from life_tui.kernel.event import Actor, Event, EventDraft
from life_tui.runtime.billing import actual_micro, reserve_call, resolve_price, settle_call
from life_tui.runtime.context import estimate_tokens
from life_tui.runtime.providers import ProviderSpec, build
from life_tui.runtime.providers.base import (
    Message,
    ModelRequest,
    ModelResponse,
    Provider,
    SystemBlock,
    TextDelta,
    Usage,
)
from life_tui.runtime.session import Session

JUDGE_MAX_TOKENS = 512
"""Room for the JSON verdict and its explanation (Life asks for 256; explanations need a little more)."""
KNOWLEDGE_TOOLS = frozenset({"memory_read", "memory_search", "read_file", "grep"})
"""Tools whose results count as knowledge the agent retrieved (what the knowledge judges compare with)."""
ARGUMENTS_CHARS = 300
"""A tool call's arguments are cut to this many characters in the transcript."""


LIMIT_HINTS = {
    "balance": "fund the wallet: `life-tui wallet fund USD`",
    "session": "raise the session's cap: `/budget USD`, or `life-tui wallet budget --session ID USD`",
    "day": "raise the day's cap: `life-tui wallet budget --day USD`",
    "invocation": "raise the run's --max-budget-usd",
    "run": "raise the run's cost limit",
}
"""What the user can do about a refusal, by the cap that refused."""


def judge_purpose(name: str) -> str:
    """What a judge's call is for, on its reservation and settlement (``purpose``, ``task_id``)."""
    return f"judge:{name}"


REFUSED_PREFIX = "not run: "
"""How a verdict's ``error`` starts when the ledger refused the judge's call (see :func:`was_refused`)."""


def refusal_message(refused: k.CostRefused) -> str:
    """Why a judge was not run: what the call may cost, what the cap that refused it leaves, what to do."""
    cap = "wallet balance" if refused.limit == "balance" else f"{refused.limit} budget"
    hint = LIMIT_HINTS.get(refused.limit, "raise that cap")
    return (
        f"{REFUSED_PREFIX}the judge's call may cost ${to_usd(refused.amount_micro):.6f} and the {cap} leaves "
        f"${to_usd(max(refused.available_micro, 0)):.6f} ({hint})"
    )


def was_refused(result: k.JudgeEvaluation) -> bool:
    """Whether ``result`` records a judge the ledger would not pay for (rather than a failed verdict)."""
    return bool(result.error and result.error.startswith(REFUSED_PREFIX))


class ProviderJudgeModel:
    """A runtime :class:`Provider` as a judge model: one system block, one user message, no tools.

    Unbilled when built without a session; :meth:`billed` gives the model one judge's call billed in a
    session like the loop's own calls (:mod:`life_tui.runtime.billing`): :meth:`reserve` reserves the
    worst case against the session's ledger (every cap in force: session, day, funded balance, the
    invocation's) and records the answer in the session's branch before the call; :meth:`complete` makes
    the call only if it was reserved (or is free), then settles it at the reported usage (``task_id``
    ``judge:<name>``), releases it if the call fails or gives no response, and settles an estimate of
    what was streamed if it is cancelled (the provider may bill that, as in the loop). A free call (a
    local or scripted model with no declared cost) reserves nothing. The events are outside any run (no
    ``run_id``)."""

    def __init__(
        self,
        provider: Provider,
        *,
        price_overrides: Mapping[str, object] | None = None,
        session: Session | None = None,
        purpose: str = "",
    ) -> None:
        self.provider = provider
        self.price_overrides: dict[str, object] = dict(price_overrides or {})
        self.session = session
        self.purpose = purpose
        self._asked = False
        self._called = False
        self._input_tokens = 0
        self._reservation: str | None = None
        self._refused: k.CostRefused | None = None

    def billed(self, session: Session, judge: str) -> ProviderJudgeModel:
        """The same model for one call of ``judge``, billed in ``session`` (one :meth:`reserve`, one
        :meth:`complete`)."""
        return ProviderJudgeModel(
            self.provider,
            price_overrides=self.price_overrides,
            session=session,
            purpose=judge_purpose(judge),
        )

    async def reserve(self, system: str, prompt: str) -> k.CostRefused | None:
        """Reserve the call's worst case (durably, before the call); the refusal when a cap refuses it.
        Unbilled, free, or already asked: nothing to do."""
        session = self.session
        if session is None or self._asked:
            return self._refused
        self._asked = True
        self._input_tokens = estimate_tokens(system) + estimate_tokens(prompt)
        model = self.provider.model
        price, _known = resolve_price(self.provider, model, self.price_overrides)
        answer = reserve_call(
            session.ledger,
            self.provider,
            price,
            model=model,
            input_tokens=self._input_tokens,
            max_tokens=JUDGE_MAX_TOKENS,
            thinking_budget=None,
            session_id=session.session_id,
            branch=session.branch,
            run_id=None,
            invocation_id=session.invocation_id,
            run_limit_micro=None,
            now_us=session.clock.now_us(),
            purpose=self.purpose,
        )
        if answer is None:
            return None
        await self._record(answer)
        if isinstance(answer, k.CostRefused):
            self._refused = answer
            return answer
        self._reservation = answer.reservation_id
        return None

    async def complete(self, system: str, prompt: str) -> JudgeReply:
        refused = await self.reserve(system, prompt)
        if refused is not None:
            raise LifeError(refusal_message(refused))
        if self.session is not None and self._called:  # its one reservation is spent: never call unbilled
            raise Conflict("this billed judge call was already made", hint="take a new one with billed()")
        self._called = True
        request = ModelRequest(
            model=self.provider.model,
            system=[SystemBlock(name="judge", text=system)],
            messages=[Message(role="user", content=prompt)],
            max_tokens=JUDGE_MAX_TOKENS,
            temperature=0.0,
        )
        response: ModelResponse | None = None
        text: list[str] = []
        try:
            async for item in self.provider.stream(request):
                if isinstance(item, ModelResponse):
                    response = item
                elif isinstance(item, TextDelta):
                    text.append(item.text)
        except asyncio.CancelledError:
            partial = Usage(input_tokens=self._input_tokens, output_tokens=estimate_tokens("".join(text)))
            await self._settle(self.provider.model, partial, None, estimated=True)
            raise
        except Exception as exc:
            detail = exc.message if isinstance(exc, LifeError) else repr(exc)
            await self._release(f"the call failed: {detail}")
            raise
        if response is None:
            await self._release("the stream ended without a response")
            return JudgeReply(text="", model=self.provider.model)
        model = response.model or self.provider.model
        cost = await self._settle(model, response.usage, response.recorded_cost_usd)
        return JudgeReply(text=response.text, model=model, cost_usd=cost / 1_000_000)

    async def _settle(self, model: str, usage: Usage, recorded_usd: float | None, *, estimated: bool = False) -> int:
        """Bill the call (its reservation, if it has one) and return what it cost in micro-credits."""
        price, known = resolve_price(self.provider, model, self.price_overrides)
        if self.session is None or self._reservation is None:
            return actual_micro(price, known, usage, recorded_usd)
        settled = settle_call(
            self.session.ledger,
            self._reservation,
            model=model,
            price=price,
            known=known,
            usage=usage,
            recorded_usd=recorded_usd,
            now_us=self.session.clock.now_us(),
            estimated=estimated,
            task_id=self.purpose or None,
        )
        self._reservation = None
        await self._record(settled)
        return settled.amount_micro

    async def _release(self, reason: str) -> None:
        if self.session is None or self._reservation is None:
            return
        released = self.session.ledger.release(self._reservation, reason, self.session.clock.now_us())
        self._reservation = None
        await self._record(released)

    async def _record(self, payload: k.Payload) -> None:
        assert self.session is not None
        await self.session.record(EventDraft(kind=payload.KIND, payload=payload, actor=Actor.SYSTEM))


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
BILLING_KINDS = frozenset({k.CostReserved.KIND, k.CostSettled.KIND, k.CostReleased.KIND, k.CostRefused.KIND})


def judging_event(event: Event) -> bool:
    """Whether judging recorded ``event`` (a verdict, or the billing of a call outside any run): events a
    replay of the session's runs does not reproduce. The loop's own billing always carries its run id."""
    if event.kind == k.JudgeEvaluation.KIND:
        return True
    return event.kind in BILLING_KINDS and event.run_id is None


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
            call = model.billed(session, judge.name)
            refused = await call.reserve(judge.system, judge.prompt(turn))
            if refused is not None:
                result = k.JudgeEvaluation(
                    evaluator=judge.name,
                    target_run_id=turn.run_id,
                    scores={},
                    model=refused.model,
                    error=refusal_message(refused),
                )
            else:
                result = await judge_turn(judge, turn, call)
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
    model fails or whose reply cannot be read is recorded with ``error`` set, and the others still run.

    Each judge's call is billed in ``session`` (see :class:`ProviderJudgeModel`); a judge whose
    reservation a cap refuses is not run, and its verdict's ``error`` says why (``not run: ...``), after
    the ``finance.refused`` event; the other judges are still tried (a smaller prompt may still fit)."""
    turn = await read_turn(session, run_id)
    if knowledge_context is not None:
        turn = replace(turn, knowledge_context=knowledge_context)
    return await judge_transcript(session, turn, judges, provider)


__all__ = [
    "KNOWLEDGE_TOOLS",
    "LIMIT_HINTS",
    "REFUSED_PREFIX",
    "ProviderJudgeModel",
    "find_run",
    "judge_purpose",
    "judge_run",
    "judge_transcript",
    "judging_event",
    "read_turn",
    "refusal_message",
    "transcript",
    "was_refused",
]
