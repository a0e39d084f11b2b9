"""PostgreSQL: secondary indexes dropped for a first ingest (and a restore into a new database)
and built after; a crash while they are away leaves them to the next run (deferred.py)."""

from __future__ import annotations

import psycopg

from coditect_memory.store.postgres import deferred
from coditect_memory.store.postgres.backend import PostgresStore

from .builders import conversation, sid, transcript_path, write_jsonl
from .conftest import ingest_json, run


def index_defs(url: str) -> dict[str, str]:
    """Every index of the store's tables, by name: what a build must give back exactly."""
    with psycopg.connect(url) as pg:
        return dict(pg.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename <> %s", (deferred.TABLE,)).fetchall())


def pending(url: str) -> list[str]:
    with psycopg.connect(url) as pg:
        return [r[0] for r in pg.execute(f"SELECT name FROM {deferred.TABLE} ORDER BY name")]


def test_an_empty_store_defers_its_big_tables_secondary_indexes_and_builds_them_back(pg_server):
    url = pg_server.database()
    before = index_defs(url)
    store = PostgresStore(url)
    try:
        assert store.defer_indexes()
        gone = set(before) - set(index_defs(url))
        assert gone == set(pending(url))
        assert {"messages_session", "messages_project_ts", "api_usage_ts"} <= gone
        # identity stays: the keys ingest's ON CONFLICT and look-ups need
        assert {"messages_pkey", "messages_uid_key", "api_usage_pkey"} & set(before) <= set(index_defs(url))
        assert store.defer_indexes()  # again: nothing more to drop, still deferred
        store.build_deferred_indexes()
        assert index_defs(url) == before and pending(url) == []
        store.build_deferred_indexes()  # nothing to build: a no-op
        assert index_defs(url) == before
    finally:
        store.close()


def test_a_store_holding_messages_defers_nothing(pg_server, tmp_path, monkeypatch):
    url = pg_server.database()
    monkeypatch.setenv("MEMORY_DATABASE_URL", url)
    root = tmp_path / "claude"
    write_jsonl(transcript_path(root, sid(1)), conversation(sid(1), 6))
    ingest_json(root)
    after_first = index_defs(url)
    assert pending(url) == []  # the first ingest built what it deferred
    store = PostgresStore(url)
    try:
        assert not store.defer_indexes()
        assert index_defs(url) == after_first
    finally:
        store.close()


def test_a_copy_into_a_new_database_builds_its_indexes_after_the_rows(pg_server, tmp_path,
                                                                     monkeypatch):
    """`db copy` (and so `backup restore --into URL`) into a new database: its secondary
    indexes are dropped while the rows go in and come back as defined; a copy that stopped
    with them away (recorded) builds them when run again."""
    root = tmp_path / "claude"
    for n in range(3):
        write_jsonl(transcript_path(root, sid(n)), conversation(sid(n), 8))
    monkeypatch.setenv("MEMORY_HOME", str(tmp_path / "home"))
    ingest_json(root)
    source = str(tmp_path / "home" / "memory.db")
    url = pg_server.database()
    want = index_defs(url)
    with psycopg.connect(url) as pg:  # as a copy killed after deferring leaves the database
        deferred.defer(pg, None)
    assert pending(url) and set(index_defs(url)) < set(want)
    out = run("db", "copy", "--from", source, "--to", url, "--json").json()
    assert out["verified"] and out["messages"] > 0
    assert index_defs(url) == want and pending(url) == []


def test_during_a_run_a_batch_failing_behind_is_raised_by_the_next_call_and_leaves_nothing(pg_server):
    """During a run that writes behind, a batch is committed by the writer process while
    ingest reads on: its failure is raised by the next call that hands a batch over or by
    `written()`, nothing of it is kept, nothing after it is written, and the store goes on."""
    from coditect_memory.store import Batch

    from .test_store_conformance import ROOT, conversation_batch, record

    store = PostgresStore(pg_server.database())
    try:
        run_id = store.begin_run(ROOT, "claude")
        store.defer_indexes()
        assert store.write_behind()
        assert store.write_batch(conversation_batch(store, run_id, "s1", 4)) == (0, 0)
        bad = conversation_batch(store, run_id, "s2", 4, path="projects/x/s2.jsonl")
        broken = record("s2", 3, line=object())  # cannot be sent: fails in the writer's COPY
        assert store.write_batch(Batch(run_id=run_id, records=bad.records[:3] + [(broken, bad.records[0][1])],
                                       sessions=bad.sessions, files=bad.files)) == (0, 0)
        try:
            store.written()
        except Exception as e:  # noqa: BLE001 - whatever psycopg raises for the row
            assert "object" in str(e) or "dump" in str(e).lower(), e
        else:
            raise AssertionError("the failed batch was not reported")
        assert store.status()["messages"] == 4  # the first batch, not a row of the second
        store.build_deferred_indexes()  # the run's indexes: built now that nothing is pending
        assert store.write_batch(conversation_batch(store, run_id, "s3", 2,
                                                    path="projects/x/s3.jsonl")) == (2, 0)
        assert store.status()["messages"] == 6 and pending(store.url) == []
    finally:
        store.close()


def test_a_first_ingest_leaves_its_tables_analyzed_without_the_long_columns(pg_server, tmp_path, monkeypatch):
    """The reads after a load plan by statistics (an id range's rows): the build ANALYZEs the
    tables it built indexes on; the long texts no query filters by are left out."""
    url = pg_server.database()
    monkeypatch.setenv("MEMORY_DATABASE_URL", url)
    root = tmp_path / "claude"
    write_jsonl(transcript_path(root, sid(1)), conversation(sid(1), 30))
    ingest_json(root)
    with psycopg.connect(url) as pg:
        analyzed = {t for (t,) in pg.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")}
        columns = {c for (c,) in pg.execute(
            "SELECT attname FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'messages'")}
    assert {"messages", "api_usage"} <= analyzed
    assert {"id", "session_id", "ts"} <= columns
    assert not columns & {"content", "metadata", "content_hash"}
