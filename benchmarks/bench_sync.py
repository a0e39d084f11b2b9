"""`memory sync` at team scale: N machines (sample stores of M messages each) pushing to one
`memory serve` at once — total time, rows/s, p95 of a push batch — against the same rows put
into a store by `memory import` (the write path without the network and the server) in the
same run; a full pull by one machine; then an incremental push and pull after a typical day
(1% new messages), and the floor of a command with nothing to do against the process start
of `memory sync --help`.

    python benchmarks/bench_sync.py [--machines 20] [--messages 5000] [--work /work/bench-sync/run]
        [--cache DIR] [--no-full-pull]

Every store is made here (under --work, deleted at the end unless --keep); nothing else is
written. --no-full-pull takes machine 1 as caught up (its pull cursor set to the server's
last id) instead of timing its pull of everything. --cache keeps the machines' generated and ingested homes (by machines, messages and
batch size) so a second run starts at the push: at 20 x 50k, making them is most of the run.
The package's bytecode is compiled first, as an installed package has it. Appends a dated
section to benchmarks/RESULTS.md (--no-write: print only).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import append_results, machine, table  # noqa: E402

CONFIG = '[privacy]\ndefault_level = "TEAM"\n[sync]\nbatch_size = {batch}\n'


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


def memory(home: Path, *args: str) -> dict:
    """`memory ARGS --json` as the machine at HOME (a process of its own)."""
    p = subprocess.run([sys.executable, "-m", "coditect_memory", *args, "--json"],
                       capture_output=True, text=True,
                       env={**os.environ, "MEMORY_HOME": str(home), "MEMORY_DATABASE_URL": ""})
    if p.returncode != 0:
        raise SystemExit(f"memory {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    out = p.stdout.strip()
    return json.loads(out) if out.startswith("{") else {}


def timed(home: Path, *args: str) -> tuple[dict, float]:
    t0 = time.perf_counter()
    out = memory(home, *args)
    return out, time.perf_counter() - t0


def timed_raw(home: Path, *args: str) -> float:
    """Seconds of `memory ARGS` (no --json)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "coditect_memory", *args], capture_output=True, check=True,
                   env={**os.environ, "MEMORY_HOME": str(home), "MEMORY_DATABASE_URL": ""})
    return time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_home(work: Path, name: str, batch: int) -> Path:
    home = work / name
    home.mkdir(parents=True)
    (home / "config.toml").write_text(CONFIG.format(batch=batch))
    return home


def prepare(a: argparse.Namespace) -> list[Path]:
    """The machines' homes (a sample each, ingested), from --cache when it has them; two at
    a time (the machine's two cores)."""
    from coditect_memory.sample import generate

    cache = a.cache / f"m{a.machines}x{a.messages}-b{a.batch}" if a.cache else None
    if cache is not None and (cache / "done").exists():
        for i in range(a.machines):
            shutil.copytree(cache / f"m{i}", a.work / f"m{i}")
            memory(a.work / f"m{i}", "db", "upgrade")  # a cache made by an older version
        print(f"{a.machines} machines copied from {cache}", flush=True)
        return [a.work / f"m{i}" for i in range(a.machines)]

    def one(i: int) -> Path:
        root = a.work / f"claude-{i}"
        generate(root, messages=a.messages, seed=100 + i)
        home = make_home(a.work, f"m{i}", a.batch)
        memory(home, "ingest", str(root))
        shutil.rmtree(root)
        return home

    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        homes = list(pool.map(one, range(a.machines)))
    print(f"{a.machines} machines made in {time.perf_counter() - t0:.0f} s", flush=True)
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)
        for home in homes:
            shutil.copytree(home, cache / home.name)
        (cache / "done").write_text("")
    return homes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=20)
    ap.add_argument("--messages", type=int, default=5000, help="messages per machine's sample")
    ap.add_argument("--batch", type=int, default=2000, help="[sync] batch_size")
    ap.add_argument("--work", type=Path, default=Path("/work/bench-sync/run"))
    ap.add_argument("--cache", type=Path, help="keep (and reuse) the machines' homes here")
    ap.add_argument("--no-full-pull", action="store_true", help="skip one machine's full pull")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    import coditect_memory
    from coditect_memory.sample import generate

    compileall.compile_dir(Path(coditect_memory.__file__).parent, quiet=1)
    load = [os.getloadavg()[0]]
    shutil.rmtree(a.work, ignore_errors=True)
    a.work.mkdir(parents=True)
    homes = prepare(a)
    rows = sum(memory(h, "status")["messages"] for h in homes)
    print(f"{a.machines} machines, {rows:,} messages", flush=True)

    # Baseline: the same rows into one store by `memory import` (no network, no server).
    base = make_home(a.work, "baseline", a.batch)
    exports = [a.work / f"export-{i}.jsonl" for i in range(len(homes))]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda ih: memory(ih[1], "export", "--output", str(exports[ih[0]])),
                      enumerate(homes)))
    t0 = time.perf_counter()
    for path in exports:
        memory(base, "import", str(path))
        path.unlink()
    import_s = time.perf_counter() - t0
    print(f"baseline import: {import_s:.1f} s", flush=True)
    shutil.rmtree(base)
    load.append(os.getloadavg()[0])

    server_home = make_home(a.work, "server", a.batch)
    memory(server_home, "submodule", "add", "all", "--path", "/")
    tok = memory(server_home, "auth", "token", "--name", "bench", "--scope", "write")["token"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    srv = subprocess.Popen([sys.executable, "-m", "coditect_memory", "serve", "--port", str(port)],
                           env={**os.environ, "MEMORY_HOME": str(server_home), "MEMORY_DATABASE_URL": ""},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        for home in homes:
            memory(home, "sync", "init", "--server", url, "--token", tok)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(len(homes)) as pool:
            pushes = list(pool.map(lambda h: timed(h, "sync", "push"), homes))
        push_s = time.perf_counter() - t0
        new = sum(p["new"] for p, _ in pushes)
        batches = [b for p, _ in pushes for b in p["batch_seconds"]]
        print(f"concurrent push: {push_s:.1f} s, {new:,} new", flush=True)
        load.append(os.getloadavg()[0])

        if a.no_full_pull:  # machine 1 taken as caught up: its pull cursor at the server's last id
            with sqlite3.connect(server_home / "memory.db") as db:
                top = db.execute("SELECT max(id) FROM messages").fetchone()[0]
            with sqlite3.connect(homes[1] / "memory.db") as db:
                db.execute("UPDATE sync_state SET pull_cursor = ?", (top,))
            pulled, pull_s = {"messages": 0}, 0.0
        else:
            pulled, pull_s = timed(homes[1], "sync", "pull")
            print(f"full pull: {pull_s:.1f} s, {pulled['messages']:,}", flush=True)

        # A typical day: 1% new messages on machine 0, pushed; machine 1 pulls them.
        day = a.work / "claude-day"
        generate(day, messages=max(1, a.messages // 100), seed=999)
        memory(homes[0], "ingest", str(day))
        inc_push, inc_push_s = timed(homes[0], "sync", "push")
        inc_pull, inc_pull_s = timed(homes[1], "sync", "pull")
        # machine 1 is the caught-up one (machine 0 never pulled: its first pull takes everything)
        floor = {what: min(timed(homes[1], "sync", what)[1] for _ in range(3))
                 for what in ("push", "pull", "status")}
        start_s = min(timed_raw(homes[0], "sync", "--help") for _ in range(3))
        print(f"incremental: push {inc_push_s:.1f} s ({inc_push['messages']}), pull "
              f"{inc_pull_s:.1f} s ({inc_pull['messages']}); nothing to do: {floor}", flush=True)
        load.append(os.getloadavg()[0])
    finally:
        srv.terminate()
        srv.wait(30)

    m = machine()
    out = [(f"`memory import` of the same {rows:,} messages, {a.machines} files one after another "
            "(baseline)", f"{import_s:.1f} s", f"{rows / import_s:,.0f}", "—", "baseline"),
           (f"{a.machines} machines pushing at once (`memory sync push`, one process each)",
            f"{push_s:.1f} s", f"{new / push_s:,.0f}",
            f"p50 {pct(batches, 50):.2f} s, p95 {pct(batches, 95):.2f} s ({len(batches)} batches)",
            f"x{push_s / import_s:.2f} the import")]
    if not a.no_full_pull:
        out.append((f"one machine's full pull ({pulled['messages']:,} messages)", f"{pull_s:.1f} s",
                    f"{pulled['messages'] / pull_s:,.0f}", "—", f"x{pull_s / import_s:.2f} the import"))
    out += [(f"a day's 1% ({inc_push['messages']:,} messages): push", f"{inc_push_s:.2f} s",
             "—", "—", "target: a few seconds"),
            (f"... and the other machine's pull ({inc_pull['messages']:,} messages)",
             f"{inc_pull_s:.2f} s", "—", "—", "target: a few seconds"),
            ("process start and the CLI: `memory sync --help` (best of 3)", f"{start_s:.2f} s", "—", "—",
             "baseline of the floor")]
    out += [(f"`memory sync {what}` with nothing to do (best of 3)", f"{sec:.2f} s", "—", "—",
             f"+{sec - start_s:.2f} s over the process start") for what, sec in floor.items()]
    cmd = (f"python benchmarks/bench_sync.py --machines {a.machines} --messages {a.messages} "
           f"--batch {a.batch}" + (" --no-full-pull" if a.no_full_pull else ""))
    body = (f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram']}, Python {m['python']}, SQLite "
            f"{m['sqlite']}; load average {' / '.join(f'{x:.1f}' for x in load)} at the start, "
            f"after the baseline, after the pushes and at the end (a load above {m['nproc']} is "
            f"other work on the machine: the walls are then upper bounds). {a.machines} machines "
            f"of {a.messages:,}-message samples (`memory sample`, {rows:,} messages in all), "
            f"`[sync] batch_size = {a.batch}`, the server on SQLite (one uvicorn worker); every "
            f"figure includes each command's process start.\n\n"
            + table(out, ("what", "wall", "messages/s", "push batch round trip", "vs"))
            + f"\n\nReproduce: `{cmd}`.\n")
    print(body)
    if not a.no_write:
        append_results(f"sync: {a.machines} machines pushing at once (bench_sync.py)", body)
    if not a.keep:
        shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
