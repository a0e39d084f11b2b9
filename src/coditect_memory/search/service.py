"""`search()`: the search engine behind `actions.search` (what the CLI, and later the REST
API and the MCP server, call).

It parses the query, resolves the filters, makes sure the keyword index has every message
(a cheap check, an incremental update when behind), runs the keyword, semantic or hybrid
ranking, keeps one chatty session from filling the page, and returns a `SearchResult` whose
`to_json()` is the documented shape (docs/json-and-exit-codes.md, `memory search`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, cast

from ..errors import UsageError
from ..settings import SearchSettings
from ..store.base import Store
from ..store.protocol.file_versions import INDEXED_BYTES, FileVersion
from ..store.protocol.search import HitFields, StoredHit
from . import hybrid, indexer, rerank, vectors
from .cache import SearchCache
from .embedder import AUTO, INSTALL, SemanticUnavailable, available
from .filters import Filters, resolve
from .index import KeywordIndex
from .keyword import FACETS, Hit, KeywordSearcher, Terms
from .query import ParsedQuery, parse
from .snippets import matches, snippet

MODES = ("keyword", "semantic", "hybrid")
SORTS = ("relevance", "newest", "oldest")
MAX_LIMIT = 1000
FACET_NAMES = {"kind": "source_kind"}  # index field -> JSON facet name


@dataclass
class SearchRequest:
    query: str = ""
    project: list[str] = field(default_factory=list)
    session: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    role: list[str] = field(default_factory=list)
    tool: list[str] = field(default_factory=list)
    component: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    since: str | None = None
    until: str | None = None
    sort: str = "relevance"
    limit: int = 20
    offset: int = 0
    facets: bool = False
    mode: str | None = None  # None: hybrid where embeddings exist, keyword otherwise
    model: str = ""  # the embedding model; "": [search] model
    # The terminal view's grouping: at most `per_session` (settings) results of one session
    # before every other session had its turn. Off for --json, CSV, the API: the ranked
    # list they get is never reordered for display.
    group_sessions: bool = False
    # Only these projects' messages (a submodule-scoped API token), in results, facets and
    # counts alike; None: any.
    visible_projects: tuple[int, ...] | None = None
    # Left out of results, facets and counts alike (what a door may not show its reader).
    hidden_projects: tuple[int, ...] = ()
    hidden_sessions: tuple[str, ...] = ()

    def wanted(self, inline: dict[str, list[str]]) -> dict[str, list[str]]:
        out = {k: list(v) for k, v in inline.items()}
        for name in ("project", "session", "source", "type", "role", "tool", "component", "level"):
            out.setdefault(name, []).extend(getattr(self, name))
        if self.since:
            out.setdefault("since", []).append(self.since)
        if self.until:
            out.setdefault("until", []).append(self.until)
        return out


class ResultRow(HitFields):
    """One result of `memory search --json`: the hit's fields, then the snippet that shows
    why it matched."""

    file_path: str | None  # a file version's: the file's real path (when a transcript named it)
    file_version: int | None  # a file version's N ('<hash>@v<N>'); None for other hits
    snippet: str
    highlights: list[list[int]]  # [start, end] offsets in the snippet
    score: float
    open: str | None  # the command that shows the session


@dataclass
class SearchResult:
    """One page of results: `to_json()` is the documented `memory search --json` shape."""

    query: str
    mode: str
    sort: str
    total: int
    took_ms: float
    offset: int
    limit: int
    results: list[ResultRow]
    notes: list[str]
    facets: dict[str, dict[str, int]] | None = None  # only when asked for

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"query": self.query, "mode": self.mode, "sort": self.sort,
                               "total": self.total, "took_ms": self.took_ms, "offset": self.offset,
                               "limit": self.limit, "results": self.results, "notes": self.notes}
        if self.facets is not None:
            out["facets"] = self.facets
        return out


def open_keyword(store: Store, settings: SearchSettings, cache: SearchCache,
                 progress: indexer.Progress | None = None,
                 sync: bool = True) -> tuple[KeywordIndex, list[str]]:
    """The keyword index, brought up to date first when the store is ahead of it."""
    notes: list[str] = []
    ix, state = indexer.current_index(store, settings.index_dir, cache)
    if store.readonly:  # a store on a read-only disk: search the index as it is
        if ix is None:
            raise UsageError("the search index cannot be opened on a read-only disk (the index "
                             "takes a lock file): copy $MEMORY_HOME to a writable folder and "
                             "search there")
        if sync and indexer.behind(store, state):
            notes.append("the store is read-only: its newest messages may be missing from "
                         "the results (`memory index` where it can be written)")
        ix.reload()
        return ix, notes
    if ix is not None and not (sync and indexer.behind(store, state)):
        ix.reload()  # another process (or this one) may have committed since
        return ix, notes
    if ix is not None and indexer.ingest_running(store):
        notes.append("an ingest is running: the newest messages may be missing from the results")
        return ix, notes
    res = indexer.sync(store, settings.index_dir, cache, progress=progress, wait=ix is None)
    if res.skipped:
        notes.append("another process is updating the index: the newest messages may be missing")
    ix, _ = indexer.current_index(store, settings.index_dir, cache)
    if ix is None:
        raise UsageError("the search index could not be opened; run `memory index --rebuild`")
    ix.reload()
    return ix, notes


def _validate(req: SearchRequest) -> None:
    if req.sort not in SORTS:
        raise UsageError(f"--sort must be one of {', '.join(SORTS)}")
    if req.mode is not None and req.mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}")
    if not 1 <= req.limit <= MAX_LIMIT:
        raise UsageError(f"--limit must be between 1 and {MAX_LIMIT}")
    if req.offset < 0 or req.offset > 100_000:
        raise UsageError("--offset must be between 0 and 100000")


def choose_mode(store: Store, req: SearchRequest, has_text: bool) -> str:
    has_vectors = available(req.model) and vectors.has_embeddings(store, req.model)
    if req.mode is None:
        return "hybrid" if has_vectors and has_text else "keyword"
    if req.mode != "keyword":
        if not available(req.model):
            raise SemanticUnavailable(
                f"--mode {req.mode} needs the model: {INSTALL}, then `memory embed`")
        if not has_vectors:
            raise SemanticUnavailable(f"--mode {req.mode} needs embeddings: "
                                      + (vectors.other_models_note(store, req.model) or "run `memory embed` first"))
        if not has_text:
            raise UsageError(f"--mode {req.mode} needs words to search for, not only filters")
    return req.mode


def semantic_text(query: str, parsed: ParsedQuery) -> str:
    """What semantic search embeds: the question as asked (the model was trained on whole
    sentences), unless it has filters or exclusions, whose syntax is not meaning."""
    if parsed.filters or parsed.excluded:
        return parsed.text()
    return " ".join(query.split())


def collapse(hits: list[Hit], per_session: int | None, digits: int = 4) -> list[Hit]:
    """Relevance order with recency as the tie-breaker (scores equal to `digits` decimals);
    with `per_session`, at most that many hits of one session before every other session
    had its turn (the rest follow, in order)."""
    hits = sorted(hits, key=lambda h: (-round(h.score, digits), -h.ts))
    if per_session is None:
        return hits
    seen: dict[int, int] = {}
    first: list[Hit] = []
    rest: list[Hit] = []
    for h in hits:
        n = seen.get(h.skey, 0)
        (first if h.skey == 0 or n < per_session else rest).append(h)
        seen[h.skey] = n + 1
    return first + rest


def search(store: Store, settings: SearchSettings, req: SearchRequest, cache: SearchCache,
           progress: indexer.Progress | None = None) -> SearchResult:
    _validate(req)
    if not req.model:
        req = replace(req, model=vectors.active_model(store, settings.model))
    parsed = parse(req.query)
    f = resolve(store, req.wanted(parsed.filters))
    if req.visible_projects is not None:
        seen = set(req.visible_projects)
        f.projects = sorted(seen if f.projects is None else seen.intersection(f.projects))
    f.hidden_projects, f.hidden_sessions = list(req.hidden_projects), list(req.hidden_sessions)
    ix, notes = open_keyword(store, settings, cache, progress)
    notes = parsed.notes + f.notes + notes
    kw = KeywordSearcher(ix, settings)
    has_text = bool(parsed.groups)
    mode = choose_mode(store, req, has_text)
    if mode == "keyword" and req.mode is None and has_text:
        notes += [n for n in [vectors.other_models_note(store, req.model)] if n]
    vix = None
    if mode != "keyword":
        vix = vectors.load_index(store, settings.index_dir, req.model)
        cache.query_encoder(req.model)  # opened outside took_ms, as the indexes are
        if vix is None:
            raise SemanticUnavailable("no embeddings yet: run `memory embed` first")
        if settings.model not in (AUTO, req.model):
            notes.append(f"searching the {req.model} vectors until `memory embed` has embedded "
                         f"everything with {settings.model} ([search] model)")
        missing = vectors.pending(store, req.model)
        if missing:
            notes.append(f"{missing:,} new messages are not embedded yet: `memory embed` adds them")
    t0 = time.perf_counter()
    window = req.offset + req.limit
    cap = settings.per_session if req.group_sessions else None
    facets_out = None
    terms: Terms
    if mode == "keyword":
        k = window if req.sort != "relevance" else window * 3 + 30
        kres = kw.search(parsed, f, k, req.sort, req.facets)
        notes += kres.notes
        terms, total = kres.terms, kres.total
        ordered = kres.hits
        if req.sort == "relevance" and has_text:
            ordered = collapse(_refine(ordered, req.query, parsed, kw, f), cap)
        facets_out = kres.facets
    elif mode == "semantic":
        assert vix is not None  # loaded above for this mode
        qvec = cache.query_vector(req.model, semantic_text(req.query, parsed))
        shits, total, matched, exact = vix.search(qvec, window * 3 + 30, f, settings.min_similarity)
        if not exact:
            notes.append("semantic total counts the nearest candidates only (first stage on sign bits)")
        terms = kw.build(parsed, f)[1]
        ordered = [Hit(i, s, t, sk) for i, s, t, sk in shits]
        ordered = _sorted(ordered, req.sort, cap)
        if req.facets:
            facets_out = _vector_facets(vix, matched)
    else:
        assert vix is not None  # loaded above for this mode
        depth = max(hybrid.DEPTH, window * 3)
        query, lean, terms, knotes, _ = kw.queries(parsed, f)
        notes += knotes
        # The semantic half (the query's embedding, the vectors, the count of the union) runs
        # in another thread while this one ranks the keyword half: ONNX Runtime, NumPy and
        # Tantivy release the GIL, so on two cores the two halves overlap.
        half = cache.pool().submit(_semantic_half, cache, req.model, semantic_text(req.query, parsed),
                                   vix, depth, f, settings.min_similarity, kw, None if req.facets else lean)
        khits = kw.top(query, depth)
        shits, matched, counted = half.result()
        strong = sum(1 for h in shits if h[1] >= settings.min_similarity)  # shits: best first
        if not khits and not strong:  # nothing matches: no weak neighbours either
            shits = []
        fused = hybrid.fuse([h.id for h in khits], [h[0] for h in shits], weights=hybrid.WEIGHTS,
                            strong=(None, strong))
        info = {h.id: (h.ts, h.skey) for h in khits} | {h[0]: (h[2], h[3]) for h in shits}
        ordered = [Hit(i, s, *info[i]) for i, s in fused]
        if req.sort == "relevance":
            ordered = _refine(ordered, req.query, parsed, kw, f)
        ordered = _sorted(ordered, req.sort, cap)
        if counted is None:  # with facets, the union is counted exactly
            facets_out, total = kw.facets(_union(kw, lean, vix, matched))
        else:
            total, estimated = counted
            if estimated:
                notes.append("hybrid total is an estimate (the overlap of keyword and semantic "
                             f"matches is measured on {UNION_SAMPLE} of them)")
    page = ordered[req.offset:window]
    rows = store.hydrate([h.id for h in page])
    versions = store.file_versions([i for i, r in rows.items() if r["source_kind"] == "file_history"],
                                   INDEXED_BYTES)
    results = []
    for h in page:
        row = rows.get(h.id)
        if row is None:  # deleted since it was indexed
            continue
        results.append(_result(row, h, terms, kw, versions.get(h.id)))
    took = (time.perf_counter() - t0) * 1000
    return SearchResult(query=req.query, mode=mode, sort=req.sort, total=total,
                        took_ms=round(took, 2), offset=req.offset, limit=req.limit,
                        results=results, notes=notes,
                        facets=_facet_names(store, facets_out or {}) if req.facets else None)


def _refine(hits: list[Hit], query: str, parsed: ParsedQuery, kw: KeywordSearcher,
            f: Filters) -> list[Hit]:
    """The second stage (rerank.py). Words ask for messages with them; only a question also
    gets the answers after its matches lifted in."""
    ask = rerank.is_question(kw.question_words(parsed))
    return rerank.refine(hits, query, (lambda hs: kw.followers(hs, f, rerank.ANSWERS)) if ask else None)


def _sorted(hits: list[Hit], sort: str, per_session: int | None) -> list[Hit]:
    if sort == "relevance":
        return collapse(hits, per_session, digits=9)
    return sorted(hits, key=lambda h: h.ts, reverse=sort == "newest")


def _union(kw: KeywordSearcher, query, vix, matched):
    """Keyword matches or semantic matches above the threshold (filters hold for both)."""
    import tantivy as T

    ids = vix.ids[matched[:50_000]].tolist()
    if not ids:
        return query
    return T.Query.boolean_query([(T.Occur.Should, query), (T.Occur.Should, kw.ids_query(ids))])


def _semantic_half(cache: SearchCache, model: str, text: str, vix, depth: int, f: Filters,
                   min_similarity: float, kw: KeywordSearcher, lean) -> tuple[list, Any, tuple[int, bool] | None]:
    """Hybrid's semantic side: (the nearest `depth` hits, however weak (hybrid.TAIL), the row
    numbers of every match above min_similarity, the union's count when `lean`, the keyword
    matching query, is given)."""
    shits, _, matched, _ = vix.search(cache.query_vector(model, text), depth, f, min_similarity)
    if not hybrid.TAIL:
        shits = [h for h in shits if h[1] >= min_similarity]
    return shits, matched, _union_count(kw, lean, vix, matched) if lean is not None else None


UNION_SAMPLE = 256  # semantic matches looked up in the keyword index to count the union


def _union_count(kw: KeywordSearcher, query, vix, matched) -> tuple[int, bool]:
    """(keyword matches + semantic matches the keyword query does not match, whether that is
    an estimate). Looking ids up in the index costs ~10 µs each, so beyond UNION_SAMPLE
    semantic matches the overlap is measured on an even sample of them and scaled."""
    import tantivy as T

    total = kw.count(query)
    if not len(matched):
        return total, False
    step = max(1, -(-len(matched) // UNION_SAMPLE))
    ids = vix.ids[matched[::step]].tolist()
    both = kw.count(T.Query.boolean_query([(T.Occur.Must, query), (T.Occur.Must, kw.ids_query(ids))]))
    return total + round((len(ids) - both) * len(matched) / len(ids)), step > 1


def _vector_facets(vix, idx) -> dict[str, dict[Any, int]]:
    import numpy as np

    out: dict[str, dict[Any, int]] = {name: {} for name in FACETS}
    for name, col in (("project", vix.project), ("kind", None), ("type", None), ("role", None)):
        values = col[idx] if col is not None else vix.codes[name][idx]
        keys, counts = np.unique(values, return_counts=True)
        for key, n in sorted(zip(keys.tolist(), counts.tolist(), strict=True), key=lambda kv: -kv[1])[:20]:
            label = key if col is not None else vix.vocab[name][key]
            if label in ("", 0):
                continue
            out[name][label] = n
    return out


def _facet_names(store: Store, facets: dict[str, dict[Any, int]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    labels = store.project_labels([k for k in facets.get("project", {}) if k])
    names = [n for _, n in labels.values()]
    for name, counts in facets.items():
        key = FACET_NAMES.get(name, name)
        if name == "project":
            out[key] = {}
            for pid, n in counts.items():
                path, pname = labels.get(pid, ("", ""))
                if path:
                    out[key][pname if names.count(pname) == 1 else path] = n
        else:
            out[key] = dict(counts)
    return out


def _result(row: StoredHit, h: Hit, terms: Terms, kw: KeywordSearcher,
            version: FileVersion | None) -> ResultRow:
    """A hit as shown; a file version's snippet is cut from its text (a blob in the store),
    and it opens with `memory show version` (its content), not its session."""
    text = (version.text or "") if version else row["content"]
    snip, marks = snippet(text, matches(text, terms, kw.stem, kw.plain))
    sid = row["session_id"]
    opener = f"memory show session {sid}" if sid else None
    if version:
        opener = f"memory show version {row['uid']}"
    fields = cast(HitFields, {k: v for k, v in row.items() if k != "content"})
    return ResultRow(**fields, file_path=version.path if version else None,
                     file_version=version.version if version else None, snippet=snip,
                     highlights=marks, score=round(h.score, 6), open=opener)
