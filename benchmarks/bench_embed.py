"""Embedding throughput and quality in one run: sentence-transformers on torch (the baseline,
when it is installed: the project no longer installs it), the ONNX float32 and int8 models.

    .venv/bin/python benchmarks/bench_embed.py --units 2000 --threads 2
    # the torch baseline needs: .venv/bin/pip install sentence-transformers

Units are real prompts and answers: eval_search's history (the generated one, seed 7, with
tests/eval's planted sessions), cut as `memory embed` cuts them. Measures units/s per
implementation on the same texts (interleaved rounds, the best of each), then embeds the
whole history with both ONNX models and compares them on eval_search's questions: the
top-10 agreement of semantic search (int8 against float32, which equals sentence-
transformers' vectors) and Recall@10 / nDCG@10 per mode. Appends a dated section to
RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import eval_search  # noqa: E402
from common import append_results, machine, table  # noqa: E402


class Torch:
    """sentence-transformers as the project ran it for backfills before the ONNX models."""

    name = "sentence-transformers (torch)"

    def __init__(self, threads: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        from coditect_memory.search.minilm import model_dir

        torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)

    def embed(self, texts: list[str]):
        return self.model.encode(texts, batch_size=32, normalize_embeddings=True,
                                 show_progress_bar=False, convert_to_numpy=True)


def throughput(impls: dict, texts: list[str], rounds: int) -> dict[str, float]:
    best: dict[str, float] = {}
    for impl in impls.values():
        impl.embed(texts[:64])  # warm up
    for _ in range(rounds):
        for name, impl in impls.items():
            t = time.perf_counter()
            impl.embed(texts)
            best[name] = max(best.get(name, 0.0), len(texts) / (time.perf_counter() - t))
    return best


def agreement(store, settings, cache, models: list[str]) -> float:
    """Mean share of the float32 model's semantic top 10 that the other model also returns,
    over eval_search's questions (exact scans: the first stage is not involved)."""
    import numpy as np

    from coditect_memory.search import vectors

    data = json.loads(eval_search.EVAL.read_text())
    tops = []
    for model in models:
        vix = vectors.load_index(store, settings.search.index_dir, model)
        enc = cache.embedder(model)
        qv = enc.embed([q["q"] for q in data["questions"]])
        sims = np.asarray(vix.vecs) @ qv.T
        tops.append([set(vix.ids[np.argsort(-sims[:, i])[:10]].tolist()) for i in range(len(qv))])
    return float(np.mean([len(a & b) / 10 for a, b in zip(*tops, strict=True)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=2000, help="texts timed per implementation")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--sessions", type=int, default=60, help="eval_search's generated sessions")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    work = args.workdir or Path(f"/tmp/bench-embed-{args.sessions}")
    work.mkdir(parents=True, exist_ok=True)
    os.environ["MEMORY_HOME"] = str(work / "home")
    print("preparing the history (ingest, embed float32) ...", file=sys.stderr)
    eval_search.build(work, args.sessions, dict(os.environ))

    from coditect_memory.search import vectors
    from coditect_memory.search.cache import SearchCache
    from coditect_memory.search.embedder import DEFAULT_MODEL, load
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    int8 = f"{DEFAULT_MODEL}-int8"
    settings = load_settings()
    cache = SearchCache()
    with open_store(settings) as store:
        rows = store.embeddable_rows(vectors.EMBED_TYPES, 0, store.max_message_id(), args.units * 2)
        texts = [vectors.unit_text(r.content) for r in rows if not (r.type == "user" and r.is_meta)]
        texts = (texts * (1 + args.units // max(1, len(texts))))[:args.units]
        impls: dict = {}
        if importlib.util.find_spec("sentence_transformers"):
            impls[Torch.name] = Torch(args.threads)
        impls[f"ONNX float32 ({DEFAULT_MODEL})"] = load(DEFAULT_MODEL, threads=args.threads)
        impls[f"ONNX int8 ({int8})"] = load(int8, threads=args.threads)
        print("throughput ...", file=sys.stderr)
        speed = throughput(impls, texts, args.rounds)
        print("embedding the history with int8 ...", file=sys.stderr)
        res = vectors.embed(store, int8, cache, threads=args.threads)
        units = store.embedding_count(DEFAULT_MODEL)
        agree = agreement(store, settings, cache, [DEFAULT_MODEL, int8])
    print("Recall per mode ...", file=sys.stderr)
    recall = {m: eval_search.evaluate(("semantic", "hybrid"), relevance=False, model=m)
              for m in (DEFAULT_MODEL, int8)}
    keyword = eval_search.evaluate(("keyword",), relevance=False)["keyword"]["all"]
    base = speed.get(Torch.name)
    rows_out = [(name, f"{ups:,.0f}", f"{ups / base:.1f}x" if base else "n/a")
                for name, ups in speed.items()]
    q = [("keyword", "-", f"{keyword['R@10'] * 100:.0f}", f"{keyword['nDCG@10']:.2f}")]
    for model, r in recall.items():
        for mode in ("semantic", "hybrid"):
            a = r[mode]["all"]
            q.append((mode, model, f"{a['R@10'] * 100:.0f}", f"{a['nDCG@10']:.2f}"))
    m = machine()
    load1 = os.getloadavg()[0]
    body = "\n".join([
        f"Command: `.venv/bin/python benchmarks/bench_embed.py --units {args.units} --threads {args.threads}"
        f" --sessions {args.sessions}`",
        f"Machine: {m['nproc']} cores, {m['cpu']}, {m['ram']}; Python {m['python']}; load average"
        f" {load1:.1f} at the end (other work was loading the machine: compare rows of this run only).",
        "",
        f"Throughput on {len(texts):,} real units (prompts and answers cut to 1,000 characters), "
        f"{args.threads} threads, best of {args.rounds} interleaved rounds:",
        "",
        table(rows_out, ("implementation", "units/s", "vs torch")),
        "",
        f"Whole history embedded with int8 through `memory embed`'s path: {res.embedded:,} units in "
        f"{res.seconds:.1f} s ({res.embedded / max(res.seconds, 1e-9):,.0f} units/s, batches committed).",
        f"Top-10 agreement of semantic search, int8 against float32, over eval_search's "
        f"{len(json.loads(eval_search.EVAL.read_text())['questions'])} questions ({units:,} vectors, exact scans): "
        f"{agree * 100:.1f}%.",
        "",
        "eval_search (all questions) per model:",
        "",
        table(q, ("mode", "model", "R@10 %", "nDCG@10")),
    ])
    print(body)
    if not args.no_record:
        append_results("embedding: ONNX Runtime float32 and int8 against sentence-transformers", body)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
