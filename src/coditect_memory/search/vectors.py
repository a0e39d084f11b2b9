"""Semantic search: embeddings of the messages that carry meaning, and exact cosine search.

Only what a person would look for by meaning is embedded: prompts, answers, summaries,
titles, plans, todos (not tool output or debug lines: most of the rows, little meaning).
Vectors live in the store (`embeddings`, float16); a float32 copy with the columns filters
need is cached under $MEMORY_HOME/index/vectors-<model>/ and rebuilt when the store's count
or last write differs. Exact search over a few hundred thousand vectors is one matrix-vector
product: tens of milliseconds, and no recall lost to an approximate index.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

from ..store.base import Store
from ..store.protocol.search import IndexState
from .cache import SearchCache
from .filters import Filters
from .index import session_key

if TYPE_CHECKING:
    import numpy as np

EMBED_TYPES = ("user", "assistant", "summary", "compact_summary", "ai-title", "custom-title",
               "plan", "memory_note", "task", "todos")
EXACT_LIMIT = 60_000  # vectors searched exactly; beyond, sign bits first, then exact re-ranking
RERANK = 10_000  # candidates the first stage keeps (3,000: 90% top-10 agreement with an exact scan at 1M, 10,000: 92% for ~1 ms more)
LAYOUT = 2  # the cache's file layout (2: sign bits stored word-major); another is rebuilt
MAX_CHARS = 1000  # ~250 tokens of prose: the gist is at the start, and cost grows with length
BATCH = 128
Progress = Callable[[int, int], None]


def engine_name(model: str) -> str:
    return f"semantic:{model}"


def unit_text(content: str) -> str:
    return " ".join(content[:MAX_CHARS].split())


@dataclass
class EmbedResult:
    embedded: int = 0
    pending: int = 0  # units still to embed (when stopped early)
    seconds: float = 0.0
    model: str = ""

    def as_dict(self) -> dict:
        return {"embedded": self.embedded, "pending": self.pending,
                "seconds": round(self.seconds, 3), "model": self.model}


def has_embeddings(store: Store, model: str) -> bool:
    state = store.index_state(engine_name(model))
    return bool(state and state["docs"])


def embedded(store: Store) -> dict[str, IndexState]:
    """{model: its state (`done_id`: the last message id it has looked at, `docs`: its
    vectors)} for every model with vectors in the store."""
    from .embedder import MODELS

    states = {m: store.index_state(engine_name(m)) for m in MODELS}
    return {m: st for m, st in states.items() if st and st["docs"]}


def active_model(store: Store, setting: str) -> str:
    """The model whose vectors semantic and hybrid search use: the wanted one ([search] model;
    `auto`: int8) once its vectors have caught up with every other model's, else the model
    the store's vectors are most complete in (a store embedded with float32 keeps searching
    float32 until `memory embed --model all-MiniLM-L6-v2-int8` has finished: one set of
    vectors is never mixed with another model's), else the wanted one (a new store)."""
    from .embedder import AUTO, DEFAULT_MODEL

    wanted = DEFAULT_MODEL if setting in ("", AUTO) else setting
    upto = {m: st["done_id"] for m, st in embedded(store).items()}
    if not upto or upto.get(wanted, -1) >= max(upto.values()):
        return wanted
    return max(upto, key=lambda m: (upto[m], m == wanted))


def embed_target(store: Store, setting: str, requested: str = "") -> str:
    """What `memory embed` embeds with: the model asked for, else [search] model when set,
    else the model search uses now (`auto` never starts embedding everything again)."""
    from .embedder import AUTO

    if requested:
        return requested
    return setting if setting not in ("", AUTO) else active_model(store, setting)


def semantic_status(store: Store, setting: str) -> dict[str, Any]:
    """What `memory status` and `doctor` say of semantic search: the model in use, its
    vectors and what is left to embed, and every model's vector count."""
    from .embedder import AUTO, available

    model = active_model(store, setting)
    counts = {m: st["docs"] for m, st in embedded(store).items()}
    return {"model": model, "setting": setting or AUTO, "available": available(model),
            "vectors": counts.get(model, 0), "pending": pending(store, model) if counts else 0,
            "models": counts}


def pending(store: Store, model: str) -> int:
    state = store.index_state(engine_name(model))
    done = state["done_id"] if state else 0
    return store.count_embeddable(EMBED_TYPES, done, store.max_message_id())


def embed(store: Store, model: str, cache: SearchCache, progress: Progress | None = None,
          limit: int | None = None, threads: int | None = None, stop: Event | None = None,
          duty: float = 1.0) -> EmbedResult:
    """Embed every unit past the watermark, in batches each committed with the watermark:
    interrupted, it resumes where it stopped. `limit` stops after that many units; `stop` is
    looked at between batches (a set stop loses nothing: the last batch is committed); with
    `duty` below 1, it rests after each batch so that embedding takes that share of the time."""
    import numpy as np

    t0 = time.perf_counter()
    engine = engine_name(model)
    state = store.index_state(engine)
    done = state["done_id"] if state else 0
    upto, run_id = store.max_message_id(), store.settled_run_id()
    todo = store.count_embeddable(EMBED_TYPES, done, upto)
    if limit is not None:
        todo = min(todo, limit)
    result = EmbedResult(model=model)
    embedder = cache.embedder(model, threads) if todo else None
    stopped = False
    while embedder is not None:
        if stop is not None and stop.is_set():
            stopped = True
            break
        busy = time.perf_counter()
        rows = store.embeddable_rows(EMBED_TYPES, done, upto, BATCH)
        if not rows:
            break
        if limit is not None and result.embedded + len(rows) > limit:
            rows = rows[:max(0, limit - result.embedded)]
            if not rows:
                break
        units = [r for r in rows if not (r.type == "user" and r.is_meta)]  # not tool-injected prompts
        vecs = embedder.embed([unit_text(r.content) for r in units]) if units else np.zeros((0, 1))
        blobs = [(r.id, r.content_hash, v.astype("<f2").tobytes()) for r, v in zip(units, vecs, strict=True)]
        done = rows[-1].id
        store.put_embeddings(model, blobs, engine, done, 0)
        result.embedded += len(units)
        if progress:
            progress(result.embedded, todo)
        if limit is not None and result.embedded >= limit:
            stopped = True
            break
        if duty < 1.0 and stop is not None:
            stop.wait((time.perf_counter() - busy) * (1.0 - duty) / duty)
    if stopped or (limit is not None and result.embedded >= limit):
        result.pending = store.count_embeddable(EMBED_TYPES, done, upto)
    else:
        store.put_embeddings(model, [], engine, upto, run_id)
    result.seconds = time.perf_counter() - t0
    return result


def other_models_note(store: Store, model: str) -> str:
    """What to tell when `model` has no vectors but another model does ([search] model was
    changed); '' when there is nothing to tell."""
    from .embedder import MODELS

    others = [m for m in MODELS if m != model and has_embeddings(store, m)]
    if not others or has_embeddings(store, model):
        return ""
    return (f"the store has embeddings of {', '.join(others)}, not of {model} ([search] model): "
            "`memory embed` embeds everything again")


def forget(store: Store, model: str, ids: list[int]) -> None:
    store.delete_embeddings(model, ids)


# --- the in-memory index --------------------------------------------------------------------
class VectorIndex:
    """Unit vectors with the columns filters need, memory-mapped from the cache folder."""

    CODES = ("kind", "type", "role")

    def __init__(self, folder: Path) -> None:
        import numpy as np

        self.folder = folder
        self.vecs = np.load(folder / "vecs.npy", mmap_mode="r")
        # (words, vectors): one word of every vector side by side, so that the Hamming
        # distance is a sum of 6 rows (0.9 ms at 225k vectors; 4.5 ms one vector at a time)
        self.bits = np.load(folder / "bits_t.npy") if (folder / "bits_t.npy").exists() else None
        self.mean = np.load(folder / "mean.npy") if (folder / "mean.npy").exists() else None
        cols = np.load(folder / "cols.npz")
        self.ids = cols["ids"]
        self.ts = cols["ts"]
        self.project = cols["project"]
        self.skey = cols["skey"]
        meta = json.loads((folder / "meta.json").read_text())
        self.vocab: dict[str, list[str]] = meta["vocab"]
        self.codes = {name: cols[name] for name in self.CODES}

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, f: Filters) -> np.ndarray | None:
        """Rows that pass the filters (None: all)."""
        import numpy as np

        if not f.active:
            return None
        m = np.ones(len(self.ids), dtype=bool)
        if f.projects is not None:
            m &= np.isin(self.project, np.array(f.projects or [-1], dtype=np.int64))
        if f.sessions is not None:
            m &= np.isin(self.skey, np.array([session_key(s) for s in f.sessions] or [-1], dtype=np.int64))
        for name, values in f.terms.items():
            if name not in self.codes:  # tool, component, level: no embedded unit has them
                return np.zeros(len(self.ids), dtype=bool)
            wanted = {v.lower() for v in values}
            codes = [i for i, v in enumerate(self.vocab[name]) if v.lower() in wanted]
            m &= np.isin(self.codes[name], np.array(codes or [-1], dtype=np.int32))
        if f.hidden_projects:
            m &= ~np.isin(self.project, np.array(f.hidden_projects, dtype=np.int64))
        if f.hidden_sessions:
            m &= ~np.isin(self.skey, np.array([session_key(s) for s in f.hidden_sessions], dtype=np.int64))
        if f.since is not None:
            m &= self.ts >= f.since
        if f.until is not None:
            m &= self.ts <= f.until
        return m

    def search(self, qvec: np.ndarray, k: int, f: Filters, min_similarity: float,
               offset: int = 0) -> tuple[list[tuple[int, float, int, int]], int, np.ndarray, bool]:
        """(top hits as (id, similarity, ts, skey), matches above min_similarity, their row
        numbers, whether that count is exact).

        Up to EXACT_LIMIT vectors: one exact matrix-vector product. Beyond: a first stage on
        sign bits (48 bytes a vector, Hamming distance) keeps the RERANK nearest, which are
        then scored exactly; the count of matches is then the count among those."""
        import numpy as np

        q = qvec.astype(np.float32)
        m = self.mask(f)
        n = len(self.ids)
        if n <= EXACT_LIMIT or self.bits is None or self.mean is None:
            rows = np.arange(n) if m is None else np.flatnonzero(m)
            exact = True
        else:
            qbits = np.packbits((q - self.mean) > 0).view(np.uint64)
            ham = np.bitwise_count(self.bits ^ qbits[:, None]).sum(axis=0, dtype=np.uint32)
            if m is not None:
                ham[~m] = np.iinfo(np.uint32).max
            r = min(n, max(RERANK, (k + offset) * 20))
            rows = np.argpartition(ham, r - 1)[:r] if r < n else np.arange(n)
            rows = np.sort(rows[ham[rows] != np.iinfo(np.uint32).max])
            exact = len(rows) < r  # every row that passed the filters was scored
        if not len(rows):
            return [], 0, rows, exact
        sims = np.asarray(self.vecs[rows] @ q) if len(rows) < n else np.asarray(self.vecs @ q)
        matched = rows[sims >= min_similarity]
        want = min(len(rows), k + offset)
        top = np.argpartition(-sims, want - 1)[:want] if want < len(rows) else np.arange(len(rows))
        top = top[np.argsort(-sims[top], kind="stable")][offset:]
        hits = [(int(self.ids[rows[i]]), float(sims[i]), int(self.ts[rows[i]]), int(self.skey[rows[i]]))
                for i in top]
        return hits, len(matched), matched, exact


def cache_dir(index_dir: Path, model: str) -> Path:
    return index_dir / f"vectors-{model}"


def load_index(store: Store, index_dir: Path, model: str) -> VectorIndex | None:
    """The cached vector index, rebuilt first if the store has changed since it was made."""
    state = store.index_state(engine_name(model))
    if not state or not state["docs"]:
        return None
    folder = cache_dir(index_dir, model)
    stamp = {"docs": state["docs"], "updated_at": state["updated_at"], "layout": LAYOUT}
    opened = _OPEN.get(folder)
    if opened is not None and opened[0] == stamp:
        return opened[1]
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("stamp") != stamp:
            build_cache(store, folder, model, stamp)
    except (OSError, ValueError, KeyError):
        build_cache(store, folder, model, stamp)
    vix = VectorIndex(folder)
    _OPEN[folder] = (stamp, vix)
    return vix


# The index this process last opened from each cache folder, with the stamp it was made for:
# a server (or the benchmark) reuses it instead of reading the columns again per query.
_OPEN: dict[Path, tuple[dict, VectorIndex]] = {}


def build_cache(store: Store, folder: Path, model: str, stamp: dict) -> None:
    """Write the cache to a new folder, then swap it in (readers see the old or the new)."""
    import numpy as np

    ids, vecs, ts, project, skey = [], [], [], [], []
    vocab: dict[str, dict[str, int]] = {name: {} for name in VectorIndex.CODES}
    codes: dict[str, list[int]] = {name: [] for name in VectorIndex.CODES}
    dim = None
    for mid, blob, t, pid, sid, kind, mtype, role in store.all_vectors(model):
        v = np.frombuffer(blob, dtype="<f2")
        if dim is None:
            dim = len(v)
        if len(v) != dim:
            continue
        ids.append(mid)
        vecs.append(v)
        ts.append(t or 0)
        project.append(pid or 0)
        skey.append(session_key(sid))
        for name, value in (("kind", kind), ("type", mtype), ("role", role or "")):
            codes[name].append(vocab[name].setdefault(value, len(vocab[name])))
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    matrix = np.vstack(vecs).astype(np.float32) if vecs else np.zeros((0, dim or 1), np.float32)
    np.save(tmp / "vecs.npy", matrix)
    if len(matrix) > EXACT_LIMIT:  # the first stage: centred sign bits, 48 bytes a vector
        mean = matrix.mean(axis=0)
        np.save(tmp / "mean.npy", mean)
        bits = np.packbits((matrix - mean) > 0, axis=1).view(np.uint64)
        np.save(tmp / "bits_t.npy", np.ascontiguousarray(bits.T))
    cols: dict[str, Any] = {name: np.array(codes[name], dtype=np.int32) for name in VectorIndex.CODES}
    np.savez(tmp / "cols.npz", ids=np.array(ids, dtype=np.int64), ts=np.array(ts, dtype=np.int64),
             project=np.array(project, dtype=np.int64), skey=np.array(skey, dtype=np.int64), **cols)
    (tmp / "meta.json").write_text(json.dumps({
        "stamp": stamp, "model": model,
        "vocab": {name: sorted(vocab[name], key=vocab[name].__getitem__) for name in VectorIndex.CODES}}))
    old = folder.with_name(folder.name + f".old{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
