"""Privacy on PostgreSQL next to SQLite, in the same run: forget and audit verify at 1M.

    .venv/bin/python benchmarks/bench_privacy_pg.py [--claude /work/bench/claude-1000000-7]
        [--home /work/bench/home] [--scratch /work/bench-pgpriv] [--audit-entries 1000000]

1. SQLite (the baseline): on a copy of the 1M store HOME (deleted after: disk is shared),
   `memory forget --session` soft, then --hard of another session (100-2,000 messages);
2. PostgreSQL: a server of its own (tests/pgserver.py, fsync on as a real server would run),
   `memory ingest CLAUDE` into it (memory extraction off: it does not run on PostgreSQL yet),
   then the same two forgets (hard: rows deleted, VACUUM of the tables, index rebuilt);
3. `memory audit verify` over N entries on each backend (the chain written directly).
Appends a dated section to benchmarks/RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from tests.pgserver import PgServer  # noqa: E402

from bench_privacy import MEMORY, audit_bench  # noqa: E402
from coditect_memory.privacy import audit  # noqa: E402
from common import append_results, machine, run_measured, table  # noqa: E402

PICK = ("SELECT id, message_count FROM sessions WHERE message_count BETWEEN 100 AND 2000"
        " ORDER BY id LIMIT 2")


def forgets(name: str, env: dict[str, str], sessions: list[tuple[str, int]]) -> list[tuple[str, ...]]:
    """A soft forget of the first session, a hard one of the second, as a user runs them."""
    out = []
    for (sid, n), hard in zip(sessions, (False, True), strict=True):
        cmd = [*MEMORY, "forget", "--session", sid, "--yes", "--json", *(["--hard"] if hard else [])]
        proc, wall, rss = run_measured(cmd, env)
        if proc.returncode != 0:
            raise SystemExit(f"{name}: {' '.join(cmd)} failed: {proc.stderr[-2000:]}")
        res = json.loads(proc.stdout)
        out.append((name, f"forget --session{' --hard' if hard else ''} ({n:,}-message session)",
                    f"{wall:.2f} s wall ({res['messages']:,} rows), peak RSS {rss / 1e6:.0f} MB",
                    "< 10 s" if hard else "< 1 s"))
    return out


def sqlite_leg(src_home: Path, scratch: Path) -> list[tuple[str, ...]]:
    home = scratch / "home-sqlite"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(src_home, home, ignore=shutil.ignore_patterns("ingest.lock"))
    env = {**os.environ, "MEMORY_HOME": str(home)}
    env.pop("MEMORY_DATABASE_URL", None)
    from coditect_memory.store.sqlite.backend import SQLiteStore

    SQLiteStore(str(home / "memory.db"), create=False).close()  # migrated to this version
    run_measured([*MEMORY, "index", "--json"], env)  # the index caught up, as in daily use
    db = sqlite3.connect(home / "memory.db")
    picked = db.execute(PICK).fetchall()
    total = db.execute("SELECT count(*) FROM messages").fetchone()[0]
    db.close()
    try:
        return [("sqlite", "store", f"{total:,} messages (copy of {src_home})", ""),
                *forgets("sqlite", env, picked)]
    finally:
        shutil.rmtree(home, ignore_errors=True)


def pg_leg(server: PgServer, claude: Path, scratch: Path, audit_n: int) -> list[tuple[str, ...]]:
    import psycopg

    home = scratch / "home-pg"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[memories]\nextract_on_ingest = false\n")
    server.sql("CREATE DATABASE bench")
    url = server.url("bench")
    env = {**os.environ, "MEMORY_HOME": str(home), "MEMORY_DATABASE_URL": url}
    proc, ingest_s, _ = run_measured([*MEMORY, "ingest", str(claude), "--json"], env)
    if proc.returncode != 0:
        raise SystemExit(f"ingest into PostgreSQL failed: {proc.stderr[-2000:]}")
    with psycopg.connect(url) as conn:
        picked = [(str(r[0]), int(r[1])) for r in conn.execute(PICK)]
        total = conn.execute("SELECT count(*) FROM messages").fetchone()[0]  # type: ignore[index]
    out = [("postgresql", "store", f"{total:,} messages, ingested in {ingest_s:.0f} s", ""),
           *forgets("postgresql", env, picked)]
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
    args = ap.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = sqlite_leg(args.home, args.scratch)
    rows += [("sqlite", *r) for r in audit_bench(args.scratch, args.audit_entries)]
    server = PgServer()
    try:
        for setting in ("fsync = on", "synchronous_commit = on", "full_page_writes = on",
                        "shared_buffers = '1GB'"):
            server.sql(f"ALTER SYSTEM SET {setting}")
        server.stop()
        server.start()
        rows += pg_leg(server, args.claude, args.scratch, args.audit_entries)
    finally:
        server.close()
    m = machine()
    body = "\n".join([
        f"`.venv/bin/python benchmarks/bench_privacy_pg.py --claude {args.claude} --home"
        f" {args.home} --audit-entries {args.audit_entries}` on"
        f" {', '.join(f'{k}: {v}' for k, v in m.items())}; {time.perf_counter() - started:.0f} s"
        " in all. SQLite first (a copy of the 1M store), then PostgreSQL 15 (a server the"
        " script starts, fsync on; the same sample ingested into it).", "",
        table(rows, ("backend", "what", "measured", "target"))])
    print(body)
    if not args.no_record:
        append_results("Privacy on PostgreSQL next to SQLite: forget and audit verify at 1M (issue 14)",
                       body)


if __name__ == "__main__":
    main()
