"""PostgreSQL next to SQLite on the same data, in the same run (issue 16).

    .venv/bin/python benchmarks/bench_postgres.py --source /work/bench/claude-1000000-7 \
        --workdir /work/bench-pg/run

Starts a PostgreSQL server of its own (tests/pgserver.py: a temp cluster, fsync on as a
real server would run), then for each backend: the first ingest of SOURCE (rows/s), keyword
search latency (`took_ms` of `memory search --json`, p50/p95 over repeated queries), the
hydration of a page of hits alone (`Store.hydrate` of 20 random ids, in-process), every
report's wall time, a full backup, a small change (SMALL ingested) and an incremental backup
on it, and the restore of that chain (on PostgreSQL also into a new database: `--into URL`);
then every embeddable unit given a vector (bench_search's fill) and keyword, semantic and
hybrid `took_ms` in-process on both backends in alternated rounds, with each search's top 10
compared across backends (the run fails if they differ) and the whole hybrid command
(`--no-semantic` skips this part).

`--grow SRC2 SRC3 ...` then ingests each further folder into the PostgreSQL store (another
machine's history: new rows) and measures rate, size, search and reports at each size: the
growth curve. Appends a dated section to RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from tests.pgserver import PgServer  # noqa: E402

from common import (  # noqa: E402
    SEMANTIC,
    append_results,
    dir_size,
    fill_vectors,
    machine,
    mode_latency,
    pct,
    real_pg_server,
    searched_model,
    step_folders,
    table,
)

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


def searches(env: dict[str, str], rounds: int) -> tuple[float, float]:
    lat = []
    for _ in range(rounds):
        for q in QUERIES:
            _, res = memory(env, "search", q, "--json")
            assert isinstance(res, dict)
            lat.append(res["took_ms"])
    return statistics.median(lat), pct(lat, 95)


@contextlib.contextmanager
def using(env: dict[str, str]) -> Iterator[None]:
    """This process's MEMORY_HOME and MEMORY_DATABASE_URL set as in `env` (the in-process
    measures open the backend's store as its commands do), restored after."""
    saved = {k: os.environ.get(k) for k in ("MEMORY_HOME", "MEMORY_DATABASE_URL")}
    for k in saved:
        if k in env:
            os.environ[k] = env[k]
        else:
            os.environ.pop(k, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def hydration(env: dict[str, str], pages: int = 200) -> tuple[float, float]:
    """p50/p95 ms of hydrating one page of 20 random message ids: the store's share of a
    search, apart from Tantivy and snippets."""
    import random

    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    with using(env), open_store(load_settings(), readonly=True) as store:
        top = store.max_message_id()
        rnd = random.Random(7)
        times = []
        for _ in range(pages):
            ids = [rnd.randint(1, top) for _ in range(20)]
            t = time.perf_counter()
            store.hydrate(ids)
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), pct(times, 95)


def vectors_filled(env: dict[str, str], real: int) -> dict:
    """Every embeddable unit of this backend's store given a vector as bench_search does for
    SQLite (`real` of them embedded for real, the rest real vectors plus noise: the same on
    both backends); then the vector cache built from the store's embeddings table into the
    host's MEMORY_HOME/index (what the first semantic search after new vectors pays), and
    opened from disk as the next process finds it."""
    from coditect_memory.search import vectors
    from coditect_memory.search.cache import SearchCache
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    out: dict = {}
    with using(env):
        settings = load_settings()
        with open_store(settings) as store:
            t = time.perf_counter()
            fill_vectors(store, SearchCache(), real)
            out["fill_s"] = time.perf_counter() - t
            model = searched_model(store, settings)
            t = time.perf_counter()
            vectors.load_index(store, settings.search.index_dir, model)
            out["cache_build_s"] = time.perf_counter() - t
            vectors._OPEN.clear()
            t = time.perf_counter()
            vix = vectors.load_index(store, settings.search.index_dir, model)
            out["cache_open_s"] = time.perf_counter() - t
            out["vectors"], out["model"] = len(vix or ()), model
    return out


SEARCHED = {"keyword": QUERIES, "semantic": SEMANTIC, "hybrid": SEMANTIC}


def searched(envs: dict[str, dict[str, str]], rounds: int) -> dict[str, dict]:
    """Keyword, semantic and hybrid `took_ms` in-process on both backends, their rounds
    alternated (a loaded machine slows both alike), each backend with its own store and
    SearchCache kept open as in a server; then each search's top 10 (compared across
    backends) and the whole `memory search --mode hybrid` command, alternated too."""
    from coditect_memory.actions.search import SearchRequest, search
    from coditect_memory.search.cache import SearchCache
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    out: dict[str, dict] = {name: {} for name in envs}
    times: dict[tuple[str, str], list[float]] = {}
    with contextlib.ExitStack() as stack:
        opened = {}
        for name, env in envs.items():
            with using(env):
                settings = load_settings()
            opened[name] = (stack.enter_context(open_store(settings)), settings, SearchCache())
        for _ in range(rounds):
            for name, (store, settings, cache) in opened.items():
                for mode, queries in SEARCHED.items():
                    got = mode_latency(store, settings, cache, mode, 1, queries)
                    times.setdefault((name, mode), []).extend(got["times"])
        for name, (store, settings, cache) in opened.items():
            for mode in SEARCHED:
                t = times[(name, mode)]
                out[name][mode] = {"p50": statistics.median(t), "p95": pct(t, 95), "max": max(t)}
            out[name]["top10"] = {f"{mode}: {q}": [r["uid"] for r in search(
                store, settings, SearchRequest(query=q, mode=mode, limit=10), cache).results]
                for mode in SEARCHED for q in SEMANTIC}
    command = ("search", "alembic migrations", "--mode", "hybrid", "--json", "-n", "10")
    walls: dict[str, list[float]] = {name: [] for name in envs}
    for _ in range(5):
        for name, env in envs.items():
            walls[name].append(memory(env, *command)[0])
    for name in envs:
        out[name]["hybrid_command_s"] = statistics.median(walls[name])
    return out


def server_cpu(server: PgServer) -> float:
    """CPU seconds the server's processes have used: the postmaster's own and its ended
    children's (reaped), plus its live children's (backends, walwriter, checkpointer)."""
    tick = os.sysconf("SC_CLK_TCK")
    pm = int((server.data / "postmaster.pid").read_text().split()[0])
    total = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError):
                f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                if int(pid) == pm:
                    total += sum(int(x) for x in f[11:15])
                elif int(f[1]) == pm:
                    total += int(f[11]) + int(f[12])
    return total / tick


def client_cpu() -> float:
    """CPU seconds used by the ended child processes (the `memory` commands and theirs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(name: str, env: dict[str, str], source: Path, small: Path, work: Path, rounds: int,
            server: PgServer, real_vectors: int | None) -> dict:
    out: dict = {"backend": name}
    cpu = client_cpu(), server_cpu(server)
    took, ing = memory(env, "ingest", str(source), "--json")
    assert isinstance(ing, dict)
    time.sleep(2)  # the run's connections end: their CPU is counted
    out["ingest_cpu_client"] = client_cpu() - cpu[0]
    out["ingest_cpu_server"] = server_cpu(server) - cpu[1] if name == "postgresql" else 0.0
    out["ingest_s"] = took
    out["messages"] = ing["messages_new"]
    out["rate"] = ing["messages_new"] / took
    out["kw_p50"], out["kw_p95"] = searches(env, rounds)
    out["hydrate_p50"], out["hydrate_p95"] = hydration(env)
    out["reports"] = {" ".join(r): memory(env, *r, "--json")[0] for r in REPORTS}
    out["status_s"] = statistics.median(memory(env, "status", "--json")[0] for _ in range(5))
    repo = work / f"repo-{name}"
    shutil.rmtree(repo, ignore_errors=True)
    took, made = memory(env, "backup", "create", "--type", "full", "--target", str(repo), "--json")
    assert isinstance(made, dict)
    out["backup_s"], out["backup_bytes"] = took, made["bytes"]
    took, ing = memory(env, "ingest", str(small), "--json")
    assert isinstance(ing, dict)
    out["small_new"] = ing["messages_new"]
    took, inc = memory(env, "backup", "create", "--target", str(repo), "--json")
    assert isinstance(inc, dict) and inc["type"] == "incremental", inc
    out["inc_s"], out["inc_bytes"], out["inc_rows"] = took, inc["bytes"], inc["rows_stored"]
    into = work / f"restored-{name}"
    shutil.rmtree(into, ignore_errors=True)
    out["restore_s"] = memory(env, "backup", "restore", inc["backup_id"], "--target", str(repo),
                              "--into", str(into), "--json")[0]
    shutil.rmtree(into, ignore_errors=True)
    if name == "postgresql":
        server.sql("CREATE DATABASE restored")
        out["restore_pg_s"] = memory(env, "backup", "restore", inc["backup_id"], "--target",
                                     str(repo), "--into", server.url("restored"), "--json")[0]
        server.sql("DROP DATABASE restored")
    shutil.rmtree(repo, ignore_errors=True)
    if real_vectors is not None:  # last: the backups above hold no vectors, as in earlier runs
        out["semantic"] = vectors_filled(env, real_vectors)
    return out


def grow(env: dict[str, str], steps: Iterable[tuple[Path, int]], rounds: int, url: str) -> list[dict]:
    """Each further folder ingested into the PostgreSQL store, measured at the size reached."""
    import psycopg

    out = []
    for src, _ in steps:
        took, ing = memory(env, "ingest", str(src), "--json")
        assert isinstance(ing, dict)
        _, st = memory(env, "status", "--json")
        assert isinstance(st, dict)
        row = {"source": str(src), "new": ing["messages_new"], "ingest_s": took,
               "rate": ing["messages_new"] / took, "rows": st["messages"]}
        row["kw_p50"], row["kw_p95"] = searches(env, rounds)
        row["reports"] = {" ".join(r): memory(env, *r, "--json")[0] for r in REPORTS}
        with psycopg.connect(url) as c:
            row["bytes"] = c.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        row["home_bytes"] = dir_size(Path(env["MEMORY_HOME"]))  # the keyword index on this host
        out.append(row)
        print(json.dumps(row), flush=True)
    return out


GROWTH_HEADER = ("rows stored", "step", "rate", "database size", "keyword p50 / p95", "slowest report")


def growth_rows(growth: list[dict]) -> list[tuple[str, ...]]:
    return [(f"{g['rows']:,}", f"{g['new']:,} in {g['ingest_s']:.0f} s", f"{g['rate']:,.0f}/s",
             f"{g['bytes'] / 1e6:,.0f} MB" + (f" + index {g['home_bytes'] / 1e6:,.0f} MB"
                                              if "home_bytes" in g else ""),
             f"{g['kw_p50']:.1f} / {g['kw_p95']:.1f} ms",
             "{1:.2f} s ({0})".format(*max(g["reports"].items(), key=lambda kv: kv[1])))
            for g in growth]


def record_growth(args: argparse.Namespace, growth: list[dict], started: float) -> None:
    """--growth-only: the curve alone, one row per step."""
    body = "\n".join([
        f"`.venv/bin/python benchmarks/bench_postgres.py --growth-only --source {args.source}"
        f" --grow {' '.join(map(str, args.grow))} --grow-seeds {' '.join(map(str, args.grow_seeds))}`"
        f" on {', '.join(f'{k}: {v}' for k, v in machine().items())}; PostgreSQL 15 durable"
        " (fsync, synchronous_commit, full_page_writes on; shared_buffers 1GB, max_wal_size 8GB);"
        f" {time.time() - started:.0f} s in all. Each step ingests one more 1M-message folder"
        " (another machine's history); database size is pg_database_size, the index is the"
        f" keyword index on this host; {args.rounds} rounds of {len(QUERIES)} keyword queries"
        " (`took_ms`); reports: wall time of the whole command.", "",
        table(growth_rows(growth), GROWTH_HEADER)])
    print(body)
    print(json.dumps(growth, indent=1))
    if not args.no_record:
        append_results("Growth on PostgreSQL (issue 16)", body)


def differing(results: list[dict]) -> list[str]:
    """The searches (mode: query) whose top 10 differs between the two backends."""
    lite, pg = (r["semantic"]["top10"] for r in results)
    return [k for k in lite if lite[k] != pg.get(k)]


def semantic_section(results: list[dict], rounds: int) -> list[str]:
    """The semantic part of the section: one row per backend, SQLite's targets."""
    def met(s: dict, target: float) -> str:
        return f"{s['p50']:.1f} / {s['p95']:.1f} ms" + ("" if s["p95"] <= target else " (over)")

    rows = []
    for r in results:
        s = r["semantic"]
        rows.append((r["backend"], f"{s['vectors']:,}", f"{s['fill_s']:.0f} s",
                     f"{s['cache_build_s']:.1f} s / {s['cache_open_s'] * 1000:.0f} ms",
                     met(s["keyword"], 20), met(s["semantic"], 50), met(s["hybrid"], 20),
                     f"{s['hybrid_command_s'] * 1000:.0f} ms"))
    same = len(results[0]["semantic"]["top10"]) - len(differing(results))
    return ["", f"Semantic and hybrid search (`took_ms` in-process, each backend's store and"
            f" SearchCache kept open as in a server, the two backends' rounds alternated; {rounds}"
            f" rounds of {len(SEMANTIC)} questions, each embedding its question anew after one"
            f" warm-up; keyword: the {len(QUERIES)} queries above). Vectors: every embeddable unit,"
            " 1,000 embedded for real, the rest real vectors plus noise (bench_search's fill, both"
            " models), written through the store's put_embeddings; the vector cache is built from"
            " the store's embeddings table into the host's MEMORY_HOME/index (what the first"
            " semantic search after new vectors pays), then opened from disk as the next process"
            " finds it. Targets (SQLite's, issue 18 item 4): keyword one or two terms p95 <= 20 ms,"
            " semantic p95 <= 50 ms, hybrid p95 <= 20 ms; the whole `memory search 'alembic"
            " migrations' --mode hybrid --json` command, median of 5 alternated (SQLite's target"
            " <= 250 ms). p95: nearest rank, as bench_search.", "",
            table(rows, ("backend", "vectors", "written in", "cache built / opened",
                         "keyword p50 / p95", "semantic p50 / p95", "hybrid p50 / p95",
                         "hybrid command")), "",
            f"The same top 10 on both backends: {same} of {len(results[0]['semantic']['top10'])}"
            f" searches (keyword, semantic and hybrid, {len(SEMANTIC)} questions each)."]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, default=Path("/work/bench/claude-1000000-7"))
    ap.add_argument("--workdir", type=Path, default=Path("/work/bench-pg/run"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--small", type=Path, default=Path("/work/bench-pg/small"),
                    help="a small folder ingested after the full backup (made by `memory sample"
                    " --messages 2000 --seed 99` when absent): the incremental's change")
    ap.add_argument("--grow", type=Path, nargs="*", default=[],
                    help="further folders ingested into the PostgreSQL store, one size step each")
    ap.add_argument("--grow-seeds", type=int, nargs="*", default=[],
                    help="then one step per seed: a 1M-message folder generated with `memory sample`,"
                    " ingested, measured and deleted (the disk holds one folder at a time)")
    ap.add_argument("--growth-only", action="store_true",
                    help="only the growth curve: --source is its first step (no SQLite run, no"
                    " backups)")
    ap.add_argument("--no-semantic", action="store_true",
                    help="skip semantic and hybrid search (every unit's vector written first)")
    ap.add_argument("--real-vectors", type=int, default=1000,
                    help="units embedded for real before the rest get real vectors plus noise")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if not args.small.exists():
        subprocess.run([*MEMORY, "sample", str(args.small), "--messages", "2000", "--seed", "99",
                        "--json"], check=True, capture_output=True)
    started = time.time()
    server = real_pg_server(max_wal_size="8GB", checkpoint_timeout="15min")
    growth: list[dict] = []
    try:
        server.sql("CREATE DATABASE bench")
        base = {k: v for k, v in os.environ.items() if k != "MEMORY_DATABASE_URL"}
        lite = {**base, "MEMORY_HOME": str(work / "home-sqlite")}
        pg = {**base, "MEMORY_HOME": str(work / "home-pg"), "MEMORY_DATABASE_URL": server.url("bench")}
        if args.growth_only:
            growth = grow(pg, step_folders([args.source, *args.grow], args.grow_seeds, 1_000_000, work),
                          args.rounds, server.url("bench"))
            record_growth(args, growth, started)
            return
        real = None if args.no_semantic else args.real_vectors
        results = [measure("sqlite", lite, args.source, args.small, work, args.rounds, server, real),
                   measure("postgresql", pg, args.source, args.small, work, args.rounds, server, real)]
        if real is not None:
            for r, found in zip(results, searched({"sqlite": lite, "postgresql": pg}, args.rounds).values(),
                                strict=True):
                r["semantic"].update(found)
        print(json.dumps(results), flush=True)
        sizes = {"sqlite": (work / "home-sqlite" / "memory.db").stat().st_size}
        import psycopg

        with psycopg.connect(server.url("bench")) as c:
            sizes["postgresql"] = c.execute("SELECT pg_database_size('bench')").fetchone()[0]  # type: ignore[index]
        growth = grow(pg, step_folders(args.grow, args.grow_seeds, 1_000_000, work), args.rounds,
                      server.url("bench"))
    finally:
        server.close()
    rows = []
    for r in results:
        slowest = max(r["reports"].items(), key=lambda kv: kv[1])
        rows.append([r["backend"], f"{r['messages']:,}", f"{r['ingest_s']:.1f} s",
                     f"{r['ingest_cpu_client']:.1f} + {r['ingest_cpu_server']:.1f} s",
                     f"{r['rate']:,.0f}/s", f"{sizes[r['backend']] / 1e6:,.0f} MB",
                     f"{r['kw_p50']:.1f} / {r['kw_p95']:.1f} ms",
                     f"{r['hydrate_p50']:.1f} / {r['hydrate_p95']:.1f} ms",
                     f"{slowest[1]:.2f} s ({slowest[0]})", f"{r['status_s']:.2f} s",
                     f"{r['backup_s']:.1f} s",
                     f"{r['inc_s']:.1f} s, {r['inc_bytes'] / 1e6:,.1f} MB, {r['inc_rows']:,} rows",
                     f"{r['restore_s']:.1f} s" + (f" (into a database: {r['restore_pg_s']:.1f} s)"
                                                  if "restore_pg_s" in r else "")])
    steps: list[tuple[str, ...]] = [(f"{results[1]['messages']:,}", "-", f"{results[1]['rate']:,.0f}/s",
              f"{sizes['postgresql'] / 1e6:,.0f} MB", f"{results[1]['kw_p50']:.1f} / {results[1]['kw_p95']:.1f} ms",
              f"{max(results[1]['reports'].values()):.2f} s")]
    steps += growth_rows(growth)
    m = machine()
    body = "\n".join([
        f"`.venv/bin/python benchmarks/bench_postgres.py {' '.join(sys.argv[1:])}` on"
        f" {', '.join(f'{k}: {v}' for k, v in m.items())}.", "",
        f"{args.rounds} rounds of {len(QUERIES)} keyword queries (`took_ms`); hydration: one page"
        " of 20 random ids, 200 times, in-process; reports: wall time of the whole command;"
        f" incremental: after ingesting {results[0]['small_new']:,} new rows ({args.small});"
        " restore: of the full + incremental chain; the first ingest's CPU: the `memory ingest`"
        " process and its children (rusage), and the server's processes (/proc: the postmaster,"
        " its live and ended children); status: median of 5 whole `status --json`"
        " commands. PostgreSQL 15 on the same machine, durable (fsync, synchronous_commit,"
        " full_page_writes on; shared_buffers 1GB, max_wal_size 8GB, checkpoint_timeout 15min)."
        f" {time.time() - started:.0f} s in all; other helpers' work was loading the machine.", "",
        table([tuple(r) for r in rows], ("backend", "messages", "first ingest",
                                          "its CPU: client + server", "rate",
                                          "store size", "keyword p50 / p95", "hydrate p50 / p95",
                                          "slowest report", "status", "full backup", "incremental",
                                          "restore"))]
        + (["", "Growth on PostgreSQL (rows are transcript rows of all kinds; each step ingests"
            " one more generated 1M-message folder):", "",
            table(steps, GROWTH_HEADER)] if growth else [])
        + (semantic_section(results, args.rounds) if not args.no_semantic else []))
    print(body)
    print(json.dumps({"results": results, "growth": growth}, indent=1))
    if not args.no_record:
        append_results("PostgreSQL vs SQLite (issue 16)", body)
    if not args.no_semantic and differing(results):
        raise SystemExit(f"PostgreSQL's top 10 differs from SQLite's for: {', '.join(differing(results))}")


if __name__ == "__main__":
    main()
