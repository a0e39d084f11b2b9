"""Shared by the benchmark scripts: the machine, Markdown tables, peak RSS of a child process,
and the dated sections appended to RESULTS.md."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import resource
import shutil
import sqlite3
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
