"""The query language a person can guess, parsed into plain data (never handed to an engine).

    words             any may match, all first  auth token
    "exact phrase"    words next to each other  "token refresh"
    prefix*           any word starting so      migrat*
    -word, -"phrase"  must not match            -test
    a OR b            either                    alembic OR migration
    field:value       filter                    project:billing-api tool:Bash level:error
                                                after:2025-11-01 before:2025-12-01

A phrase, a prefix or an OR group must match; plain words are ranked (keyword.py).

Anything else is text: unbalanced quotes, parentheses, the engine's own operators, SQL. The
parser never fails; what it had to ignore is reported in `notes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 1000
MAX_CLAUSES = 32

# inline filter name -> the Filters field it sets
FILTER_FIELDS = {
    "project": "project", "session": "session", "source": "source", "kind": "source",
    "type": "type", "role": "role", "tool": "tool", "component": "component", "level": "level",
    "after": "since", "since": "since", "before": "until", "until": "until",
}

_EDGE = re.compile(r"^[()\[\]{}<>,;!?]+|[()\[\]{}<>,;!?]+$")


@dataclass
class Clause:
    """One thing to match: a word, a phrase (several words in order) or a prefix."""

    kind: str  # word | phrase | prefix
    text: str

    def __str__(self) -> str:
        return {"phrase": f'"{self.text}"', "prefix": f"{self.text}*"}.get(self.kind, self.text)


@dataclass
class ParsedQuery:
    groups: list[list[Clause]] = field(default_factory=list)  # AND of ORs
    excluded: list[Clause] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def positive(self) -> list[Clause]:
        return [c for g in self.groups for c in g]

    def text(self) -> str:
        """The free text of the query (what semantic search embeds)."""
        return " ".join(c.text for c in self.positive)


@dataclass
class _Token:
    clause: Clause | None = None
    negate: bool = False
    is_or: bool = False


def parse(query: str) -> ParsedQuery:
    out = ParsedQuery()
    if len(query) > MAX_QUERY_CHARS:
        query = query[:MAX_QUERY_CHARS]
        out.notes.append(f"the query was cut to its first {MAX_QUERY_CHARS} characters")
    query = query.replace("\x00", " ")
    tokens = _lex(query, out)
    pending_or = False
    for tok in tokens:
        if tok.is_or:
            pending_or = bool(out.groups)
            continue
        clause = tok.clause
        if clause is None:
            continue
        if tok.negate:
            out.excluded.append(clause)
            pending_or = False
            continue
        if pending_or and out.groups:
            out.groups[-1].append(clause)
        else:
            out.groups.append([clause])
        pending_or = False
    total = sum(len(g) for g in out.groups) + len(out.excluded)
    if total > MAX_CLAUSES:
        out.notes.append(f"only the first {MAX_CLAUSES} words of the query were used")
        kept, n = [], 0
        for g in out.groups:
            if n + len(g) > MAX_CLAUSES:
                break
            kept.append(g)
            n += len(g)
        out.groups = kept
        out.excluded = out.excluded[: max(0, MAX_CLAUSES - n)]
    return out


def _lex(q: str, out: ParsedQuery) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(q)
    negate_next = False
    while i < n:
        ch = q[i]
        if ch.isspace():
            i += 1
            continue
        negate = negate_next
        negate_next = False
        if ch == "-" and i + 1 < n and not q[i + 1].isspace():
            negate, i = True, i + 1
            ch = q[i]
        elif ch == "+" and i + 1 < n and not q[i + 1].isspace():
            i += 1
            ch = q[i]
        if ch == '"':
            end = q.find('"', i + 1)
            if end < 0:
                out.notes.append("an unbalanced quote was ignored")
                i += 1
                continue
            text = " ".join(q[i + 1:end].split())
            i = end + 1
            if text:
                tokens.append(_Token(Clause("phrase", text), negate))
            continue
        j = i
        while j < n and not q[j].isspace():
            if q[j] == '"' and j > i and q[j - 1] == ":":
                break  # field:"quoted value"
            j += 1
        word = q[i:j]
        i = j
        name, sep, value = word.partition(":")
        if sep and name.lower() in FILTER_FIELDS and (value or (i < n and q[i] == '"')):
            if not value:  # field:"quoted value"
                end = q.find('"', i + 1)
                if end < 0:
                    value, i = q[i + 1:], n
                    out.notes.append("an unbalanced quote was ignored")
                else:
                    value, i = q[i + 1:end], end + 1
            value = value.strip()
            if value:
                key = FILTER_FIELDS[name.lower()]
                if negate:
                    out.notes.append(f"-{name}: is not supported; the filter was used as given")
                out.filters.setdefault(key, []).append(value)
            continue
        if word in ("OR", "|", "||"):
            tokens.append(_Token(is_or=True))
            continue
        if word in ("AND", "&&"):
            continue
        if word == "NOT":
            negate_next = True
            continue
        word = _EDGE.sub("", word)
        if not word:
            continue
        if word.endswith("*") and word.rstrip("*"):
            tokens.append(_Token(Clause("prefix", word.rstrip("*")), negate))
        else:
            tokens.append(_Token(Clause("word", word.strip("*")), negate))
    return [t for t in tokens if t.is_or or (t.clause and t.clause.text)]
