"""Search settings: the `[search]` table of $MEMORY_HOME/config.toml over these defaults.

```toml
[search]
stop_words = ["the", "a", ...]          # dropped from free-text queries (not from phrases)
synonyms = [["lsp", "language server"], ["error", "exception"]]   # each list: one meaning
per_session = 3                          # results one session may hold on a page
index_on_ingest = true                   # update the keyword index after each `memory ingest`
embed_on_ingest = "auto"                 # auto: when the semantic extra is installed and
                                         # `memory embed` has been run once
min_similarity = 0.3                     # semantic matches below this cosine are not counted
```
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError

DEFAULT_STOP_WORDS = ["a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "please", "should", "so", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your"]

DEFAULT_SYNONYMS: list[list[str]] = [
    ["lsp", "language server"],
    ["error", "exception"],
    ["db", "database"],
    ["auth", "authentication"],
    ["config", "configuration"],
    ["repo", "repository"],
    ["pr", "pull request"],
    ["ci", "continuous integration"],
    ["env", "environment"],
]


@dataclass
class SearchSettings:
    home: Path
    stop_words: frozenset[str] = frozenset(DEFAULT_STOP_WORDS)
    synonyms: list[list[str]] = field(default_factory=lambda: [list(g) for g in DEFAULT_SYNONYMS])
    per_session: int = 3
    index_on_ingest: bool = True
    embed_on_ingest: str = "auto"
    min_similarity: float = 0.3

    @property
    def index_dir(self) -> Path:
        return self.home / "index"


def load_settings(home: Path) -> SearchSettings:
    path = Path(os.environ.get("MEMORY_CONFIG", home / "config.toml"))
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f).get("search", {})
    except FileNotFoundError:
        table = {}
    except (tomllib.TOMLDecodeError, OSError) as e:
        raise UsageError(f"cannot read config {path}: {e}") from None
    s = SearchSettings(home=home)
    try:
        if "stop_words" in table:
            s.stop_words = frozenset(str(w).lower() for w in table["stop_words"])
        if "synonyms" in table:
            s.synonyms = [[str(w).lower() for w in group] for group in table["synonyms"]
                          if isinstance(group, list) and len(group) > 1]
        s.per_session = max(1, int(table.get("per_session", s.per_session)))
        s.index_on_ingest = bool(table.get("index_on_ingest", s.index_on_ingest))
        s.embed_on_ingest = str(table.get("embed_on_ingest", s.embed_on_ingest)).lower()
        s.min_similarity = float(table.get("min_similarity", s.min_similarity))
    except (TypeError, ValueError) as e:
        raise UsageError(f"bad [search] setting in {path}: {e}") from None
    if s.embed_on_ingest not in ("auto", "true", "false"):
        raise UsageError(f"[search] embed_on_ingest must be auto, true or false in {path}")
    return s
