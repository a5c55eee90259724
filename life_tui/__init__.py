"""life-tui: a terminal-first agent workstation built on an event journal.

The package is layered (see docs/architecture.md): front ends (``tui``, ``cli``, ``mcp_server``) call
the runtime, the runtime wires the domain packages, and everything stands on the journal (``journal``,
Life's Lago) and the event contract (``kernel``, Life's aiOS kernel). Dependencies only point downward.
"""

__version__ = "0.1.0"
