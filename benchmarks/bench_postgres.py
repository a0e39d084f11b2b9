"""PostgreSQL next to SQLite on the same data, in the same run (issue 16).

    .venv/bin/python benchmarks/bench_postgres.py --source /work/bench/claude-1000000-7 \
        --workdir /work/bench-pg/run

Starts a PostgreSQL server of its own (tests/pgserver.py: a temp cluster, fsync on as a
real server would run), then for each backend: the first ingest of SOURCE (rows/s), keyword
search latency (`took_ms` of `memory search --json`, p50/p95 over repeated queries), every
report's wall time, a full backup and its restore. Appends a dated section to RESULTS.md
unless --no-record.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))


from common import append_results, machine, real_pg_server, table  # noqa: E402

MEMORY = [sys.executable, "-m", "coditect_memory"]
QUERIES = ["the", "test", "error", "file", "alembic", "ENOENT", "token refresh", "failing test",
           "docker build", '"no such file"']
REPORTS = [["report", "project-activity"], ["report", "timeline"], ["report", "component-usage"],
           ["report", "error-analysis"], ["report", "extraction-progress"], ["report", "usage"],
           ["timeline"]]


def memory(env: dict[str, str], *args: str) -> tuple[float, dict | list | None]:
    t = time.perf_counter()
    p = subprocess.run([*MEMORY, *args], env=env, capture_output=True, text=True)
    took = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"memory {' '.join(args)} failed ({p.returncode}): {p.stderr[-2000:]}")
    try:
        return took, json.loads(p.stdout)
    except json.JSONDecodeError:
        return took, None


def measure(name: str, env: dict[str, str], source: Path, work: Path, rounds: int) -> dict:
    out: dict = {"backend": name}
    took, ing = memory(env, "ingest", str(source), "--json")
    assert isinstance(ing, dict)
    out["ingest_s"] = took
    out["messages"] = ing["messages_new"]
    out["rate"] = ing["messages_new"] / took
    lat = []
    for _ in range(rounds):
        for q in QUERIES:
            _, res = memory(env, "search", q, "--json")
            assert isinstance(res, dict)
            lat.append(res["took_ms"])
    lat.sort()
    out["kw_p50"] = statistics.median(lat)
    out["kw_p95"] = lat[int(0.95 * (len(lat) - 1))]
    out["reports"] = {" ".join(r): memory(env, *r, "--json")[0] for r in REPORTS}
    repo = work / f"repo-{name}"
    shutil.rmtree(repo, ignore_errors=True)
    took, made = memory(env, "backup", "create", "--type", "full", "--target", str(repo), "--json")
    assert isinstance(made, dict)
    out["backup_s"] = took
    into = work / f"restored-{name}"
    shutil.rmtree(into, ignore_errors=True)
    out["restore_s"] = memory(env, "backup", "restore", made["backup_id"], "--target", str(repo),
                              "--into", str(into), "--json")[0]
    shutil.rmtree(into, ignore_errors=True)
    shutil.rmtree(repo, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, default=Path("/work/bench/claude-1000000-7"))
    ap.add_argument("--workdir", type=Path, default=Path("/work/bench-pg/run"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    server = real_pg_server(max_wal_size="8GB")
    try:
        server.sql("CREATE DATABASE bench")
        base = {k: v for k, v in os.environ.items() if k != "MEMORY_DATABASE_URL"}
        lite = {**base, "MEMORY_HOME": str(work / "home-sqlite")}
        pg = {**base, "MEMORY_HOME": str(work / "home-pg"), "MEMORY_DATABASE_URL": server.url("bench")}
        results = [measure("sqlite", lite, args.source, work, args.rounds),
                   measure("postgresql", pg, args.source, work, args.rounds)]
        sizes = {"sqlite": (work / "home-sqlite" / "memory.db").stat().st_size}
        import psycopg

        with psycopg.connect(server.url("bench")) as c:
            sizes["postgresql"] = c.execute("SELECT pg_database_size('bench')").fetchone()[0]  # type: ignore[index]
    finally:
        server.close()
    rows = []
    for r in results:
        slowest = max(r["reports"].items(), key=lambda kv: kv[1])
        rows.append([r["backend"], f"{r['messages']:,}", f"{r['ingest_s']:.1f} s",
                     f"{r['rate']:,.0f}/s", f"{sizes[r['backend']] / 1e6:,.0f} MB",
                     f"{r['kw_p50']:.1f} / {r['kw_p95']:.1f} ms",
                     f"{slowest[1]:.2f} s ({slowest[0]})", f"{r['backup_s']:.1f} s",
                     f"{r['restore_s']:.1f} s"])
    m = machine()
    body = "\n".join([
        f"`.venv/bin/python benchmarks/bench_postgres.py --source {args.source}` on"
        f" {', '.join(f'{k}: {v}' for k, v in m.items())}.", "",
        f"{args.rounds} rounds of {len(QUERIES)} keyword queries (`took_ms`); reports: wall time"
        " of the whole command; PostgreSQL 15 on the same machine, fsync on.", "",
        table([tuple(r) for r in rows], ("backend", "messages", "first ingest", "rate",
                                          "store size", "keyword p50 / p95", "slowest report",
                                          "full backup", "restore"))])
    print(body)
    print(json.dumps(results, indent=1))
    if not args.no_record:
        append_results("PostgreSQL vs SQLite (issue 16)", body)


if __name__ == "__main__":
    main()
