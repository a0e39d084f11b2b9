"""Hybrid ranking: reciprocal rank fusion of the keyword and the semantic rankings.

RRF (Cormack et al., 2009) needs no score calibration between BM25 and cosine: each list
contributes 1 / (K + rank). A message both rankings like rises to the top; one that only
one of them finds still gets in.
"""

from __future__ import annotations

# K, TAIL and rerank.HEAD chosen together on tests/eval's tuned part with the old relevance
# sets as a guard (hybrid above keyword and semantic there too): K 15, TAIL 0.5, HEAD 30 lift
# tuned R@10 86 -> 89 and R@50 91 -> 93; TAIL 1.0 (no discount) loses the relevance sets, 0.25
# gives back the R@50 gain (RESULTS.md, "issue 11: full candidate lists").
K = 15
DEPTH = 100  # candidates taken from each ranking: whole lists, not their heads
# keyword, semantic: chosen on tests/eval's tuned part (benchmarks/eval_search.py). With the
# int8 vectors, semantic at 1.2 lifts tuned R@10 82 -> 89 (error and fix 86 -> 100, paraphrase
# 50 -> 70) and no kind loses; 1.3 ties, 1.4 loses two-sessions (RESULTS.md, issue 11).
WEIGHTS = (1.0, 1.2)
# The semantic list is fused whole (DEPTH candidates, however weak: R@50 needs the tail);
# those below [search] min_similarity (what counts as a semantic match) count TAIL of their
# weight, so that they fill the list's tail without pushing keyword matches off its head.
TAIL = 0.5


def fuse(*rankings: list[int], k: int | None = None, weights: tuple[float, ...] | None = None,
         strong: tuple[int | None, ...] | None = None) -> list[tuple[int, float]]:
    """[(id, fused score)] best first; ties broken by the first ranking's order. With
    `strong`, only the first strong[n] of ranking n count fully, the rest TAIL of it."""
    k = K if k is None else k
    scores: dict[int, float] = {}
    first_seen: dict[int, int] = {}
    for n, ranking in enumerate(rankings):
        w = weights[n] if weights else 1.0
        cut = strong[n] if strong else None
        head = len(ranking) if cut is None else cut
        for rank, doc in enumerate(ranking):
            share = w if rank < head else w * TAIL
            scores[doc] = scores.get(doc, 0.0) + share / (k + rank + 1)
            first_seen.setdefault(doc, n * 1_000_000 + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))
