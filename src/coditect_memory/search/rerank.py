"""Second-stage ranking over the head of a relevance ranking: what a conversation's shape
says that a message's own words do not.

- The answer follows the question: a message that matches is often the prompt or the error,
  and what a person wants back is the reply after it (the fix, the decision). The first
  answers after each of the top hits, in the same session, get a share of its score.
- A session that several hits come from is about the question: its hits lift each other.
- "When did X start ...": the earliest hit of a session is the one that dates it.

Each step was kept because it raised the tuned part of tests/eval (benchmarks/RESULTS.md,
"Search quality, issue 11" has the table of what each did); none reads message text, so the
cost is a few small index lookups, not a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .keyword import Hit

HEAD = 30  # hits whose answers are looked up (and whose sessions count as evidence)
ANSWERS = 2  # answers after a hit that are lifted, in order
ANSWER_SHARE = (0.8, 0.6)  # of the hit's score, per answer (0.5-1.0 tried: RESULTS.md, issue 11)
SESSION_WEIGHT = 0.0  # share of a session's other head hits added to each of its hits
START = re.compile(r"^\s*when\b.*\b(start|began|begin|first)", re.I)

QUESTION_WORDS = 4  # keyword mode lifts answers only for a question this long (words ask for matches)

Followers = Callable[[list[Hit]], dict[int, list[Hit]]]


def is_question(words: int) -> bool:
    return words >= QUESTION_WORDS


def refine(hits: list[Hit], question: str, followers: Followers | None) -> list[Hit]:
    """The same hits (plus the answers lifted in, when `followers` finds them), scores
    adjusted; order is left to the caller's sort."""
    if not hits:
        return hits
    by_id = {h.id: Hit(h.id, h.score, h.ts, h.skey) for h in hits}
    head = sorted(by_id.values(), key=lambda h: -h.score)[:HEAD]
    base = {h.id: h.score for h in head}
    if ANSWERS and followers is not None:
        answers = followers(head)
        for h in head:
            for share, a in zip(ANSWER_SHARE, answers.get(h.id, []), strict=False):
                lift = share * base[h.id]
                cur = by_id.get(a.id)
                if cur is None:
                    by_id[a.id] = Hit(a.id, lift, a.ts, a.skey)
                else:
                    cur.score = max(cur.score, lift)
    if SESSION_WEIGHT:
        total: dict[int, float] = {}
        for h in head:
            if h.skey:
                total[h.skey] = total.get(h.skey, 0.0) + base[h.id]
        for h in head:
            if h.skey:
                by_id[h.id].score += SESSION_WEIGHT * (total[h.skey] - base[h.id])
    if START.search(question):
        first: dict[int, Hit] = {}
        best: dict[int, float] = {}
        for h in head:
            cur = by_id[h.id]
            if h.skey and (h.skey not in first or h.ts < first[h.skey].ts):
                first[h.skey] = cur
            best[h.skey] = max(best.get(h.skey, 0.0), cur.score)
        for skey, h in first.items():
            h.score = max(h.score, best[skey] * 1.0001)
    return list(by_id.values())
