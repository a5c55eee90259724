"""The stdio transport of ``life-tui mcp``: newline-delimited JSON-RPC with strict framing and error replies.

The SDK's own stdio transport silently drops what it cannot parse; a client that sent a malformed line then
waits forever. This transport owns the bytes instead: every line is decoded as strict UTF-8 and parsed as
JSON, and what is not a valid JSON-RPC 2.0 message gets the error the JSON-RPC spec names (-32700 parse
error, -32600 invalid request, with the request's id when it has a usable one), written by the transport
itself while the server keeps serving. Batches (arrays) are refused, since MCP removed them. A request
whose id is still being answered is refused as a duplicate, so each id is answered at most once.

While serving, fd 1 points at stderr and fd 0 at the null device (the wire uses private duplicates), so a
tool, a library or a child process that prints cannot corrupt the protocol stream. Reading happens in a
daemon thread (an abandoned blocking read never holds the process open), writing in one task, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import IO, Any

import anyio
import mcp_types as types
from mcp.shared._context_streams import ContextReceiveStream, ContextSendStream, create_context_streams
from mcp.shared.message import ServerMessageMetadata, SessionMessage

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""Lines longer than this are refused (-32600) and skipped without being held in memory."""
BLOCKING_WRITE_BYTES = 64 * 1024
"""Larger replies are written from a worker thread so a slow reader cannot stall the event loop."""
PARSE_ERROR = -32700
INVALID_REQUEST = -32600


@dataclass
class StdioWire:
    """The protocol's private descriptors, with the standard ones diverted while serving."""

    reader: IO[bytes]
    writer: IO[bytes]
    _restore: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def claim(cls) -> StdioWire:
        sys.stdout.flush()
        wire_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
        wire_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)  # stray writes to fd 1 (tools', libraries', children's) land on stderr
        original_stdout = sys.stdout
        sys.stdout = sys.stderr  # and print() goes straight there, unbuffered by a stdout object
        wire = cls(os.fdopen(wire_in, "rb", buffering=1 << 16), os.fdopen(wire_out, "wb", buffering=0))

        def restore() -> None:
            with contextlib.suppress(OSError, ValueError):
                original_stdout.flush()  # whatever was buffered goes to stderr, not onto the wire
            sys.stdout = original_stdout
            with contextlib.suppress(OSError):
                os.dup2(wire_out, 1)
                os.dup2(wire_in, 0)

        wire._restore.append(restore)
        return wire

    def release(self) -> None:
        for undo in self._restore:
            undo()


def _error(code: int, message: str, request_id: Any = None, data: Any = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}, separators=(",", ":")).encode() + b"\n"


def _usable_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


@dataclass
class Classified:
    """One input line: a message for the server, or the bytes of the error to answer it with."""

    message: types.JSONRPCMessage | None = None
    reply: bytes | None = None


def classify(line: bytes) -> Classified:
    """Decide what one framed line is. Blank lines are ignored (an empty result)."""
    body = line.rstrip(b"\r\n")
    if not body.strip():
        return Classified()
    try:
        text = body.decode("utf-8")
        value = json.loads(text)
    except UnicodeDecodeError as exc:
        return Classified(reply=_error(PARSE_ERROR, "Parse error: the message is not valid UTF-8", data=str(exc)))
    except json.JSONDecodeError as exc:
        return Classified(reply=_error(PARSE_ERROR, "Parse error: the message is not valid JSON", data=str(exc)))
    if isinstance(value, list):
        return Classified(reply=_error(INVALID_REQUEST, "Invalid Request: batches are not supported by MCP"))
    if not isinstance(value, dict):
        return Classified(reply=_error(INVALID_REQUEST, "Invalid Request: a message must be a JSON object"))
    raw_id = value.get("id")
    reply_id = raw_id if _usable_id(raw_id) else None
    if value.get("jsonrpc") != "2.0":
        return Classified(reply=_error(INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"', reply_id))
    if "id" in value and not _usable_id(raw_id):
        return Classified(reply=_error(INVALID_REQUEST, "Invalid Request: an id must be a string or an integer"))
    if "method" in value and not isinstance(value["method"], str):
        return Classified(reply=_error(INVALID_REQUEST, 'Invalid Request: "method" must be a string', reply_id))
    try:
        message = types.jsonrpc_message_adapter.validate_python(value, by_name=False)
    except Exception as exc:  # pydantic's ValidationError: not a request, notification or response
        return Classified(reply=_error(INVALID_REQUEST, "Invalid Request", reply_id, data=str(exc)[:500]))
    return Classified(message=message)


class StdioTransport:
    """Feeds classified messages to the server and writes its replies (and the transport's own errors)."""

    def __init__(self, wire: StdioWire) -> None:
        self.wire = wire
        self.in_flight: set[str | int] = set()
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=256)
        self._out: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.eof = asyncio.Event()

    # ------------------------------------------------------------------------------------- reading
    def _read_lines(self) -> None:
        """Thread: frame stdin by newlines, skipping oversized lines (reported as one ``b""`` marker)."""
        reader = self.wire.reader
        try:
            while True:
                line = reader.readline(MAX_MESSAGE_BYTES + 1)
                if not line:
                    break
                if len(line) > MAX_MESSAGE_BYTES and not line.endswith(b"\n"):
                    while line and not line.endswith(b"\n"):
                        line = reader.readline(MAX_MESSAGE_BYTES)
                    self._put(b"")
                    continue
                self._put(line)
        except (OSError, ValueError) as exc:
            log.debug("stdin closed: %s", exc)
        self._put(None)

    def _put(self, item: bytes | None) -> None:
        future = asyncio.run_coroutine_threadsafe(self._lines.put(item), self._loop)
        with contextlib.suppress(Exception):
            future.result()

    async def _pump_in(self, send: ContextSendStream[SessionMessage | Exception]) -> None:
        async with send:
            while (line := await self._lines.get()) is not None:
                if line == b"":
                    self.reply(_error(INVALID_REQUEST, f"Invalid Request: message over {MAX_MESSAGE_BYTES} bytes"))
                    continue
                found = classify(line)
                if found.reply is not None:
                    self.reply(found.reply)
                if found.message is None:
                    continue
                inner = found.message
                metadata: ServerMessageMetadata | None = None
                if isinstance(inner, types.JSONRPCRequest):
                    if inner.id in self.in_flight:
                        self.reply(_error(INVALID_REQUEST, "Invalid Request: this id is already in use", inner.id))
                        continue
                    self.in_flight.add(inner.id)
                    metadata = ServerMessageMetadata(on_request_unanswered=self._unanswered(inner.id))
                await send.send(SessionMessage(inner, metadata=metadata))
        self.eof.set()

    def _unanswered(self, request_id: str | int) -> Callable[[], Any]:
        async def forget() -> None:
            self.in_flight.discard(request_id)

        return forget

    # ------------------------------------------------------------------------------------- writing
    def reply(self, data: bytes) -> None:
        self._out.put_nowait(data)

    async def _pump_out(self, receive: ContextReceiveStream[SessionMessage]) -> None:
        async with receive:
            async for item in receive:
                message = item.message
                if isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
                    self.in_flight.discard(message.id)
                data = message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
                self.reply(data)
        self._out.put_nowait(None)

    async def _write(self) -> None:
        writer = self.wire.writer
        while (data := await self._out.get()) is not None:
            try:
                if len(data) > BLOCKING_WRITE_BYTES:
                    await asyncio.to_thread(writer.write, data)
                else:
                    writer.write(data)
            except (BrokenPipeError, OSError) as exc:
                log.info("stdout closed: %s", exc)
                self.eof.set()
                return

    @contextlib.asynccontextmanager
    async def streams(
        self,
    ) -> AsyncIterator[tuple[ContextReceiveStream[SessionMessage | Exception], ContextSendStream[SessionMessage]]]:
        """The (read, write) pair ``Server.run`` serves; the writer drains everything before it ends."""
        read_send, read_receive = create_context_streams[SessionMessage | Exception](0)
        write_send, write_receive = create_context_streams[SessionMessage](0)
        threading.Thread(target=self._read_lines, name="mcp-stdin", daemon=True).start()
        async with anyio.create_task_group() as group:
            group.start_soon(self._pump_in, read_send)
            group.start_soon(self._pump_out, write_receive)
            writer = asyncio.ensure_future(self._write())
            try:
                yield read_receive, write_send
            finally:
                await write_send.aclose()
                group.cancel_scope.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                self._out.put_nowait(None)
                await writer
