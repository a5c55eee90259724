"""Nous: inline evaluation heuristics (pure, after every tick) and LLM-as-judge evaluators (on demand).

Imports only the kernel. The runtime fills :class:`~life_tui.evaluation.facts.TickFacts` from its folds and
records the scores as ``eval.*`` events, which the homeostasis fold reads back into the cognitive pillar.
"""
