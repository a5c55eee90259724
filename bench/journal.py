#!/usr/bin/env python3
"""Journal benchmark: our journal against JSONL and SQLite (WAL, synchronous=FULL) baselines, in one run,
on the same generated events, with PASS/FAIL against the journal's performance targets.

    .venv/bin/python bench/journal.py [--quick] [--work DIR] [--json OUT] [--reuse] [--no-5m] [--profile]

Not part of the test suite (``./dev bench journal`` runs it). See bench/README.md for what each row means.
The data generator (bench/_data.py) is the reference harness's (shared/reference/journal_baseline.py).

Parts (``--parts`` selects, default all):
  1  durable append, one event per commit: p50 latency vs one raw ``write 4 KiB + fsync``; ev/s vs JSONL/SQLite g=1
  2  group commit, ``append_batch`` of 64 drafts, one thread: ev/s vs JSONL (fsync per 64) and SQLite (txn per 64)
  3  reopen a 10k-event session inside a 1M-event journal: fold with a snapshot at the head; full decoded replay
  4  count + sum(tokens) by kind over 5M events (1M with --quick or --no-5m) through SqlSession
  5  fork at event 50k of a 100k-event session: time, bytes added; read the fork vs an unforked branch
  6  bytes per event on disk after sealing and compaction vs our canonical JSONL
  7  a fresh ``life-tui query`` process against the 1M journal
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _data as D

REPO = Path(__file__).resolve().parent.parent


def _pin_source() -> None:
    """Measure a commit, not the working tree (others edit life_tui/ while a long run goes on, and lazily
    imported modules would mix versions). Extracts ``git archive REV life_tui`` into WORK/src/COMMIT and
    re-executes with it first on PYTHONPATH; the CLI subprocesses inherit it. ``--tree`` opts out."""
    if os.environ.get("LIFE_BENCH_SRC") or "--tree" in sys.argv or any(a in ("-h", "--help") for a in sys.argv):
        return
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--work", default="/tmp/life-bench")
    pre.add_argument("--rev", default="HEAD")
    known, _ = pre.parse_known_args()
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run([*git, "rev-parse", known.rev], capture_output=True, text=True, check=True).stdout.strip()
    dest = Path(known.work).resolve() / "src" / commit[:12]
    if not (dest / "life_tui" / "__init__.py").exists():
        tmp = dest.with_name(dest.name + ".tmp")
        rmrf(tmp)
        tmp.mkdir(parents=True)
        archive = subprocess.run([*git, "archive", commit, "life_tui"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        rmrf(dest)
        tmp.rename(dest)
    env = dict(os.environ, LIFE_BENCH_SRC=str(dest), LIFE_BENCH_COMMIT=commit)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(dest), os.environ.get("PYTHONPATH", "")) if p)
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)


def rmrf(p: str | Path) -> None:
    p = str(p)
    if os.path.isdir(p):
        shutil.rmtree(p)
    elif os.path.exists(p):
        os.unlink(p)
    for suf in ("-wal", "-shm"):
        if os.path.exists(p + suf):
            os.unlink(p + suf)


if __name__ == "__main__":
    _pin_source()

from life_tui.journal import Journal, JournalOptions, JournalReader  # noqa: E402 (after _pin_source)
from life_tui.journal.snapshots import SnapshotStore, fold  # noqa: E402
from life_tui.kernel.event import Event, EventDraft, encode_event  # noqa: E402

BUILD_VERSION = 3  # bump when the stored build changes shape (forces a rebuild under --reuse)
VENV_BIN = Path(sys.executable).parent
R: dict[str, Any] = {"parts": {}}
PROFILE = False
PROFILE_DIR: Path | None = None
_dec = msgspec.json.Decoder()


# ------------------------------------------------------------------------------------------ helpers
def log(*a: Any) -> None:
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(p / 100.0 * (len(xs) - 1))))
    return xs[k]


def timed(
    fn: Callable[[], Any], reps: int, warmup: int = 1, check: Callable[[Any], None] | None = None
) -> tuple[dict[str, Any], Any]:
    """``warmup`` untimed runs (checked), then ``reps`` timed runs; milliseconds."""
    out = None
    for _ in range(warmup):
        gc.collect()
        out = fn()
        if check:
            check(out)
    ts = []
    for i in range(reps):
        gc.collect()
        t = time.perf_counter()
        out = fn()
        ts.append((time.perf_counter() - t) * 1e3)
        if check and warmup == 0 and i == 0:
            check(out)
    return {"median_ms": med(ts), "min_ms": min(ts), "max_ms": max(ts), "runs_ms": ts}, out


def profile(label: str, fn: Callable[[], Any], top: int = 30) -> None:
    """With --profile: run ``fn`` once under cProfile and save the top functions to the work dir."""
    if not PROFILE or PROFILE_DIR is None:
        return
    gc.collect()
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    buf.write("\n--- by internal time ---\n")
    stats.sort_stats("tottime").print_stats(top)
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    path = PROFILE_DIR / f"{label}.txt"
    path.write_text(buf.getvalue())
    log(f"profile {label} -> {path}")


def expect(ok: bool, detail: object) -> None:
    """A result check (not an assert: it must hold under python -O too)."""
    if not ok:
        raise RuntimeError(f"result check failed: {detail}")


def dir_bytes(path: str | Path) -> int:
    path = str(path)
    if os.path.isfile(path):
        return os.path.getsize(path)
    tot = 0
    for root, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(FileNotFoundError):
                tot += os.path.getsize(os.path.join(root, f))
    return tot


def drafts_of(rows: list[tuple[Any, ...]], *, stamped: bool) -> list[EventDraft]:
    """EventDrafts with dict payloads. ``stamped`` passes the generator's event id and time through."""
    if stamped:
        return [EventDraft(kind=e[4], payload=e[9], occurred_at=e[5], event_id=e[3]) for e in rows]
    return [EventDraft(kind=e[4], payload=e[9]) for e in rows]


def canon_kind(kind: str) -> str:
    return "session_start" if kind == "session.created" else kind


# ------------------------------------------------------------------------------------ configuration
def config(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    big = 1_000_000 if (quick or args.no_5m) else 5_000_000
    return {
        "quick": quick,
        "fsync_n": 300 if quick else 1000,
        "g1_n": 500 if quick else 2000,
        "g64_n": 10_240 if quick else 20_480,
        "append_reps": 3,
        "append_cap_s": 8.0,
        "n_1m": 1_000_000,
        "n_big": big,
        "chunk": 100_000,
        "build_batch": 512,
        "replay_reps": 9 if quick else 21,
        "analytic_reps": 5,
        "fork_n": 100_000,
        "fork_reps": 5 if quick else 9,
        "cli_reps": 5,
    }


# ------------------------------------------------------------------ parts 1+2: durable append
def raw_fsync_latency(d: Path, n: int) -> dict[str, Any]:
    buf = os.urandom(4096)
    out = {}
    for mode in ("write+fsync", "write+fdatasync"):
        p = d / "raw.bin"
        rmrf(p)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        ts = []
        sync = os.fsync if mode == "write+fsync" else os.fdatasync
        for _ in range(n):
            t = time.perf_counter()
            os.write(fd, buf)
            sync(fd)
            ts.append((time.perf_counter() - t) * 1e3)
        os.close(fd)
        os.unlink(p)
        out[mode] = {
            "p50_ms": pct(ts, 50),
            "p90_ms": pct(ts, 90),
            "p99_ms": pct(ts, 99),
            "mean_ms": statistics.fmean(ts),
            "ops_s": n / (sum(ts) / 1e3),
        }
    return out


def run_raw(path: Path, n: int) -> dict[str, Any]:
    """``write(4 KiB) + fsync`` on an appended file, ``n`` times: the physical floor for one commit."""
    rmrf(path)
    buf = os.urandom(4096)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    lat: list[float] = []
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        os.write(fd, buf)
        os.fsync(fd)
        lat.append((time.perf_counter() - t) * 1e3)
    dt = time.perf_counter() - t0
    os.close(fd)
    rmrf(path)
    return {"ev_s": n / dt, "n": n, "lat_ms": lat}


def run_ours(root: Path, drafts: list[EventDraft], group: int, cap_s: float, options: JournalOptions) -> dict[str, Any]:
    rmrf(root)
    j = Journal.open(root, options=options)
    sid = j.create_session("bench-append").session_id
    lat: list[float] = []
    done = 0
    gc.collect()
    t0 = time.perf_counter()
    append, append_batch = j.append, j.append_batch
    while done < len(drafts):
        t = time.perf_counter()
        if group == 1:
            append(sid, "main", drafts[done])
            done += 1
        else:
            b = drafts[done : done + group]
            append_batch(sid, "main", b)
            done += len(b)
        now = time.perf_counter()
        lat.append((now - t) * 1e3)
        if now - t0 > cap_s:
            break
    dt = time.perf_counter() - t0
    j.close()
    rmrf(root)
    return {"ev_s": done / dt, "n": done, "lat_ms": lat}


def run_jsonl(path: Path, rows: list[tuple[Any, ...]], group: int, cap_s: float) -> dict[str, Any]:
    rmrf(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    line = D.jsonl_line
    lat: list[float] = []
    done = 0
    gc.collect()
    t0 = time.perf_counter()
    while done < len(rows):
        t = time.perf_counter()
        b = rows[done : done + group]
        os.write(fd, b"".join(line(e, from_dict=True) for e in b))
        os.fsync(fd)
        done += len(b)
        now = time.perf_counter()
        lat.append((now - t) * 1e3)
        if now - t0 > cap_s:
            break
    dt = time.perf_counter() - t0
    os.close(fd)
    rmrf(path)
    return {"ev_s": done / dt, "n": done, "lat_ms": lat}


def run_sqlite(path: Path, rows: list[tuple[Any, ...]], group: int, cap_s: float) -> dict[str, Any]:
    rmrf(path)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute(D.SQLITE_DDL)
    con.execute(D.SQLITE_IDX)
    dumps = orjson.dumps
    ins = D.SQLITE_INS8
    lat: list[float] = []
    done = 0
    gc.collect()
    t0 = time.perf_counter()
    while done < len(rows):
        t = time.perf_counter()
        b = rows[done : done + group]
        if group == 1:
            e = b[0]
            con.execute(ins, (e[0], e[1], e[2], e[3], e[4], e[5], dumps(e[9]).decode(), e[7]))
        else:
            con.execute("BEGIN")
            con.executemany(ins, [(e[0], e[1], e[2], e[3], e[4], e[5], dumps(e[9]).decode(), e[7]) for e in b])
            con.execute("COMMIT")
        done += len(b)
        now = time.perf_counter()
        lat.append((now - t) * 1e3)
        if now - t0 > cap_s:
            break
    dt = time.perf_counter() - t0
    con.close()
    rmrf(path)
    return {"ev_s": done / dt, "n": done, "lat_ms": lat}


def summarize_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    lat = [x for r in runs for x in r["lat_ms"]]
    return {
        "ev_s": med([r["ev_s"] for r in runs]),
        "runs_ev_s": [r["ev_s"] for r in runs],
        "n": runs[0]["n"],
        "p50_ms": pct(lat, 50),
        "p90_ms": pct(lat, 90),
        "p99_ms": pct(lat, 99),
        "max_ms": max(lat),
    }


def part_append(cfg: dict[str, Any], W: Path, text: D.Corpus) -> None:
    d = W / "append"
    rmrf(d)
    d.mkdir(parents=True)
    meta: dict[str, Any] = {}
    rows = D.rows(next(D.gen_stream(text, cfg["g64_n"], meta, chunk=cfg["g64_n"], seed=D.SEED + 7)))
    drafts = drafts_of(rows, stamped=False)
    cap = cfg["append_cap_s"]
    res: dict[str, Any] = {}

    raw = raw_fsync_latency(d, cfg["fsync_n"])
    res["raw"] = raw
    log("raw sync latency p50:", {k: round(v["p50_ms"], 3) for k, v in raw.items()})

    default = JournalOptions()
    deferred = JournalOptions(seal_events=10**9, seal_on_close_min=10**9)
    plans: dict[str, list[tuple[str, Callable[[], dict[str, Any]]]]] = {
        "g1": [
            ("raw", lambda: run_raw(d / "raw.bin", cfg["fsync_n"])),
            ("ours", lambda: run_ours(d / "j", drafts[: cfg["g1_n"]], 1, cap, default)),
            ("jsonl", lambda: run_jsonl(d / "a.jsonl", rows[: cfg["g1_n"]], 1, cap)),
            ("sqlite", lambda: run_sqlite(d / "a.sqlite", rows[: cfg["g1_n"]], 1, cap)),
        ],
        "g64": [
            ("ours", lambda: run_ours(d / "j", drafts, 64, cap, default)),
            ("ours_no_seal", lambda: run_ours(d / "j", drafts, 64, cap, deferred)),
            ("jsonl", lambda: run_jsonl(d / "a.jsonl", rows, 64, cap)),
            ("sqlite", lambda: run_sqlite(d / "a.sqlite", rows, 64, cap)),
        ],
    }
    for g, plan in plans.items():
        runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _rep in range(cfg["append_reps"]):  # interleaved, so drift hits every side alike
            for name, fn in plan:
                runs[name].append(fn())
        res[g] = {name: summarize_runs(rr) for name, rr in runs.items()}
        log(f"append {g}:", {k: (round(v["ev_s"]), round(v["p50_ms"], 3)) for k, v in res[g].items()})
    profile("append_g1", lambda: run_ours(d / "j", drafts[: cfg["g1_n"]], 1, cap, default))
    profile("append_g64", lambda: run_ours(d / "j", drafts, 64, cap, default))
    profile("append_g64_no_seal", lambda: run_ours(d / "j", drafts, 64, cap, deferred))
    rmrf(d)
    R["parts"]["append"] = res


# ---------------------------------------------------------------------------------------- the build
class Builder:
    """Appends a generated stream through the real Journal, sealing and compacting as the journal's own
    maintenance thread does (seal at ``seal_events``, then compact until nothing is left), but driven
    from this thread so each cost is timed on its own."""

    def __init__(self, root: Path, batch: int, seal_events: int = 10_000) -> None:
        self.root = root
        self.batch = batch
        self.options = JournalOptions(seal_events=seal_events, background=False)
        self.j = Journal.open(root, options=self.options)
        self.bufs: dict[str, list[EventDraft]] = {}
        self.t = {"append": 0.0, "create_session": 0.0, "seal": 0.0, "compact": 0.0, "canonical_bytes": 0.0}
        self.seals = 0
        self.compactions = 0
        self.events = 0
        self.canonical_bytes = 0

    def _maint(self) -> None:
        if self.j.tail_size() >= self.options.seal_events:
            t = time.perf_counter()
            self.j.seal()
            self.t["seal"] += time.perf_counter() - t
            self.seals += 1
            t = time.perf_counter()
            while self.j.compact() is not None:
                self.compactions += 1
            self.t["compact"] += time.perf_counter() - t

    def _flush(self, sid: str) -> None:
        b = self.bufs.pop(sid, None)
        if not b:
            return
        t = time.perf_counter()
        events = self.j.append_batch(sid, "main", b)
        self.t["append"] += time.perf_counter() - t
        self._count(events)
        self._maint()

    def _count(self, events: list[Event]) -> None:
        t = time.perf_counter()
        self.canonical_bytes += sum(len(encode_event(e)) + 1 for e in events)
        self.events += len(events)
        self.t["canonical_bytes"] += time.perf_counter() - t

    def add(self, rows: list[tuple[Any, ...]], ends: dict[str, int]) -> None:
        batch = self.batch
        for e in rows:
            sid = e[0]
            if e[2] == 1:  # the harness's session_start becomes our session.created (seq 1), payload as config
                t = time.perf_counter()
                self.j.create_session(f"bench-{sid[-6:]}", session_id=sid, config=e[9])
                self.t["create_session"] += time.perf_counter() - t
                self.events += 1
                self.canonical_bytes += len(encode_event(self.j.get(sid, "main", 1))) + 1
                continue
            b = self.bufs.get(sid)
            if b is None:
                b = self.bufs[sid] = []
            b.append(EventDraft(kind=e[4], payload=e[9], occurred_at=e[5], event_id=e[3]))
            if len(b) >= batch or ends.get(sid) == e[2]:
                self._flush(sid)

    def finish(self) -> None:
        """Flush every buffer, seal the tail and compact until nothing is left (as a quiet journal would)."""
        for sid in list(self.bufs):
            self._flush(sid)
        t = time.perf_counter()
        if self.j.seal() is not None:
            self.seals += 1
        self.t["seal"] += time.perf_counter() - t
        t = time.perf_counter()
        while self.j.compact() is not None:
            self.compactions += 1
        self.t["compact"] += time.perf_counter() - t

    def reopen(self) -> None:
        self.j.close()
        self.j = Journal.open(self.root, options=self.options)

    def close(self) -> None:
        self.j.close()

    def stats(self) -> dict[str, Any]:
        ours = self.t["append"] + self.t["create_session"] + self.t["seal"] + self.t["compact"]
        segs = self.j.manifest().segments
        return {
            "events": self.events,
            "seals": self.seals,
            "compactions": self.compactions,
            "seconds": dict(self.t),
            "ours_s": ours,
            "ours_ev_s": self.events / ours if ours else None,
            "append_ev_s": self.events / (self.t["append"] + self.t["create_session"]),
            "seal_ev_s": self.events / self.t["seal"] if self.t["seal"] else None,
            "canonical_jsonl_bytes": self.canonical_bytes,
            "segments": len(segs),
            "segment_rows": sum(s.rows for s in segs),
            "segment_bytes": sum(s.size for s in segs),
            "segment_levels": sorted({s.level for s in segs}),
        }


def build(cfg: dict[str, Any], W: Path, text: D.Corpus, reuse: bool) -> dict[str, Any]:
    S = W / "stores"
    info_path = S / "build.json"
    key = {"version": BUILD_VERSION, "n_big": cfg["n_big"], "n_1m": cfg["n_1m"], "batch": cfg["build_batch"]}
    if reuse and info_path.exists():
        info = json.loads(info_path.read_text())
        if info.get("key") == key:
            log(f"reusing the stores in {S} (built {info['built_at']} with {info.get('source')})")
            if info.get("source") != R["source"]:
                log(f"NOTE: the stores were built by other code than this run measures ({R['source']})")
            return info  # type: ignore[no-any-return]
        log("stored build does not match this configuration; rebuilding")
    rmrf(S)
    S.mkdir(parents=True)
    n_big, n_1m = cfg["n_big"], cfg["n_1m"]
    j_big = S / ("journal-big" if n_big > n_1m else "journal-1m")
    j_1m = S / "journal-1m"
    jsonl_big = S / "events_big.jsonl"
    sqlite_big = S / "events_big.sqlite"
    target_jsonl = S / "target_session.jsonl"
    con = sqlite3.connect(sqlite_big, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute(D.SQLITE_DDL)
    jf = open(jsonl_big, "wb")  # noqa: SIM115
    tf = open(target_jsonl, "wb")  # noqa: SIM115
    builder = Builder(j_big, cfg["build_batch"])
    meta: dict[str, Any] = {}
    t_gen = t_jsonl = t_sqlite = 0.0
    pos = 0
    info: dict[str, Any] = {"key": key}
    # Which seq ends each session is only known to the generator; a session's buffer is flushed when
    # it reaches the batch size or when its last event (session_end) arrives.
    it = D.gen_stream(text, n_big, meta, chunk=cfg["chunk"])
    t_start = time.perf_counter()
    while True:
        t = time.perf_counter()
        try:
            c = next(it)
        except StopIteration:
            break
        rows = D.rows(c)
        t_gen += time.perf_counter() - t
        t = time.perf_counter()
        jf.write(D.jsonl_lines(c))
        t_jsonl += time.perf_counter() - t
        t = time.perf_counter()
        con.execute("BEGIN")
        con.executemany(D.SQLITE_INS, D.sqlite_rows(c))
        con.execute("COMMIT")
        t_sqlite += time.perf_counter() - t
        tsid = meta.get("target_sid")
        if tsid:
            tf.write(b"".join(D.jsonl_line(e) for e in rows if e[0] == tsid))
        ends = {e[0]: e[2] for e in rows if e[4] == "session_end"}
        builder.add(rows, ends)
        pos += len(rows)
        if pos == n_1m and n_big > n_1m:
            builder.finish()
            info["build_1m"] = builder.stats()
            builder.close()
            t = time.perf_counter()
            shutil.copytree(j_big, j_1m)
            info["copy_1m_s"] = time.perf_counter() - t
            builder.j = Journal.open(j_big, options=builder.options)
        if pos % 500_000 == 0 or pos == n_big:
            st = builder.stats()
            log(
                f"build: {pos:,} events; gen {t_gen:.0f}s, ours {st['ours_s']:.0f}s "
                f"(append {st['seconds']['append']:.0f}s seal {st['seconds']['seal']:.0f}s "
                f"compact {st['seconds']['compact']:.0f}s), jsonl {t_jsonl:.0f}s, sqlite {t_sqlite:.0f}s"
            )
    builder.finish()
    stats = builder.stats()
    if n_big == n_1m:
        info["build_1m"] = stats
    info["build_big"] = stats
    builder.close()
    jf.close()
    tf.close()
    t = time.perf_counter()
    con.execute(D.SQLITE_IDX)
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    t_sqlite += time.perf_counter() - t
    info.update(
        built_at=time.strftime("%Y-%m-%d %H:%M:%S"),
        source=R["source"],
        wall_s=time.perf_counter() - t_start,
        gen_s=t_gen,
        gen_ev_s=n_big / t_gen,
        jsonl_write_s=t_jsonl,
        sqlite_build_s=t_sqlite,
        meta=meta,
        n_big=n_big,
        n_1m=n_1m,
        j_big=str(j_big),
        j_1m=str(j_1m),
        jsonl_big=str(jsonl_big),
        sqlite_big=str(sqlite_big),
        target_jsonl=str(target_jsonl),
        jsonl_big_bytes=dir_bytes(jsonl_big),
        sqlite_big_bytes=dir_bytes(sqlite_big),
        target_jsonl_bytes=dir_bytes(target_jsonl),
    )
    info_path.write_text(json.dumps(info, indent=1))
    log(
        f"build done in {info['wall_s']:.0f}s: ours {stats['ours_ev_s']:,.0f} ev/s "
        f"(append {stats['append_ev_s']:,.0f}, seal {stats['seal_ev_s']:,.0f}), gen {info['gen_ev_s']:,.0f} ev/s"
    )
    return info


# --------------------------------------------------------------------------------- part 3: replay
class KindTokens:
    """A simple projection: events and tokens per kind (decodes every payload it folds)."""

    name = "bench.kind_tokens"
    version = 1

    def initial(self) -> dict[str, Any]:
        return {"kinds": {}, "tokens": 0}

    def apply(self, state: dict[str, Any], event: Event) -> dict[str, Any]:
        kinds = state["kinds"]
        kinds[event.kind] = kinds.get(event.kind, 0) + 1
        tokens = _dec.decode(event.payload).get("tokens")
        if isinstance(tokens, int):
            state["tokens"] += tokens
        return state

    def encode(self, state: dict[str, Any]) -> bytes:
        return msgspec.json.encode(state)

    def decode(self, data: bytes) -> dict[str, Any]:
        return msgspec.json.decode(data)  # type: ignore[no-any-return]


def part_replay(cfg: dict[str, Any], W: Path, info: dict[str, Any]) -> None:
    root = Path(info["j_1m"])
    sid = info["meta"]["target_sid"]
    n = info["meta"]["target_len"]
    reps = cfg["replay_reps"]
    res: dict[str, Any] = {"target_events": n}

    t, _ = timed(lambda: JournalReader.open(root), 5)
    res["reader_open_ms"] = t
    reader = JournalReader.open(root)
    expect(reader.head(sid) == n, (reader.head(sid), n))

    def check(out: list[Any]) -> None:
        expect(len(out) == n, len(out))
        expect([e[0] for e in out] == list(range(1, n + 1)), "seqs are not 1..n in order")

    def replay_decoded() -> list[Any]:
        dec = _dec.decode
        return [(e.seq, e.kind, dec(e.payload)) for chunk in reader.iter_chunks(sid, "main") for e in chunk]

    def replay_events() -> list[Any]:
        return [(e.seq, e.kind) for chunk in reader.iter_chunks(sid, "main") for e in chunk]

    res["replay_decoded"], _ = timed(replay_decoded, reps, check=check)
    res["replay_no_decode"], _ = timed(replay_events, reps, check=check)
    chunks = list(reader.iter_chunks(sid, "main"))
    res["replay_chunks"] = len(chunks)
    payloads = [e.payload for c in chunks for e in c]
    res["decode_only"], _ = timed(lambda: [_dec.decode(p) for p in payloads], reps)
    del chunks

    proj = KindTokens()
    fold(reader, proj, sid, save_after=1)  # a snapshot at the head

    def fold_warm() -> Any:
        r = fold(reader, proj, sid, save_after=10**9)
        expect(r.from_snapshot == n and r.folded == 0, r)
        return r

    res["fold_snapshot_at_head"], _ = timed(fold_warm, reps)
    behind = 2_000
    state = proj.initial()
    for e in reader.read(sid, "main", through=n - behind):
        state = proj.apply(state, e)
    store = SnapshotStore(reader.layout.snapshots)
    store.save(sid, "main", proj, state, n - behind, reader.hash_at(sid, "main", n - behind))

    def fold_behind() -> Any:
        r = fold(reader, proj, sid, save_after=10**9)
        expect(r.from_snapshot == n - behind and r.folded == behind, r)
        return r

    res["fold_snapshot_2k_behind"], _ = timed(fold_behind, reps)
    empty = SnapshotStore(W / "no-snapshots")

    def fold_cold() -> Any:
        r = fold(reader, proj, sid, snapshots=empty, save_after=10**9)
        expect(r.from_snapshot is None and r.folded == n, r)
        return r

    res["fold_no_snapshot"], _ = timed(fold_cold, max(3, reps // 3))
    fold(reader, proj, sid, save_after=1)  # leave the snapshot at the head for the next run
    rmrf(W / "no-snapshots")

    tpath = info["target_jsonl"]
    loads = orjson.loads

    def jsonl_session() -> list[Any]:
        with open(tpath, "rb") as f:
            return [(d["seq"], d["kind"], d["payload"]) for d in map(loads, f)]

    res["jsonl_per_session"], _ = timed(jsonl_session, reps, check=check)
    log("replay:", {k: round(v["median_ms"], 2) for k, v in res.items() if isinstance(v, dict) and "median_ms" in v})
    profile("replay_decoded", lambda: [replay_decoded() for _ in range(3)])
    profile("fold_snapshot_at_head", lambda: [fold(reader, proj, sid, save_after=10**9) for _ in range(20)])
    R["parts"]["replay"] = res


# ------------------------------------------------------------------------------ part 4: analytics
def canon_rows(rows: list[tuple[Any, ...]]) -> dict[str, tuple[int, int | None]]:
    out: dict[str, tuple[int, int | None]] = {}
    for kind, count, tokens in rows:
        k = canon_kind(kind)
        out[k] = (int(count), None if k in ("session_start",) or tokens is None else int(tokens))
    return out


def part_analytics(cfg: dict[str, Any], W: Path, info: dict[str, Any]) -> None:
    from life_tui.journal.sql import SqlSession

    n = info["n_big"]
    res: dict[str, Any] = {"events": n}
    q = "SELECT kind, count(*), sum(tokens) FROM events GROUP BY 1"
    t = time.perf_counter()
    reader = JournalReader.open(Path(info["j_big"]))
    res["reader_open_ms"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    session = SqlSession(reader)
    res["sql_session_ms"] = (time.perf_counter() - t) * 1e3

    def ours() -> list[tuple[Any, ...]]:
        table = session.query(q)
        assert table is not None
        return list(zip(*(c.to_pylist() for c in table.columns), strict=True))

    res["ours"], rows_ours = timed(ours, cfg["analytic_reps"])
    res["ours_count_only"], _ = timed(
        lambda: session.query("SELECT kind, count(*) FROM events GROUP BY 1"), cfg["analytic_reps"]
    )
    expect = canon_rows(rows_ours)
    log(f"analytics ours: {res['ours']['median_ms']:.1f} ms (session {res['sql_session_ms']:.0f} ms)")
    profile("analytics", lambda: [ours() for _ in range(3)])

    def check(out: list[tuple[Any, ...]]) -> None:
        got = canon_rows(out)
        if got != expect:
            diff = {k: (got.get(k), expect.get(k)) for k in set(got) | set(expect) if got.get(k) != expect.get(k)}
            raise AssertionError(f"analytics results differ from ours: {diff}")

    con = sqlite3.connect(info["sqlite_big"])
    sq = "SELECT kind, count(*), sum(tokens) FROM events GROUP BY kind"
    slow = n > 1_000_000
    res["sqlite"], _ = timed(lambda: con.execute(sq).fetchall(), 3 if not slow else 2, warmup=1, check=check)
    con.close()
    log(f"analytics sqlite: {res['sqlite']['median_ms']:.0f} ms")
    loads = orjson.loads
    path = info["jsonl_big"]

    def jsonl_py() -> list[tuple[Any, ...]]:
        cnt: dict[str, int] = defaultdict(int)
        tok: dict[str, int] = defaultdict(int)
        with open(path, "rb") as f:
            for line in f:
                d = loads(line)
                k = d["kind"]
                cnt[k] += 1
                tok[k] += d["payload"]["tokens"]
        return [(k, cnt[k], tok[k]) for k in cnt]

    res["jsonl_python"], _ = timed(jsonl_py, 1, warmup=0, check=check)
    log(f"analytics jsonl: {res['jsonl_python']['median_ms']:.0f} ms")
    session.close()
    R["parts"]["analytics"] = res


# ---------------------------------------------------------------------------------- part 5: fork
def part_fork(cfg: dict[str, Any], W: Path, text: D.Corpus) -> None:
    root = W / "fork"
    rmrf(root)
    n = cfg["fork_n"]
    at = n // 2
    meta: dict[str, Any] = {}
    rows = D.rows(next(D.gen_stream(text, n, meta, chunk=n, seed=D.SEED + 99, single_session=True)))
    sid = meta["target_sid"]
    builder = Builder(root, 1024)
    builder.add(rows, {sid: n})
    builder.finish()
    res: dict[str, Any] = {"session_events": n, "fork_at": at, "build": builder.stats()}
    j = builder.j
    del rows

    def sizes() -> dict[str, int]:
        return {
            "wal": dir_bytes(j.layout.wal),
            "segments": dir_bytes(j.layout.segments),
            "manifest": dir_bytes(j.layout.manifest),
        }

    j.fork(sid, "main", at, "warm-up")  # opens the segment (and proves its digest) once
    times, added = [], []
    for i in range(cfg["fork_reps"]):
        name = f"fork-{i + 1}"
        before = sizes()
        gc.collect()
        t = time.perf_counter()
        j.fork(sid, "main", at, name)
        times.append((time.perf_counter() - t) * 1e3)
        after = sizes()
        ev = j.get(sid, name, at + 1)
        frame = 24 + 2 + len(encode_event(ev))  # frame header + "[...]" + the branch.created event
        added.append({k: after[k] - before[k] for k in after} | {"branch_created_frame": frame})
    res["fork_ms"] = {"median_ms": med(times), "min_ms": min(times), "max_ms": max(times), "runs_ms": times}
    res["bytes_added"] = added
    res["segment_bytes_added_max"] = max(a["segments"] for a in added)
    res["wal_bytes_beyond_event_max"] = max(a["wal"] - a["branch_created_frame"] for a in added)
    log(f"fork: {res['fork_ms']['median_ms']:.2f} ms, added {added[0]}")
    profile("fork", lambda: [j.fork(sid, "main", at, f"prof-{k}") for k in range(20)])

    g = D.Gen(D.SEED + 100, text)
    new = []
    for _ in range(1000):
        kind = D.KINDS[g.r.randrange(len(D.KINDS))]
        new.append(EventDraft(kind=kind, payload=g.payload(kind)[2]))
    for i in range(0, len(new), 100):
        j.append_batch(sid, "fork-1", new[i : i + 100])
    j.seal()  # the fork's own events go to a segment too, so both reads come from segments
    nread = at + 1 + len(new)  # the fork's own branch.created event, then the new events

    def check(out: list[Event]) -> None:
        expect(len(out) == nread and out[0].seq == 1 and out[-1].seq == nread, (len(out), out[-1].seq))

    reps = cfg["replay_reps"] // 2 + 1
    res["read_fork"], _ = timed(lambda: j.read(sid, "fork-1"), reps, check=check)
    res["read_main_prefix"], _ = timed(lambda: j.read(sid, "main", through=nread), reps, check=check)

    def decoded(branch: str, through: int | None) -> list[Any]:
        return [_dec.decode(e.payload) for e in j.read(sid, branch, through=through)]

    res["read_fork_decoded"], _ = timed(lambda: decoded("fork-1", None), reps)
    res["read_main_prefix_decoded"], _ = timed(lambda: decoded("main", nread), reps)
    res["read_ratio"] = res["read_fork"]["median_ms"] / res["read_main_prefix"]["median_ms"]
    res["read_ratio_decoded"] = res["read_fork_decoded"]["median_ms"] / res["read_main_prefix_decoded"]["median_ms"]
    log(
        f"fork read: fork {res['read_fork']['median_ms']:.0f} ms"
        f" vs main prefix {res['read_main_prefix']['median_ms']:.0f} ms"
    )
    builder.close()
    rmrf(root)
    R["parts"]["fork"] = res


# ---------------------------------------------------------------------------------- part 6: bytes
def part_bytes(info: dict[str, Any]) -> None:
    res = {}
    for label, key in (("1m", "build_1m"), ("big", "build_big")):
        b = info[key]
        res[label] = {
            "events": b["events"],
            "segments": b["segments"],
            "segment_levels": b["segment_levels"],
            "segment_bytes_per_event": b["segment_bytes"] / b["segment_rows"],
            "canonical_jsonl_bytes_per_event": b["canonical_jsonl_bytes"] / b["events"],
            "all_sealed": b["segment_rows"] == b["events"],
        }
        res[label]["ratio"] = res[label]["segment_bytes_per_event"] / res[label]["canonical_jsonl_bytes_per_event"]
    res["big"]["harness_jsonl_bytes_per_event"] = info["jsonl_big_bytes"] / info["n_big"]
    res["big"]["sqlite_bytes_per_event"] = info["sqlite_big_bytes"] / info["n_big"]
    res["journal_dir_bytes_1m"] = dir_bytes(info["j_1m"])
    R["parts"]["bytes"] = res


# ----------------------------------------------------------------------------------- part 7: CLI
def part_cli(cfg: dict[str, Any], W: Path, info: dict[str, Any]) -> None:
    home = W / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIFE_", "PYTHON"))}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]  # the pinned source (see _pin_source)
    env.update(LIFE_JOURNAL=info["j_1m"], LIFE_HOME=str(home))
    cli = str(VENV_BIN / "life-tui")
    query = [cli, "query", "SELECT kind, count(*) FROM events GROUP BY 1"]

    def run(args: list[str], first_row: bool = False) -> tuple[float, float]:
        t = time.perf_counter()
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(W))
        assert p.stdout is not None
        t_row = None
        if first_row:
            p.stdout.readline()  # the header
            line = p.stdout.readline()
            t_row = (time.perf_counter() - t) * 1e3
            expect(bool(line.strip()), "no rows printed")
        _, err = p.communicate()
        wall = (time.perf_counter() - t) * 1e3
        if p.returncode != 0:
            raise RuntimeError(f"{args} failed ({p.returncode}): {err.decode()[-2000:]}")
        return (t_row if t_row is not None else wall), wall

    res: dict[str, Any] = {}
    py = str(VENV_BIN / "python")
    where = subprocess.run([py, "-c", "import life_tui; print(life_tui.__file__)"], env=env, cwd=str(W),
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    res["life_tui_imported_from"] = where
    log(f"cli: life_tui imported from {where}")
    for name, args, fr in (
        ("python -c pass", [py, "-c", "pass"], False),
        ("import duckdb", [py, "-c", "import duckdb"], False),
        ("life-tui --version", [cli, "--version"], False),
        ("life-tui query", query, True),
    ):
        run(args, fr)  # warm-up (the first query also proves the segment digests and saves the proofs)
        runs = [run(args, fr) for _ in range(cfg["cli_reps"])]
        res[name] = {"first_row_ms": med([r[0] for r in runs]), "wall_ms": med([r[1] for r in runs]), "runs": runs}
        log(f"cli {name}: {res[name]['first_row_ms']:.0f} ms (exit {res[name]['wall_ms']:.0f} ms)")
    if PROFILE and PROFILE_DIR is not None:
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
        out = PROFILE_DIR / "cli_importtime.txt"
        p = subprocess.run([py, "-X", "importtime", cli, *query[1:]], env=env, capture_output=True, check=True)
        out.write_bytes(p.stderr)
        p = subprocess.run(
            [py, "-m", "cProfile", "-s", "cumulative", cli, *query[1:]], env=env, capture_output=True, check=True
        )
        (PROFILE_DIR / "cli_cprofile.txt").write_bytes(p.stdout[:200_000])
        log(f"profile cli -> {out}")
    R["parts"]["cli"] = res


# --------------------------------------------------------------------------------------- summary
def fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "–"
    if abs(x) >= 1000:
        s = f"{x:,.0f}"
    elif abs(x) >= 100:
        s = f"{x:.0f}"
    elif abs(x) >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return s + unit


def summary(cfg: dict[str, Any], info: dict[str, Any] | None) -> list[dict[str, Any]]:
    P = R["parts"]
    rows: list[dict[str, Any]] = []

    def row(num: str, metric: str, ours: str, base: str, ratio: str, target: str, ok: bool | None) -> None:
        rows.append(
            {
                "#": num,
                "metric": metric,
                "ours": ours,
                "baselines": base,
                "ratio": ratio,
                "target": target,
                "result": "–" if ok is None else ("PASS" if ok else "FAIL"),
            }
        )

    if "append" in P:
        a = P["append"]
        raw = a["g1"]["raw"]["p50_ms"]  # measured in the same interleaved reps as ours
        raw_p99 = a["g1"]["raw"]["p99_ms"]
        o1 = a["g1"]["ours"]
        row(
            "1",
            "durable append g=1, p50 latency",
            fmt(o1["p50_ms"], " ms"),
            f"raw write 4KiB+fsync {fmt(raw, ' ms')} (before the reps: fsync "
            f"{fmt(a['raw']['write+fsync']['p50_ms'])}, fdatasync {fmt(a['raw']['write+fdatasync']['p50_ms'], ' ms')})",
            f"{o1['p50_ms'] / raw:.2f}x raw",
            "<= 1.3x raw fsync",
            o1["p50_ms"] <= 1.3 * raw,
        )
        row(
            "1b",
            "durable append g=1, p99 latency",
            fmt(o1["p99_ms"], " ms"),
            f"raw p99 {fmt(raw_p99, ' ms')}",
            f"{o1['p99_ms'] / raw_p99:.2f}x",
            "info",
            None,
        )
        j1, s1 = a["g1"]["jsonl"]["ev_s"], a["g1"]["sqlite"]["ev_s"]
        row(
            "1c",
            "durable append g=1, ev/s",
            fmt(o1["ev_s"]),
            f"JSONL {fmt(j1)}, SQLite FULL {fmt(s1)}",
            f"{o1['ev_s'] / j1:.2f}x JSONL, {o1['ev_s'] / s1:.2f}x SQLite",
            "info (ref: >= 1.0x both)",
            None,
        )
        o64, n64 = a["g64"]["ours"], a["g64"]["ours_no_seal"]
        j64, s64 = a["g64"]["jsonl"]["ev_s"], a["g64"]["sqlite"]["ev_s"]
        row(
            "2",
            "group commit g=64 (append_batch), ev/s",
            fmt(o64["ev_s"]),
            f"JSONL {fmt(j64)}, SQLite FULL {fmt(s64)}",
            f"{o64['ev_s'] / j64:.2f}x JSONL, {o64['ev_s'] / s64:.2f}x SQLite",
            ">= 1.0x JSONL and >= 1.8x SQLite",
            o64["ev_s"] >= j64 and o64["ev_s"] >= 1.8 * s64,
        )
        row(
            "2b",
            "  same, sealing deferred (no seal during run)",
            fmt(n64["ev_s"]),
            "",
            f"{n64['ev_s'] / j64:.2f}x JSONL, {n64['ev_s'] / s64:.2f}x SQLite",
            "info",
            None,
        )
        row(
            "2c",
            "  g=64 commit latency p50 / p99",
            f"{fmt(o64['p50_ms'])} / {fmt(o64['p99_ms'], ' ms')}",
            f"JSONL {fmt(a['g64']['jsonl']['p50_ms'])} / {fmt(a['g64']['jsonl']['p99_ms'], ' ms')}",
            "",
            "info",
            None,
        )
    if "replay" in P:
        r = P["replay"]
        jl = r["jsonl_per_session"]["median_ms"]
        fh = r["fold_snapshot_at_head"]["median_ms"]
        row(
            "3a",
            "reopen 10k session in 1M: fold, snapshot at head",
            fmt(fh, " ms"),
            f"JSONL per-session {fmt(jl, ' ms')}",
            f"{fh / jl:.2f}x JSONL",
            "<= 20 ms",
            fh <= 20,
        )
        rd = r["replay_decoded"]["median_ms"]
        row(
            "3b",
            "full replay, every payload decoded",
            fmt(rd, " ms") + f" [min {fmt(r['replay_decoded']['min_ms'])}]",
            f"JSONL per-session {fmt(jl, ' ms')}",
            f"{rd / jl:.2f}x JSONL",
            "<= 60 ms",
            rd <= 60,
        )
        row(
            "3c",
            "  replay without payload decode",
            fmt(r["replay_no_decode"]["median_ms"], " ms"),
            f"decode alone {fmt(r['decode_only']['median_ms'], ' ms')}",
            "",
            "info",
            None,
        )
        row(
            "3d",
            "  fold, snapshot 2k events behind head",
            fmt(r["fold_snapshot_2k_behind"]["median_ms"], " ms"),
            "",
            "",
            "info",
            None,
        )
        row(
            "3e",
            "  fold, no snapshot (10k events)",
            fmt(r["fold_no_snapshot"]["median_ms"], " ms"),
            "",
            "",
            "info",
            None,
        )
        row(
            "3f",
            "  JournalReader.open (1M journal)",
            fmt(r["reader_open_ms"]["median_ms"], " ms"),
            "",
            "",
            "info",
            None,
        )
    if "analytics" in P:
        a = P["analytics"]
        n = a["events"]
        o, s, jp = a["ours"]["median_ms"], a["sqlite"]["median_ms"], a["jsonl_python"]["median_ms"]
        label = f"count+sum(tokens) by kind, {n // 1_000_000}M events, warm"
        target_ok = o <= 150 if n >= 5_000_000 else None
        row(
            "4",
            label,
            fmt(o, " ms"),
            f"SQLite column {fmt(s, ' ms')}, JSONL Python {fmt(jp, ' ms')}",
            f"{s / o:.0f}x faster than SQLite, {jp / o:.0f}x than JSONL",
            "<= 150 ms at 5M" + ("" if n >= 5_000_000 else " (not run at 5M: info only)"),
            target_ok,
        )
        row(
            "4b",
            "  SqlSession() creation (views, digest proofs)",
            fmt(a["sql_session_ms"], " ms"),
            "",
            "",
            "info",
            None,
        )
    if "fork" in P:
        f = P["fork"]
        fm = f["fork_ms"]["median_ms"]
        ok = fm <= 5 and f["segment_bytes_added_max"] == 0 and f["wal_bytes_beyond_event_max"] <= 0
        row(
            "5",
            "fork at 50k of a 100k session",
            fmt(fm, " ms"),
            f"segments +{f['segment_bytes_added_max']} B, WAL +{f['bytes_added'][0]['wal']} B "
            f"(branch.created frame {f['bytes_added'][0]['branch_created_frame']} B)",
            "",
            "<= 5 ms, no events copied",
            ok,
        )
        row(
            "5b",
            "  read 51k forked branch vs unforked",
            f"{fmt(f['read_fork']['median_ms'])} vs {fmt(f['read_main_prefix']['median_ms'], ' ms')}",
            f"decoded: {fmt(f['read_fork_decoded']['median_ms'])}"
            f" vs {fmt(f['read_main_prefix_decoded']['median_ms'], ' ms')}",
            f"{f['read_ratio']:.2f}x ({f['read_ratio_decoded']:.2f}x decoded)",
            "info (ref: <= 1.15x)",
            None,
        )
    if "bytes" in P:
        b = P["bytes"]["big"]
        row(
            "6",
            f"bytes/event sealed+compacted ({b['events'] // 1_000_000}M)",
            fmt(b["segment_bytes_per_event"], " B"),
            f"canonical JSONL {fmt(b['canonical_jsonl_bytes_per_event'], ' B')}, harness JSONL "
            f"{fmt(b['harness_jsonl_bytes_per_event'], ' B')}, SQLite {fmt(b['sqlite_bytes_per_event'], ' B')}",
            f"{b['ratio']:.2f}x canonical JSONL",
            "<= 0.4x",
            b["ratio"] <= 0.4,
        )
    if "cli" in P:
        c = P["cli"]
        q = c["life-tui query"]
        row(
            "7",
            "fresh `life-tui query` process, first row (1M)",
            fmt(q["first_row_ms"], " ms"),
            f"python -c pass {fmt(c['python -c pass']['wall_ms'], ' ms')}, "
            f"import duckdb {fmt(c['import duckdb']['wall_ms'], ' ms')}, "
            f"life-tui --version {fmt(c['life-tui --version']['wall_ms'], ' ms')}",
            "",
            "<= 400 ms",
            q["first_row_ms"] <= 400,
        )
    if info is not None:
        b = info["build_big"]
        s = b["seconds"]
        row(
            "B",
            f"build {info['n_big'] // 1_000_000}M events through Journal",
            fmt(b["ours_ev_s"], " ev/s"),
            f"append {fmt(b['append_ev_s'])}/s ({s['append']:.0f}s), seal {fmt(b['seal_ev_s'])}/s ({s['seal']:.0f}s), "
            f"compact {s['compact']:.0f}s; gen {fmt(info['gen_ev_s'])}/s; JSONL write {info['jsonl_write_s']:.0f}s, "
            f"SQLite insert+index {info['sqlite_build_s']:.0f}s",
            "",
            "info",
            None,
        )
    return rows


def print_table(rows: list[dict[str, Any]]) -> str:
    cols = ["#", "metric", "ours", "baselines", "ratio", "target", "result"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    lines = [" | ".join(c.ljust(widths[c]) for c in cols), "-+-".join("-" * widths[c] for c in cols)]
    lines += [" | ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    import duckdb
    import pyarrow

    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split()[1]
    except OSError:
        pass
    git = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain", "life_tui"], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()
    )
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "mem_kib": mem,
        "platform": platform.platform(),
        "duckdb": duckdb.__version__,
        "pyarrow": pyarrow.__version__,
        "msgspec": msgspec.__version__,
        "git": git + ("+dirty" if dirty else ""),
    }


def source() -> str:
    """What life_tui code this process measures."""
    import life_tui

    commit = os.environ.get("LIFE_BENCH_COMMIT")
    if commit and os.environ.get("LIFE_BENCH_SRC", "\0") in life_tui.__file__:
        return f"commit {commit[:12]} (pinned copy)"
    return f"working tree {R['machine']['git']} ({os.path.dirname(life_tui.__file__)})"


# ------------------------------------------------------------------------------------------- main
def main() -> int:
    global PROFILE, PROFILE_DIR
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller repetitions; analytics at 1M events")
    ap.add_argument(
        "--work", default="/tmp/life-bench", help="work directory, outside the repo (default /tmp/life-bench)"
    )
    ap.add_argument("--json", help="write all results to this JSON file")
    ap.add_argument("--reuse", action="store_true", help="reuse the built stores in --work when they match")
    ap.add_argument("--no-5m", action="store_true", help="build only 1M events (analytics at 1M, marked info)")
    ap.add_argument("--parts", default="1,2,3,4,5,6,7", help="which parts to run (1 and 2 run together)")
    ap.add_argument("--profile", action="store_true", help="cProfile our side of each part into WORK/profiles/")
    ap.add_argument("--rev", default="HEAD", help="measure life_tui/ as of this commit (default HEAD)")
    ap.add_argument("--tree", action="store_true", help="measure the working tree instead of a commit")
    args = ap.parse_args()
    W = Path(args.work).resolve()
    if REPO in W.parents or W == REPO:
        ap.error("--work must be outside the repository")
    W.mkdir(parents=True, exist_ok=True)
    PROFILE = args.profile
    PROFILE_DIR = W / "profiles"
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    cfg = config(args)
    R["config"] = cfg
    R["machine"] = machine()
    R["source"] = source()
    R["command"] = " ".join(
        [
            os.path.relpath(sys.executable, REPO) if sys.executable.startswith(str(REPO)) else sys.executable,
            "bench/journal.py",
            *sys.argv[1:],
        ]
    )
    log("config", cfg, R["machine"])
    t_all = time.perf_counter()
    text = D.corpus(str(W))
    if parts & {"1", "2"}:
        part_append(cfg, W, text)
    info = None
    if parts & {"3", "4", "6", "7"}:
        info = build(cfg, W, text, args.reuse)
        R["build"] = info
    if "3" in parts and info:
        part_replay(cfg, W, info)
    if "4" in parts and info:
        part_analytics(cfg, W, info)
    if "5" in parts:
        part_fork(cfg, W, text)
    if "6" in parts and info:
        part_bytes(info)
    if "7" in parts and info:
        part_cli(cfg, W, info)
    R["total_s"] = time.perf_counter() - t_all
    R["machine_at_end"] = machine()  # others may commit to life_tui/ while a long run goes on
    rows = summary(cfg, info)
    R["summary"] = rows
    table = print_table(rows)
    print()
    print(
        f"command: {R['command']}  (total {R['total_s']:.0f}s, {'quick' if cfg['quick'] else 'full'}, "
        f"{R['machine']['cpus']} CPUs)\nmeasured: {R['source']}"
        + (f"; stores built by {info.get('source')}" if info and info.get("source") != R["source"] else "")
    )
    print(table)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(R, indent=1, default=str))
        log(f"results -> {args.json}")
    fails = [r for r in rows if r["result"] == "FAIL"]
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
