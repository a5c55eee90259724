"""Nous: inline evaluation heuristics (pure, after every tick) and LLM-as-judge evaluators (on demand).

Imports only the kernel (and the shared errors). The runtime fills :class:`~life_tui.evaluation.facts.TickFacts`
from its folds and records the scores as ``eval.*`` events, which the homeostasis fold reads back into the
cognitive pillar.

- :mod:`~life_tui.evaluation.facts`: what a tick looks like to the heuristics, and a score.
- :mod:`~life_tui.evaluation.heuristics`: the inline heuristics and ``evaluate_tick``.
- :mod:`~life_tui.evaluation.judges`: the five judges, their prompts and Life's parsing rules, behind a
  small ``JudgeModel`` protocol (the runtime adapts its providers in ``life_tui.runtime.judging``).
"""
