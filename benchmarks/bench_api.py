"""The REST API under load at 1M messages: search p95 and requests/s with 100 concurrent
clients (wrk, a separate process, on loopback) against the in-process `took_ms` of the same
queries measured in the same run; a cached repeat; the longest session; the server's peak
RSS; the cache hit rate of a mixed workload.

    python benchmarks/bench_api.py [--home /work/bench/home] [--work /work/bench-api/api]

The store at --home is copied to --work first (never written). Appends a dated section to
benchmarks/RESULTS.md (--no-write: print only).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import append_results, machine, table  # noqa: E402

QUERIES = ["the", "test", "error", "file", "alembic", "ENOENT", "token refresh", "failing test",
           "jwt expired", "docker build", "migration", "timeout", "permission denied",
           "\"connection refused\"", "retry", "refactor", "deploy", "config", "null pointer",
           "rate limit", "webhook", "cache", "schema", "lint", "typescript", "pytest", "merge",
           "branch", "memory leak", "index", "session", "auth*", "build -docker", "hooks",
           "terraform plan", "kubernetes", "invoice", "payment", "logging", "CI red"]
WORDS = ["error", "test", "token", "build", "deploy", "cache", "auth", "retry", "index", "query",
         "session", "config", "timeout", "file", "docker", "schema", "migration", "webhook",
         "lint", "branch", "merge", "refresh", "invoice", "payment", "hook", "plan", "memory"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def lua(paths: list[str], tok: str, zipf: float | None) -> str:
    """A wrk script: each request one of `paths` (uniform, or Zipf-weighted by rank)."""
    quoted = ",".join(json.dumps(p) for p in paths)
    weights = [1 / (i + 1) ** zipf for i in range(len(paths))] if zipf else [1.0] * len(paths)
    total, acc, cum = sum(weights), 0.0, []
    for w in weights:
        acc += w / total
        cum.append(f"{acc:.9f}")
    return f"""
local paths = {{{quoted}}}
local cum = {{{",".join(cum)}}}
wrk.headers["Authorization"] = "Bearer {tok}"
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
request = function()
  local r, lo, hi = math.random(), 1, #cum
  while lo < hi do local mid = math.floor((lo + hi) / 2); if cum[mid] < r then lo = mid + 1 else hi = mid end end
  return wrk.format("GET", paths[lo])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('@@{{"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,"errors":%d,"non2xx":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def wrk(url: str, paths: list[str], tok: str, seconds: int, conns: int,
        zipf: float | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua(paths, tok, zipf))
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s",
                              "-s", f.name, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    res = json.loads(re.search(r"@@(\{.*\})", out).group(1))  # type: ignore[union-attr]
    res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
    for k in ("p50", "p95", "p99", "max"):
        res[k] = res[k] / 1000  # ms
    return res


class Server:
    def __init__(self, home: Path, port: int, config: Path, workers: int = 1) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "coditect_memory", "serve", "--port",
                                      str(port), "--workers", str(workers)], env={**os.environ, "MEMORY_HOME": str(home),
                                                       "MEMORY_CONFIG": str(config)})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the server did not come up")

    def peak_rss_mb(self) -> float:
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) / 1024  # type: ignore[union-attr]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def cache_counts(url: str, tok: str) -> tuple[float, float]:
    text = httpx.get(url + "/api/v1/metrics", headers={"Authorization": f"Bearer {tok}"}).text
    get = lambda r: float(m.group(1)) if (m := re.search(rf'memory_api_cache_total{{result="{r}"}} (\S+)', text)) else 0.0  # noqa: E731
    return get("hit"), get("miss")


def sequential(url: str, path: str, tok: str, reps: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tok}"}, timeout=60) as c:
        for _ in range(reps):
            t = time.perf_counter()
            r = c.get(path)
            out.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text[:200]
    return out


def prepare(source: Path, work: Path) -> tuple[Path, Path, Path]:
    """A copy of the store at `source` under `work` (made once, never the original), and the
    server configs without and with the API cache."""
    home = work / "home"
    if not (home / "memory.db").exists():
        print(f"copying {source} to {home} …", file=sys.stderr)
        shutil.copytree(source, home, ignore=shutil.ignore_patterns("ingest.lock"))
    uncached_cfg, cached_cfg = work / "nocache.toml", work / "cache.toml"
    uncached_cfg.write_text("[api]\ncache_entries = 0\n")
    cached_cfg.write_text("[api]\ncache_entries = 4096\n")
    return home, uncached_cfg, cached_cfg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=Path("/work/bench/home"))
    ap.add_argument("--work", type=Path, default=Path("/work/bench-api/api"))
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--port", type=int, default=18787)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    from urllib.parse import urlencode

    from coditect_memory.actions import auth, browse
    from coditect_memory.actions.search import SearchRequest, search
    from coditect_memory.search.cache import SearchCache
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    home, uncached_cfg, cached_cfg = prepare(args.home, args.work)
    settings = load_settings(home)

    with open_store(settings, create=False) as store:
        tok = auth.issue(store, settings, "bench", "admin", ttl="1d").token
        st = store.status()
        # the in-process baseline: the same queries, the same store, this run
        cache = SearchCache()
        for q in QUERIES:
            search(store, settings, SearchRequest(query=q, mode="keyword"), cache)
        took, wall = [], []
        for _ in range(5):
            for q in QUERIES:
                t = time.perf_counter()
                took.append(search(store, settings, SearchRequest(query=q, mode="keyword"),
                                   cache).took_ms)
                wall.append((time.perf_counter() - t) * 1000)
        db = sqlite3.connect(f"file:{home / 'memory.db'}?mode=ro", uri=True)
        longest, longest_n = db.execute(
            "SELECT id, message_count FROM sessions ORDER BY message_count DESC LIMIT 1").fetchone()
        db.close()
        show_ms = []
        for _ in range(5):
            t = time.perf_counter()
            json.dumps(browse.show_session(store, longest).to_json())
            show_ms.append((time.perf_counter() - t) * 1000)

    search_paths = ["/api/v1/search?" + urlencode({"q": q, "mode": "keyword"}) for q in QUERIES]
    results: dict = {"messages": st["messages"], "baseline_p50": statistics.median(took),
                     "baseline_p95": pct(took, 95), "wall_p50": statistics.median(wall),
                     "wall_p95": pct(wall, 95), "longest": longest, "longest_n": longest_n,
                     "show_inproc_ms": statistics.median(show_ms)}

    # 1. uncached: every request runs the search
    srv = Server(home, args.port, uncached_cfg)
    try:
        sequential(srv.url, search_paths[0], tok, 3)  # warm the index
        one = [ms for _ in range(3) for p in search_paths for ms in sequential(srv.url, p, tok, 1)]
        results["uncached_1"] = {"p50": statistics.median(one), "p95": pct(one, 95)}
        results["uncached_100"] = wrk(srv.url, search_paths, tok, args.seconds, 100)
        results["uncached_10"] = wrk(srv.url, search_paths, tok, args.seconds, 10)
        seq = sequential(srv.url, f"/api/v1/sessions/{longest}", tok, 5)
        results["longest_ms"] = statistics.median(seq)
        results["rss_uncached_mb"] = srv.peak_rss_mb()
    finally:
        srv.stop()

    srv = Server(home, args.port, uncached_cfg, workers=2)
    try:
        sequential(srv.url, search_paths[0], tok, 6)
        results["uncached_100_w2"] = wrk(srv.url, search_paths, tok, args.seconds, 100)
    finally:
        srv.stop()

    # 2. cached: a repeat, and a mixed workload's hit rate
    srv = Server(home, args.port, cached_cfg)
    try:
        sequential(srv.url, search_paths[2], tok, 2)
        rep = sequential(srv.url, search_paths[2], tok, 300)
        results["cached_p50"], results["cached_p95"] = statistics.median(rep), pct(rep, 95)
        results["cached_100"] = wrk(srv.url, [search_paths[2]], tok, args.seconds, 100)
        seq = sequential(srv.url, f"/api/v1/sessions/{longest}", tok, 5)
        results["longest_cached_ms"] = statistics.median(seq[1:])
        rnd = random.Random(7)
        pool = [" ".join(rnd.sample(WORDS, rnd.choice((1, 1, 2, 2, 3)))) for _ in range(1500)]
        sessions = httpx.get(srv.url + "/api/v1/sessions?limit=200",
                             headers={"Authorization": f"Bearer {tok}"}).json()["sessions"]
        mixed: list[str] = []
        for i in range(1500):  # by rank: popular questions first (the Zipf weights follow rank)
            kind = i % 10
            if kind < 6:
                mixed.append("/api/v1/search?" + urlencode({"q": pool[i], "mode": "keyword"}))
            elif kind < 8:
                mixed.append(f"/api/v1/sessions/{sessions[i % len(sessions)]['session_id']}")
            elif kind == 8:
                mixed.append(f"/api/v1/sessions?limit={10 + i % 40}")
            else:
                mixed.append(["/api/v1/reports/project-activity", "/api/v1/reports/usage?by=model",
                              "/api/v1/timeline", "/api/v1/projects"][i % 4])
        h0, m0 = cache_counts(srv.url, tok)
        results["mixed"] = wrk(srv.url, mixed, tok, args.seconds * 2, 100, zipf=1.0)
        h1, m1 = cache_counts(srv.url, tok)
        results["hit_rate"] = (h1 - h0) / max(1.0, (h1 - h0) + (m1 - m0))
        results["rss_cached_mb"] = srv.peak_rss_mb()
    finally:
        srv.stop()

    body = report(results, args)
    print(body)
    if not args.no_write:
        append_results("REST API under load (bench_api.py)", body)


def report(r: dict, args: argparse.Namespace) -> str:
    m = machine()
    u100, u10, c100, mix = r["uncached_100"], r["uncached_10"], r["cached_100"], r["mixed"]
    u1, w2 = r["uncached_1"], r["uncached_100_w2"]
    rows = [
        ("search, in-process `took_ms` (baseline)", "1", "—", f"{r['baseline_p50']:.1f}",
         f"{r['baseline_p95']:.1f}", "—"),
        ("search, in-process, the whole `actions.search` call", "1", "—", f"{r['wall_p50']:.1f}",
         f"{r['wall_p95']:.1f}", "—"),
        ("search over HTTP, cache off, one client in turn", "1", "—", f"{u1['p50']:.1f}",
         f"{u1['p95']:.1f}", "0"),
        ("search over HTTP, cache off, `--workers 2`", "100", f"{w2['rps']:.0f}",
         f"{w2['p50']:.1f}", f"{w2['p95']:.1f}", f"{w2['errors'] + w2['non2xx']}"),
        ("search over HTTP, cache off", "100", f"{u100['rps']:.0f}", f"{u100['p50']:.1f}",
         f"{u100['p95']:.1f}", f"{u100['errors'] + u100['non2xx']}"),
        ("search over HTTP, cache off", "10", f"{u10['rps']:.0f}", f"{u10['p50']:.1f}",
         f"{u10['p95']:.1f}", f"{u10['errors'] + u10['non2xx']}"),
        ("the same search repeated, cached (one client)", "1", "—", f"{r['cached_p50']:.2f}",
         f"{r['cached_p95']:.2f}", "0"),
        ("the same search repeated, cached", "100", f"{c100['rps']:.0f}", f"{c100['p50']:.1f}",
         f"{c100['p95']:.1f}", f"{c100['errors'] + c100['non2xx']}"),
        ("mixed workload (Zipf s=1 over 1,500 requests)", "100", f"{mix['rps']:.0f}",
         f"{mix['p50']:.1f}", f"{mix['p95']:.1f}", f"{mix['errors'] + mix['non2xx']}"),
    ]
    ratio = u1["p50"] / r["baseline_p50"] if r["baseline_p50"] else 0
    return "\n".join([
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram']}, Python {m['python']}, shared "
        "with other jobs. Store: a copy of the 1M-message benchmark store "
        f"({r['messages']:,} messages). Server: `memory serve` (one uvicorn worker); load: "
        f"`wrk -t2` from a separate process on loopback, {args.seconds} s per row; the "
        "baseline is `actions.search` on the same store and queries in this run "
        f"({len(QUERIES)} keyword queries, 5 rounds).",
        "",
        table(rows, ("what", "clients", "req/s", "p50 ms", "p95 ms", "errors")),
        "",
        f"- HTTP + auth + JSON overhead, one client: p50 {u1['p50']:.1f} ms against "
        f"{r['baseline_p50']:.1f} ms in-process `took_ms` (x{ratio:.2f}, "
        f"+{u1['p50'] - r['baseline_p50']:.1f} ms). Under 100 clients the latency is queueing: "
        "one worker serves about as many searches a second as its CPU allows.",
        f"- `/api/v1/sessions/{{id}}` of the longest session ({r['longest_n']:,} messages): "
        f"{r['longest_ms']:.0f} ms uncached (in-process `show_session` + JSON: "
        f"{r['show_inproc_ms']:.0f} ms), {r['longest_cached_ms']:.1f} ms cached.",
        f"- Cache hit rate of the mixed workload: {r['hit_rate'] * 100:.0f}% (60% searches over "
        "900 distinct queries, 20% session views, 10% session lists, 10% reports, by Zipf rank).",
        f"- Server peak RSS: {r['rss_uncached_mb']:.0f} MB (cache off), "
        f"{r['rss_cached_mb']:.0f} MB (cache on, after the mixed workload).",
        "",
        "Reproduce: `python benchmarks/bench_api.py` (needs `wrk`: apt-get install wrk).",
    ])


if __name__ == "__main__":
    main()
