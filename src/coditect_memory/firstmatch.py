"""The first of several regexes (in their order) that matches a text, with one Hyperscan pass
instead of one `re` search per regex.

Hyperscan compiles the patterns in prefilter mode, which may report a pattern that does not
match but never misses one that does (by PCRE's rules); each one it reports is then
confirmed with Python's `re`, in order. PCRE and `re` agree on ASCII text (`\\s` aside:
`re` counts \\x1c-\\x1f as space), so only such texts take the fast path, and only when
every pattern is ASCII (`re` folds 'ſ' to 's' and 'K', Kelvin, to 'k'); others, and
patterns Hyperscan cannot compile, take the `re` loop. Component names of debug lines
(settings.ComponentRules): 735k lines at 1M messages took 9 s with the loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_NOT_FAST = re.compile(r"[^\x00-\x1b\x20-\x7f]")  # non-ASCII, or what `re` alone calls space


def _portable(p: re.Pattern[str]) -> bool:
    """Whether PCRE reads the pattern as `re` does (on ASCII text): ASCII, not verbose, and
    none of the syntax they read differently (`{,n}`: PCRE's literal text; `[:alpha:]`)."""
    text = p.pattern
    return text.isascii() and not p.flags & re.X and "{," not in text and "[:" not in text


class FirstMatch:
    def __init__(self, patterns: list[re.Pattern[str]]) -> None:
        self.patterns = patterns
        self._db: Any = None
        self._built = False

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the compiled database (settings go to an ingest's helper
        processes): built again on first use."""
        return {"patterns": self.patterns, "_db": None, "_built": False}

    def _build(self) -> None:
        self._built = True
        if not self.patterns or not all(_portable(p) for p in self.patterns):
            return
        import hyperscan as hs

        base = hs.HS_FLAG_PREFILTER | hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_ALLOWEMPTY
        db = hs.Database()
        try:
            db.compile(expressions=[p.pattern.encode() for p in self.patterns],
                       ids=list(range(len(self.patterns))), elements=len(self.patterns),
                       flags=[base | (hs.HS_FLAG_CASELESS if p.flags & re.I else 0)
                              | (hs.HS_FLAG_MULTILINE if p.flags & re.M else 0)
                              | (hs.HS_FLAG_DOTALL if p.flags & re.S else 0) for p in self.patterns])
        except hs.error:
            return  # a construct it cannot even approximate: the `re` loop
        self._db = db

    def index(self, text: str) -> int | None:
        """The index of the first pattern that matches `text` (re.search), or None."""
        if not self._built:
            self._build()
        if self._db is None or _NOT_FAST.search(text):
            candidates: Iterable[int] = range(len(self.patterns))
        else:
            hits: list[int] = []
            self._db.scan(text.encode(), match_event_handler=lambda pid, *_: hits.append(pid))
            candidates = sorted(hits)
        for i in candidates:
            if self.patterns[i].search(text):
                return i
        return None
