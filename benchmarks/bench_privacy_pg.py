"""Privacy on PostgreSQL next to SQLite, in the same run: forget and audit verify at 1M.

    .venv/bin/python benchmarks/bench_privacy_pg.py [--claude /work/bench/claude-1000000-7]
        [--home /work/bench/home] [--scratch /work/bench-pgpriv] [--audit-entries 1000000]
        [--pg-url URL]

1. SQLite (the baseline): on a copy of the 1M store HOME (deleted after: disk is shared),
   `memory forget --session` soft, then --hard of another session (100-2,000 messages),
   then `memory index --rebuild` (what --hard did before: bench_privacy.forgets);
2. PostgreSQL: a server of its own (common.real_pg_server: fsync on as a real server runs),
   `memory ingest CLAUDE` into it (memory extraction off: it does not run on PostgreSQL yet),
   or a store already ingested (--pg-url), then the same forgets and rebuild;
3. `memory audit verify` over N entries on each backend (the chain written directly).
Appends a dated section to benchmarks/RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from tests.pgserver import PgServer  # noqa: E402

from bench_privacy import MEMORY, PICK, audit_bench, forget_bench, forgets  # noqa: E402
from coditect_memory.privacy import audit  # noqa: E402
from common import append_results, machine, real_pg_server, run_measured, table  # noqa: E402


def pg_leg(url: str, claude: Path, scratch: Path, audit_n: int, ingest: bool,
           server: PgServer | None) -> list[tuple[str, ...]]:
    import psycopg

    home = scratch / "home-pg"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[memories]\nextract_on_ingest = false\n")
    env = {**os.environ, "MEMORY_HOME": str(home), "MEMORY_DATABASE_URL": url}
    note = "an existing store (--pg-url)"
    if ingest:
        proc, ingest_s, _ = run_measured([*MEMORY, "ingest", str(claude), "--json"], env)
        if proc.returncode != 0:
            raise SystemExit(f"ingest into PostgreSQL failed: {proc.stderr[-2000:]}")
        note = f"ingested in {ingest_s:.0f} s"
    else:
        run_measured([*MEMORY, "index", "--json"], env)  # the index caught up, as in daily use
    with psycopg.connect(url) as conn:
        picked = [(str(r[0]), int(r[1])) for r in conn.execute(PICK)]
        total = conn.execute("SELECT count(*) FROM messages").fetchone()[0]  # type: ignore[index]
    out = [("postgresql", "store", f"{total:,} messages, {note}", ""),
           *forgets("postgresql", env, picked)]
    if server is not None:
        out.append(pg_audit(server, scratch, audit_n))
    shutil.rmtree(home, ignore_errors=True)
    return out


def pg_audit(server: PgServer, scratch: Path, n: int) -> tuple[str, ...]:
    """`memory audit verify` over n entries written by COPY into a fresh database."""
    import psycopg

    from coditect_memory.store.postgres.backend import PostgresStore

    server.sql("CREATE DATABASE audit")
    url = server.url("audit")
    PostgresStore(url).close()  # migrated
    prev = audit.GENESIS
    with psycopg.connect(url) as conn, conn.cursor() as cur, \
            cur.copy("COPY audit_log FROM STDIN") as copy:
        for seq in range(1, n + 1):
            at, detail = 1_700_000_000_000 + seq, json.dumps({"n": seq}, separators=(",", ":"))
            h = audit.entry_hash(seq, at, "local:bench", "search", "q", None, detail, prev)
            copy.write_row((seq, at, "local:bench", "search", "q", None, detail, prev, h))
            prev = h
    home = scratch / "audit-home-pg"
    env = {**os.environ, "MEMORY_HOME": str(home), "MEMORY_DATABASE_URL": url}
    proc, wall, rss = run_measured([*MEMORY, "audit", "verify", "--json"], env)
    if proc.returncode != 0:
        raise SystemExit(f"audit verify failed: {proc.stderr[-2000:]}")
    res = json.loads(proc.stdout)
    shutil.rmtree(home, ignore_errors=True)
    return ("postgresql", "audit verify", f"{res['entries']:,} entries in {wall:.2f} s wall "
            f"({res['entries'] / wall:,.0f}/s), peak RSS {rss / 1e6:.0f} MB", "")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claude", type=Path, default=Path("/work/bench/claude-1000000-7"))
    ap.add_argument("--home", type=Path, default=Path("/work/bench/home"))
    ap.add_argument("--scratch", type=Path, default=Path("/work/bench-pgpriv"))
    ap.add_argument("--audit-entries", type=int, default=1_000_000)
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--pg-url", help="a PostgreSQL store the sample is already ingested into "
                    "(skips starting a server, the ingest and the audit leg)")
    args = ap.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = forget_bench(args.home, args.scratch, scan=False)
    rows += audit_bench(args.scratch, args.audit_entries)
    if args.pg_url:
        rows += pg_leg(args.pg_url, args.claude, args.scratch, args.audit_entries, False, None)
    else:
        server = real_pg_server()
        try:
            server.sql("CREATE DATABASE bench")
            rows += pg_leg(server.url("bench"), args.claude, args.scratch, args.audit_entries,
                           True, server)
        finally:
            server.close()
    m = machine()
    body = "\n".join([
        f"`.venv/bin/python benchmarks/bench_privacy_pg.py --claude {args.claude} --home"
        f" {args.home} --audit-entries {args.audit_entries}"
        f"{' --pg-url URL' if args.pg_url else ''}` on"
        f" {', '.join(f'{k}: {v}' for k, v in m.items())}; {time.perf_counter() - started:.0f} s"
        " in all. SQLite first (a copy of the 1M store), then PostgreSQL 15 (the same sample"
        " ingested into a server run as in production, fsync on). Other work (five other"
        " engineers' builds and tests) was loading this 2-core machine: walls are upper bounds.", "",
        table(rows, ("backend", "what", "measured", "target"))])
    print(body)
    if not args.no_record:
        append_results("Privacy on PostgreSQL next to SQLite: forget and audit verify at 1M (issue 14)",
                       body)


if __name__ == "__main__":
    main()
