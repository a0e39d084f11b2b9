"""Mutable sync (issue 17 item 4) against a real `memory serve` on loopback: a machine pushes
every session's title, thousands of memories and the projects' privacy levels; another pulls
them; then nothing changed (the cost of finding what changed), then a typical day (1% of the
records changed). Baseline, same run: the same titles sent the API's way before sync, one
`PATCH /api/v1/sessions/{id}` each, to a copy of the same server store.

    python benchmarks/bench_sync_mutable.py [--work /work/bench-sync-mutable] [--sessions 300]
        [--memories 5000] [--no-write]

Appends a dated section to benchmarks/RESULTS.md (--no-write: print only).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.api_support import Server  # noqa: E402

from coditect_memory.actions import auth, browse, memories, privacy  # noqa: E402
from coditect_memory.actions.ingest import ingest  # noqa: E402
from coditect_memory.sample import generate  # noqa: E402
from coditect_memory.settings import load_settings  # noqa: E402
from coditect_memory.store import open_store  # noqa: E402
from coditect_memory.sync.client import SyncClient  # noqa: E402
from coditect_memory.sync.mutable import mutable_status, pull_mutable, push_mutable  # noqa: E402
from common import append_results, machine, table  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


class Timed(SyncClient):
    """A SyncClient that keeps each request's wall time."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.times: list[float] = []

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        t0 = time.perf_counter()
        try:
            return super()._send(method, path, **kw)
        finally:
            self.times.append(time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/work/bench-sync-mutable"))
    ap.add_argument("--sessions", type=int, default=300)
    ap.add_argument("--memories", type=int, default=5000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    root = work / "claude"
    generate(root, sessions=args.sessions, seed=7)
    homes = {who: work / who for who in ("server", "a", "b")}
    for home in homes.values():
        settings = load_settings(home)
        with open_store(settings) as s:
            ingest(s, settings, root)
    settings = load_settings(homes["server"])
    with open_store(settings) as s:
        tok = auth.issue(s, settings, "bench", "write", [], "1d").token
        sessions = [(p["session_id"], p["project"]) for p in s.sessions_page(None, None, 100_000)[0]]
    shutil.copytree(homes["server"], work / "baseline")

    t0 = time.perf_counter()
    with open_store(load_settings(homes["a"])) as a:
        for n, (sid, _) in enumerate(sessions):
            browse.annotate(a, sid, f"title {n} of a day's work", ["bench"])
        for project in sorted({p for _, p in sessions if p}):
            privacy.set_level(a, "project", project, "TEAM")
        for n in range(args.memories):
            memories.add(a, memories.AddRequest(f"bench memory {n}: keep retries idempotent ({n % 97})",
                                                "decision", project=sessions[n % len(sessions)][1]))
    setup_s = time.perf_counter() - t0

    rows: list[tuple[str, ...]] = []
    base = Server(work / "baseline")
    base.wait_healthy(60)
    try:
        with httpx.Client(base_url=base.url, headers={"Authorization": f"Bearer {tok}"}) as http:
            times = []
            t0 = time.perf_counter()
            for n, (sid, _) in enumerate(sessions):
                t1 = time.perf_counter()
                r = http.patch(f"/api/v1/sessions/{sid}", json={"title": f"title {n} of a day's work",
                                                                "tags": ["bench"]})
                times.append(time.perf_counter() - t1)
                assert r.status_code == 200, r.text
            wall = time.perf_counter() - t0
        rows.append((f"baseline: {len(sessions)} titles, one PATCH each", f"{wall:.2f} s",
                     f"{len(sessions) / wall:.0f} records/s", f"p95 request {pct(times, 95) * 1000:.1f} ms"))
    finally:
        base.stop()

    server = Server(homes["server"])
    server.wait_healthy(60)
    try:
        def sync(who: str, what: str) -> tuple[dict[str, int], float, list[float]]:
            with open_store(load_settings(homes[who])) as s, \
                    Timed(server.url, tok, f"machine-{who}", who, None) as c:
                t0 = time.perf_counter()
                out = (push_mutable if what == "push" else pull_mutable)(c, s)
                return out, time.perf_counter() - t0, c.times

        total = len(sessions) + args.memories
        out, wall, times = sync("a", "push")
        assert out["accepted"] == out["sent"], out
        rows.append((f"push: {len(sessions)} titles + {args.memories} memories + levels ({out['sent']})",
                     f"{wall:.2f} s", f"{out['sent'] / wall:.0f} records/s",
                     f"p95 batch of 500 {pct(times, 95) * 1000:.0f} ms ({len(times)} requests)"))
        got, wall, times = sync("b", "pull")
        assert got["applied"] == out["sent"], got
        rows.append((f"pull on another machine ({got['received']})", f"{wall:.2f} s",
                     f"{got['received'] / wall:.0f} records/s",
                     f"p95 page of 500 {pct(times, 95) * 1000:.0f} ms ({len(times)} requests)"))
        again, wall_push, _ = sync("a", "push")
        none, wall_pull, _ = sync("b", "pull")
        assert again["sent"] == 0 and none["received"] == 0
        rows.append(("nothing changed: push + pull", f"{wall_push + wall_pull:.2f} s",
                     f"push {wall_push * 1000:.0f} ms, pull {wall_pull * 1000:.0f} ms", ""))
        with open_store(load_settings(homes["a"])) as a:
            t0 = time.perf_counter()
            status = [mutable_status(a) for _ in range(5)]
            status_ms = (time.perf_counter() - t0) / 5 * 1000
            day = max(1, total // 100)  # half titles renamed, half memories pinned
            titles = min(day // 2, len(sessions))
            for n, (sid, _) in enumerate(sessions[:titles]):
                browse.annotate(a, sid, f"title {n}, renamed the next day", None)
            for mem in a.memories(memories.MemoryFilter(limit=day - titles)):
                memories.edit(a, memories.EditRequest(mem["id"], pinned=True))
        pushed, wall_push, _ = sync("a", "push")
        pulled, wall_pull, _ = sync("b", "pull")
        rows.append((f"a typical day: {pushed['sent']} changed (1%), push + pull",
                     f"{wall_push + wall_pull:.2f} s", f"push {wall_push * 1000:.0f} ms,"
                     f" pull {wall_pull * 1000:.0f} ms", f"{pulled['applied']} applied"))
        rows.append((f"`sync status`'s part: mutable_status over {total} records", f"{status_ms:.0f} ms",
                     f"pending {status[0]['pending']}", ""))
    finally:
        server.stop()

    m = machine()
    body = (f"`.venv/bin/python benchmarks/bench_sync_mutable.py --sessions {args.sessions} --memories"
            f" {args.memories}`: SQLite stores, one `memory serve` on loopback, {len(sessions)} sample"
            f" sessions; writing a's records took {setup_s:.0f} s (not timed below).\n"
            f"Machine: {m['nproc']} cores, {m['cpu']}, {m['ram']}; other helpers' builds and test runs"
            " were loading it, so absolute times are noisy: the baseline ran in the same run.\n\n"
            + table(rows, ("what", "time", "rate", "note")) + "\n")
    print(body)
    if not args.no_write:
        append_results("Mutable sync: titles, levels, memories", body)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
