"""Which transcript prompt a history.jsonl line is.

A prompt in history.jsonl and in its transcript is one logical prompt: the history line is
linked to it (search and counts show it once; the history line stays). Same text (slash
commands compared as `/name args`) within LINK_EXACT_MS, else the nearest prompt within
LINK_NEAR_MS (pastes and images are shown differently in history).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .prompts import prompt_title

LINK_EXACT_MS = 5 * 60_000  # same text: the history line and the transcript line agree
LINK_NEAR_MS = 15_000  # different text (pastes, images): the same moment


class Candidate(NamedTuple):
    """A transcript prompt a history line may be."""

    ts: int
    uid: str
    session_id: str
    key: str


def link_key(text: str | None) -> str:
    """What is compared: the prompt as a title, spaces collapsed, its head."""
    title = prompt_title(text or "") or ""
    return " ".join(title.split())[:120]


def best_match(ts: int, key: str, pool: Iterable[Candidate], used: set[str]) -> Candidate | None:
    """The candidate a history line at `ts` saying `key` is: same text first, then nearest."""
    best: Candidate | None = None
    best_gap = 0
    for cand in pool:
        if cand.uid in used:
            continue
        gap = abs(cand.ts - ts)
        ok = gap <= LINK_EXACT_MS if (key and cand.key == key) else gap <= LINK_NEAR_MS
        if ok and (best is None or (cand.key == key, -gap) > (best.key == key, -best_gap)):
            best, best_gap = cand, gap
    return best
