"""Autonomic: the homeostasis controller (a pure fold of a session's events into three pillars, the Life
default rules, the gating profile the runtime enforces). Imports only the kernel: it does no I/O."""
