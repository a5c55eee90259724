"""The agent runtime (Life's Arcan): the one API every front end uses, and the loop behind it.

``runtime.Session`` opens or creates a session on a branch, runs user turns through the loop
(reconstruct -> regulate -> compile context -> provider -> tools -> persist), streams the resulting events
once the journal has made them durable, and answers approvals, cancellation, forks and provider switches.
The TUI, the headless CLI and the MCP server call only this package; the domain packages (tools,
homeostasis, evaluation, finance, ...) are wired together here and nowhere else.
"""
