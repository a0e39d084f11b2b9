"""What search asks of a Store (store/protocol/search.py), checked through the interface
only, so that a second backend can run the same tests: index state and its guarded update,
rows to index in id order, filters resolved like `show session`, hydrated hits, tails, and
embeddings written with their watermark."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.store.postgres.copy import copy_store
from coditect_memory.store.protocol.search import StoredHit

from .builders import CWD, conversation, sid, transcript_path, write_jsonl
from .conftest import BACKENDS, ingest_json

ENGINE = "test-engine"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """A store with two sessions of 6 messages each (search index off: these tests write
    the state themselves)."""
    home = tmp_path_factory.mktemp("home")
    (home / "config.toml").write_text("[search]\nindex_on_ingest = false\nembed_on_ingest = \"false\"\n")
    root = tmp_path_factory.mktemp("claude")
    for n in (1, 2):
        write_jsonl(transcript_path(root, sid(n)), conversation(sid(n), 6, day=n))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        ingest_json(root)
    return home


@pytest.fixture(params=BACKENDS)
def store(request, ingested, memory_home):
    """A fresh copy of that store for each test, on each backend (PostgreSQL: `db copy`'s
    copy of it into a new database, ids and all)."""
    shutil.copytree(ingested, memory_home)
    settings = load_settings()
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_server").database(empty=True)
        copy_store(str(settings.db_path), url, memory_home / "tmp")
        settings = replace(settings, database_url=url)
    with open_store(settings) as s:
        yield s


def all_rows(store):
    return [r for rows in store.rows_to_index(0, store.max_message_id()) for r in rows]


class TestIndexState:
    def test_put_and_read_back(self, store):
        assert store.index_state(ENGINE) is None
        assert store.put_index_state(ENGINE, "ix1", 5, 1, 4)
        st = store.index_state(ENGINE)
        assert st is not None
        assert (st["engine"], st["index_id"], st["done_id"], st["last_run_id"], st["docs"]) == \
            (ENGINE, "ix1", 5, 1, 4)
        assert st["updated_at"] > 0

    def test_guarded_update_loses_to_a_rebuild(self, store):
        store.put_index_state(ENGINE, "ix1", 5, 1, 4)
        store.put_index_state(ENGINE, "ix2", 0, 0, 0)  # a rebuild started
        assert not store.put_index_state(ENGINE, None, 9, 1, 9, expect_index_id="ix1")
        st = store.index_state(ENGINE)
        assert st is not None and (st["index_id"], st["done_id"]) == ("ix2", 0)
        assert store.put_index_state(ENGINE, None, 9, 1, 9, expect_index_id="ix2")
        st = store.index_state(ENGINE)
        assert st is not None and (st["index_id"], st["done_id"]) == ("ix2", 9)

    def test_watermarks_after_an_ingest(self, store):
        assert store.max_message_id() == len(all_rows(store)) == 12
        assert store.settled_run_id() >= 1  # the ingest's run has finished
        assert store.running_ingest_pids() == []


class TestRowsToIndex:
    def test_batches_in_id_order_within_bounds(self, store):
        top = store.max_message_id()
        batches = list(store.rows_to_index(2, top - 1, batch=4))
        assert [len(b) for b in batches] == [4, 4, 1]
        ids = [r.id for b in batches for r in b]
        assert ids == list(range(3, top))

    def test_rows_by_ids_and_sessions(self, store):
        rows = all_rows(store)
        some = [rows[1].id, rows[7].id, rows[1].id]
        assert [r.id for r in store.rows_by_ids(some)] == sorted(set(some))
        assert store.rows_by_ids([rows[3].id]) == [rows[3]]
        in_s1 = [r.id for r in rows if r.session_id == sid(1)]
        assert sorted(store.message_ids_in_sessions([sid(1)], in_s1[-1])) == in_s1
        assert sorted(store.message_ids_in_sessions([sid(1)], in_s1[2])) == in_s1[:3]

    def test_rows_carry_what_the_index_needs(self, store):
        r = next(r for r in all_rows(store) if r.type == "user")
        assert r.session_id in (sid(1), sid(2)) and r.source_kind == "transcript"
        assert r.content and r.project_id and r.ts and r.source_file_id and r.content_hash
        assert r.deleted_at is None and r.linked_uid is None and r.is_meta == 0

    def test_lean_rows_are_the_same_without_uid_and_hash(self, store):
        rows = all_rows(store)
        lean = [r for b in store.rows_to_index(0, store.max_message_id(), lean=True) for r in b]
        assert lean == [r._replace(uid="", content_hash=None) for r in rows]
        assert all(r.uid and r.content_hash for r in rows if r.content)
        ids = [rows[1].id, rows[5].id]
        assert store.rows_by_ids(ids, lean=True) == [r for r in lean if r.id in ids]

    def test_tails(self, store):
        store.put_tails({1: 10, 2: 20})
        store.put_tails({1: 5, 3: 30})  # a tail never moves back
        assert sorted(store.tail_message_ids([1, 2, 3, 4])) == [10, 20, 30]
        store.put_tails({4: 40}, replace=True)
        assert store.tail_message_ids([1, 2, 3, 4]) == [40]
        assert store.files_read_since(0) and store.files_read_since(store.settled_run_id()) == []


class TestFiltersAndHits:
    def test_project_by_path_name_or_trailing_slash(self, store):
        (pid,) = store.project_ids(CWD)
        assert store.project_ids(CWD + "/") == [pid]
        assert store.project_ids(CWD.rsplit("/", 1)[-1]) == [pid]
        assert store.project_ids("no-such-project") == []
        assert store.project_labels([pid, 999]) == {pid: (CWD, CWD.rsplit("/", 1)[-1])}

    def test_session_by_id_or_prefix(self, store):
        assert store.session_ids(sid(1)) == [sid(1)]
        assert sorted(store.session_ids(sid(1)[:8])) == [sid(1), sid(2)]
        assert store.session_ids("%") == [] and store.session_ids("_") == []  # not wildcards

    def test_hydrate_gives_the_documented_fields(self, store):
        rows = all_rows(store)
        hits = store.hydrate([rows[0].id, 10**9])
        assert list(hits) == [rows[0].id]
        hit = hits[rows[0].id]
        assert list(hit) == list(StoredHit.__annotations__)
        assert hit["uid"] == rows[0].uid and hit["content"] == rows[0].content
        assert hit["project"] == CWD and hit["timestamp"].endswith("Z")
        assert hit["source_file"].endswith(".jsonl") and hit["source_line"] == 1


class TestEmbeddings:
    MODEL = "test-model"

    def test_written_with_the_watermark(self, store):
        types = ("user", "assistant")
        top = store.max_message_id()
        assert store.count_embeddable(types, 0, top) == 12
        first = store.embeddable_rows(types, 0, top, 5)
        assert [r.id for r in first] == list(range(1, 6)) and all(r.content for r in first)
        engine = f"semantic:{self.MODEL}"
        store.put_embeddings(self.MODEL, [(r.id, r.content_hash, b"\x00\x3c" * 4) for r in first],
                             engine, first[-1].id, 0)
        st = store.index_state(engine)
        assert st is not None and (st["done_id"], st["docs"], st["index_id"]) == (5, 5, self.MODEL)
        store.put_embeddings(self.MODEL, [], engine, 3, 0)  # a watermark never moves back
        st = store.index_state(engine)
        assert st is not None and st["done_id"] == 5
        assert store.embedding_count(self.MODEL) == 5
        vecs = list(store.all_vectors(self.MODEL))
        assert [v.message_id for v in vecs] == list(range(1, 6))
        assert vecs[0].vector == b"\x00\x3c" * 4 and vecs[0].source_kind == "transcript"
        store.delete_embeddings(self.MODEL, [1, 2])
        assert store.embedding_count(self.MODEL) == 3
        assert store.embeddable_rows(types, 5, top, 100)[0].id == 6
