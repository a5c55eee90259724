"""A fake LLM server on 127.0.0.1 speaking both streaming wire protocols the providers use.

``POST /v1/messages`` answers in Anthropic Messages SSE (``message_start``, ``content_block_*`` with
``thinking_delta`` / ``text_delta`` / ``input_json_delta``, ``message_delta``, ``message_stop``);
``POST /v1/chat/completions`` answers in OpenAI chat-completion chunks ending with ``data: [DONE]``.
Both render the same protocol-neutral :class:`Reply`, taken from one FIFO queue per server, so a test
scripts *what* the model says and the endpoint decides *how* it is spelled::

    with FakeLLMServer() as srv:
        srv.enqueue(Reply(text=["Hel", "lo"]), Reply.error(429, retry_after=2))
        provider = AnthropicProvider("claude-x", api_key="k", base_url=srv.anthropic_url)
        ...
        assert srv.requests[0].body["system"][0]["cache_control"] == {"type": "ephemeral"}

Streams use HTTP/1.1 chunked encoding, so a scripted connection drop (``drop_after``) is an incomplete
body the client's HTTP stack reports as an error, as a real dropped connection would be. Every request is
recorded (path, lower-cased headers, parsed JSON body) before it is answered. A request with nothing
scripted gets ``default`` if set, otherwise a 400 naming the problem (not retryable, so a test that
under-scripts fails fast). Only streaming requests are supported (``"stream": true``).
"""

from __future__ import annotations

import collections
import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self

ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
OPENAI_ERROR_CODES = {
    400: "invalid_request_error",
    401: "invalid_api_key",
    403: "permission_denied",
    404: "model_not_found",
    429: "rate_limit_exceeded",
    500: "server_error",
}
OPENAI_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "refusal": "content_filter",
}


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call in a scripted reply. ``arguments`` as a ``str`` is sent verbatim (it may be malformed)."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None
    """Default: ``toolu_fake_<n>`` (Anthropic) / ``call_fake_<n>`` (OpenAI)."""


@dataclass(frozen=True)
class FakeUsage:
    """Usage numbers to report, in neutral names (rendered per protocol)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    """Anthropic ``cache_read_input_tokens`` / OpenAI ``prompt_tokens_details.cached_tokens``."""
    cache_write_tokens: int = 0
    """Anthropic ``cache_creation_input_tokens`` / OpenAI ``prompt_tokens_details.cache_write_tokens``."""
    reasoning_tokens: int = 0
    """Anthropic ``output_tokens_details.thinking_tokens`` / OpenAI ``completion_tokens_details.reasoning_tokens``."""


@dataclass(frozen=True)
class Reply:
    """One scripted response. The default is a 200 stream; set ``status`` >= 400 for an HTTP error.

    Content is streamed in this order: reasoning deltas, text deltas, then each tool call's argument
    fragments. A "delta" below is one such streamed piece (the unit of ``drop_after`` and friends).
    """

    text: Sequence[str] = ()
    """Text deltas, in order (their concatenation is the reply's text)."""
    reasoning: Sequence[str] = ()
    """Thinking / reasoning deltas, sent before the text."""
    tool_calls: Sequence[FakeToolCall] = ()
    stop_reason: str | None = None
    """Neutral stop reason (end_turn, tool_use, max_tokens, stop_sequence, refusal) or a raw protocol
    value passed through unchanged. None: ``tool_use`` when there are tool calls, else ``end_turn``."""
    usage: FakeUsage | None = field(default_factory=lambda: FakeUsage(input_tokens=10, output_tokens=5))
    """None: OpenAI sends no usage at all (like many local servers); Anthropic reports zeros."""
    model: str | None = None
    """Model name reported in the stream (default: the requested model)."""
    reasoning_field: str = "reasoning_content"
    """OpenAI only: the delta field carrying reasoning (``reasoning_content`` or ``reasoning``)."""
    argument_pieces: int = 3
    """Each tool call's JSON arguments are split into about this many fragments."""

    status: int = 200
    """HTTP status; >= 400 sends a JSON error body in the protocol's shape instead of a stream."""
    error_message: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra response headers (e.g. ``retry-after``)."""

    drop_after: int | None = None
    """Close the socket mid-body after this many deltas (0: right after the stream's first event)."""
    garbage_after: int | None = None
    """Send an undecodable SSE event after this many deltas (at the end if there are fewer), then end."""
    error_event_after: int | None = None
    """Anthropic: send ``event: error`` (type ``error_event_type``) after this many deltas; OpenAI: a
    ``data: {"error": ...}`` chunk."""
    error_event_type: str = "overloaded_error"
    stall: float = 0.0
    """Pause this many seconds after ``stall_after`` deltas (for idle-timeout tests)."""
    stall_after: int = 0
    truncate: bool = False
    """End the body cleanly but early: no ``message_stop`` / finish_reason / ``[DONE]``."""
    raw_sse: bytes | None = None
    """Send exactly these bytes as a 200 ``text/event-stream`` body (escape hatch for odd streams)."""

    @classmethod
    def error(
        cls,
        status: int,
        *,
        retry_after: float | str | None = None,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """An HTTP error reply, optionally with a ``retry-after`` header."""
        all_headers = dict(headers or {})
        if retry_after is not None:
            all_headers["retry-after"] = str(retry_after)
        return cls(status=status, error_message=message, headers=all_headers)

    @classmethod
    def malformed(cls, *, after: int = 0, text: Sequence[str] = ("Hello", " world")) -> Reply:
        """A stream that turns into undecodable garbage after ``after`` deltas."""
        return cls(text=text, garbage_after=after)

    @classmethod
    def drop(cls, *, after: int = 0, text: Sequence[str] = ("one ", "two ", "three")) -> Reply:
        """A stream whose connection is cut after ``after`` deltas."""
        return cls(text=text, drop_after=after)


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    """Lower-cased header names."""
    body: Any
    """The parsed JSON body (None when it was not JSON; see ``raw``)."""
    raw: bytes


@dataclass
class _Chunk:
    data: bytes
    delta: bool = False


class _Interrupted(Exception):
    pass


class FakeLLMServer:
    """A scripted fake of both LLM HTTP APIs on ``127.0.0.1:<free port>``, served from a thread.

    Use as a context manager (``with FakeLLMServer() as srv``) or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self, *, host: str = "127.0.0.1", default: Reply | None = None) -> None:
        self._host = host
        self._queue: collections.deque[Reply] = collections.deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.default = default
        """Served when the queue is empty (None: answer 400 "nothing scripted")."""

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        server = _QuietServer((self._host, 0), handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-llm-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def anthropic_url(self) -> str:
        """Base URL for the Anthropic SDK (it appends ``/v1/messages`` itself)."""
        return self.url

    @property
    def openai_url(self) -> str:
        """Base URL for the OpenAI SDK (which expects ``/v1`` in it)."""
        return f"{self.url}/v1"

    # -- scripting and inspection ------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        """Queue replies; each request takes the next one, whichever endpoint it hits."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not yet served."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("the fake server has received no request")
            return self._requests[-1]

    def _take(self, recorded: RecordedRequest) -> Reply | None:
        with self._lock:
            self._requests.append(recorded)
            if self._queue:
                return self._queue.popleft()
            return self.default

    def _pause(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _QuietServer(ThreadingHTTPServer):
    """Threads die with the process; a client hanging up (reset, broken pipe) is not an error worth printing."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # a keep-alive connection idle this long is closed (no thread lingers forever)
    fake: FakeLLMServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- request entry -----------------------------------------------------------------------------
    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        recorded = RecordedRequest(
            method="POST",
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw=raw,
        )
        path = self.path.split("?", 1)[0]
        if path.endswith("/v1/messages"):
            protocol: Literal["anthropic", "openai"] = "anthropic"
        elif path.endswith("/chat/completions"):
            protocol = "openai"
        else:
            self._json(404, {"error": {"type": "not_found_error", "message": f"fake server: no route {path}"}})
            return
        reply = self.fake._take(recorded)
        if reply is None:
            self._error(protocol, Reply.error(400, message="fake server: nothing scripted for this request"))
            return
        if reply.status >= 400:
            self._error(protocol, reply)
            return
        if not isinstance(body, dict) or body.get("stream") is not True:
            self._error(protocol, Reply.error(400, message="fake server: only streaming requests are supported"))
            return
        if reply.raw_sse is not None:
            self._stream([_Chunk(reply.raw_sse)], reply)
            return
        model = reply.model or str(body.get("model", "fake-model"))
        if protocol == "anthropic":
            chunks = list(_anthropic_stream(reply, model))
        else:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = list(_openai_stream(reply, model, include_usage=include_usage))
        self._stream(chunks, reply)

    def do_GET(self) -> None:
        self._json(404, {"error": {"type": "not_found_error", "message": "fake server: only POST is served"}})

    # -- responses ---------------------------------------------------------------------------------
    def _json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, protocol: str, reply: Reply) -> None:
        status = reply.status
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        message = reply.error_message or f"fake {status} {phrase}"
        if protocol == "anthropic":
            kind = ANTHROPIC_ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
            payload: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            code = OPENAI_ERROR_CODES.get(status, "server_error" if status >= 500 else "invalid_request_error")
            kind = "server_error" if status >= 500 else "invalid_request_error"
            payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        self._json(status, payload, reply.headers)

    def _stream(self, chunks: list[_Chunk], reply: Reply) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        deltas = 0
        try:
            for index, chunk in enumerate(chunks):
                if reply.stall and deltas == reply.stall_after and (chunk.delta or index == len(chunks) - 1):
                    self.fake._pause(reply.stall)
                    if self.fake._stopping.is_set():
                        raise _Interrupted
                if chunk.delta and reply.drop_after is not None and deltas >= reply.drop_after:
                    self._drop(chunk.data)
                    return
                self._write_chunk(chunk.data)
                if chunk.delta:
                    deltas += 1
            self.wfile.write(b"0\r\n\r\n")
        except (_Interrupted, OSError):
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _drop(self, data: bytes) -> None:
        """Announce a chunk, send half of it, and close the socket: an incomplete chunked body."""
        self.wfile.write(b"%x\r\n%s" % (len(data), data[: len(data) // 2]))
        self.wfile.flush()
        time.sleep(0.02)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()


# -- protocol renderers ----------------------------------------------------------------------------
def _stop_reason(reply: Reply) -> str:
    if reply.stop_reason is not None:
        return reply.stop_reason
    return "tool_use" if reply.tool_calls else "end_turn"


def _arguments_text(call: FakeToolCall) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(dict(call.arguments))


def _pieces(text: str, count: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, count)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _interruptions(reply: Reply, chunks: Iterator[_Chunk], garbage: bytes, error_event: bytes) -> Iterator[_Chunk]:
    """Apply ``garbage_after`` / ``error_event_after`` / ``truncate`` to a rendered stream."""
    deltas = 0
    for chunk in chunks:
        if chunk.delta:
            if reply.garbage_after is not None and deltas >= reply.garbage_after:
                yield _Chunk(garbage)
                return
            if reply.error_event_after is not None and deltas >= reply.error_event_after:
                yield _Chunk(error_event)
                return
            deltas += 1
        yield chunk
    if reply.garbage_after is not None:
        yield _Chunk(garbage)
    elif reply.error_event_after is not None:
        yield _Chunk(error_event)


def _sse(event: str | None, payload: Any) -> bytes:
    data = json.dumps(payload, separators=(",", ":"))
    return (f"event: {event}\ndata: {data}\n\n" if event else f"data: {data}\n\n").encode()


def _anthropic_stream(reply: Reply, model: str) -> Iterator[_Chunk]:
    usage = reply.usage or FakeUsage()
    start_usage: dict[str, Any] = {"input_tokens": usage.input_tokens, "output_tokens": 1}
    if reply.usage is not None:
        start_usage["cache_read_input_tokens"] = usage.cached_tokens
        start_usage["cache_creation_input_tokens"] = usage.cache_write_tokens

    def start(index: int, block: dict[str, Any]) -> _Chunk:
        return _Chunk(
            _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
        )

    def delta(index: int, payload: dict[str, Any], *, counted: bool = True) -> _Chunk:
        event = {"type": "content_block_delta", "index": index, "delta": payload}
        return _Chunk(_sse("content_block_delta", event), counted)

    def stop(index: int) -> _Chunk:
        return _Chunk(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))

    def body() -> Iterator[_Chunk]:
        message: dict[str, Any] = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        }
        yield _Chunk(_sse("message_start", {"type": "message_start", "message": message}))
        index = 0
        if reply.reasoning:
            yield start(index, {"type": "thinking", "thinking": "", "signature": ""})
            for piece in reply.reasoning:
                yield delta(index, {"type": "thinking_delta", "thinking": piece})
            yield delta(index, {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}, counted=False)
            yield stop(index)
            index += 1
        if reply.text:
            yield start(index, {"type": "text", "text": ""})
            yield _Chunk(_sse("ping", {"type": "ping"}))
            for piece in reply.text:
                yield delta(index, {"type": "text_delta", "text": piece})
            yield stop(index)
            index += 1
        for number, call in enumerate(reply.tool_calls):
            yield start(
                index, {"type": "tool_use", "id": call.id or f"toolu_fake_{number}", "name": call.name, "input": {}}
            )
            for piece in _pieces(_arguments_text(call), reply.argument_pieces):
                yield delta(index, {"type": "input_json_delta", "partial_json": piece})
            yield stop(index)
            index += 1
        if reply.truncate:
            return
        delta_usage: dict[str, Any] = {"output_tokens": usage.output_tokens}
        if usage.reasoning_tokens:
            delta_usage["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
        final = {"stop_reason": _stop_reason(reply), "stop_sequence": None}
        yield _Chunk(_sse("message_delta", {"type": "message_delta", "delta": final, "usage": delta_usage}))
        yield _Chunk(_sse("message_stop", {"type": "message_stop"}))

    garbage = b"event: content_block_delta\ndata: {this is not json\n\n"
    error = _sse(
        "error", {"type": "error", "error": {"type": reply.error_event_type, "message": "fake in-stream error"}}
    )
    return _interruptions(reply, body(), garbage, error)


def _openai_stream(reply: Reply, model: str, *, include_usage: bool) -> Iterator[_Chunk]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        payload: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return _sse(None, payload)

    def body() -> Iterator[_Chunk]:
        yield _Chunk(chunk({"role": "assistant", "content": ""}))
        for piece in reply.reasoning:
            yield _Chunk(chunk({reply.reasoning_field: piece}), True)
        for piece in reply.text:
            yield _Chunk(chunk({"content": piece}), True)
        for number, call in enumerate(reply.tool_calls):
            head = {
                "index": number,
                "id": call.id or f"call_fake_{number}",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield _Chunk(chunk({"tool_calls": [head]}))
            for piece in _pieces(_arguments_text(call), reply.argument_pieces):
                yield _Chunk(chunk({"tool_calls": [{"index": number, "function": {"arguments": piece}}]}), True)
        if reply.truncate:
            return
        stop = _stop_reason(reply)
        yield _Chunk(chunk({}, OPENAI_FINISH.get(stop, stop)))
        if include_usage and reply.usage is not None:
            u = reply.usage
            usage = {
                "prompt_tokens": u.input_tokens,
                "completion_tokens": u.output_tokens,
                "total_tokens": u.input_tokens + u.output_tokens,
                "prompt_tokens_details": {"cached_tokens": u.cached_tokens, "cache_write_tokens": u.cache_write_tokens},
                "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
            }
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
            yield _Chunk(_sse(None, payload))
        yield _Chunk(b"data: [DONE]\n\n")

    garbage = b"data: {this is not json\n\n"
    error = _sse(
        None, {"error": {"message": "fake in-stream error", "type": "server_error", "code": reply.error_event_type}}
    )
    return _interruptions(reply, body(), garbage, error)
