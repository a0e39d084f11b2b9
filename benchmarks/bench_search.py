"""Search speed and quality, with ripgrep over the raw files as the baseline, in one run.

    .venv/bin/python benchmarks/bench_search.py --messages 1000000 --workdir /tmp/bs1m --keep

Generates (or reuses) a sample Claude folder and its store, then measures:
- keyword search latency (`took_ms`: query, count, top hits, hydration, snippets) for one or
  two terms, very common ones included, and with filters, facets and time sorts;
- ripgrep over the raw files for the same words (the linear scan search replaces);
- semantic and hybrid latency over every embeddable unit of the store: R units embedded for
  real (their throughput is reported), the rest filled with real vectors plus noise (search
  time does not depend on the values; the first stage's agreement with an exact scan is
  measured on the same vectors);
- `memory search` as a whole command (startup included) next to `memory --help`;
- Recall@10 and nDCG@10 per mode on the labelled relevance set (tests/relevance).
Appends a dated section to RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from common import (  # noqa: E402
    SEMANTIC,
    append_results,
    fill_vectors,
    machine,
    mode_latency,
    pct,
    searched_model,
    table,
)

MEMORY = [sys.executable, "-m", "coditect_memory"]

# (label, query, request options, group). Groups: terms (target p95 <= 20 ms), question
# (ten words or so, asked in plain language: target p95 <= 50 ms), filtered (filters,
# facets, time sorts: target p95 <= 50 ms).
KEYWORD = [
    ("very common word", "the", {}, "terms"),
    ("common word", "test", {}, "terms"),
    ("common word", "error", {}, "terms"),
    ("common word", "file", {}, "terms"),
    ("word", "alembic", {}, "terms"),
    ("error code", "ENOENT", {}, "terms"),
    ("two words", "token refresh", {}, "terms"),
    ("two words", "failing test", {}, "terms"),
    ("two words", "jwt expired", {}, "terms"),
    ("two words", "docker build", {}, "terms"),
    ("typo", "alembik", {}, "terms"),
    ("phrase", '"no such file"', {}, "terms"),
    ("question", "what did we decide about the auth token refresh and the retry policy", {}, "question"),
    ("question", "why does the alembic migration fail on the staging database after the upgrade", {}, "question"),
    ("question", "which library did I pick for the PDF export of the monthly invoices", {}, "question"),
    ("common word + facets", "the", {"facets": True}, "filtered"),
    ("level:error + facets", "error", {"level": ["error"], "facets": True}, "filtered"),
    ("project + since", "token", {"project": ["billing-api"], "since": "2025-12-01"}, "filtered"),
    ("newest first", "test", {"sort": "newest"}, "filtered"),
    ("oldest first", "alembic", {"sort": "oldest"}, "filtered"),
    ("tool:Bash", "pytest", {"tool": ["Bash"]}, "filtered"),
    ("component + facets", "server", {"component": ["LSP"], "facets": True}, "filtered"),
    ("source debug + facets", "ENOENT", {"source": ["debug"], "facets": True}, "filtered"),
    ("type user + range", "refresh", {"type": ["user"], "since": "2025-11-15", "until": "2026-01-31"}, "filtered"),
    ("OR + facets", "retry OR backoff", {"facets": True}, "filtered"),
    ("prefix + project", "migrat*", {"project": ["coditect-core"]}, "filtered"),
    ("filters only, newest", "level:error", {}, "filtered"),
]


RERANKS = (3000, 10_000, 30_000)  # first-stage candidate counts compared (the chosen one too)


def run(cmd: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)


def prepare(work: Path, messages: int, env: dict) -> dict:
    claude, home = work / "claude", work / "home"
    info: dict = {}
    if not (claude / "projects").exists():
        t = time.perf_counter()
        run([*MEMORY, "sample", str(claude), "--messages", str(messages), "--json"], env)
        info["generate_s"] = time.perf_counter() - t
    if not (home / "memory.db").exists():
        t = time.perf_counter()
        out = json.loads(run([*MEMORY, "ingest", str(claude), "--json"], env).stdout)
        info["ingest_s"] = time.perf_counter() - t
        info["ingest"] = out
    t = time.perf_counter()
    info["index"] = json.loads(run([*MEMORY, "index", "--rebuild", "--json"], env).stdout)
    info["index_s"] = time.perf_counter() - t
    info["index_mb"] = sum(dir_mb(p) for p in (home / "index").glob("keyword-*"))
    return info


def keyword_latency(store, settings, cache, reps: int) -> list[dict]:
    from coditect_memory.actions.search import SearchRequest, search

    out = []
    for label, q, opts, group in KEYWORD:
        req = SearchRequest(query=q, mode="keyword", **opts)
        search(store, settings, req, cache)  # warm: index open, caches
        times, total = [], 0
        for _ in range(reps):
            res = search(store, settings, req, cache)
            times.append(res.took_ms)
            total = res.total
        out.append({"label": label, "query": q, "opts": opts, "group": group, "total": total,
                    "p50": statistics.median(times), "max": max(times), "times": times})
    return out


def ripgrep(claude: Path, reps: int) -> list[dict]:
    """The same words over the raw files: what people do today."""
    rg = shutil.which("rg")
    if not rg:
        raise SystemExit("ripgrep (rg) is needed for the baseline: apt-get install ripgrep")
    out = []
    for _label, q, _opts, group in KEYWORD:
        words = [w.strip('"*') for w in q.replace(" OR ", " ").split() if ":" not in w]
        if not words:
            continue
        first = [rg, "-i", "-c", "-F", words[0], str(claude)] if len(words) == 1 else \
            [rg, "-i", "-F", words[0], str(claude)]
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            p1 = subprocess.run(first, capture_output=True)
            if len(words) > 1:
                subprocess.run([rg, "-i", "-c", "-F", words[1]], input=p1.stdout, capture_output=True)
            times.append((time.perf_counter() - t) * 1000)
        out.append({"query": q, "group": group, "p50": statistics.median(times), "times": times})
    return out


def semantic_latency(store, settings, cache, reps: int) -> dict:
    import numpy as np

    from coditect_memory.search import vectors
    from coditect_memory.search.filters import Filters

    name = searched_model(store, settings)
    t = time.perf_counter()
    vix = vectors.load_index(store, settings.search.index_dir, name)
    cache_s = time.perf_counter() - t
    t = time.perf_counter()
    vix = vectors.load_index(store, settings.search.index_dir, name)
    open_s = time.perf_counter() - t
    model = cache.query_encoder(name)  # what `memory search` uses
    qvs = [model.embed([q])[0] for q in SEMANTIC]
    from coditect_memory.search.minilm import MiniLM

    numpy_model = MiniLM()  # the query encoder before issue 18 (the baseline, same run)
    enc_ms, numpy_ms = [], []
    for _ in range(3):
        for q in SEMANTIC:
            for encoder, times in ((model, enc_ms), (numpy_model, numpy_ms)):
                t = time.perf_counter()
                encoder.embed([q])
                times.append((time.perf_counter() - t) * 1000)
    best, exact_ms = [], []
    for qv in qvs:  # the exact scan the first stage is measured against
        t = time.perf_counter()
        exact = np.asarray(vix.vecs @ qv)
        best.append(vix.ids[np.argsort(-exact)[:10]].tolist())
        exact_ms.append((time.perf_counter() - t) * 1000)
    stages = []
    chosen = vectors.RERANK
    for cand in sorted({chosen, *RERANKS}):  # candidates re-scored exactly after the sign bits
        vectors.RERANK = cand
        agree, times = [], []
        for qv, b in zip(qvs, best, strict=True):
            for _ in range(3):
                t = time.perf_counter()
                two = [h[0] for h in vix.search(qv, 10, Filters(), 0.0)[0]]
                times.append((time.perf_counter() - t) * 1000)
            agree.append(len(set(two) & set(b)) / 10)
        stages.append({"candidates": cand, "agreement": statistics.mean(agree),
                       "p50": statistics.median(times), "p95": pct(times, 95), "chosen": cand == chosen})
    vectors.RERANK = chosen
    out = {"model": name, "vectors": len(vix), "cache_build_s": cache_s, "open_s": open_s, "stages": stages,
           "exact_p50": statistics.median(exact_ms),
           "encode_p50": statistics.median(enc_ms), "encode_p95": pct(enc_ms, 95),
           "numpy_p50": statistics.median(numpy_ms), "numpy_p95": pct(numpy_ms, 95),
           "first_stage_agreement": next(s["agreement"] for s in stages if s["chosen"])}
    from coditect_memory.search import rerank

    answers = rerank.ANSWERS
    for name, mode, lift, again in (("semantic", "semantic", answers, False),
                                    ("hybrid", "hybrid", answers, False),
                                    ("hybrid, no answer lift", "hybrid", 0, False),
                                    ("hybrid, the same question again", "hybrid", answers, True)):
        rerank.ANSWERS = lift  # the second stage's cost: the same run without it
        out[name] = mode_latency(store, settings, cache, mode, reps, again=again)
    rerank.ANSWERS = answers
    return out


def startup(env: dict, reps: int) -> dict:
    """Whole commands, with the package's bytecode compiled as `pip install` leaves it (an
    environment with PYTHONDONTWRITEBYTECODE=1 and no .pyc compiles every module on every
    command: measured too, on a cache folder of its own that stays empty)."""
    import tempfile

    import coditect_memory

    package = Path(coditect_memory.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)

    def wall(cmd, e=env):
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            subprocess.run(cmd, env=e, capture_output=True, check=True)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    hybrid = [*MEMORY, "search", "alembic migrations", "--mode", "hybrid", "--json", "-n", "10"]
    with tempfile.TemporaryDirectory() as empty:
        uncompiled = wall(hybrid, {**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": empty})
    return {"help": wall([*MEMORY, "--help"]),
            "search": wall([*MEMORY, "search", "alembic", "--mode", "keyword", "--json", "-n", "10"]),
            "search_hybrid": wall(hybrid), "search_hybrid_uncompiled": uncompiled}


def relevance(work: Path, env: dict) -> dict:
    from tests.relevance import evaluate

    rel = work / "relevance"
    if not (rel / "home" / "memory.db").exists():
        run([*MEMORY, "sample", str(rel / "claude"), "--sessions", "12", "--seed", "7", "--json"], env)
        e = {**env, "MEMORY_HOME": str(rel / "home")}
        run([*MEMORY, "ingest", str(rel / "claude"), "--json"], e)
        run([*MEMORY, "embed", "--json"], e)
    os.environ["MEMORY_HOME"] = str(rel / "home")
    from coditect_memory.actions.search import SearchRequest, search
    from coditect_memory.search.cache import SearchCache
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    settings = load_settings()
    cache = SearchCache()
    queries = evaluate.load()
    out = {}
    with open_store(settings) as store:
        labels = evaluate.labels(store, queries)
        for mode in ("keyword", "semantic", "hybrid"):
            out[mode] = evaluate.evaluate(lambda q, m=mode: [r["uid"] for r in search(
                store, settings, SearchRequest(query=q, mode=m, limit=10), cache).results],
                queries, labels)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the workdir for the next run")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--real-vectors", type=int, default=1000)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    work = args.workdir or Path(f"/tmp/bench-search-{args.messages}")
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MEMORY_HOME": str(work / "home"), "HF_HUB_OFFLINE": "1"}
    os.environ.update({"MEMORY_HOME": str(work / "home"), "HF_HUB_OFFLINE": "1"})
    print("preparing data ...", file=sys.stderr)
    prep = prepare(work, args.messages, env)

    from coditect_memory.search.cache import SearchCache
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    settings = load_settings()
    cache = SearchCache()  # the index and the model stay open across queries, as in a server
    with open_store(settings) as store:
        status = store.status()
        print("keyword ...", file=sys.stderr)
        kw = keyword_latency(store, settings, cache, args.reps)
        print("ripgrep ...", file=sys.stderr)
        rg = ripgrep(work / "claude", max(2, args.reps // 3))
        print("vectors ...", file=sys.stderr)
        fill = fill_vectors(store, cache, args.real_vectors)
        sem = semantic_latency(store, settings, cache, max(2, args.reps // 2))
    print("startup ...", file=sys.stderr)
    start = startup(env, 5)
    print("relevance ...", file=sys.stderr)
    rel = relevance(work, env)
    body = report(args, prep, status, kw, rg, fill, sem, start, rel, work)
    print(body)
    if not args.no_record:
        append_results(f"search, {status['messages']:,} messages", body)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def report(args, prep, status, kw, rg, fill, sem, start, rel, work) -> str:
    m = machine()
    lines = [f"Command: `.venv/bin/python benchmarks/bench_search.py --messages {args.messages}"
             f" --workdir {work}{' --keep' if args.keep else ''}`", "",
             f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram']} RAM, {m['os']}, Python {m['python']},"
             f" SQLite {m['sqlite']}. Shared and noisy: other engineers' jobs ran at the same time;"
             " compare figures within this section.", ""]
    idx = prep["index"]
    lines.append(f"Data: {status['messages']:,} messages ({args.messages:,} transcript messages asked for),"
                 f" {status['sessions']:,} sessions. Keyword index rebuilt from the store: "
                 f"{idx['documents']:,} documents in {prep['index_s']:.1f} s (`memory index --rebuild`),"
                 f" {prep['index_mb']:.0f} MB on disk (the text it indexes: {status_text_mb(work):.0f} MB).")
    lines.append("")
    rows = []
    rg_by_q = {r["query"]: r for r in rg}
    for r in kw:
        base = rg_by_q.get(r["query"])
        rows.append((r["label"], f"`{r['query']}` {fmt_opts(r['opts'])}", f"{r['total']:,}",
                     f"{r['p50']:.1f}", f"{r['max']:.1f}",
                     f"{base['p50']:.0f}" if base else "—",
                     f"{base['p50'] / max(r['p50'], 0.01):.0f}x" if base else "—"))
    lines.append(table(rows, ("query", "as typed", "matches", "ours p50 ms", "ours max ms",
                              "ripgrep p50 ms", "ripgrep / ours")))
    lines.append("")
    sums = []
    names = {"terms": "one or two terms", "question": "a ten-word question", "filtered": "filters, facets, sorts"}
    for group, target in (("terms", 20), ("question", 50), ("filtered", 50)):
        times = [t for r in kw if r["group"] == group for t in r["times"]]
        p95 = pct(times, 95)
        rgt = [t for r in rg if r["group"] == group for t in r["times"]]
        sums.append((f"keyword, {names[group]}",
                     f"{statistics.median(times):.1f}", f"{p95:.1f}", f"<= {target}",
                     "yes" if p95 <= target else "NO",
                     f"{statistics.median(rgt):.0f}" if rgt else "—",
                     f"{statistics.median(rgt) / statistics.median(times):.0f}x" if rgt else "—"))
    sums.append((f"the query's embedding ({sem['model']}, ONNX, 1 thread)", f"{sem['encode_p50']:.1f}",
                 f"{sem['encode_p95']:.1f}", "", "", "", ""))
    sums.append(("the same with the NumPy forward pass (before)", f"{sem['numpy_p50']:.1f}",
                 f"{sem['numpy_p95']:.1f}", "", "", "", ""))
    for mode, target in (("semantic", 50), ("hybrid", 20), ("hybrid, no answer lift", 0),
                         ("hybrid, the same question again", 0)):
        s = sem[mode]
        sums.append((f"{mode} ({sem['vectors']:,} vectors)", f"{s['p50']:.1f}", f"{s['p95']:.1f}",
                     f"<= {target}" if target else "", ("yes" if s["p95"] <= target else "NO") if target else "",
                     "", ""))
    lines.append(table(sums, ("measure (took_ms, in-process)", "p50", "p95", "target", "met",
                              "ripgrep p50 ms", "ratio of medians")))
    lines.append("")
    lines.append(f"Vectors: {fill.get('units', sem['vectors']):,} embeddable units (prompts, answers,"
                 " summaries, titles, plans, todos)"
                 + (f"; {fill['real']:,} embedded for real at {fill['embed_per_s']:.1f} units/s"
                    f" ({fill['real_model']} on ONNX Runtime, 2 threads; benchmarks/bench_embed.py compares it with torch),"
                    f" the rest real vectors plus noise"
                    f" (written in {fill['fill_s']:.0f} s)" if "real" in fill else "; reused from the last run")
                 + f". Vector cache built in {sem['cache_build_s']:.1f} s, opened in {sem['open_s'] * 1000:.0f} ms."
                 f" First stage (centred sign bits, the candidates re-scored exactly) agrees with an"
                 f" exact scan on {sem['first_stage_agreement'] * 100:.0f}% of the top 10.")
    lines.append("")
    lines.append(table([(f"{s['candidates']:,}{' (used)' if s['chosen'] else ''}", f"{100 * s['agreement']:.0f}",
                         f"{s['p50']:.1f}", f"{s['p95']:.1f}") for s in sem["stages"]],
                       ("first stage: candidates re-scored exactly", "top-10 agreement with an exact scan %",
                        "vector search p50 ms", "p95 ms")))
    lines.append(f"An exact scan of every vector (one float32 matrix-vector product): p50 {sem['exact_p50']:.1f} ms.")
    lines.append("")
    lines.append(f"Whole command (startup, store and index opening included), median of 5: "
                 f"`memory --help` {start['help'] * 1000:.0f} ms; `memory search alembic --mode keyword"
                 f" --json` {start['search'] * 1000:.0f} ms; `--mode hybrid` (opens the ONNX query"
                 f" encoder and the vector cache; target <= 250 ms) {start['search_hybrid'] * 1000:.0f} ms"
                 f" (the package's bytecode compiled, as pip installs it; with no .pyc, every module"
                 f" compiled on every command: {start['search_hybrid_uncompiled'] * 1000:.0f} ms).")
    lines.append("")
    rrows = [(mode, f"{r['recall']:.3f}", f"{r['ndcg']:.3f}") for mode, r in rel.items()]
    lines.append("Relevance set (tests/relevance/queries.json, 24 queries on 12 generated sessions,"
                 " seed 7; labels from the generator's templates):")
    lines.append("")
    lines.append(table(rrows, ("mode", "Recall@10", "nDCG@10")))
    kinds = {}
    for mode, r in rel.items():
        for p in r["per_query"]:
            kinds.setdefault((p["kind"], mode), []).append(p["ndcg"])
    krows = [(kind, *(f"{statistics.mean(kinds[(kind, m)]):.3f}" for m in rel))
             for kind in ("exact", "paraphrase", "mixed")]
    lines.append("")
    lines.append(table(krows, ("nDCG@10 by query kind", *rel)))
    return "\n".join(lines)


def fmt_opts(opts: dict) -> str:
    return " ".join(f"--{k} {','.join(v) if isinstance(v, list) else v}" if v is not True else f"--{k}"
                    for k, v in opts.items())


def status_text_mb(work: Path) -> float:
    import sqlite3

    db = sqlite3.connect(work / "home" / "memory.db")
    try:
        return (db.execute("SELECT sum(length(content)) FROM messages").fetchone()[0] or 0) / 1e6
    finally:
        db.close()


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


if __name__ == "__main__":
    main()
