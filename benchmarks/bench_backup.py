"""Backup speed: full backup, incremental after ~1% new data, verify and restore, on a
generated store (1M transcript messages by default), against baselines measured in the same
run: a plain copy of the database file (what a cron'd `cp` costs) and a plain read + sha256 of
the backup's bytes (what "verify at disk read speed" means here).

    .venv/bin/python benchmarks/bench_backup.py --messages 1000000 --workdir /tmp/bb1m --keep

Full backups (each to its own target, so each writes everything) and incrementals (each
after another ~1% of new data) are run --repeat times and compared by their medians: the
machines are noisy, and one slow run should not decide a ratio.

Appends a dated section to RESULTS.md (unless --no-record). Targets (backup issue): full
backup and full restore each < 60 s; incremental after 1% new data < 5% of the full's time
and bytes; verify at disk read speed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import append_results, dir_size, machine, run_measured, table


def memory(args: list[str], home: Path) -> tuple[dict, float, int]:
    env = {**os.environ, "MEMORY_HOME": str(home)}
    env.pop("MEMORY_DATABASE_URL", None)
    proc, wall, rss = run_measured([sys.executable, "-m", "coditect_memory", *args], env)
    if proc.returncode != 0:
        raise SystemExit(f"memory {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return (json.loads(proc.stdout) if proc.stdout.strip() else {}), wall, rss


def prepare(workdir: Path, messages: int, seed: int) -> Path:
    data, home = workdir / "claude", workdir / "home"
    if not (home / "memory.db").exists():
        shutil.rmtree(home, ignore_errors=True)
        if not data.exists():
            print(f"generating {messages:,} messages ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "coditect_memory", "sample", str(data),
                            "--messages", str(messages), "--seed", str(seed)], check=True,
                           capture_output=True)
        print("ingesting ...", file=sys.stderr)
        memory(["ingest", str(data), "--json"], home)
    return home


def baseline_copy(db: Path, dest: Path) -> float:
    t0 = time.perf_counter()
    shutil.copyfile(db, dest)
    with open(dest, "rb") as f:
        os.fsync(f.fileno())
    secs = time.perf_counter() - t0
    dest.unlink()
    return secs


def baseline_read(folder: Path) -> tuple[float, int]:
    """Read and sha256 every file under `folder`, as verify does, without our code."""
    t0 = time.perf_counter()
    total = 0
    for p in folder.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            hashlib.sha256(data).hexdigest()
            total += len(data)
    return time.perf_counter() - t0, total


def status(home: Path) -> dict:
    return memory(["status", "--json"], home)[0]


def restored(home: Path, target: Path, backup_id: str, into: Path, want: dict) -> tuple[float, int, bool]:
    """Restore into a fresh folder: (seconds, peak RSS, whether its status equals `want`)."""
    shutil.rmtree(into, ignore_errors=True)
    _, secs, rss = memory(["backup", "restore", backup_id, "--target", str(target), "--into",
                           str(into), "--json"], home)
    same = status(into) == want
    shutil.rmtree(into, ignore_errors=True)
    return secs, rss, same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--new-fraction", type=float, default=0.01, help="new data before each incremental")
    ap.add_argument("--repeat", type=int, default=3, help="full backups and incrementals measured (medians)")
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the workdir (the store is reused)")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-backup-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        run(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir: Path) -> None:
    # byte-compile the package once, as an installed wheel is: every command below then
    # starts as it does on a user's machine (this environment sets PYTHONDONTWRITEBYTECODE)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).parents[1] / "src")],
                   check=True, capture_output=True)
    base = prepare(workdir, args.messages, args.seed)
    home = workdir / "home-run"  # a fresh copy: the base store stays reusable with --keep
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    shutil.copyfile(base / "memory.db", home / "memory.db")
    targets = [workdir / f"target-{i}" for i in range(args.repeat)]
    for t in targets:
        shutil.rmtree(t, ignore_errors=True)
    target = targets[0]
    db_bytes = (home / "memory.db").stat().st_size
    print("baseline: plain copy of the database file ...", file=sys.stderr)
    copy_s = baseline_copy(home / "memory.db", workdir / "copy.db")
    st_full = status(home)
    fulls = []  # one full backup per target: each writes everything (no dedup between them)
    for i, t in enumerate(targets):
        print(f"full backup {i + 1}/{args.repeat} ...", file=sys.stderr)
        fulls.append(memory(["backup", "create", "--type", "full", "--target", str(t), "--json"], home))
    full = fulls[0][0]
    full_s = statistics.median(f[1] for f in fulls)
    full_rss = max(f[2] for f in fulls)
    print("verify ...", file=sys.stderr)
    ver, ver_s, _ = memory(["backup", "verify", full["backup_id"], "--target", str(target),
                            "--json"], home)
    read_s, read_bytes = baseline_read(target)
    print("restore (full) ...", file=sys.stderr)
    rest_s, rest_rss, same_full = restored(home, target, full["backup_id"], workdir / "restored-full",
                                           st_full)
    for t in targets[1:]:
        shutil.rmtree(t, ignore_errors=True)
    new_msgs = max(100, int(args.messages * args.new_fraction))
    incs, new_rows = [], []  # each: ~1% new data ingested, then an incremental on target 0
    for i in range(args.repeat):
        extra = workdir / f"claude-new-{new_msgs}-{i}"
        if not extra.exists():
            subprocess.run([sys.executable, "-m", "coditect_memory", "sample", str(extra), "--messages",
                            str(new_msgs), "--seed", str(args.seed + 1000 + i)], check=True,
                           capture_output=True)
        print(f"ingest ~{new_msgs:,} new transcript messages, incremental {i + 1}/{args.repeat} ...",
              file=sys.stderr)
        new_rows.append(memory(["ingest", str(extra), "--json"], home)[0]["messages_new"])
        incs.append(memory(["backup", "create", "--target", str(target), "--json"], home))
    st_inc = status(home)
    inc = incs[-1][0]
    inc_s = statistics.median(x[1] for x in incs)
    inc_bytes = statistics.median(x[0]["bytes"] for x in incs)
    inc_rss = max(x[2] for x in incs)
    print("restore (full + incrementals) ...", file=sys.stderr)
    rest2_s, _, same_inc = restored(home, target, inc["backup_id"], workdir / "restored-inc", st_inc)
    mb = lambda n: f"{n / 1e6:,.1f} MB"  # noqa: E731
    mark = lambda good: "yes" if good else "**NO**"  # noqa: E731
    each = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    rows = [
        ("store", f"{st_full['messages']:,} messages, {mb(db_bytes)} database file", ""),
        ("baseline: copy of the database file (+fsync)", f"{copy_s:.1f} s ({db_bytes / copy_s / 1e6:,.0f} MB/s)", ""),
        ("full backup: wall time (median)", f"{full_s:.1f} s = {full_s / copy_s:.1f}x the plain copy "
         f"(runs: {each(f[1] for f in fulls)} s); peak RSS {mb(full_rss)}", f"< 60 s: {mark(full_s < 60)}"),
        ("full backup: bytes written", f"{mb(full['bytes'])} ({full['bytes'] / db_bytes:.1%} of the file; "
         f"snapshot: {full['snapshot']})", ""),
        ("verify (re-read + sha256 of every object)", f"{ver_s:.2f} s for {mb(ver['bytes'])} = "
         f"{ver['bytes'] / ver_s / 1e6:,.0f} MB/s", ""),
        ("baseline: plain read + sha256 of the same files", f"{read_s:.2f} s = {read_bytes / read_s / 1e6:,.0f} MB/s "
         f"(verify = {ver_s / read_s:.2f}x incl. process start)", "at read speed"),
        ("full restore: wall time", f"{rest_s:.1f} s (peak RSS {mb(rest_rss)}); status equal: "
         f"{mark(same_full)}", f"< 60 s: {mark(rest_s < 60 and same_full)}"),
        ("new data before each incremental", f"{statistics.median(new_rows):,.0f} new messages = "
         f"{statistics.median(new_rows) / st_full['messages']:.2%} of the store", ""),
        ("incremental: wall time (median)", f"{inc_s:.2f} s = {inc_s / full_s:.1%} of the full "
         f"(runs: {each(x[1] for x in incs)} s; peak RSS {mb(inc_rss)})",
         f"< 5%: {mark(inc_s / full_s < 0.05)}"),
        ("incremental: bytes written (median)", f"{mb(inc_bytes)} = {inc_bytes / full['bytes']:.1%} of the "
         f"full; {statistics.median(x[0]['rows_stored'] for x in incs):,.0f} rows stored",
         f"< 5%: {mark(inc_bytes / full['bytes'] < 0.05)}"),
        (f"restore of full + {len(incs)} incrementals", f"{rest2_s:.1f} s; status equal: {mark(same_inc)}",
         f"< 60 s: {mark(rest2_s < 60 and same_inc)}"),
        ("target size after the chain", mb(dir_size(target)), ""),
    ]
    md = table(rows, ("measure", "value", "target"))
    print(md)
    if args.no_record:
        return
    m = machine()
    cmd = f".venv/bin/python benchmarks/bench_backup.py {' '.join(sys.argv[1:])}".strip()
    body = (f"Command: `{cmd}`\n\nMachine: {m['nproc']} cores ({m['cpu']}), {m['ram']} RAM, "
            f"{m['os']}, Python {m['python']}, SQLite {m['sqlite']}. Local target on the same disk; "
            "the store and the target are mostly in the page cache. The machine is shared: "
            "compare ratios, not absolute figures.\n\n" + md + "\n")
    append_results(f"backup, {st_full['messages']:,} messages", body)


if __name__ == "__main__":
    main()
