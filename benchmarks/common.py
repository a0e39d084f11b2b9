"""Shared by the benchmark scripts: the machine, Markdown tables, peak RSS of a child process,
the dated sections appended to RESULTS.md, and semantic search's vectors and queries."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
TIME_BIN = shutil.which("time", path="/usr/bin:/bin")


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    ram = "?"
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s*(\d+) kB", f.read(), re.M)
            ram = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB" if m else ram
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    return {"nproc": str(cores), "cpu": cpu, "ram": ram,
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "os": f"{platform.system()} {platform.release()}"}


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float, int]:
    """Run `cmd`; return (result, wall seconds, peak RSS in bytes of the command itself).

    With GNU time the peak is the command's own. Without it, the command runs under a fresh
    Python whose RUSAGE_CHILDREN then holds only that command.
    """
    if TIME_BIN:
        full = [TIME_BIN, "-f", "@@maxrss_kb=%M", *cmd]
    else:
        probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]);"
                 " print(f'@@maxrss_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}',"
                 " file=sys.stderr); sys.exit(r.returncode)")
        full = [sys.executable, "-c", probe, *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(full, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    m = re.search(r"@@maxrss_kb=(\d+)", proc.stderr)
    rss = int(m.group(1)) * 1024 if m else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    proc.stderr = re.sub(r"@@maxrss_kb=\d+\n?", "", proc.stderr)
    return proc, wall, rss


def dir_size(path: Path) -> int:
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(folder, name)).st_size
    return total


def step_folders(folders: list[Path], seeds: list[int], messages: int, scratch: Path):
    """The growth benchmarks' steps: each given folder, then one generated folder per seed
    (`memory sample --messages N --seed S`), deleted once its step is measured, so that a
    10M-message curve needs the disk of the store and one folder, not of ten folders.
    Yields (folder, its bytes)."""
    for folder in folders:
        yield folder, dir_size(folder)
    for seed in seeds:
        made = scratch / f"claude-{messages}-{seed}"
        shutil.rmtree(made, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "coditect_memory", "sample", str(made), "--messages",
                        str(messages), "--seed", str(seed), "--json"], check=True, capture_output=True)
        try:
            yield made, dir_size(made)
        finally:
            shutil.rmtree(made, ignore_errors=True)


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, rows)])


def append_results(title: str, body: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nNewest last. Every section names the exact "
                           "command and the machine.\n")
    with open(RESULTS, "a") as f:
        f.write(f"\n## {title} — {stamp}\n\n{body.rstrip()}\n")


def real_pg_server(max_wal_size: str | None = None, **more: str) -> Any:
    """A PostgreSQL 15 server of the benchmark's own (tests/pgserver.py), set as a real
    server would run: fsync, synchronous commit and full-page writes on, 1 GB of shared
    buffers; `more`: other settings an operator would tune (e.g. checkpoint_timeout). The
    caller closes it."""
    sys.path.insert(0, str(HERE.parent))
    from tests.pgserver import PgServer

    # On the command line (PgServer.start): `ALTER SYSTEM` would lose to the test settings
    # given there, as it did for the runs before 2026-12-05 07:20 UTC.
    settings = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
                "shared_buffers": "1GB"} | ({"max_wal_size": max_wal_size} if max_wal_size else {}) | more
    server = PgServer(settings)
    try:
        for name, want in settings.items():
            import psycopg

            with psycopg.connect(server.url()) as c:
                got = c.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            if got.lower() != want.lower():
                raise RuntimeError(f"the benchmark server runs with {name} = {got}, not {want}")
    except BaseException:
        server.close()
        raise
    return server


# --- semantic search: the vectors and the queries bench_search and bench_postgres share ---
SEMANTIC = ["what did we decide about the auth token refresh", "the session where I set up database migrations",
            "make the call retry with increasing delays", "a test that fails randomly",
            "why is the build pipeline red", "upgrade a dependency and fix what breaks",
            "split list results into pages", "review my diff before pushing",
            "comparing naive and aware datetimes", "the function returns nothing instead of raising",
            "race between two workers", "smaller docker image"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


def fill_vectors(store, cache, real: int) -> dict:
    """For every model: embed `real` units for real, give every other unit a real vector plus
    noise (both models, so that code before and after the int8 default searches its own)."""
    from coditect_memory.search.embedder import MODELS

    info: dict = {}
    for model in MODELS:
        info = {**fill_model(store, cache, real, model), **info}
    return info


def fill_model(store, cache, real: int, model_name: str) -> dict:
    import numpy as np

    from coditect_memory.search import vectors

    engine = vectors.engine_name(model_name)
    top = store.max_message_id()
    units = store.count_embeddable(vectors.EMBED_TYPES, 0, top)
    have = store.embedding_count(model_name)
    info = {"units": units}
    if have >= units:
        info["reused"] = True
        return info
    rows = store.embeddable_rows(vectors.EMBED_TYPES, 0, top, real)
    model = cache.embedder(model_name, threads=2)
    t = time.perf_counter()
    real_vecs = model.embed([vectors.unit_text(r.content) for r in rows])
    info["embed_per_s"] = len(rows) / (time.perf_counter() - t)
    info["real"] = len(rows)
    info["real_model"] = model_name
    rng = np.random.default_rng(7)
    done, batch = 0, []
    t = time.perf_counter()
    for start in range(0, top, 50_000):
        chunk = store.embeddable_rows(vectors.EMBED_TYPES, start, min(top, start + 50_000), 10**9)
        for r in chunk:
            if r.type == "user" and r.is_meta:
                continue  # tool-injected prompts are not embedded (vectors.embed)
            if done < len(rows):
                v = real_vecs[done]
            else:
                v = real_vecs[done % len(rows)] + rng.standard_normal(384).astype(np.float32) * 0.04
                v /= np.linalg.norm(v)
            batch.append((r.id, r.content_hash, v.astype("<f2").tobytes()))
            done += 1
        store.put_embeddings(model_name, batch, engine, min(top, start + 50_000), 0)
        batch = []
    store.put_embeddings(model_name, [], engine, top, store.settled_run_id())
    info["fill_s"] = time.perf_counter() - t
    return info


def searched_model(store, settings) -> str:
    """The model `memory search` uses on this store (the code before the int8 default had
    no vectors.active_model: it searched [search] model)."""
    from coditect_memory.search import vectors

    pick = getattr(vectors, "active_model", None)
    return pick(store, settings.search.model) if pick else settings.search.model


def mode_latency(store, settings, cache, mode: str, reps: int, queries: list[str] = SEMANTIC,
                 again: bool = False) -> dict:
    """p50/p95/max (and every one: `times`) of `took_ms` (in-process) of each query searched
    in `mode` `reps` times after one warm-up; unless `again`, each search embeds its
    question anew, as a new question does."""
    from coditect_memory.actions.search import SearchRequest, search

    forget = getattr(cache, "forget_queries", lambda: None)  # before: no embeddings remembered
    times = []
    for q in queries:
        search(store, settings, SearchRequest(query=q, mode=mode), cache)
        for _ in range(reps):
            if not again:
                forget()
            times.append(search(store, settings, SearchRequest(query=q, mode=mode), cache).took_ms)
    return {"p50": statistics.median(times), "p95": pct(times, 95), "max": max(times), "times": times}
