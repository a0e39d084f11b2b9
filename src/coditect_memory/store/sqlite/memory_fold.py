"""Drafts of one put_memories call folded into each memory's end state, in Python: both
backends' put_memories write each memory once per call (a first ingest's drafts repeat:
120k drafts, 15k memories at 1M messages), by the same rules in the same order."""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.memories import MemoryDraft

Key = tuple[int, str, str]  # (project_id, type, norm): memories' unique key


@dataclass
class _Folded:
    """A memory as the drafts of one call leave it; `id` None: new (inserted)."""

    id: int | None
    status: str
    importance: float
    last_seen: int | None
    session: str | None  # for a stored memory: the latest given (None keeps the stored one)
    seen: int  # new: its seen_count; stored: what to add to it
    draft: MemoryDraft | None = None  # new: the first draft (text, first_seen)
    first_seen: int | None = None

    def reinforce(self, d: MemoryDraft, last: int | None, session: str | None) -> None:
        """Seen again: importance halfway to 1 by a quarter, an archived one revived, a
        forgotten one stays forgotten, a todo's done/open follows the latest (SQLite's rule)."""
        self.status = self.status if self.status == "forgotten" else d.status
        base = max(self.importance, d.importance)
        self.importance = min(1.0, base + (1.0 - base) * 0.25)
        self.last_seen = self.last_seen if last is None else max(self.last_seen or 0, last)
        self.session = session if session is not None else self.session
        self.seen += max(1, len(d.evidence))


def fold(drafts: list[MemoryDraft], stored: dict[Key, tuple[int, str, float, int | None]]
         ) -> tuple[dict[Key, _Folded], list[Key]]:
    """Each key's end state after the drafts in order (`stored`: id, status, importance,
    last_seen of the keys already stored), and the keys of each draft, in order."""
    out: dict[Key, _Folded] = {}
    keys: list[Key] = []
    for d in drafts:
        ts = [e[2] for e in d.evidence if e[2] is not None]
        first, last = (min(ts), max(ts)) if ts else (None, None)  # undated: no age
        session = d.evidence[-1][1] if d.evidence else None
        key = (d.project_id, d.type, d.norm)
        keys.append(key)
        f = out.get(key)
        if f is None and key in stored:
            mid, status, importance, seen_at = stored[key]
            f = out[key] = _Folded(mid, status, importance, seen_at, None, 0)
        elif f is None:
            out[key] = _Folded(None, d.status, d.importance, last, session,
                               max(1, len(d.evidence)), d, first)
            continue
        f.reinforce(d, last, session)
    return out, keys
