"""The entry of ``life-tui mcp``: logging on stderr, the stdio wire, the server, and a clean exit.

Order matters: logging is pointed at stderr before anything can log, the wire (fd 0/1) is claimed before
the server starts so nothing but protocol messages ever reaches stdout, and on stdin EOF or SIGTERM/SIGINT
the server stops, every session is closed (a running turn is cancelled and recorded) and the journal is
flushed and closed before the process exits. The MCP SDK is imported here, after the journal opens, so a
start-up error (a locked journal) is reported without paying for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

from life_tui.errors import ExitCode, LifeError
from life_tui.mcp_server.options import ServeOptions

log = logging.getLogger("life_tui.mcp_server")


def configure_logging() -> None:
    """Every log record goes to stderr; ``LIFE_LOG=debug`` (or ``LIFE_DEBUG=1``) turns on debug logging."""
    level_name = os.environ.get("LIFE_LOG", "debug" if os.environ.get("LIFE_DEBUG") else "warning")
    level = getattr(logging, level_name.upper(), logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def serve(options: ServeOptions) -> int:
    """Serve MCP on stdin/stdout until EOF or a signal; returns the process exit code."""
    configure_logging()
    try:
        return asyncio.run(_serve(options))
    except LifeError as exc:
        print(f"life-tui mcp: {exc}", file=sys.stderr)
        return int(exc.exit_code)


async def _serve(options: ServeOptions) -> int:
    from life_tui.mcp_server.workstation import Workstation

    work = await Workstation.open(options)
    try:
        from life_tui.mcp_server.server import LifeMCP
        from life_tui.mcp_server.transport import StdioTransport, StdioWire

        server = LifeMCP(work).build()
        wire = StdioWire.claim()
        try:
            transport = StdioTransport(wire)
            serving = asyncio.current_task()
            loop = asyncio.get_running_loop()
            stopped: list[int] = []

            def stop(signum: int) -> None:
                log.info("signal %d: shutting down", signum)
                stopped.append(signum)
                if serving is not None:
                    serving.cancel()

            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop, signum)
            try:
                async with transport.streams() as (read_stream, write_stream):
                    await server.run(read_stream, write_stream, server.create_initialization_options())
            except asyncio.CancelledError:
                if not stopped:
                    raise
                with contextlib.suppress(ValueError):
                    asyncio.current_task().uncancel()  # type: ignore[union-attr]
            finally:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(signum)
        finally:
            wire.release()
    finally:
        await work.close()
    log.info("stopped")
    return int(ExitCode.OK)
