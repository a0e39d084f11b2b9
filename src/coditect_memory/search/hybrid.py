"""Hybrid ranking: reciprocal rank fusion of the keyword and the semantic rankings.

RRF (Cormack et al., 2009) needs no score calibration between BM25 and cosine: each list
contributes 1 / (K + rank). A message both rankings like rises to the top; one that only
one of them finds still gets in.
"""

from __future__ import annotations

K = 20  # tests/eval (tuned part): 10, 20, 30 equal; 60 and 100 lower (RESULTS.md, issue 11)
DEPTH = 100  # candidates taken from each ranking: whole lists, not their heads
# keyword, semantic: chosen on tests/eval's tuned part (benchmarks/eval_search.py). With the
# int8 vectors, semantic at 1.2 lifts tuned R@10 82 -> 89 (error and fix 86 -> 100, paraphrase
# 50 -> 70) and no kind loses; 1.3 ties, 1.4 loses two-sessions (RESULTS.md, issue 11).
WEIGHTS = (1.0, 1.2)


def fuse(*rankings: list[int], k: int | None = None,
         weights: tuple[float, ...] | None = None) -> list[tuple[int, float]]:
    """[(id, fused score)] best first; ties broken by the first ranking's order."""
    k = K if k is None else k
    scores: dict[int, float] = {}
    first_seen: dict[int, int] = {}
    for n, ranking in enumerate(rankings):
        w = weights[n] if weights else 1.0
        for rank, doc in enumerate(ranking):
            scores[doc] = scores.get(doc, 0.0) + w / (k + rank + 1)
            first_seen.setdefault(doc, n * 1_000_000 + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))
