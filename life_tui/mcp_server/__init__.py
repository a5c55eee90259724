"""MCP server mode (``life-tui mcp``): the workstation's tools and session operations over stdio.

Other agents (Claude Desktop, Claude Code, Codex, anything speaking MCP) use life-tui through this
package: the registry's tools run under the same FsPolicy, SandboxPolicy and approval policy as inside the
app and are journaled like the app's tool calls; chat turns, sessions, events, forks, replays, budgets and
traces are offered as tools and resources. It is a front end like the TUI and the headless CLI: it talks
to ``runtime.Session`` and never the other way round, and it is the only package (with
``tools.mcp_client``) that imports the MCP SDK, lazily, so no other command pays for it.
"""
