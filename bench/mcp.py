"""MCP server benchmark: start-up to the first ``tools/list`` answer, and the ``read_file`` round trip.

    .venv/bin/python bench/mcp.py [--starts 5] [--calls 200] [--work DIR]

Rows:

1. Start-up: from spawning ``python -m life_tui.cli.main mcp`` to the answer of the first ``tools/list``
   (initialize, initialized, tools/list written at once, raw bytes over the pipes), median of ``--starts``
   fresh processes with a fresh journal each. The MCP SDK's own import is about 1 s of it; the row beside
   it is ``python -c "import mcp.server.lowlevel"`` alone.
2. Round trip: ``tools/call read_file`` of a 20-line file (four files in turn), sent one at a time after initialisation,
   median and p95 over ``--calls`` (each call is journaled: requested+started durable before the read,
   completed durable before the answer). Target: median <= 5 ms.

Not part of the test suite; run by hand and report the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


class Server:
    def __init__(self, home: Path, workspace: Path) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LIFE_HOME": str(home), "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "life_tui.cli.main", "mcp", "--workspace", str(workspace)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.stdout = self.proc.stdout

    def send(self, *messages: dict[str, Any]) -> None:
        self.stdin.write(b"".join(line(m) for m in messages))
        self.stdin.flush()

    def wait_for(self, request_id: int) -> dict[str, Any]:
        while True:
            raw = self.stdout.readline()
            if not raw:
                raise RuntimeError("the server closed stdout")
            message: dict[str, Any] = json.loads(raw)
            if message.get("id") == request_id:
                return message

    def close(self) -> None:
        self.stdin.close()
        self.proc.wait(timeout=10)


def start_up(work: Path, starts: int) -> list[float]:
    times = []
    for i in range(starts):
        home, workspace = work / f"start{i}", work / "ws"
        t0 = time.perf_counter()
        server = Server(home, workspace)
        server.send(INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        server.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        server.wait_for(1)
        times.append((time.perf_counter() - t0) * 1000)
        server.close()
    return times


def round_trips(work: Path, calls: int) -> list[float]:
    server = Server(work / "calls", work / "ws")
    server.send(INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    server.wait_for(0)
    times = []
    for i in range(calls + 5):
        request = {
            "jsonrpc": "2.0",
            "id": 100 + i,
            "method": "tools/call",
            "params": {"name": "read_file", "arguments": {"path": f"notes{i % 4}.txt"}},
        }
        t0 = time.perf_counter()
        server.send(request)
        answer = server.wait_for(100 + i)
        if i >= 5:  # the first calls create the server's session and warm the caches
            times.append((time.perf_counter() - t0) * 1000)
        assert not answer["result"]["isError"], answer
    server.close()
    return times


def sdk_import_ms(runs: int = 3) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import mcp.server.lowlevel"], check=True)
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="life-bench-mcp-"))
    (work / "ws").mkdir(parents=True, exist_ok=True)
    for n in range(4):  # calls alternate files: the regulator blocks the same call repeated 3 times in a row
        (work / "ws" / f"notes{n}.txt").write_text("".join(f"line {i}\n" for i in range(20)))
    starts = start_up(work, args.starts)
    trips = round_trips(work, args.calls)
    p95 = statistics.quantiles(trips, n=20)[-1]
    print(f"start to first tools/list answer: median {statistics.median(starts):.0f} ms (n={len(starts)})")
    print(f"  python -c 'import mcp.server.lowlevel' alone: {sdk_import_ms():.0f} ms")
    median = statistics.median(trips)
    print(f"tools/call read_file round trip: median {median:.2f} ms, p95 {p95:.2f} ms (n={len(trips)})")


if __name__ == "__main__":
    main()
