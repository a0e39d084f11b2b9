"""Scoring the labelled relevance set (queries.json): Recall@10 and nDCG@10 per search mode.

Used by tests/test_search_semantic.py and benchmarks/bench_search.py. Labels are computed
from the store: the messages whose text and type match a query's patterns.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

QUERIES = Path(__file__).with_name("queries.json")
K = 10


def load() -> list[dict]:
    return json.loads(QUERIES.read_text())["queries"]


def searchable(store) -> list[tuple[str, str, str]]:
    """(uid, type, content) of every message search can return: live, not a history copy,
    with text."""
    return [(r.uid, r.type, r.content) for rows in store.rows_to_index(0, store.max_message_id())
            for r in rows if r.deleted_at is None and r.linked_uid is None and r.content]


def labels(store, queries: list[dict]) -> list[dict[str, int]]:
    """For each query, {uid: grade} of its relevant messages (the highest grade that applies)."""
    rows = searchable(store)
    out = []
    for q in queries:
        grades: dict[str, int] = {}
        for rule in q["relevant"]:
            rx = re.compile(rule["pattern"], re.M | re.I)
            types = set(rule["types"])
            for uid, mtype, content in rows:
                if rx.search(content):
                    # The named types get the rule's grade; the same text echoed elsewhere
                    # (a todo, an issue body, a tool call) is relevant too, at grade 1.
                    grade = rule["grade"] if mtype in types else 1
                    grades[uid] = max(grades.get(uid, 0), grade)
        out.append(grades)
    return out


def recall_at(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    """Share of the top k that could be relevant and is: |relevant in top k| / min(k, |relevant|)."""
    if not grades:
        return 0.0
    hits = sum(1 for uid in ranked[:k] if uid in grades)
    return hits / min(k, len(grades))


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    if not grades:
        return 0.0
    dcg = sum((2 ** grades.get(uid, 0) - 1) / math.log2(i + 2) for i, uid in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def evaluate(run_query, queries: list[dict], label_sets: list[dict[str, int]]) -> dict:
    """run_query(text) -> ranked uids. Returns mean Recall@10, nDCG@10 and per-query figures."""
    per = []
    for q, grades in zip(queries, label_sets, strict=True):
        ranked = run_query(q["query"])
        per.append({"query": q["query"], "kind": q["kind"], "relevant": len(grades),
                    "recall": recall_at(ranked, grades), "ndcg": ndcg_at(ranked, grades)})
    n = len(per) or 1
    return {"recall": sum(p["recall"] for p in per) / n, "ndcg": sum(p["ndcg"] for p in per) / n,
            "per_query": per}
