"""Memories and the context pack on PostgreSQL next to SQLite, same data, same run.

    .venv/bin/python benchmarks/bench_pg_memories.py --workdir /work/bench-pgport/mem \\
        --messages 100000

Starts a PostgreSQL server of its own (tests/pgserver.py), then for each backend: the
ingest of one generated sample with extraction and indexing off (the baseline), memory
extraction over it, extraction again over the same rows (every draft consolidates into an
existing memory: the update path), and in-process (a server's view, store open) the context
pack, `memories list --query` and `related`: p50/p95. Appends a dated section to RESULTS.md
unless --no-record.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from tests.pgserver import PgServer  # noqa: E402

from bench_context import MEMORY, ms, pct, timed_runs  # noqa: E402
from common import append_results, machine, table  # noqa: E402


def measure(name: str, home: Path, url: str, sample: Path, runs: int) -> list[tuple[str, ...]]:
    from coditect_memory.actions.context import ContextRequest, context
    from coditect_memory.actions.memories import ListRequest, list_memories, related
    from coditect_memory.context.tokens import TokenCounter
    from coditect_memory.memories.lifecycle import extract
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[memories]\nextract_on_ingest = false\n"
                                      "[search]\nindex_on_ingest = false\n")
    env = {**os.environ, "MEMORY_HOME": str(home), "MEMORY_DATABASE_URL": url}
    t = time.perf_counter()
    out = subprocess.run([*MEMORY, "ingest", str(sample), "--json"], env=env, check=True,
                         capture_output=True, text=True)
    ingest_s = time.perf_counter() - t
    new = json.loads(out.stdout)["messages_new"]
    settings = replace(load_settings(home), database_url=url)
    rows = [(name, f"ingest of {new:,} messages (extraction, indexing off)",
             f"{ingest_s:.2f} s ({new / ingest_s:,.0f} msgs/s)", "baseline")]
    with open_store(settings) as st:
        first = extract(st, settings.memories)
        rows.append((name, "extraction of the same messages", f"{first.seconds:.2f} s "
                     f"({first.new:,} memories)", f"{first.seconds / ingest_s:.1%} of ingest"))
        with st.tx() as db:  # type: ignore[attr-defined]
            db.execute("DELETE FROM memory_state")
        again = extract(st, settings.memories)
        rows.append((name, "extraction again (every draft consolidates)",
                     f"{again.seconds:.2f} s ({again.new:,} new)", f"{again.seconds / ingest_s:.1%} of ingest"))
        projects = list(dict.fromkeys(s["project"] for s in st.sessions(limit=300) if s["project"]))[:5]
        counter = TokenCounter()
        times: list[float] = []
        for p in projects:
            times += timed_runs(lambda p=p: context(st, settings, ContextRequest(project=p, record=False),
                                                    counter), max(2, runs // len(projects)))
        rows.append((name, f"`memory context` in-process ({len(projects)} projects)",
                     f"p50 {ms(pct(times, .5))}, p95 {ms(pct(times, .95))}", ""))
        for label, fn in (("`memories list --query`", lambda: list_memories(st, ListRequest(query="test"))),
                          ("`related` on a file", lambda: related(st, "README.md"))):
            times = timed_runs(fn, runs)
            rows.append((name, label, f"p50 {ms(pct(times, .5))}, p95 {ms(pct(times, .95))}", ""))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path, default=Path("/work/bench-pgport/mem"))
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    work = args.workdir
    sample = work / "sample"
    if not sample.exists():
        subprocess.run([*MEMORY, "sample", str(sample), "--messages", str(args.messages)],
                       check=True, capture_output=True)
    stamp = time.strftime("%H%M%S")
    server = PgServer()
    try:
        rows = measure("sqlite", work / f"sqlite-{stamp}", "", sample, args.runs)
        rows += measure("postgresql", work / f"pg-{stamp}", server.database(empty=True), sample,
                        args.runs)
    finally:
        server.close()
    body = table(rows, ("backend", "what", "measured", "against"))
    body = (f"`{' '.join(sys.argv)}`; machine: "
            f"{', '.join(f'{k} {v}' for k, v in machine().items())}\n\n{body}\n")
    print(body)
    if not args.no_record:
        append_results("Memories and the context pack on PostgreSQL next to SQLite", body)


if __name__ == "__main__":
    main()
