"""The context pack: what a new session should know, in at most `budget` tokens.

Candidates are the project's memories (and the ones tied to no project), summaries of its
last sessions and, with a query, past excerpts from search. Each gets a score, relevance x
importance x recency; pinned memories come first and always. The best are taken until the
budget is spent, then shown by section, each with its reference (memory id, session, time)
so it can be opened with `memory memories show` or `memory show session`.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..store.protocol.memories import Memory
from .tokens import ENCODING, TokenCounter

SECTIONS = (("pinned", "Pinned"), ("preference", "Preferences"), ("fact", "Project facts"),
            ("decision", "Decisions"), ("todo", "Open todos"), ("error_fix", "Errors and their fixes"),
            ("pattern", "Habits"), ("session", "Recent sessions"), ("excerpt", "Relevant past excerpts"))
RECENCY_DAYS = 60.0  # an item this old weighs half as much as one from today
_WORD = re.compile(r"[a-z0-9_]{3,}")


@dataclass
class Item:
    key: str  # m:<memory id>, s:<session id>, x:<message uid>: what `context diff` compares
    section: str
    text: str
    score: float
    session_id: str | None = None
    timestamp: str | None = None
    memory_id: int | None = None

    def line(self) -> str:
        ref = [f"mem {self.memory_id}"] if self.memory_id else []
        if self.session_id:
            ref.append(f"session {self.session_id[:8]}")
        if self.timestamp:
            ref.append(self.timestamp[:10])
        return f"- {self.text}" + (f" ({' · '.join(ref)})" if ref else "")

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "section": self.section, "text": self.text,
                "score": round(self.score, 4), "memory_id": self.memory_id,
                "session_id": self.session_id, "timestamp": self.timestamp}


@dataclass
class Pack:
    id: str
    project: str | None
    project_name: str | None
    query: str | None
    budget: int
    tokens: int
    created_at: int
    items: list[Item] = field(default_factory=list)
    markdown: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "project": self.project, "project_name": self.project_name,
                "query": self.query, "budget": self.budget, "tokens": self.tokens,
                "tokenizer": ENCODING, "created_at": self.created_at,
                "items": [i.to_json() for i in self.items], "markdown": self.markdown}


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _age_days(iso_ts: str | None, now_ms: int) -> float:
    if not iso_ts:
        return 365.0
    from ..timeutil import parse_ts

    ms = parse_ts(iso_ts)
    return max(0.0, (now_ms - ms) / 86_400_000) if ms is not None else 365.0


def score(importance: float, text: str, when: str | None, query: set[str], now_ms: int) -> float:
    relevance = 1.0 + (3.0 * len(query & words(text)) / len(query) if query else 0.0)
    recency = 0.5 ** (_age_days(when, now_ms) / RECENCY_DAYS)
    return relevance * importance * (0.3 + 0.7 * recency)  # old knowledge fades, never to zero


def memory_items(memories: list[Memory], query: set[str], now_ms: int) -> list[Item]:
    return [Item(key=f"m:{m['id']}", section="pinned" if m["pinned"] else m["type"], text=m["text"],
                 score=score(m["importance"], m["text"], m["last_seen"], query, now_ms),
                 session_id=m["session_id"], timestamp=m["last_seen"], memory_id=m["id"])
            for m in memories]


def assemble(title: str, candidates: list[Item], budget: int, counter: TokenCounter,
             note: str = "") -> tuple[list[Item], str, int]:
    """Pinned items, then the best scored, while the markdown fits `budget` tokens."""
    head = f"# {title}\n" + (f"{note}\n" if note else "")
    used = counter.count(head)
    chosen: list[Item] = []
    ranked = sorted(candidates, key=lambda i: (i.section != "pinned", -i.score))
    headers: set[str] = set()
    for item in ranked:
        cost = counter.count(item.line() + "\n")
        header_cost = 0 if item.section in headers else counter.count(f"\n## {item.section}\n") + 1
        if item.section != "pinned" and used + cost + header_cost > budget:
            continue
        chosen.append(item)
        headers.add(item.section)
        used += cost + header_cost
    text = render(head, chosen)
    while chosen and counter.count(text) > budget:  # joins may cost a token more than parts
        drop = next((i for i in reversed(chosen) if i.section != "pinned"), None)
        if drop is None:
            break
        chosen.remove(drop)
        text = render(head, chosen)
    return chosen, text, counter.count(text)


def render(head: str, items: list[Item]) -> str:
    parts = [head]
    for section, label in SECTIONS:
        lines = [i.line() for i in items if i.section == section]
        if lines:
            parts.append(f"\n## {label}\n" + "\n".join(lines) + "\n")
    return "".join(parts)


def pack_id(project: str | None, items: list[Item], query: str | None, now_ms: int) -> str:
    h = hashlib.sha256(f"{project}\0{query}\0{now_ms}\0".encode())
    for i in items:
        h.update(i.key.encode() + b"\0")
    return "p" + h.hexdigest()[:11]


def now_ms() -> int:
    return int(time.time() * 1000)
