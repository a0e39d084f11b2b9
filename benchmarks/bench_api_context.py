"""The Context API at 1M messages: /context, /memories, /patterns/search and /checkpoints over
HTTP (a real `memory serve` on loopback) against the same actions called in-process in the
same run (the baseline: HTTP, auth and JSON as a ratio); 100 concurrent clients (wrk) on
uncached packs; a cached repeat; a write (POST /memories) and the fresh pack after it.

    python benchmarks/bench_api_context.py [--home /work/bench/home] [--work /work/bench-apimem]

The store at --home is copied to --work/home first (never written), migrated, and its
memories extracted when it has none. Appends a dated section to RESULTS.md (--no-write:
print only).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import Server, pct, prepare, wrk  # noqa: E402
from common import append_results, machine, table  # noqa: E402


def timed(fn, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def http(c: httpx.Client, method: str, path: str, body: dict | None, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = c.request(method, path, json=body)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (path, r.text[:300])
    return out


def fmt(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.1f} ms, p95 {pct(values, 95):.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=Path("/work/bench/home"))
    ap.add_argument("--work", type=Path, default=Path("/work/bench-apimem"))
    ap.add_argument("--runs", type=int, default=10, help="requests of each kind per project")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--port", type=int, default=18797)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    from coditect_memory.actions import auth, checkpoints, memories, submodules
    from coditect_memory.actions.context import ContextRequest, context
    from coditect_memory.context.tokens import TokenCounter
    from coditect_memory.memories.lifecycle import extract
    from coditect_memory.search.cache import SearchCache
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store
    from coditect_memory.store.protocol.memories import MemoryFilter

    home, uncached_cfg, cached_cfg = prepare(args.home, args.work)
    settings = load_settings(home)
    rows: list[tuple[str, ...]] = []
    n = args.runs

    with open_store(settings) as store:  # migrated here: the memory tables exist
        if not store.memories(MemoryFilter(limit=1)):
            res = extract(store, settings.memories)
            print(f"extracted {res.new:,} memories in {res.seconds:.1f} s", file=sys.stderr)
        st = store.counts()
        projects = list(dict.fromkeys(s["project"] for s in store.sessions(limit=300) if s["project"]))[:5]
        if not any(s["name"] == "bench" for s in store.submodules()):
            submodules.add(store, "bench", [projects[0]])
        tok = auth.issue(store, settings, "bench", "admin", ttl="1d").token
        scoped = auth.issue(store, settings, "bench-scoped", "read", ["bench"], ttl="1d").token
        for p in projects[:2]:
            checkpoints.create(store, settings, checkpoints.CheckpointRequest(project=p, note="bench"))
        n_mem = len(store.memories(MemoryFilter(statuses=("active", "archived", "done"), limit=10**6,
                                                with_entities=False)))

        # the in-process baseline: the actions the routes call, a server's counter and cache
        counter, cache = TokenCounter(), SearchCache()
        query = "token refresh failing test"
        kinds = {
            "context": lambda p: context(store, settings, ContextRequest(project=p, record=False), counter, cache),
            "context+query": lambda p: context(store, settings, ContextRequest(project=p, query=query, record=False),
                                               counter, cache),
            "memories": lambda p: memories.list_memories(store, memories.ListRequest(project=p, limit=50)),
            "patterns": lambda p: memories.list_memories(store, memories.ListRequest(
                project=p, types=list(memories.PATTERN_TYPES), query="test", limit=20)),
            "checkpoints": lambda p: checkpoints.list_(store, p, 50),
        }
        inproc: dict[str, list[float]] = {}
        for kind, fn in kinds.items():
            fn(projects[0])  # warm
            inproc[kind] = [v for p in projects for v in timed(lambda fn=fn, p=p: fn(p), n)]

    def requests(kind: str, p: str) -> tuple[str, str, dict | None]:
        return {"context": ("GET", "/api/v1/context?" + urlencode({"project": p}), None),
                "context+query": ("GET", "/api/v1/context?" + urlencode({"project": p, "query": query}), None),
                "memories": ("GET", "/api/v1/memories?" + urlencode({"project": p, "limit": 50}), None),
                "patterns": ("POST", "/api/v1/patterns/search", {"query": "test", "project": p, "limit": 20}),
                "checkpoints": ("GET", "/api/v1/checkpoints?" + urlencode({"project": p}), None)}[kind]

    labels = {"context": "GET /context (no query)", "context+query": "GET /context?query=",
              "memories": "GET /memories?project=", "patterns": "POST /patterns/search",
              "checkpoints": "GET /checkpoints?project="}
    srv = Server(home, args.port, uncached_cfg)
    try:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {tok}"}, timeout=60) as c:
            http(c, *requests("context+query", projects[0]), n=2)  # warm: tokenizer, index
            for kind in kinds:
                got = [v for p in projects for v in http(c, *requests(kind, p), n=n)]
                extra = statistics.median(got) - statistics.median(inproc[kind])
                rows.append((f"{labels[kind]}, one client, uncached", fmt(got),
                             f"in-process {fmt(inproc[kind])} (+{extra:.1f} ms at p50)"))
            with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {scoped}"}) as sc_c:
                sc = http(sc_c, "GET", "/api/v1/memories?limit=50", None, n * 3)
            rows.append(("GET /memories, a token scoped to one submodule", fmt(sc), "uncached"))
            paths = [requests("context", p)[1] for p in projects]
            w = wrk(srv.url, paths, tok, args.seconds, 100)
            rows.append(("GET /context, 100 concurrent clients (wrk), uncached",
                         f"p50 {w['p50']:.1f} ms, p95 {w['p95']:.1f} ms, {w['rps']:,.0f} req/s",
                         f"errors {w['errors']}, non-2xx {w['non2xx']}"))
            rss = srv.peak_rss_mb()
    finally:
        srv.stop()

    srv = Server(home, args.port, cached_cfg)
    try:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {tok}"}, timeout=60) as c:
            path = requests("context", projects[0])[1]
            http(c, "GET", path, None, 1)
            rows.append(("GET /context, a cached repeat", fmt(http(c, "GET", path, None, n * 10)), "p95 <= 2 ms target of issue 12"))
            post, after = [], []
            for i in range(n * 2):
                text = f"bench memory {time.time_ns()} {i}: deploys go through staging first"
                post += http(c, "POST", "/api/v1/memories", {"text": text, "project": projects[0], "pin": i == 0}, 1)
                t = time.perf_counter()
                pack = c.get(path).json()
                after.append((time.perf_counter() - t) * 1000)
                assert i > 0 or text in pack["markdown"], "the pinned memory is not in the next pack"
            rows.append(("POST /memories (write; bumps the generation)", fmt(post), "sequential"))
            rows.append(("GET /context right after a write (a miss: built fresh)", fmt(after),
                         "the posted pinned memory is in it"))
    finally:
        srv.stop()

    m = machine()
    body = (f"`python benchmarks/bench_api_context.py --home {args.home} --work {args.work}` "
            f"({st['messages']:,} messages, {n_mem:,} memories, {len(projects)} projects of the latest "
            f"sessions); machine: {', '.join(f'{k} {v}' for k, v in m.items())}; server peak RSS "
            f"{rss:.0f} MB (uncached run)\n\n"
            + table(rows, ("what", "measured", "against")) + "\n")
    print(body)
    if not args.no_write:
        append_results("Context API (issue 13 item 8): /context, /memories, /patterns/search, /checkpoints", body)


if __name__ == "__main__":
    main()
