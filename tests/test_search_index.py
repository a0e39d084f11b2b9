"""The keyword index follows the store: built by the first search, then updated after each
ingest (the hook) from a watermark, with
upserts by message id, so grown, re-derived and deleted rows are what search returns; a lost
or half-written index is rebuilt or finished without duplicates; concurrent writers wait or
step aside."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from coditect_memory.search import index, indexer
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.store.sqlite.packing import sql_functions

from .builders import append, assistant, conversation, line, sid, transcript_path, user, write_jsonl
from .conftest import ingest_json, run, run_proc


def search(*args: str) -> dict:
    return run("search", *args, "--json", "--limit", "1000").json()


def uids_of(out: dict) -> list[str]:
    return [r["uid"] for r in out["results"]]


def state(home) -> dict:
    with open_store(load_settings()) as store:
        st = store.index_state(indexer.ENGINE)
        assert st is not None
        return {"done_id": st["done_id"], "docs": st["docs"], "max_id": store.max_message_id()}


def set_watermark(done_id, last_run_id=None) -> None:
    """Move the keyword index's watermark back, as a sync that never ran or died would leave
    it. `done_id` may be a function of the current one."""
    with open_store(load_settings()) as store:
        st = store.index_state(indexer.ENGINE)
        assert st is not None
        done = done_id(st["done_id"]) if callable(done_id) else done_id
        store.put_index_state(indexer.ENGINE, st["index_id"], done,
                              st["last_run_id"] if last_run_id is None else last_run_id, st["docs"])


def _index_id() -> str:
    with open_store(load_settings()) as store:
        st = store.index_state(indexer.ENGINE)
        assert st is not None and st["index_id"]
        return st["index_id"]


def _as_older_schema(home) -> Path:
    """The current index made to look like one of the schema before this one (its folder and
    the store's state name it `v<N-1>-...`), as an older version left it. Returns its folder."""
    new = _index_id()
    old = f"v{index.SCHEMA_VERSION - 1}-{new.split('-', 1)[1]}"
    (home / "index" / f"keyword-{new}").rename(home / "index" / f"keyword-{old}")
    with open_store(load_settings()) as store:
        st = store.index_state(indexer.ENGINE)
        assert st is not None
        for engine in (indexer.ENGINE, indexer.files_engine(old)):
            store.put_index_state(engine, old, st["done_id"], st["last_run_id"], st["docs"])
        store.drop_index_states(indexer.files_engine(""), keep=indexer.files_engine(old))
    assert not indexer.current_version(old)
    return home / "index" / f"keyword-{old}"


def sqlite_change(home, assignments: str, where: str, params: tuple) -> list[int]:
    """Change messages in place in the SQLite store, as a command that deletes or redacts
    them will (the Store has no such write yet). Returns the ids of the rows changed."""
    db = sqlite3.connect(home / "memory.db")
    sql_functions(db)  # the messages triggers log packing.HASH
    ids = [r[0] for r in db.execute(f"SELECT id FROM messages WHERE {where}", params)]
    db.execute(f"UPDATE messages SET {assignments} WHERE {where}", params)
    db.commit()
    db.close()
    return ids


class TestFollowsIngest:
    """Every ingest leaves the index at the store's newest row; search finds new text at once."""

    def test_new_lines_and_sessions_are_searchable_after_ingest(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        s1 = sid(1)
        path = write_jsonl(transcript_path(root, s1), conversation(s1, 6))
        ingest_json(root)
        assert (memory_home / "index").is_dir()  # the first ingest builds the index
        assert state(memory_home)["done_id"] == state(memory_home)["max_id"]
        assert search("quetzalcoatl")["total"] == 0
        append(path, line(user(s1, 6, "rename the quetzalcoatl module")))
        write_jsonl(transcript_path(root, sid(2)), [user(sid(2), 0, "quetzalcoatl again, in a new session")])
        ingest_json(root)  # the hook brings the index up to date
        st = state(memory_home)
        assert st["done_id"] == st["max_id"]
        out = search("quetzalcoatl")
        assert out["total"] == 2 and {r["session_id"] for r in out["results"]} == {s1, sid(2)}

    def test_index_on_ingest_off_leaves_it_to_the_first_search(self, tmp_path, memory_home):
        memory_home.mkdir(parents=True, exist_ok=True)
        (memory_home / "config.toml").write_text("[search]\nindex_on_ingest = false\n")
        root = tmp_path / "claude"
        write_jsonl(transcript_path(root, sid(4)), [user(sid(4), 0, "the narwhal prompt")])
        ingest_json(root)
        assert not (memory_home / "index").exists()
        assert search("narwhal")["total"] == 1
        assert (memory_home / "index").is_dir()

    def test_an_index_failure_is_a_warning_not_a_failed_ingest(self, tmp_path, memory_home):
        """The data is stored: ingest exits 0, says on stderr what to run, and `--json` stays
        one clean document."""
        memory_home.mkdir(parents=True, exist_ok=True)
        (memory_home / "index").write_text("not a folder")  # the index cannot be built
        root = tmp_path / "claude"
        write_jsonl(transcript_path(root, sid(5)), [user(sid(5), 0, "the okapi prompt")])
        res = run_proc("ingest", str(root), "--json", env={"MEMORY_HOME": str(memory_home)})
        assert res.code == 0, res.stderr
        assert res.json()["messages_new"] == 1
        assert "search index was not updated" in res.stderr and "memory index" in res.stderr
        assert "Traceback" not in res.stderr

    def test_search_catches_up_when_the_hook_did_not_run(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        write_jsonl(transcript_path(root, sid(3)), [user(sid(3), 0, "the axolotl prompt")])
        ingest_json(root)
        set_watermark(0, 0)  # as if indexing never happened
        assert search("axolotl")["total"] == 1
        assert state(memory_home)["done_id"] == state(memory_home)["max_id"]


class TestInPlaceUpdates:
    """Rows that change under the same uid are indexed again."""

    def test_a_growing_debug_entry_is_searched_as_it_is_now(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        s = sid(4)
        write_jsonl(transcript_path(root, s), conversation(s, 2))
        debug = root / "debug" / f"{s}.txt"
        debug.parent.mkdir(parents=True)
        debug.write_text("2025-11-19T17:00:00.000Z [DEBUG] starting up\n"
                         "2025-11-19T17:00:01.000Z [ERROR] the wombat failed\n")
        ingest_json(root)
        before = search("wombat")
        assert before["total"] == 1 and search("kangaroo")["total"] == 0
        append(debug, b"    at the kangaroo handler (continuation line)\n")
        ingest_json(root)
        after = search("kangaroo")
        assert after["total"] == 1
        assert uids_of(after) == uids_of(before)  # same message, grown in place
        assert search("wombat")["total"] == 1  # replaced, not duplicated

    def test_history_prompt_linked_later_is_shown_once(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        s = sid(5)
        hist = root / "history.jsonl"
        hist.parent.mkdir(parents=True, exist_ok=True)
        prompt = user(s, 0, "explain the narwhal cache")
        ts_ms = 1763571600000  # 2025-11-19T17:00:00Z = builders.stamp(0)
        hist.write_text('{"display": "explain the narwhal cache", "pastedContents": {}, '
                        f'"timestamp": {ts_ms}, "project": "/home/dev/webapp", "sessionId": "{s}"}}\n')
        ingest_json(root)
        assert search("narwhal")["total"] == 1  # only the history copy exists yet
        write_jsonl(transcript_path(root, s), [prompt, assistant(s, 1, "It caches lookups.")])
        ingest_json(root)
        out = search("narwhal")
        assert out["total"] == 1 and out["results"][0]["source_kind"] == "transcript"

    def test_deleted_rows_leave_the_index(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        s = sid(6)
        write_jsonl(transcript_path(root, s), [user(s, 0, "the platypus secret"), user(s, 2, "platypus two")])
        ingest_json(root)
        out = search("platypus")
        assert out["total"] == 2
        gone = out["results"][0]["uid"]
        ids = sqlite_change(memory_home, "deleted_at = 1", "uid = uid_bytes(?)", (gone,))
        assert gone not in uids_of(search("platypus"))  # hidden at once, before the index knows
        settings = load_settings()
        with open_store(settings) as store:
            assert indexer.forget(store, settings.search.index_dir, ids) == 1
        out = search("platypus")
        assert out["total"] == 1 and gone not in uids_of(out)

    def test_rows_changed_in_place_can_be_reindexed(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        s = sid(7)
        write_jsonl(transcript_path(root, s), [user(s, 0, "my token is hunter2secret")])
        ingest_json(root)
        assert search("hunter2secret")["total"] == 1
        ids = sqlite_change(memory_home, "content = 'my token is [REDACTED]'", "session_id = uuid_bytes(?)", (s,))
        settings = load_settings()
        with open_store(settings) as store:
            assert indexer.reindex(store, settings.search.index_dir, ids) == 1
        assert search("hunter2secret")["total"] == 0
        assert search("redacted")["total"] == 1


class TestRebuildAndRecovery:
    """The index is derived data: deleted, rebuilt or interrupted, it ends up the same."""

    def _store(self, tmp_path):
        root = tmp_path / "claude"
        for n in range(3):
            s = sid(10 + n)
            write_jsonl(transcript_path(root, s), conversation(s, 20, day=n))
        ingest_json(root)
        search("step")  # the first search builds the index
        return root

    def test_rebuild_equals_incremental(self, tmp_path, memory_home):
        self._store(tmp_path)
        queries = ["step", "fix failing", '"the test passes"', "modul*", "step -fix"]
        before = {q: search(q)["total"] for q in queries}
        rebuilt = run("index", "--rebuild", "--json").json()
        assert rebuilt["rebuilt"] and rebuilt["documents"] == state(memory_home)["docs"]
        assert {q: search(q)["total"] for q in queries} == before
        assert len(list((memory_home / "index").glob("keyword-*"))) == 1  # the old one is gone

    @pytest.mark.parametrize("alongside", [False, True])
    def test_an_index_of_an_older_schema_is_rebuilt(self, tmp_path, memory_home, alongside):
        """An index an older version made (its id's `v<N>-`: another schema, e.g. v2's
        `session` text field) is never opened: the next search, or the next ingest (after the
        run, or alongside it), builds one of this schema from the store and the old folder
        goes, with the same results (filters by session, time and facet included)."""
        root = self._store(tmp_path)
        s = sid(10)
        queries = [("step",), ("step", "--session", s), ("fix", "--since", "2025-01-01"),
                   ("step", "--type", "assistant")]
        before = {q: uids_of(search(*q)) for q in queries}
        assert all(before.values())
        for door in ("search", "ingest"):
            old = _as_older_schema(memory_home)
            if door == "search":
                assert {q: uids_of(search(*q)) for q in queries} == before
            else:
                if alongside:
                    (memory_home / "config.toml").write_text("[ingest]\nindex_alongside_mb = 0\n")
                append(transcript_path(root, s), line(user(s, 40, "one more step to take")))
                assert ingest_json(root)["messages_new"] == 1
                assert len(uids_of(search("step", "--session", s))) == len(before[("step", "--session", s)]) + 1
            folders = [p.name for p in (memory_home / "index").glob("keyword-*")]
            assert folders == [f"keyword-{_index_id()}"] and folders[0].startswith(
                f"keyword-v{index.SCHEMA_VERSION}-") and not old.exists()

    def test_a_lost_index_is_rebuilt_by_search(self, tmp_path, memory_home):
        self._store(tmp_path)
        before = search("step")["total"]
        shutil.rmtree(memory_home / "index")
        assert search("step")["total"] == before

    def test_an_unrecorded_commit_is_not_duplicated(self, tmp_path, memory_home):
        # A sync that committed documents and died before moving the watermark: the next
        # sync deletes what lies past the watermark and adds it again.
        self._store(tmp_path)
        before = search("step")["total"]
        set_watermark(lambda done: done // 2)
        assert search("step")["total"] == before
        st = state(memory_home)
        assert st["done_id"] == st["max_id"]

    def test_a_busy_writer_is_not_waited_for_by_search(self, tmp_path, memory_home):
        self._store(tmp_path)
        set_watermark(0)  # behind: search would sync
        lock = indexer.IndexLock(memory_home / "index")  # an index exists: search won't wait
        assert lock.acquire(blocking=False)
        try:
            out = search("step")
            assert any("another process" in n for n in out["notes"])
        finally:
            lock.release()
        assert not any("another process" in n for n in search("step")["notes"])


# Texts whose words a tokenizer could split, case or stem differently: the index is written
# with Tantivy's own `en_stem` (statically composed, cheaper than the same chain registered
# from Python) and queries are analysed by index.analyzer() in Python: they must agree.
TRICKY = ["Running RUNS runner's ÜBER Straße naïve café flies studies",
          "x" * 38 + " " + "y" * 39 + " " + "z" * 40 + " " + "w" * 41 + " ok",
          "v2.0 foo_bar camelCase 3.14 ENOENT auth.token_refresh /usr/lib/x86_64",
          "🙂 smile Σίσυφος ΣΊΣΥΦΟΣ 東京タワー İstanbul ılık Ǆemal ﬁle"]


def test_the_index_tokenizes_as_queries_do(tmp_path):
    import tantivy as T

    def searcher(register: bool):
        ix = index.KeywordIndex(tmp_path / f"ix{register}", create=True)
        if register:  # as before: the same chain built from Python
            ix.ix.register_tokenizer(index.ANALYZER, index.analyzer())
        writer = ix.writer()
        for i, text in enumerate(TRICKY, 1):
            doc = T.Document()
            doc.add_integer("id", i)
            doc.add_text("text", text)
            writer.add_document(doc)
        writer.commit()
        ix.reload()
        return ix.schema, ix.searcher()

    analyze = index.analyzer().analyze
    (schema, ours), (_, before) = searcher(False), searcher(True)
    terms = ours.terms_with_prefix("text", "", limit=1000)
    assert {t for t, _ in terms} == {t for text in TRICKY for t in analyze(text)}
    assert terms == before.terms_with_prefix("text", "", limit=1000)
    for i, text in enumerate(TRICKY, 1):  # the same positions: each text is its own phrase
        phrase = T.Query.phrase_query(schema, "text", analyze(text), 3)
        found = [s.fast_field_values("id", [a for _, a in s.search(phrase, 10).hits]) for s in (ours, before)]
        assert found == [[i], [i]]
