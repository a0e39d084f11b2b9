"""The keyword index on disk: a Tantivy index under $MEMORY_HOME/index/keyword-<id>/.

Derived data: the store is the source of truth and `memory index --rebuild` recreates it.
One document per message that says something. All text goes in `text` (one set of BM25
statistics for every kind of message); the text of what a person typed or summarised is also
in `hi`, and of answers and tool calls in `mid`, so their matches score twice: a prompt or a
session summary outranks the thousandth line of a tool output, and the ranking stays a sum of
term scores (what lets Tantivy skip blocks that cannot reach the top, block-max WAND).
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import uuid
from pathlib import Path
from typing import Any

from ..store.protocol.search import IndexRow

TEXT_FIELDS = {"text": 1.0, "hi": 1.0, "mid": 0.6}  # field -> boost (mid: 0.3 before, 0.6 measured better on tests/eval)
# Filters (search/filters.py TERM_FIELDS) and facet counts (keyword.FACETS) read these; a
# session is filtered and collapsed by `skey` (a number), so its id is not indexed as text.
FACET_FIELDS = ("kind", "type", "role", "tool", "component", "level")
MAX_INDEXED_CHARS = 100_000  # text beyond this is kept in the store, not indexed

HI_TYPES = frozenset({"user", "summary", "compact_summary", "ai-title", "custom-title", "plan",
                      "memory_note", "task", "todos"})
MID_TYPES = frozenset({"assistant", "thinking", "tool_use", "system", "agent_meta", "workflow",
                       "pr-link", "image"})
# Bookkeeping lines: nothing a person would search for (what `show session` hides too).
SKIP_TYPES = frozenset({"progress", "file-history-snapshot", "queue-operation", "last-prompt",
                        "permission-mode", "agent-setting", "turn_duration"})

# Tantivy's own analyzer of that name: the chain below, composed in Rust without a dynamic
# call per token and filter (~10% of the engine's indexing CPU against the same chain
# registered from Python; tests/test_search_index.py checks they agree).
ANALYZER = "en_stem"


def analyzer():
    """Words split on anything not a letter or digit, lowercased, English stems; tokens over
    40 characters (hashes, base64) dropped: what ANALYZER does, in Python (queries)."""
    import tantivy as T

    return (T.TextAnalyzerBuilder(T.Tokenizer.simple()).filter(T.Filter.remove_long(40))
            .filter(T.Filter.lowercase()).filter(T.Filter.stemmer("english")).build())


def plain_analyzer():
    """The same words without stemming: for prefixes and highlighting."""
    import tantivy as T

    return (T.TextAnalyzerBuilder(T.Tokenizer.simple()).filter(T.Filter.remove_long(40))
            .filter(T.Filter.lowercase()).build())


def schema():
    import tantivy as T

    sb = T.SchemaBuilder()
    # Nothing is stored (results are read from the store by id) and `ts`, nearly one term per
    # document, is only a column: Tantivy's range query and sort read it there.
    sb.add_integer_field("id", indexed=True, fast=True)  # messages.id: the key
    for name in TEXT_FIELDS:
        sb.add_text_field(name, tokenizer_name=ANALYZER, index_option="position")
    for name in FACET_FIELDS:
        sb.add_text_field(name, tokenizer_name="raw", fast=True)
    sb.add_integer_field("project", indexed=True, fast=True)  # projects.id, 0 when unknown
    sb.add_integer_field("ts", fast=True)  # epoch ms
    sb.add_integer_field("skey", indexed=True, fast=True)  # session_key(session id): filter, collapse
    return sb.build()


@functools.lru_cache(maxsize=4096)
def session_key(session_id: str | None) -> int:
    """A stable 63-bit number for a session id (fast fields hold numbers, not strings).
    Cached: rows come session by session, and the hash is a fifth of a document's cost."""
    if not session_id:
        return 0
    return int.from_bytes(hashlib.blake2b(session_id.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "big") >> 1


def text_field(mtype: str, is_meta: bool) -> str:
    if mtype in HI_TYPES and not (mtype == "user" and is_meta):
        return "hi"
    return "mid" if mtype in MID_TYPES else "lo"


_Document: Any = None  # tantivy.Document, imported on first use (the CLI starts without it)


def document(row: IndexRow) -> Any:
    """The Tantivy document of a message: a call per field is tantivy-py's cheapest way
    (`Document.from_dict` measured 2x, keyword arguments 4x). The row is unpacked once: its
    fields read by name cost 0.2 s more over c150's 230k documents."""
    global _Document
    if _Document is None:
        import tantivy

        _Document = tantivy.Document
    (id_, _, session_id, project_id, kind, mtype, role, content, ts, component, level, tool,
     is_meta, _, _, _, _) = row
    doc = _Document()
    add = doc.add_text
    doc.add_integer("id", id_)
    text = clean((content or "")[:MAX_INDEXED_CHARS])
    add("text", text)
    extra = text_field(mtype, bool(is_meta))
    if extra != "lo":
        add(extra, text)
    if kind:
        add("kind", kind)
    if mtype:
        add("type", mtype)
    if role:
        add("role", role)
    if component:
        add("component", component)
    if level:
        add("level", level)
    if tool:
        add("tool", tool)
    doc.add_integer("project", project_id or 0)
    doc.add_integer("ts", ts or 0)
    doc.add_integer("skey", session_key(session_id))
    return doc


def clean(text: str) -> str:
    """Text the engine accepts: lone UTF-16 surrogates (they occur in real transcripts) become
    U+FFFD, one for one, so character offsets stay the same."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def indexable(row: IndexRow) -> bool:
    """Whether a message gets a document: it says something, is not bookkeeping, is not
    deleted, and is not the history copy of a prompt its transcript already has."""
    return (bool(row.content) and row.type not in SKIP_TYPES and row.linked_uid is None
            and row.deleted_at is None)


class KeywordIndex:
    """An open Tantivy index (its text fields use Tantivy's own ANALYZER)."""

    def __init__(self, path: Path, create: bool = False) -> None:
        import tantivy as T

        self.path = path
        if create:
            path.mkdir(parents=True, exist_ok=True)
            self.ix = T.Index(schema(), path=str(path), reuse=False)
        else:
            self.ix = T.Index.open(str(path))
        self.schema = self.ix.schema

    def searcher(self):
        return self.ix.searcher()

    def writer(self):
        """The index's one writer; ValueError when another process holds it."""
        return self.ix.writer(heap_size=64_000_000, num_threads=1)

    def reload(self) -> None:
        self.ix.reload()


def segment_deletes(path: Path) -> list[tuple[str, int, int]] | None:
    """(segment id, documents, deleted documents) of each segment, in the order a searcher
    numbers them (`DocAddress.segment_ord`), from Tantivy's meta.json; None when it cannot be
    read."""
    import json

    try:
        meta = json.loads((path / "meta.json").read_text())
        return [(str(s["segment_id"]), int(s["max_doc"]),
                 int((s.get("deletes") or {}).get("num_deleted_docs", 0))) for s in meta["segments"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def index_path(index_dir: Path, index_id: str) -> Path:
    return index_dir / f"keyword-{index_id}"


# Bump when schema() or document() change (older indexes are rebuilt). 2: a failed tool call
# is indexed with level "error" (IndexRow.level), so `level:error` finds tool errors. 3: what
# no query read, gone (12% of the index): the `session` text field (`skey` filters by
# session), `ts`'s terms (ranges read its column), the stored copy of `id`.
SCHEMA_VERSION = 3


def new_index_id() -> str:
    return f"v{SCHEMA_VERSION}-{uuid.uuid4().hex[:12]}"


def current_version(index_id: str) -> bool:
    return index_id.startswith(f"v{SCHEMA_VERSION}-")


def remove_other_indexes(index_dir: Path, keep: str | None) -> None:
    """Delete index folders that the store no longer points to (old builds, failed ones)."""
    if not index_dir.is_dir():
        return
    for p in index_dir.glob("keyword-*"):
        if keep is None or p.name != f"keyword-{keep}":
            shutil.rmtree(p, ignore_errors=True)
