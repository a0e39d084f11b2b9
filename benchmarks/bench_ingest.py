"""End-to-end ingest throughput against what this machine can do at best.

    .venv/bin/python benchmarks/bench_ingest.py --messages 1000000

1. generates a sample ~/.claude folder with `memory sample`'s generator (not timed);
2. ceilings on the same files: (a) orjson parse + sha256 of every line of every JSONL file,
   (b) a bare SQLite insert of as many rows as the ingest stores (uid TEXT UNIQUE, session,
   ts, type, content), executemany in 5000-row transactions, WAL;
3. `memory ingest DIR --json` in a subprocess with a fresh MEMORY_HOME: wall time,
   messages/s, MB/s, peak RSS of the child, store size;
4. the same ingest again over unchanged data, as a % of the first run;
5. prints a Markdown table and appends a dated section to benchmarks/RESULTS.md.

Targets (the ingest issue): >= 10k messages/s end to end, peak RSS < 500 MB whatever the
input size, a re-run under 2 % of the first run's time; issue 18: >= 15k rows/s, within 3x
of ceiling (c), a bare parse + insert of the same files, and the store's size by table.
`--before SRC` ingests the same data with another source tree's code in the same run (a
baseline measured under the same load).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from coditect_memory.store.sqlite.packing import uuid_sql
from common import append_results, dir_size, machine, run_measured, table

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATE = 15_000  # rows/s (issue 18; the ingest issue asked 10k messages/s)
TARGET_RSS = 500 << 20
TARGET_RERUN = 0.02


def jsonl_files(root: Path) -> list[Path]:
    out = []
    for folder, _, names in os.walk(root):
        out.extend(Path(folder) / n for n in names if n.endswith(".jsonl"))
    return sorted(out)


def ceiling_parse(files: list[Path]) -> dict:
    """(a) What reading alone costs: orjson parse + sha256 of every line of every JSONL file."""
    lines = nbytes = bad = 0
    loads, sha = orjson.loads, hashlib.sha256
    t0 = time.perf_counter()
    for path in files:
        with open(path, "rb") as f:
            for line in f:
                lines += 1
                nbytes += len(line)
                sha(line).digest()
                try:
                    loads(line)
                except orjson.JSONDecodeError:
                    bad += 1  # lone surrogates: the real reader repairs these
    secs = time.perf_counter() - t0
    return {"lines": lines, "bytes": nbytes, "seconds": secs, "unparsed": bad}


_BARE_INSERT = "INSERT OR IGNORE INTO messages (uid, session, ts, type, content) VALUES (?, ?, ?, ?, ?)"


def _bare_store(path: Path) -> sqlite3.Connection:
    """The ceilings' store: one table, the uid unique, WAL."""
    _remove(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, uid TEXT UNIQUE, session TEXT,"
               " ts, type TEXT, content TEXT)")
    return db


def _insert_all(db: sqlite3.Connection, rows) -> int:
    """Insert in 5000-row transactions; returns the rows inserted."""
    done = 0
    while batch := list(itertools.islice(rows, 5000)):
        db.execute("BEGIN")
        db.executemany(_BARE_INSERT, batch)
        db.execute("COMMIT")
        done += len(batch)
    return done


def _remove(path: Path) -> int:
    """Delete a ceiling's store; returns its size."""
    size = 0
    for suffix in ("", "-wal", "-shm"):
        f = Path(f"{path}{suffix}")
        if f.exists():
            size += f.stat().st_size
            f.unlink()
    return size


def ceiling_insert(files: list[Path], rows: int, workdir: Path) -> dict:
    """(b) What writing alone costs: a bare SQLite insert of `rows` rows (content = JSONL lines)."""
    path = workdir / "ceiling.db"
    db = _bare_store(path)

    def source():
        done = 0
        for n in itertools.count():
            for p in files:
                with open(p, "rb") as f:
                    for line in f:
                        uid = hashlib.sha256(line + str(n).encode()).hexdigest()[:32]
                        yield uid, p.stem, done, "line", line.decode("utf-8", "replace")
                        done += 1

    t0 = time.perf_counter()
    _insert_all(db, itertools.islice(source(), rows))
    secs = time.perf_counter() - t0
    db.close()
    return {"rows": rows, "seconds": secs, "store_bytes": _remove(path)}


def ceiling_parse_insert(files: list[Path], data: Path, workdir: Path) -> dict:
    """(c) A bare parse + insert: every JSONL line parsed (orjson), its id, session, time and
    type taken, its message content as JSON text, and every debug-log line, inserted as in
    (b). What a pipeline that did nothing else would cost; the issue's target is within 3x."""
    path = workdir / "ceiling-c.db"
    db = _bare_store(path)

    def source():
        for p in files:
            with open(p, "rb") as f:
                for line in f:
                    try:
                        obj = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    if not isinstance(obj, dict):
                        continue
                    msg = obj.get("message")
                    content = msg.get("content") if isinstance(msg, dict) else obj.get("display")
                    if not (isinstance(content, str) or content is None):
                        content = orjson.dumps(content).decode()
                    uid = obj.get("uuid") or hashlib.sha256(line).hexdigest()[:32]
                    yield uid, obj.get("sessionId"), obj.get("timestamp"), obj.get("type"), content
        for p in sorted((data / "debug").glob("*.txt")):
            with open(p, "rb") as f:
                for n, line in enumerate(f):
                    yield f"{p.stem}:{n}", p.stem, None, "log", line.decode("utf-8", "replace")

    t0 = time.perf_counter()
    rows = _insert_all(db, source())
    secs = time.perf_counter() - t0
    db.close()
    _remove(path)
    return {"rows": rows, "seconds": secs}


def store_bytes(home: Path, top: int = 8) -> str:
    """Where the store's bytes are: the largest tables and indexes (SQLite's dbstat)."""
    db = sqlite3.connect(f"file:{home / 'memory.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"
                          " ORDER BY 2 DESC LIMIT ?", (top,)).fetchall()
    except sqlite3.OperationalError:
        return "(dbstat not compiled into this SQLite)"
    finally:
        db.close()
    return ", ".join(f"{name} {mb(n)}" for name, n in rows)


def store_split(home: Path) -> str:
    """The store file (with its WAL) against the keyword index, and `messages`' largest
    columns (bytes of their values, SQLite's length())."""
    db_bytes = sum(os.stat(p).st_size for p in home.glob("memory.db*"))
    index = dir_size(home / "index")
    db = sqlite3.connect(f"file:{home / 'memory.db'}?mode=ro", uri=True)
    try:
        cols = [r[1] for r in db.execute("PRAGMA table_info(messages)")]
        sums = db.execute("SELECT " + ", ".join(f"sum(length({c}))" for c in cols)
                          + " FROM messages").fetchone()
    finally:
        db.close()
    top = sorted(zip(cols, sums, strict=True), key=lambda c: -(c[1] or 0))[:8]
    return (f"store {mb(db_bytes)}, keyword index {mb(index)}, other {mb(dir_size(home) - db_bytes - index)};"
            " messages' columns: " + ", ".join(f"{c} {mb(n or 0)}" for c, n in top))


def _memory(home: Path, src: Path | None, *args: str) -> tuple[float, bytes]:
    env = {**os.environ, "MEMORY_HOME": str(home)}
    env.pop("MEMORY_DATABASE_URL", None)
    if src is not None:
        env["PYTHONPATH"] = str(src / "src")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "coditect_memory", *args], env=env,
                         capture_output=True, check=True).stdout
    wall = time.perf_counter() - t0
    return wall, re.sub(rb'"took_ms": [0-9.]+', b"", out)


def reads(home: Path, before_home: Path, src: Path, runs: int,
          more: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> list[tuple[str, ...]]:
    """Reading a session (the largest, and one of ~500 messages) and a search result (and
    `more` commands: (name, arguments)), each a fresh process, before and after alternated;
    the outputs must be the same bytes."""
    db = sqlite3.connect(f"file:{home / 'memory.db'}?mode=ro", uri=True)
    sizes = db.execute(f"SELECT {uuid_sql('session_id')}, count(*) FROM messages"  # 16 bytes (0027)
                       " WHERE session_id IS NOT NULL GROUP BY session_id ORDER BY 2 DESC, 1").fetchall()
    db.close()
    mid = min(sizes, key=lambda r: (abs(r[1] - 500), r[0]))
    cases = [(f"show session ({sizes[0][1]:,} messages)", ("show", "session", sizes[0][0], "--json")),
             (f"show session ({mid[1]:,} messages)", ("show", "session", mid[0], "--json")),
             ("search 'retry backoff' --limit 50", ("search", "retry backoff", "--limit", "50", "--json")),
             *more]
    out = []
    for name, args in cases:
        walls: dict[str, list[float]] = {"before": [], "after": []}
        outputs = {}
        for _ in range(runs):
            for side, h, code in (("before", before_home, src), ("after", home, None)):
                wall, text = _memory(h, code, *args)
                walls[side].append(wall)
                outputs[side] = text
        same = "same output" if outputs["before"] == outputs["after"] else "**OUTPUT DIFFERS**"
        for side, w in walls.items():
            out.append((name, side, f"median {statistics.median(w) * 1000:,.0f} ms (min "
                        f"{min(w) * 1000:,.0f}, max {max(w) * 1000:,.0f})",
                        f"{len(outputs[side]):,} bytes, {same}"))
    return out


def ingest(data: Path, home: Path, src: Path | None = None) -> dict:
    """`memory ingest` in a fresh process; `src`: another source tree's code (a baseline)."""
    env = {**os.environ, "MEMORY_HOME": str(home)}
    env.pop("MEMORY_DATABASE_URL", None)
    if src is not None:
        env["PYTHONPATH"] = str(src / "src")
    cmd = [sys.executable, "-m", "coditect_memory", "ingest", str(data), "--json"]
    proc, wall, rss = run_measured(cmd, env)
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    stats = json.loads(proc.stdout)
    return {"stats": stats, "wall": wall, "rss": rss, "store_bytes": dir_size(home)}


def profile(data: Path, workdir: Path, top: int = 30) -> str:
    """cProfile of a fresh in-process ingest: the top functions by own time."""
    home = workdir / "home-profile"
    shutil.rmtree(home, ignore_errors=True)
    out = workdir / "ingest.prof"
    env = {**os.environ, "MEMORY_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "coditect_memory",
                    "ingest", str(data), "--json"], env=env, check=True, capture_output=True)
    import io
    import pstats

    buf = io.StringIO()
    pstats.Stats(str(out), stream=buf).sort_stats("tottime").print_stats(top)
    shutil.rmtree(home, ignore_errors=True)
    return buf.getvalue()


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000,
                    help="transcript messages to generate (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, help="where data and stores go (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir (data is reused "
                    "by the next run with the same --workdir, --messages and --seed)")
    ap.add_argument("--profile", action="store_true", help="also cProfile one ingest")
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    ap.add_argument("--before", type=Path, metavar="SRC", help="also ingest with the code of "
                    "this source tree (e.g. `git archive` of an older commit), in the same run")
    ap.add_argument("--reads", type=int, default=3, metavar="N", help="with --before: time "
                    "show session and search N times each, before and after alternated")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    from coditect_memory.sample import generate

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / f"claude-{args.messages}-{args.seed}"
    truth_path = workdir / f"truth-{args.messages}-{args.seed}.json"
    try:
        if truth_path.exists() and data.is_dir():
            truth = json.loads(truth_path.read_text())
            print(f"reusing {data}", file=sys.stderr)
        else:
            shutil.rmtree(data, ignore_errors=True)
            t0 = time.perf_counter()
            truth = generate(data, messages=args.messages, seed=args.seed)
            gen_secs = time.perf_counter() - t0
            truth_path.write_bytes(orjson.dumps(truth))
            print(f"generated {truth['transcript_messages']:,} transcript messages "
                  f"({truth['messages']:,} rows, {mb(truth['bytes'])}) in {gen_secs:.1f} s",
                  file=sys.stderr)
        report(args, workdir, data, truth)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def report(args, workdir: Path, data: Path, truth: dict) -> None:
    files = jsonl_files(data)
    total_bytes = dir_size(data)
    print("ceiling (a): parse + sha256 of every JSONL line ...", file=sys.stderr)
    parse = ceiling_parse(files)
    print("ceiling (b): bare SQLite insert ...", file=sys.stderr)
    insert = ceiling_insert(files, truth["messages"], workdir)
    print("ceiling (c): bare parse + insert ...", file=sys.stderr)
    both = ceiling_parse_insert(files, data, workdir)
    before = None
    if args.before:
        print(f"ingest with {args.before} (before) ...", file=sys.stderr)
        before_home = workdir / "home-before"
        shutil.rmtree(before_home, ignore_errors=True)
        before = ingest(data, before_home, args.before)
        before["where"] = store_bytes(before_home)
        before["split"] = store_split(before_home)
    home = workdir / "home"
    shutil.rmtree(home, ignore_errors=True)
    print("ingest ...", file=sys.stderr)
    first = ingest(data, home)
    print("ingest again (unchanged data) ...", file=sys.stderr)
    again = ingest(data, home)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "coditect_memory", "--help"], capture_output=True,
                   check=True)
    startup = time.perf_counter() - t0
    st = first["stats"]
    msgs = st["messages_read"]
    rate = msgs / first["wall"]
    mbps = st["bytes_read"] / first["wall"] / 1e6
    parse_rate = parse["lines"] / parse["seconds"]
    parse_mbps = parse["bytes"] / parse["seconds"] / 1e6
    insert_rate = insert["rows"] / insert["seconds"]
    both_rate = both["rows"] / both["seconds"]
    rerun = again["wall"] / first["wall"]
    ok = {
        "rate": rate >= TARGET_RATE,
        "rss": first["rss"] < TARGET_RSS and again["rss"] < TARGET_RSS,
        "rerun": rerun < TARGET_RERUN,
        "exact": st["errors"] == 0 and msgs == truth["messages"] == st["messages_new"]
        and again["stats"]["messages_new"] == 0,
    }
    mark = lambda good: "yes" if good else "**NO**"  # noqa: E731
    rows = [
        ("data", f"{truth['transcript_messages']:,} transcript messages, {msgs:,} rows in all; "
         f"{truth['sessions']:,} sessions; {len(files):,} JSONL files; {mb(total_bytes)} on disk", ""),
        ("rows by source", ", ".join(f"{k} {v:,}" for k, v in truth["by_source"].items()), ""),
        ("ceiling (a) orjson parse + sha256 per line", f"{parse_rate:,.0f} lines/s, "
         f"{parse_mbps:,.0f} MB/s ({parse['lines']:,} lines, {mb(parse['bytes'])}, "
         f"{parse['seconds']:.1f} s)", ""),
        ("ceiling (b) bare SQLite insert, 5000-row tx, WAL", f"{insert_rate:,.0f} rows/s "
         f"({insert['rows']:,} rows, {insert['seconds']:.1f} s, {mb(insert['store_bytes'])})", ""),
        ("ceiling (c) bare parse + insert (orjson, 5000-row tx)", f"{both_rate:,.0f} rows/s "
         f"({both['rows']:,} rows, {both['seconds']:.1f} s)", ""),
        ("ingest: wall time", f"{first['wall']:.1f} s (run's own figure {st['seconds']:.1f} s)", ""),
        ("ingest: rows/s", f"{rate:,.0f}", f"≥ 15,000: {mark(ok['rate'])}"),
        ("ingest: MB/s read", f"{mbps:,.1f}", ""),
        ("ingest vs ceiling (a)", f"{rate / parse_rate:.1%} of lines/s, {mbps / parse_mbps:.1%} "
         "of MB/s", ""),
        ("ingest vs ceiling (b)", f"{rate / insert_rate:.1%} of rows/s", ""),
        ("ingest vs ceiling (c)", f"{both_rate / rate:.2f}x slower than a bare parse + insert",
         f"≤ 3x: {mark(both_rate / rate <= 3)}"),
        ("ingest: peak RSS (child)", mb(first["rss"]), f"< 500 MB: {mark(ok['rss'])}"),
        ("ingest: store size", f"{mb(first['store_bytes'])} "
         f"({first['store_bytes'] / max(1, total_bytes):.0%} of the data)", ""),
        ("ingest: where the store's bytes are", store_bytes(home), ""),
        ("ingest: store and index", store_split(home), ""),
        ("re-run, unchanged data", f"{again['wall']:.2f} s = {rerun:.2%} of the first run "
         f"(peak RSS {mb(again['rss'])}; starting `memory --help` alone takes {startup:.2f} s)",
         f"< 2 %: {mark(ok['rerun'])}"),
        ("stored = truth, 0 errors, re-run stores 0", f"{msgs:,} = {truth['messages']:,}, "
         f"errors {st['errors']}, re-run new {again['stats']['messages_new']}", mark(ok["exact"])),
    ]
    if before is not None:
        bst = before["stats"]
        brate = bst["messages_read"] / before["wall"]
        rows += [
            ("before: wall time, messages/s", f"{before['wall']:.1f} s, {brate:,.0f} rows/s "
             f"({brate / insert_rate:.1%} of (b), {both_rate / brate:.2f}x slower than (c)); "
             f"this run {rate / brate:.2f}x its speed", ""),
            ("before: peak RSS", mb(before["rss"]), ""),
            ("before: store size", f"{mb(before['store_bytes'])} "
             f"({before['store_bytes'] / max(1, total_bytes):.0%} of the data); this run "
             f"{first['store_bytes'] / before['store_bytes']:.2f}x of it", ""),
            ("before: where the store's bytes are", before["where"], ""),
            ("before: store and index", before["split"], ""),
        ]
    md = table(rows, ("measure", "value", "target"))
    if before is not None and args.reads:
        print("reads, before and after alternated ...", file=sys.stderr)
        md += ("\n\nReads, each command a fresh process, before and after alternated "
               f"({args.reads} runs each):\n\n" + table(
                   reads(home, workdir / "home-before", args.before, args.reads),
                   ("command", "side", "wall (whole process)", "output")))
    if before is not None and not args.keep:
        shutil.rmtree(workdir / "home-before", ignore_errors=True)
    print(md)
    prof = profile(data, workdir) if args.profile else ""
    if prof:
        print(prof)
    if args.no_record:
        return
    m = machine()
    cmd = f".venv/bin/python benchmarks/bench_ingest.py {' '.join(sys.argv[1:])}".strip()
    body = (f"Command: `{cmd}`\n\nMachine: {m['nproc']} cores ({m['cpu']}), {m['ram']} RAM, "
            f"{m['os']}, Python {m['python']}, SQLite {m['sqlite']}. Files in the page cache "
            "(just generated), so the figures are CPU-bound, not disk-bound.\n\n" + md + "\n")
    append_results(f"ingest, {truth['transcript_messages']:,} transcript messages", body)


if __name__ == "__main__":
    main()
