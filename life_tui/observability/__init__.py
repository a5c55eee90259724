"""Observability (Life's Vigil): spans and metrics derived from the journal's events.

Traces are folds over committed events rather than a separate telemetry stream, so a replayed session, an
imported one, or one recorded by an older version has the same trace as the live run had. This package is
pure (it imports only the kernel): front ends (the TUI's traces pane, the MCP ``trace`` tool) call it
with events they read, and an exporter can ship the spans over OTLP without the runtime knowing.
"""

from life_tui.observability.spans import Span, SpanKind, run_ids, spans_for_run

__all__ = ["Span", "SpanKind", "run_ids", "spans_for_run"]
