"""Keyword search on the Tantivy index: the parsed query becomes Tantivy query objects built
term by term (never a query string, so no user text reaches the engine's parser).

Ranking is BM25 with per-field boosts (index.TEXT_FIELDS) over the words as a ranked
disjunction (any word matches; all of them, and words next to each other, rank higher);
a word that is in no document (a typo) is matched with edit distance 1; synonyms from the
settings widen a word to its group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..settings import SearchSettings
from .filters import Filters
from .index import TEXT_FIELDS, KeywordIndex, analyzer, plain_analyzer, session_key
from .query import Clause, ParsedQuery

FACETS = ("project", "kind", "component", "level", "tool", "type", "role")
MIN_FUZZY_LEN = 5  # shorter words have too many neighbours one edit away
TYPO_WEIGHT = 0.5
ALL_BOOST = 1.0  # a message with every word scores (1 + ALL_BOOST) times its BM25
PAIR_BOOST = 0.5
PAIR_SLOP = 2
MAX_PAIRS = 8
PAIR_COMMON = 5
# In a question (PAIR_MAX_WORDS words or more), a pair whose rarer word is in more messages
# than PAIR_MAX_DF is not boosted: its phrase query reads the positions of a large
# intersection (8 ms for "auth token" at 1M messages) and tells little among many words;
# stores of the size of one long conversation (tests/eval) never reach it. Two or three
# words typed keep all their pairs.
PAIR_MAX_DF = 20_000
PAIR_MAX_WORDS = 4
MAX_TYPO_SCAN = 50_000  # dictionary terms looked at for one misspelt word
MAX_TYPO_TERMS = 16
MAX_FOLLOWER_SCAN = 20_000  # assistant messages read to find the answers after the top hits
FOLLOWER_WINDOW = 24  # ids after a hit looked at first for its answers (~90% have both there)


def near(a: str, b: str) -> bool:
    """Edit distance <= 1, a transposition counting as one edit."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1:] == b[i + 1:]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]
    return a[i + 1:] == b[i:] if la > lb else a[i:] == b[i + 1:]


@dataclass
class Terms:
    """What a result's text is highlighted with: the stems and prefixes that matched."""

    stems: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)


@dataclass
class Hit:
    id: int
    score: float
    ts: int
    skey: int


@dataclass
class KeywordResult:
    hits: list[Hit]
    total: int
    facets: dict[str, dict[Any, int]] | None
    terms: Terms
    notes: list[str]
    query: Any = None  # the Tantivy query that decides the matches (without ranking boosts)


class KeywordSearcher:
    def __init__(self, ix: KeywordIndex, settings: SearchSettings) -> None:
        self.ix = ix
        self.schema = ix.schema
        self.searcher = ix.searcher()
        self.settings = settings
        self.stem = analyzer()
        self.plain = plain_analyzer()
        self._vocab: dict[str, dict[str, str]] = {}

    # --- building queries ---------------------------------------------------------------
    def _field_parts(self, make) -> list:
        """`make(field)` for each text field, boosted by the field's weight."""
        import tantivy as T

        parts = []
        for name, boost in TEXT_FIELDS.items():
            q = make(name)
            if q is not None:
                parts.append(T.Query.boost_query(q, boost) if boost != 1.0 else q)
        return parts

    def _fields(self, make) -> Any:
        return _any(self._field_parts(make))

    def _df(self, token: str) -> int:
        return self.searcher.doc_freq("text", token)

    def clause(self, c: Clause, terms: Terms, notes: list[str], synonym: bool = False):
        """The Tantivy query of one clause, or None when nothing of it is searchable."""
        return _any(self.clause_parts(c, terms, notes, synonym))

    def clause_parts(self, c: Clause, terms: Terms, notes: list[str], synonym: bool = False) -> list:
        """The clause as queries whose scores add up (one per field and variant): kept flat,
        so that a question's words are one disjunction of term queries, which Tantivy ranks
        ~30% faster than the same sum nested by word (tests/eval identical, RESULTS.md)."""
        import tantivy as T

        s = self.schema
        if c.kind == "prefix":
            words = self.plain.analyze(c.text)
            if not words:
                return []
            if len(words) > 1:  # "auth.tok*": a phrase whose last word is a prefix
                terms.stems.update(self.stem.analyze(" ".join(words[:-1])))
                terms.prefixes.add(words[-1])
                return self._field_parts(lambda f: T.Query.phrase_prefix_query(s, f, words))
            variants = {words[0], *self.stem.analyze(words[0])}
            terms.prefixes.update(variants)
            return [q for v in variants
                    for q in self._field_parts(lambda f, v=v: T.Query.phrase_prefix_query(s, f, [v]))]
        tokens = self.stem.analyze(c.text)
        if not tokens:
            return []
        if len(tokens) > 1:  # a phrase, or a word like auth.token_refresh
            terms.stems.update(tokens)
            return self._field_parts(lambda f: T.Query.phrase_query(s, f, tokens))
        tok = tokens[0]
        plain = (self.plain.analyze(c.text) or [tok])[0]
        if synonym and self._df(tok) == 0:
            return []
        if c.kind == "word" and not synonym and len(plain) >= MIN_FUZZY_LEN and self._df(tok) == 0:
            # In no message at all: likely a typo. Its near spellings stand in for it, at a
            # lower weight than words that were typed right.
            near = self.typo_terms(plain, tok)
            if near:
                terms.stems.update(near)
                notes.append(f"{c.text!r} matched with one typo allowed ({', '.join(near[:5])})")
                return [T.Query.boost_query(T.Query.boolean_query([(T.Occur.Should, self._fields(
                    lambda f, t=t: T.Query.term_query(s, f, t))) for t in near]), TYPO_WEIGHT)]
        terms.stems.add(tok)
        return self._field_parts(lambda f: T.Query.term_query(s, f, tok))

    def typo_terms(self, plain: str, stem: str) -> list[str]:
        """Indexed terms within one edit of the word or of its stem, most frequent first.

        Indexed terms are stems ("alembic" is indexed as "alemb"), so a term also counts
        when it is within one edit of the start of the word and the rest looks like a
        suffix the stemmer removed ("alembik" -> "alemb"). Candidates come from the term
        dictionary under the word's first two letters (a typo there is not caught)."""
        close, stems = [], []
        for term, df in self.searcher.terms_with_prefix("text", plain[:2], limit=MAX_TYPO_SCAN):
            if df <= 0 or len(term) < 3:
                continue
            if near(term, stem) or near(term, plain):
                close.append((df, term))
            elif MIN_FUZZY_LEN <= len(term) < len(plain) <= len(term) + 3 and near(term, plain[:len(term)]):
                stems.append((df, term))
        return [t for _, t in sorted(close or stems, reverse=True)[:MAX_TYPO_TERMS]]

    def _synonyms(self, group: list[Clause]) -> list[tuple[Clause, bool]]:
        """The group's clauses, then their synonyms (flagged: no typo tolerance for those)."""
        out = [(c, False) for c in group]
        for c in group:
            key = " ".join(self.plain.analyze(c.text))
            for syn in self.settings.synonyms:
                if key in syn:
                    out += [(Clause("phrase" if " " in alt else "word", alt), True)
                            for alt in syn if alt != key]
        return out

    def _merge_multiword_synonyms(self, groups: list[list[Clause]]) -> list[list[Clause]]:
        keys = {k for syn in self.settings.synonyms for k in syn if " " in k}
        if not keys:
            return groups
        out: list[list[Clause]] = []
        i = 0
        while i < len(groups):
            merged = False
            for n in (3, 2):
                window = groups[i:i + n]
                if len(window) == n and all(len(g) == 1 and g[0].kind == "word" for g in window):
                    text = " ".join(g[0].text.lower() for g in window)
                    if text in keys:
                        out.append([Clause("phrase", text)])
                        i += n
                        merged = True
                        break
            if not merged:
                out.append(groups[i])
                i += 1
        return out

    def _content_groups(self, parsed: ParsedQuery) -> list[list[Clause]]:
        groups = self._merge_multiword_synonyms(parsed.groups)
        stop = self.settings.stop_words
        kept = [g for g in groups if not (len(g) == 1 and g[0].kind == "word"
                                          and g[0].text.lower() in stop)]
        return kept or groups  # a query of stop words only is searched as typed

    def question_words(self, parsed: ParsedQuery) -> int:
        """How many plain words (not stop words) the query has; 0 when it uses syntax (a
        phrase, a prefix, OR, -word): that asks for exact matches, not a question."""
        if parsed.excluded or any(len(g) != 1 or g[0].kind != "word" for g in parsed.groups):
            return 0
        stop = self.settings.stop_words
        return sum(1 for g in parsed.groups if g[0].text.lower() not in stop)

    def filter_queries(self, f: Filters) -> list:
        import tantivy as T

        s = self.schema
        out = []
        if f.projects is not None:
            out.append(T.Query.term_set_query(s, "project", f.projects or [-1]))
        if f.sessions is not None:
            out.append(T.Query.term_set_query(s, "skey", [session_key(x) for x in f.sessions] or [-1]))
        for name, values in f.terms.items():
            actual = [self._term_value(name, v) for v in values]
            out.append(T.Query.term_set_query(s, name, [a for a in actual if a] or ["\x00none"]))
        if f.since is not None or f.until is not None:
            out.append(T.Query.range_query(s, "ts", T.FieldType.Integer, f.since, f.until))
        hidden = [(T.Occur.MustNot, T.Query.term_set_query(s, name, values)) for name, values in
                  (("project", f.hidden_projects), ("skey", [session_key(x) for x in f.hidden_sessions]))
                  if values]
        if hidden:
            out.append(T.Query.boolean_query([(T.Occur.Must, T.Query.all_query()), *hidden]))
        return out

    def _term_value(self, name: str, value: str) -> str | None:
        """The indexed spelling of a filter value, matched without regard to case."""
        if name not in self._vocab:
            self._vocab[name] = {t.lower(): t for t, _ in
                                 self.searcher.terms_with_prefix(name, "", limit=10_000)}
        return self._vocab[name].get(value.lower())

    def build(self, parsed: ParsedQuery, f: Filters) -> tuple[Any, Terms, list[str], bool]:
        query, _, terms, notes, has_text = self.queries(parsed, f)
        return query, terms, notes, has_text

    def queries(self, parsed: ParsedQuery, f: Filters) -> tuple[Any, Any, Terms, list[str], bool]:
        """(ranking query, matching query: the same without the boosts, highlight terms,
        notes, has_text).

        Plain words are a ranked disjunction: a message needs one of them, BM25 ranks by how
        many and how rare, a message with all of them is boosted (ALL_BOOST) and so are
        words next to each other as typed (PAIR_BOOST). What the syntax makes explicit
        keeps its meaning: a "phrase", a prefix* or an a OR b group must match; -word must not."""
        import tantivy as T

        terms = Terms()
        notes: list[str] = []
        musts, shoulds, words, tokens = [], [], [], []
        for group in self._content_groups(parsed):
            parts = [q for c, syn in self._synonyms(group) for q in self.clause_parts(c, terms, notes, syn)]
            if not parts:
                continue
            if len(group) == 1 and group[0].kind == "word":
                shoulds.append(_any(parts))
                words += parts  # the words' disjunction, flat
                tokens.append(self.stem.analyze(group[0].text))
            else:
                musts.append(_any(parts))
        has_text = bool(musts or shoulds)
        text: list[tuple[Any, Any]] = [(T.Occur.Must, q) for q in musts]
        boosts: list[tuple[Any, Any]] = []  # rank, never decide what matches
        if shoulds:
            text.append((T.Occur.Must if not musts else T.Occur.Should, _any(words)))
            if len(shoulds) > 1:
                boosts.append((T.Occur.Should, T.Query.boost_query(
                    T.Query.boolean_query([(T.Occur.Must, q) for q in shoulds]), ALL_BOOST)))
                boosts += [(T.Occur.Should, q) for q in self._pairs(tokens)]
        if not text:
            text.append((T.Occur.Must, T.Query.all_query()))
        nots = [q for q in (self.clause(c, Terms(), []) for c in parsed.excluded) if q is not None]
        clauses = text + [(T.Occur.MustNot, q) for q in nots]
        clauses += [(T.Occur.Must, T.Query.const_score_query(q, 0.0)) for q in self.filter_queries(f)]
        lean = T.Query.boolean_query(clauses)
        return (T.Query.boolean_query(clauses + boosts) if boosts else lean), lean, terms, notes, has_text

    def _pairs(self, tokens: list[list[str]]) -> list:
        """Boosts for consecutive words of the question found close together (within
        PAIR_SLOP positions, in order), in the fields prose is in; not for words in more
        than 1/PAIR_COMMON of the messages, nor for pairs that cannot match or (in a
        question) whose rarer word is in more than PAIR_MAX_DF messages."""
        import tantivy as T

        out = []
        common = max(1000, self.searcher.num_docs // PAIR_COMMON)
        for a, b in zip(tokens, tokens[1:], strict=False):
            if len(a) != 1 or len(b) != 1 or a == b:
                continue
            # Pairs of common words cost the most positions to read and tell the least.
            df = sorted((self._df(a[0]), self._df(b[0])))
            if 0 < df[0] <= (PAIR_MAX_DF if len(tokens) >= PAIR_MAX_WORDS else common) and df[1] <= common:
                pair: list[str | tuple[int, str]] = [a[0], b[0]]
                out.append(T.Query.boost_query(T.Query.boolean_query([
                    (T.Occur.Should, T.Query.phrase_query(self.schema, name, pair, PAIR_SLOP))
                    for name in ("text", "hi")]), PAIR_BOOST))
        return out[:MAX_PAIRS]

    # --- running them -------------------------------------------------------------------
    def top(self, query, k: int, sort: str = "relevance", offset: int = 0) -> list[Hit]:
        import tantivy as T

        if sort == "relevance":
            res = self.searcher.search(query, k, count=False, offset=offset)
        else:
            order = T.Order.Desc if sort == "newest" else T.Order.Asc
            res = self.searcher.search(query, k, count=False, offset=offset, order_by_field="ts",
                                       order=order)
        addrs = [a for _, a in res.hits]
        if not addrs:
            return []
        ids = self.searcher.fast_field_values("id", addrs)
        ts = self.searcher.fast_field_values("ts", addrs)
        skeys = self.searcher.fast_field_values("skey", addrs)
        return [Hit(int(i), float(sc) if sort == "relevance" else 0.0, int(t or 0), int(sk or 0))
                for (sc, _), i, t, sk in zip(res.hits, ids, ts, skeys, strict=True)]

    def followers(self, hits: list[Hit], f: Filters, n: int) -> dict[int, list[Hit]]:
        """{hit id: the first `n` answers (assistant prose) after it in its session that pass
        the filters}, for the hits that ask (a prompt, a failed tool call): what the
        re-ranking lifts (rerank.py).

        A session's messages are stored in order, so the answers are nearly always among the
        next FOLLOWER_WINDOW ids: one small query looks there for every hit; only the hits
        it finds fewer than `n` answers for read their whole sessions (a query per hit
        costs a range scan each; every session's answers, thousands of rows at 1M)."""
        import tantivy as T

        s = self.schema
        asks = T.Query.boolean_query([  # what gets an answer: a prompt, a failed call
            (T.Occur.Must, self.ids_query([h.id for h in hits])),
            (T.Occur.Must, T.Query.boolean_query([
                (T.Occur.Should, T.Query.term_query(s, "type", "user")),
                (T.Occur.Should, T.Query.term_query(s, "level", "error"))]))])
        asked = {a.id for a in self.top(asks, len(hits))}
        hits = [h for h in hits if h.id in asked and h.skey]
        if not hits or n <= 0:
            return {}
        near = self._answers(T.Query.term_set_query(s, "id", sorted(
            {h.id + d for h in hits for d in range(1, FOLLOWER_WINDOW + 1)})), f, FOLLOWER_WINDOW * len(hits))
        out = _first_answers(hits, near, n)
        rest = [h for h in hits if len(out[h.id]) < n]
        if rest:
            whole = self._answers(T.Query.term_set_query(s, "skey", sorted({h.skey for h in rest})),
                                  f, MAX_FOLLOWER_SCAN)
            out.update(_first_answers(rest, whole, n))
        return out

    def _answers(self, where, f: Filters, k: int) -> list[Hit]:
        """Assistant messages matching `where` and the filters, oldest first."""
        import tantivy as T

        q = T.Query.boolean_query([
            (T.Occur.Must, T.Query.term_query(self.schema, "type", "assistant")), (T.Occur.Must, where),
            *((T.Occur.Must, q) for q in self.filter_queries(f))])
        return self.top(q, k, "oldest")

    def count(self, query) -> int:
        agg = self.searcher.aggregate(query, {"n": {"value_count": {"field": "id"}}})
        return int(agg["n"]["value"] or 0)

    def facets(self, query, size: int = 20) -> tuple[dict[str, dict[Any, int]], int]:
        """Counts of the matches by field, and the total (every document has a kind)."""
        spec = {name: {"terms": {"field": name, "size": size}} for name in FACETS}
        agg = self.searcher.aggregate(query, spec)
        out: dict[str, dict[Any, int]] = {}
        for name in FACETS:
            buckets = agg.get(name, {}).get("buckets", [])
            out[name] = {(int(b["key"]) if name == "project" else b["key"]): b["doc_count"]
                         for b in buckets}
        kind = agg.get("kind", {})
        total = sum(b["doc_count"] for b in kind.get("buckets", [])) + kind.get("sum_other_doc_count", 0)
        return out, total

    def ids_query(self, ids: list[int]):
        import tantivy as T

        return T.Query.term_set_query(self.schema, "id", ids)

    def search(self, parsed: ParsedQuery, f: Filters, k: int, sort: str = "relevance",
               facets: bool = False, offset: int = 0, count: bool = True) -> KeywordResult:
        """Top k hits (after `offset`), the total (-1 without `count`: hybrid counts its
        union instead), facets when asked."""
        query, lean, terms, notes, has_text = self.queries(parsed, f)
        # Counts and facets run the query without its boosts: the same matches, read faster.
        total = self.count(lean) if count else -1
        if not has_text and sort == "relevance":
            sort = "newest"  # filters only: newest first
        hits = self.top(query if sort == "relevance" else lean, k, sort, offset) if total else []
        fac = self.facets(lean)[0] if facets else None
        return KeywordResult(hits, total, fac, terms, notes, lean)


def _first_answers(hits: list[Hit], answers: list[Hit], n: int) -> dict[int, list[Hit]]:
    """{hit id: the first `n` of `answers` (oldest first) in its session from its time on}."""
    import bisect

    by_session: dict[int, list[Hit]] = {}
    for a in answers:
        by_session.setdefault(a.skey, []).append(a)
    out: dict[int, list[Hit]] = {}
    for h in hits:
        mine = by_session.get(h.skey, [])
        i = bisect.bisect_left([a.ts for a in mine], h.ts)
        out[h.id] = [a for a in mine[i:i + n + 1] if a.id != h.id][:n]
    return out


def _any(parts: list) -> Any:
    """The sum of the parts' scores where any matches (None: no parts)."""
    import tantivy as T

    if len(parts) <= 1:
        return parts[0] if parts else None
    return T.Query.boolean_query([(T.Occur.Should, q) for q in parts])
