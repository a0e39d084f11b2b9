"""Does the right past knowledge reach the next session? An evaluation on planted histories.

    .venv/bin/python benchmarks/eval_memory.py --workdir /work/bench-mem/eval

Planted histories (tests/memeval: preferences stated once weeks ago, decisions, a memory
note's fact, an error and the edit that fixed it, an open todo, spread over sessions and
projects) are written next to a generated sample Claude folder (noise: thousands of real-
looking sessions of other and the same projects), ingested together. For each planted item
and budget (1k, 4k tokens) the pack for its project, asked its question as --query, is
checked for the item's evidence words. Extraction precision is measured on the planted
history alone: of the memories of each kind extracted, how many are planted ones.
Appends a dated section to RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from tests.memeval import build  # noqa: E402

from common import append_results, table  # noqa: E402

MEMORY = [sys.executable, "-m", "coditect_memory"]
BUDGETS = (1000, 4000)
KINDS = ("preference", "decision", "fact", "error_fix", "todo")


def _ingest(home: Path, *roots: Path) -> None:
    env = {**os.environ, "MEMORY_HOME": str(home)}
    for root in roots:
        subprocess.run([*MEMORY, "ingest", str(root), "--json"], env=env, check=True,
                       capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path, default=Path("/work/bench-mem/eval"))
    ap.add_argument("--sessions", type=int, default=12, help="planted sessions per project")
    ap.add_argument("--noise", type=int, default=20000, help="sample messages of noise")
    ap.add_argument("--end", help="the planted history ends on this day (YYYY-MM-DD; default "
                    "today). The sample's sessions run Dec 2025 - Feb 2026: ending there, the "
                    "planted items are as old as the noise, and decay has worked on both")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()

    from coditect_memory.actions.context import ContextRequest, context
    from coditect_memory.actions.memories import ListRequest, list_memories
    from coditect_memory.context.tokens import TokenCounter
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    planted_root = args.workdir / "planted"
    noise_root = args.workdir / "noise"
    # planted into projects the sample fills too: their own sessions are the noise
    projects = ("work/billing-api", "work/auth-service", "src/ml-pipeline")
    from datetime import UTC, datetime

    end = datetime.fromisoformat(args.end).replace(tzinfo=UTC) if args.end else None
    history = build(planted_root, sessions=args.sessions, projects=projects, end=end)
    subprocess.run([*MEMORY, "sample", str(noise_root), "--messages", str(args.noise)],
                   check=True, capture_output=True)

    # precision on the planted history alone
    alone = args.workdir / "alone"
    _ingest(alone, planted_root)
    precision_rows = []
    with open_store(load_settings(alone), readonly=True) as st:
        mems = list_memories(st, ListRequest(status="all", limit=10_000)).memories
    for kind in KINDS:
        got = [m for m in mems if m["type"] == kind]
        truth = [p.evidence for p in history.planted if p.kind == kind]
        right = [m for m in got if any(e in m["text"].lower() for e in truth)]
        found = {p.evidence + p.project for p in history.planted if p.kind == kind
                 and any(p.evidence in m["text"].lower() and m["project"] == f"/home/dev/{p.project}"
                        for m in got)}
        planted_n = sum(1 for p in history.planted if p.kind == kind)
        precision_rows.append((kind, str(planted_n), f"{len(found)}/{planted_n}",
                               f"{len(right)}/{len(got)}" + (f" ({len(right) / len(got):.0%})" if got else "")))

    # the packs, with noise
    home = args.workdir / "home"
    _ingest(home, noise_root, planted_root)
    settings = load_settings(home)
    counter = TokenCounter()
    hits: dict[tuple[str, int, bool], list[bool]] = defaultdict(list)
    misses: list[str] = []
    with open_store(settings) as st:
        for p in history.planted:
            for budget in BUDGETS:
                for with_query in (False, True):
                    pack = context(st, settings, ContextRequest(
                        project=f"/home/dev/{p.project}", budget=budget, record=False,
                        query=p.question if with_query else None), counter)
                    ok = p.evidence in pack.markdown.lower()
                    hits[(p.kind, budget, with_query)].append(ok)
                    if not ok and budget == 4000 and with_query:
                        misses.append(f"{p.kind} {p.evidence!r} ({p.project}): {p.question}")
        noise_rows = []
        for kind in (*KINDS, "pattern"):
            active = list_memories(st, ListRequest(types=[kind], limit=10_000)).memories
            planted_like = [m for m in active if any(p.evidence in m["text"].lower()
                                                     for p in history.planted if p.kind == kind)]
            noise_rows.append((kind, str(len(active)), str(len(active) - len(planted_like))))
    pack_rows = []
    for kind in KINDS:
        cells = []
        for budget in BUDGETS:
            for with_query in (False, True):
                v = hits[(kind, budget, with_query)]
                cells.append(f"{sum(v)}/{len(v)}")
        pack_rows.append((kind, *cells))
    body = (f"`{' '.join(sys.argv)}`: {len(history.planted)} planted items over "
            f"{len(projects)} projects x {args.sessions} sessions (weeks apart), among a "
            f"{args.noise:,}-message generated sample; the planted history ends "
            f"{args.end or 'today'}.\n\n"
            "Extraction on the planted history alone (found: planted items extracted for their "
            "project; precision: extracted memories of the kind that are planted ones):\n\n"
            + table(precision_rows, ("kind", "planted", "found", "precision")) + "\n\n"
            "Pack holds the evidence (pack for the item's project; with the item's question as "
            "--query or none):\n\n"
            + table(pack_rows, ("kind", "1k", "1k + question", "4k", "4k + question")) + "\n")
    body += ("\nActive memories in the store with noise (all projects; the sample's own "
             "decisions, todos, fixes and habits are real ones of its sessions, not planted):\n\n"
             + table(noise_rows, ("kind", "active", "not planted")) + "\n")
    if misses:
        body += "\nMissed at 4k with the question:\n\n" + "\n".join(f"- {m}" for m in misses) + "\n"
    print(body)
    if not args.no_record:
        append_results("Memory evaluation: planted knowledge in the pack (issue 13)", body)


if __name__ == "__main__":
    main()
