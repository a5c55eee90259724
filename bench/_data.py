"""Shared, deterministic event generator for the benchmarks (not a benchmark itself: ``./dev bench`` skips
``bench/_*.py``).

Adapted from the reference harness ``shared/reference/journal_baseline.py`` (``build_corpus``, ``Gen``,
``gen_stream``, ``jsonl_lines``, ``sqlite_rows``; seed 20251121), the script behind
``shared/reference/journal-baselines.md``. Changes from the harness:

* ``gen_stream`` also yields each payload as the dict it was encoded from (column ``pdict``), so a
  benchmark can hand our journal dicts (it encodes them itself) and the baselines the same dicts;
* ``corpus()`` caches the text corpus under a work directory;
* no pyarrow / duckdb at import time (the corpus builder only looks up duckdb's install directory).

Data: real text (CPython docstrings, pydoc topics, Debian changelogs for prose; stdlib, site-packages
sources and Arrow C++ headers for code) sampled at random offsets; 13 kinds + session_start/session_end;
payload size log-normal, median ~650 B, clipped to [200, 2000] B; 8 concurrent sessions interleaved at
random; session lengths log-normal (median 1,500, clipped to 20..20,000); one *target* session of
exactly ``target_len`` events starting at stream position ``target_start``.
"""

from __future__ import annotations

import ast
import glob
import gzip
import importlib.util
import os
import random
from collections.abc import Iterator
from math import log
from typing import Any

import blake3
import orjson

SEED = 20251121
T0_US = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z in microseconds
KINDS_W = [
    ("tool_call", 0.18), ("tool_result", 0.18), ("assistant_message", 0.12),
    ("model_request", 0.10), ("model_response", 0.10), ("thinking", 0.08),
    ("user_message", 0.06), ("file_read", 0.06), ("file_edit", 0.05),
    ("permission_request", 0.02), ("permission_decision", 0.02), ("error", 0.015),
    ("checkpoint", 0.015),
]  # fmt: skip  # + session_start / session_end = 15 kinds
KINDS = [k for k, _ in KINDS_W]
CUMW: list[float] = []
_acc = 0.0
for _k, _w in KINDS_W:
    _acc += _w
    CUMW.append(_acc)
CUMW[-1] = 1.0

COLS = ("session_id", "branch", "seq", "event_id", "kind", "ts", "payload", "checksum", "tokens", "pdict")

Corpus = tuple[str, str, list[str]]


# ------------------------------------------------------------------------------------------ corpus
def corpus(work: str) -> Corpus:
    """(code, prose, paths): the harness's text corpus, built once and cached in ``work``."""
    cache_path = os.path.join(work, "corpus.json")
    if os.path.exists(cache_path):
        with open(cache_path, "rb") as f:
            d = orjson.loads(f.read())
        return d["code"], d["prose"], d["paths"]
    os.makedirs(work, exist_ok=True)
    lib = os.path.dirname(os.__file__)
    files = sorted(glob.glob(lib + "/*.py")) + sorted(glob.glob(lib + "/*/*.py"))
    files = [f for f in files if "/test" not in f and "idlelib" not in f and "lib2to3" not in f]
    code_parts: list[str] = []
    prose_parts: list[str] = []
    paths: list[str] = []
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            src = fh.read()
        code_parts.append(src)
        paths.append("src/" + os.path.relpath(f, lib))
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                d = ast.get_docstring(node)
                if d and len(d) > 80:
                    prose_parts.append(d)
    try:
        import pydoc_data.topics as _t

        prose_parts.extend(_t.topics.values())
    except Exception:
        pass
    spec = importlib.util.find_spec("duckdb")
    if spec is not None and spec.origin:
        site = os.path.dirname(os.path.dirname(spec.origin))
        extra = sorted(glob.glob(site + "/**/*.py", recursive=True)) + sorted(
            glob.glob(site + "/pyarrow/include/**/*.h", recursive=True)
        )
        for f in extra:
            try:
                with open(f, encoding="utf-8", errors="replace") as fh:
                    code_parts.append(fh.read())
                paths.append(os.path.relpath(f, site))
            except OSError:
                pass
    budget = 16 << 20
    for f in sorted(glob.glob("/usr/share/doc/*/changelog*.gz")):
        if budget <= 0:
            break
        try:
            with gzip.open(f, "rt", encoding="utf-8", errors="replace") as gz:
                txt = gz.read()
        except Exception:
            continue
        para: list[str] = []
        for line in txt.splitlines():
            s = line.strip()
            if not s or line.startswith(" -- ") or not line.startswith("  "):
                if para:
                    prose_parts.append(" ".join(para))
                    budget -= len(prose_parts[-1])
                    para = []
                continue
            para.append(s.lstrip("*-+ ").strip())
    code = "\n".join(code_parts)
    prose = "\n\n".join(prose_parts)
    with open(cache_path, "wb") as f:
        f.write(orjson.dumps({"code": code, "prose": prose, "paths": paths}))
    return code, prose, paths


# --------------------------------------------------------------------------------------- generator
B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAIR = [a + b for a in B32 for b in B32]


def ulid_str(ms: int, rnd80: int) -> str:
    x = (ms << 80) | rnd80
    P = PAIR
    return (P[(x >> 120) & 1023] + P[(x >> 110) & 1023] + P[(x >> 100) & 1023] + P[(x >> 90) & 1023]
            + P[(x >> 80) & 1023] + P[(x >> 70) & 1023] + P[(x >> 60) & 1023] + P[(x >> 50) & 1023]
            + P[(x >> 40) & 1023] + P[(x >> 30) & 1023] + P[(x >> 20) & 1023] + P[(x >> 10) & 1023]
            + P[x & 1023])  # fmt: skip


MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "gpt-5", "claude-haiku-4-5"]
TOOLS = ["bash", "read_file", "edit_file", "grep", "glob", "write_file", "web_fetch", "task"]
ERRS = ["ToolError", "TimeoutError", "RateLimitError", "PermissionDenied", "ValidationError"]


class Gen:
    """Realistic payloads (the harness's, unchanged)."""

    def __init__(self, seed: int, text: Corpus) -> None:
        self.r = random.Random(seed)
        self.code, self.prose, self.paths = text
        self.nc, self.np_ = len(self.code) - 4096, len(self.prose) - 4096
        self.fns = {
            "user_message": self.p_user, "assistant_message": self.p_assistant, "thinking": self.p_thinking,
            "tool_call": self.p_tool_call, "tool_result": self.p_tool_result,
            "model_request": self.p_model_request, "model_response": self.p_model_response,
            "file_read": self.p_file_read, "file_edit": self.p_file_edit,
            "permission_request": self.p_perm_req, "permission_decision": self.p_perm_dec,
            "error": self.p_error, "checkpoint": self.p_checkpoint,
            "session_start": self.p_start, "session_end": self.p_end,
        }  # fmt: skip
        self.overhead = {k: len(orjson.dumps(fn(1))) for k, fn in self.fns.items()}

    def prose_t(self, n: int) -> str:
        s = self.r.randrange(self.np_)
        return self.prose[s : s + n]

    def code_t(self, n: int) -> str:
        s = self.r.randrange(self.nc)
        return self.code[s : s + n]

    def hexs(self, nbytes: int) -> str:
        return f"{self.r.getrandbits(nbytes * 8):0{nbytes * 2}x}"

    def path(self) -> str:
        return "/home/dev/repo/" + self.paths[self.r.randrange(len(self.paths))]

    def p_user(self, n: int) -> dict[str, Any]:
        c = self.prose_t(n)
        return {"role": "user", "content": c, "tokens": len(c) // 4}

    def p_assistant(self, n: int) -> dict[str, Any]:
        c = self.prose_t(n)
        return {"role": "assistant", "model": MODELS[self.r.randrange(4)], "content": c,
                "stop_reason": "end_turn", "tokens": len(c) // 4 + self.r.randrange(64)}  # fmt: skip

    def p_thinking(self, n: int) -> dict[str, Any]:
        c = self.prose_t(n)
        return {"content": c, "signature": self.hexs(16), "tokens": len(c) // 4}

    def p_tool_call(self, n: int) -> dict[str, Any]:
        r = self.r
        tool = TOOLS[r.randrange(len(TOOLS))]
        c = self.code_t(n)
        inp = {"command": c, "timeout_ms": 120000} if tool == "bash" else {"path": self.path(), "query": c}
        return {"tool": tool, "call_id": "toolu_" + self.hexs(12), "input": inp, "tokens": len(c) // 4}

    def p_tool_result(self, n: int) -> dict[str, Any]:
        c = self.code_t(n)
        return {"call_id": "toolu_" + self.hexs(12), "is_error": self.r.random() < 0.05,
                "output": c, "tokens": len(c) // 4}  # fmt: skip

    def p_model_request(self, n: int) -> dict[str, Any]:
        r = self.r
        c = self.prose_t(n)
        return {"model": MODELS[r.randrange(4)], "max_tokens": 8192, "temperature": 1.0,
                "n_messages": r.randrange(2, 400), "context_hash": self.hexs(16),
                "last_user_excerpt": c, "tokens": r.randrange(2000, 150000)}  # fmt: skip

    def p_model_response(self, n: int) -> dict[str, Any]:
        r = self.r
        c = self.prose_t(n)
        it = r.randrange(2000, 150000)
        ot = len(c) // 4 + r.randrange(200)
        return {"model": MODELS[r.randrange(4)],
                "usage": {"input_tokens": it, "output_tokens": ot, "cache_read_input_tokens": r.randrange(it)},
                "stop_reason": "tool_use", "content": c, "latency_ms": r.randrange(300, 60000),
                "tokens": it + ot}  # fmt: skip

    def p_file_read(self, n: int) -> dict[str, Any]:
        r = self.r
        c = self.code_t(n)
        return {"path": self.path(), "offset": r.randrange(2000), "limit": 2000, "content": c,
                "tokens": len(c) // 4}  # fmt: skip

    def p_file_edit(self, n: int) -> dict[str, Any]:
        a = self.code_t(n // 2)
        b = self.code_t(n - n // 2)
        return {"path": self.path(), "old_string": a, "new_string": b, "replace_all": False,
                "tokens": (len(a) + len(b)) // 4}  # fmt: skip

    def p_perm_req(self, n: int) -> dict[str, Any]:
        c = self.code_t(min(n, 160))
        return {"tool": TOOLS[self.r.randrange(len(TOOLS))], "command": c,
                "reason": self.prose_t(max(n - len(c), 8)), "tokens": 0}  # fmt: skip

    def p_perm_dec(self, n: int) -> dict[str, Any]:
        return {"decision": ("allow", "deny", "allow_always")[self.r.randrange(3)], "scope": "session",
                "reason": self.prose_t(n), "tokens": 0}  # fmt: skip

    def p_error(self, n: int) -> dict[str, Any]:
        return {"type": ERRS[self.r.randrange(len(ERRS))], "message": self.prose_t(n // 3),
                "traceback": self.code_t(n - n // 3), "retryable": self.r.random() < 0.5, "tokens": 0}  # fmt: skip

    def p_checkpoint(self, n: int) -> dict[str, Any]:
        s = self.prose_t(n)
        return {"summary": s, "files_changed": [self.path() for _ in range(1 + self.r.randrange(3))],
                "git_sha": self.hexs(20), "tokens": len(s) // 4}  # fmt: skip

    def p_start(self, n: int) -> dict[str, Any]:
        sp = self.prose_t(n)
        return {"cwd": "/home/dev/repo", "model": MODELS[self.r.randrange(4)], "git_branch": "main",
                "client": "agent-cli/0.9.3", "os": "linux", "system_prompt": sp, "tokens": len(sp) // 4}  # fmt: skip

    def p_end(self, n: int) -> dict[str, Any]:
        s = self.prose_t(n)
        return {"reason": "user_exit", "duration_s": self.r.randrange(10, 90000),
                "total_tokens": self.r.randrange(10**4, 10**8), "summary": s, "tokens": 0}  # fmt: skip

    def payload(self, kind: str) -> tuple[bytes, int, dict[str, Any]]:
        """(JSON bytes in [200, 2000] B, tokens, the dict they encode)."""
        r = self.r
        size = int(r.lognormvariate(6.48, 0.55))
        size = 200 if size < 200 else (2000 if size > 2000 else size)
        fn = self.fns[kind]
        n = size - self.overhead[kind]
        n = max(n, 16)
        for _ in range(4):
            d = fn(n)
            b = orjson.dumps(d)
            lb = len(b)
            if lb > 2000:
                n -= (lb - 2000) + 8
            elif lb < 200:
                n += (200 - lb) + 8
            else:
                break
        return b, d["tokens"], d


def gen_stream(
    text: Corpus,
    n_total: int,
    meta: dict[str, Any],
    *,
    chunk: int = 100_000,
    slots: int = 8,
    target_start: int = 10_000,
    target_len: int = 10_000,
    seed: int = SEED,
    single_session: bool = False,
) -> Iterator[dict[str, list[Any]]]:
    """Dict-of-lists chunks (columns ``COLS``) in arrival order, exactly as the harness's generator.

    ``slots`` sessions are active at once and each event comes from a random active one. The target
    session (``meta["target_sid"]``) starts at stream position ``target_start`` in slot 0.
    """
    g = Gen(seed, text)
    r = g.r
    ts = T0_US
    getrandbits, randrange, random_ = r.getrandbits, r.randrange, r.random
    lnv = r.lognormvariate

    def new_session(length: int | None = None) -> list[Any]:
        if length is None:
            length = int(lnv(log(1500), 1.0))
            length = 20 if length < 20 else (20000 if length > 20000 else length)
        return [ulid_str(ts // 1000, getrandbits(80)), length, 1]

    if single_session:
        active = [new_session(n_total)]
        slots = 1
        meta["target_sid"] = active[0][0]
        meta["target_len"] = n_total
    else:
        active = [new_session() for _ in range(slots)]
    cols: dict[str, list[Any]] = {k: [] for k in COLS}
    ap = [cols[k].append for k in COLS]
    nsess = slots
    for pos in range(n_total):
        ts += 200 + randrange(20000)
        if pos == target_start and not single_session:
            active[0] = new_session(target_len)
            meta["target_sid"] = active[0][0]
            meta["target_len"] = target_len
            meta["target_start_pos"] = pos
            nsess += 1
        i = randrange(slots)
        s = active[i]
        seq = s[2]
        s[2] = seq + 1
        if seq == 1:
            kind = "session_start"
        elif seq == s[1]:
            kind = "session_end"
        else:
            x = random_()
            j = 0
            while CUMW[j] < x:
                j += 1
            kind = KINDS[j]
        pb, tok, d = g.payload(kind)
        for append, value in zip(
            ap,
            (
                s[0],
                "main",
                seq,
                ulid_str(ts // 1000, getrandbits(80)),
                kind,
                ts,
                pb,
                blake3.blake3(pb).hexdigest(),
                tok,
                d,
            ),
            strict=True,
        ):
            append(value)
        if seq == s[1]:
            if s[0] == meta.get("target_sid"):
                meta["target_end_pos"] = pos
            active[i] = new_session()
            nsess += 1
        if len(cols["seq"]) >= chunk:
            yield cols
            cols = {k: [] for k in COLS}
            ap = [cols[k].append for k in COLS]
    meta["n_sessions"] = nsess
    if cols["seq"]:
        yield cols


def rows(c: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    """The chunk as tuples in ``COLS`` order."""
    return list(zip(*(c[k] for k in COLS), strict=True))


# ------------------------------------------------------------------------------------ baseline formats
def jsonl_line(e: tuple[Any, ...], *, from_dict: bool = False) -> bytes:
    """The harness's JSONL line (8 fields, payload nested). ``from_dict`` re-serialises the payload dict
    (what an appender that holds dicts pays) instead of splicing the pre-encoded bytes."""
    payload = e[9] if from_dict else orjson.Fragment(e[6])
    return orjson.dumps(
        {"session_id": e[0], "branch": e[1], "seq": e[2], "event_id": e[3], "kind": e[4], "ts": e[5],
         "payload": payload, "checksum": e[7]},
        option=orjson.OPT_APPEND_NEWLINE,
    )  # fmt: skip


def jsonl_lines(c: dict[str, list[Any]]) -> bytes:
    F, dumps, opt = orjson.Fragment, orjson.dumps, orjson.OPT_APPEND_NEWLINE
    return b"".join(
        dumps({"session_id": a, "branch": b, "seq": s, "event_id": e, "kind": k, "ts": t,
               "payload": F(p), "checksum": h}, option=opt)
        for a, b, s, e, k, t, p, h in zip(c["session_id"], c["branch"], c["seq"], c["event_id"],
                                          c["kind"], c["ts"], c["payload"], c["checksum"], strict=True)
    )  # fmt: skip


SQLITE_DDL = """CREATE TABLE IF NOT EXISTS events(
  session_id TEXT NOT NULL, branch TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL,
  kind TEXT NOT NULL, ts INTEGER NOT NULL, payload TEXT NOT NULL, checksum TEXT NOT NULL, tokens INTEGER)"""
SQLITE_IDX = "CREATE UNIQUE INDEX IF NOT EXISTS events_sbs ON events(session_id, branch, seq)"
SQLITE_INS = "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?)"
SQLITE_INS8 = "INSERT INTO events(session_id,branch,seq,event_id,kind,ts,payload,checksum) VALUES (?,?,?,?,?,?,?,?)"


def sqlite_rows(c: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    return list(zip(c["session_id"], c["branch"], c["seq"], c["event_id"], c["kind"], c["ts"],
                    [p.decode() for p in c["payload"]], c["checksum"], c["tokens"], strict=True))  # fmt: skip
