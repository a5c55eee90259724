"""The Autonomic controller: ``profile = merge(rules(state))``, the transitions to record, and tool verdicts.

Pure and clock-free: every answer is a function of the folded :class:`HomeostaticState` alone (its time is
the last event's), so feeding a session's events to a fresh fold and asking the same questions gives the
same answers. The controller does not record anything itself: it says which transitions it wants
(``autonomic.mode_changed``, ``autonomic.context_ruling`` payloads) and the runtime adapter writes them;
the fold then moves the mode or ruling when it reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from life_tui.homeostasis.modes import economic_ratio
from life_tui.homeostasis.operations import is_file_write, is_network, is_shell
from life_tui.homeostasis.profile import ACTION_SEVERITY, FILE_MUTATION_CAP, TOOL_CALL_CAP, merge
from life_tui.homeostasis.rules import DEFAULT_RULES, DoomLoop, Rule
from life_tui.homeostasis.state import Action, Gate, GatingProfile, HomeostaticState
from life_tui.kernel import kinds as k


class Evaluation(msgspec.Struct, frozen=True, kw_only=True):
    profile: GatingProfile
    transitions: tuple[k.Payload, ...] = ()
    """``EconomicModeChanged`` and ``ContextRuling`` payloads for what the profile changes."""


class ToolVerdict(msgspec.Struct, frozen=True, kw_only=True):
    action: Action
    gate: str = ""
    """The gate that decided (the most restrictive one) when the action is not allow."""
    reason: str = ""
    rules: list[str] = []


ALLOWED = ToolVerdict(action=Action.ALLOW)


class Controller:
    def __init__(self, rules: Sequence[Rule] = DEFAULT_RULES) -> None:
        self.rules = tuple(rules)
        self.repeat_limit = next((r.limit for r in self.rules if isinstance(r, DoomLoop)), None)

    def evaluate(self, state: HomeostaticState) -> Evaluation:
        decisions = [d for d in (rule(state) for rule in self.rules) if d is not None]
        profile = merge(decisions)
        transitions: list[k.Payload] = []
        econ, cog = state.economic, state.cognitive
        if profile.economic_mode is not econ.mode:
            why = next((d.rationale for d in decisions if d.economic_mode is profile.economic_mode), "")
            transitions.append(
                k.EconomicModeChanged(
                    previous=econ.mode.value, mode=profile.economic_mode.value, reason=why, ratio=economic_ratio(econ)
                )
            )
        if profile.ruling is not cog.ruling:
            why = next((d.rationale for d in decisions if d.ruling is profile.ruling), "")
            transitions.append(
                k.ContextRuling(
                    ruling=profile.ruling.value,
                    previous=cog.ruling.value,
                    utilisation=round(cog.context_utilisation, 4),
                    target=profile.compact_target,
                    reason=why or f"context at {cog.context_utilisation:.0%} of the window",
                )
            )
        return Evaluation(profile=profile, transitions=tuple(transitions))

    def tool_decision(
        self,
        state: HomeostaticState,
        profile: GatingProfile,
        name: str,
        read_only: bool,
        capabilities: Iterable[str],
        signature: str,
        calls_this_tick: int,
        mutations_this_tick: int,
    ) -> ToolVerdict:
        """Whether the tool call may run: every gate it falls under, the most restrictive answer."""
        caps = tuple(capabilities)
        found: list[ToolVerdict] = []

        def gate(g: Gate, what: str) -> None:
            action = profile.action(g)
            if action is not Action.ALLOW:
                why = profile.reasons.get(str(g), "")
                reason = f"{what}: {why}" if why else what
                rules = list(profile.gate_rules.get(str(g), []))
                found.append(ToolVerdict(action=action, gate=str(g), reason=reason, rules=rules))

        def cap(g: Gate, reason: str, behind: str) -> None:
            rules = list(profile.gate_rules.get(behind, []))
            found.append(ToolVerdict(action=Action.BLOCK, gate=str(g), reason=reason, rules=rules))

        gate(Gate.TOOL_EXECUTION, "tool calls are not allowed now")
        limit = profile.max_tool_calls_per_tick
        if limit is not None and calls_this_tick >= limit:
            cap(Gate.TOOL_EXECUTION, f"the limit of {limit} tool calls this turn is reached", TOOL_CALL_CAP)
        repeated = bool(state.recent_calls) and state.recent_calls[-1] == signature
        if repeated and self.repeat_limit is not None and state.repeat_count >= self.repeat_limit:
            gate(Gate.REPEAT_CALL, "this exact call was just made")
        shell, writes, network = is_shell(name, caps), is_file_write(name, caps), is_network(caps)
        if shell:
            gate(Gate.SHELL, "shell commands are not allowed now")
        if writes:
            gate(Gate.FILE_WRITE, "file and memory writes are not allowed now")
            mutations = profile.max_file_mutations_per_tick
            if mutations is not None and mutations_this_tick >= mutations:
                cap(Gate.FILE_WRITE, f"the limit of {mutations} file changes this turn is reached", FILE_MUTATION_CAP)
        if network:
            gate(Gate.NETWORK, "network access is not allowed now")
            if read_only:
                gate(Gate.SPECULATIVE_RESEARCH, "speculative research is discouraged now")
        if not read_only and not profile.allow_side_effects and not (shell or writes):
            why = "tools with side effects are not allowed now: " + "; ".join(profile.rationale)
            cap(Gate.TOOL_EXECUTION, why, str(Gate.FILE_WRITE))
        if not found:
            return ALLOWED
        worst = max(found, key=lambda v: ACTION_SEVERITY[v.action])
        same = [v for v in found if v.action is worst.action]
        rules = sorted({r for v in same for r in v.rules})
        return ToolVerdict(action=worst.action, gate=worst.gate, reason="; ".join(v.reason for v in same), rules=rules)
