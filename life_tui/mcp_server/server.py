"""The MCP protocol surface: a low-level SDK ``Server`` whose handlers map onto the workstation.

The low-level server (not ``MCPServer``'s decorators) because the tools are data: the registry's tools
with their own JSON schemas and annotations, and the session operations' schemas. Tool failures are
results with ``isError`` (the calling model reads them and can correct itself); an unknown tool or
resource is a protocol error (-32602 / -32002), as the MCP spec separates them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError

from life_tui import __version__
from life_tui.errors import LifeError, NotFound
from life_tui.mcp_server import resources, session_ops
from life_tui.mcp_server.ratelimit import RateLimit
from life_tui.mcp_server.session_ops import Operation
from life_tui.mcp_server.tools import ToolBridge
from life_tui.mcp_server.workstation import Workstation
from life_tui.tools.registry import ToolSpec

log = logging.getLogger(__name__)
RESOURCE_NOT_FOUND = -32002
INVALID_PARAMS = -32602

INSTRUCTIONS = (
    "life-tui's workstation: file tools with hashline edits, a sandboxed shell, memory and skills, confined to "
    "the server's workspace and journaled; and its sessions: chat runs an agent turn, sessions/session_events "
    "read the journal, fork and replay branch and check them, budget and trace report spend and spans."
)


def _registry_tool(spec: ToolSpec) -> types.Tool:
    a = spec.annotations
    return types.Tool(
        name=spec.name,
        description=spec.description,
        input_schema=spec.input_schema,
        annotations=types.ToolAnnotations(
            read_only_hint=a.read_only,
            destructive_hint=a.destructive,
            idempotent_hint=a.idempotent,
            open_world_hint=a.open_world,
        ),
    )


def _operation_tool(op: Operation) -> types.Tool:
    return types.Tool(
        name=op.name,
        description=op.description,
        input_schema=op.schema,
        annotations=types.ToolAnnotations(read_only_hint=op.read_only, open_world_hint=op.name == "chat"),
    )


def _text(text: str, *, is_error: bool = False, structured: dict[str, Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], is_error=is_error, structured_content=structured
    )


class LifeMCP:
    """Handlers bound to one workstation; :meth:`build` gives the SDK server."""

    def __init__(self, work: Workstation) -> None:
        self.work = work
        self.catalogue = work.tools
        self.operations = {op.name: op for op in session_ops.OPERATIONS}
        self._bridge: ToolBridge | None = None
        self.rate = RateLimit(work.options.max_calls_per_minute)

    def build(self) -> Server[Any]:
        return Server(
            "life-tui",
            version=__version__,
            instructions=INSTRUCTIONS,
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
            on_list_resources=self.list_resources,
            on_list_resource_templates=self.list_templates,
            on_read_resource=self.read_resource,
        )

    def _note_client(self, ctx: ServerRequestContext[Any]) -> None:
        params = getattr(ctx.session, "client_params", None)
        info = getattr(params, "client_info", None)
        if info is not None and getattr(info, "name", None) and self._bridge is None:
            self.work.client_name = str(info.name)

    async def bridge(self) -> ToolBridge:
        if self._bridge is None:
            session = await self.work.tool_session()
            self._bridge = ToolBridge(session, agent_id=f"mcp:{self.work.client_name}")
        return self._bridge

    # ------------------------------------------------------------------------------------- tools
    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        tools = [_registry_tool(s) for s in self.catalogue.specs()]
        tools += [_operation_tool(op) for op in self.operations.values() if op.name not in self.catalogue]
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        self._note_client(ctx)
        name, arguments = params.name, dict(params.arguments or {})
        wait = self.rate.admit()
        if wait is not None:
            return _text(
                f"rate limit: at most {self.rate.per_minute} tool calls a minute; retry in {wait} s",
                is_error=True,
            )
        if name in self.catalogue:
            try:
                bridge = await self.bridge()
                result = await bridge.call(name, arguments)
            except LifeError as exc:
                return _text(str(exc), is_error=True)
            return _text(result.text, is_error=result.is_error)
        op = self.operations.get(name)
        if op is None:
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {name}")

        async def progress(done: float, message: str) -> None:
            await ctx.session.report_progress(done, None, message)

        try:
            body = await op.run(self.work, arguments, progress)
        except LifeError as exc:
            return _text(str(exc), is_error=True)
        except (KeyError, ValueError, TypeError) as exc:
            return _text(f"invalid arguments for {name}: {exc}", is_error=True)
        return _text(json.dumps(body, ensure_ascii=False), structured=body)

    # --------------------------------------------------------------------------------- resources
    async def list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(
            resources=[
                types.Resource(uri=e.uri, name=e.name, description=e.description, mime_type="application/json")
                for e in resources.listed(self.work)
            ]
        )

    async def list_templates(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=t.uri_template, name=t.name, description=t.description, mime_type="application/json"
                )
                for t in resources.TEMPLATES
            ]
        )

    async def read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            text = await resources.read(self.work, uri)
        except NotFound as exc:
            raise MCPError(RESOURCE_NOT_FOUND, str(exc), {"uri": uri}) from None
        except (LifeError, ValueError) as exc:
            raise MCPError(INVALID_PARAMS, str(exc), {"uri": uri}) from None
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=text)]
        )
