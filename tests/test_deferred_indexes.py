"""A first ingest defers the secondary indexes of its big tables and builds them after its
writes (issue 18, item 2): the store it leaves equals one written with them maintained row
by row, a later ingest defers nothing, and a run killed in between leaves a store that
still answers and whose next run builds them. On both backends (the `store` fixture);
PostgreSQL defers nothing until its backend implements the two methods, and the tests say
what they check on each."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from coditect_memory.ingest.pipeline import Ingest
from coditect_memory.store import Store, open_store

from .conftest import run
from .test_crash_safety import make_dataset

MESSAGE_INDEXES = {"messages_session", "messages_project_ts", "messages_history_unlinked",
                   "messages_source", "messages_errors"}  # some of them, whatever else is added


def _indexes(store: Store) -> dict[str, str]:
    """Every index of the store's tables: name -> its definition."""
    db: Any = store.db  # type: ignore[attr-defined]
    if store.kind == "sqlite":
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    else:
        sql = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    return {name: text for name, text in db.execute(sql)}


def _deferred(store: Store) -> list[str]:
    db: Any = store.db  # type: ignore[attr-defined]
    return [r[0] for r in db.execute("SELECT name FROM deferred_indexes ORDER BY name")]


def _state(store: Store) -> dict[str, Any]:
    """What an ingest determines, without row ids, run ids and clock times."""
    messages = sorted(tuple(v for k, v in m.items() if k not in ("id", "run_id"))
                      for m in store.export_messages())
    status = {k: v for k, v in store.status().items() if k not in ("runs", "last_run", "store")}  # store: its path
    sessions = sorted(store.sessions(limit=1 << 30), key=lambda s: s["session_id"])
    return {"messages": messages, "sessions": sessions, "status": status}


def _other_store(backend: str, settings, request, tmp_path: Path) -> Store:
    """A second empty store of the same backend."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'other.db'}"
    else:
        url = request.getfixturevalue("pg_server").database()
    return open_store(replace(settings, database_url=url))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Transcripts, history (linked to them by derivation, by an index), debug logs, todos."""
    return make_dataset(tmp_path_factory.mktemp("deferred") / "claude", sessions=12, lines=40)


def test_first_ingest_equals_one_with_indexes_maintained(store, settings, backend, request,
                                                          tmp_path, dataset):
    before = _indexes(store)
    assert set(before) >= MESSAGE_INDEXES or backend != "sqlite"
    with _other_store(backend, settings, request, tmp_path) as plain:
        plain.defer_indexes = lambda: False  # type: ignore[method-assign]  # the baseline
        Ingest(plain, settings, space_check=False).run(dataset)
        expected = _state(plain)
    stats = Ingest(store, settings, space_check=False).run(dataset)
    assert stats.messages_new == expected["status"]["messages"] > 500
    assert _indexes(store) == before  # the same names and definitions, all built
    assert _deferred(store) == []
    assert _state(store) == expected  # rows, sessions (history linked), status


def test_defers_only_into_an_empty_store_and_builds_what_it_dropped(store, settings, backend,
                                                                    dataset):
    before = _indexes(store)
    deferred = store.defer_indexes()
    if backend == "sqlite":
        assert deferred
        assert set(_deferred(store)) >= MESSAGE_INDEXES
        assert not MESSAGE_INDEXES & set(_indexes(store))
        assert "sqlite_autoindex_messages_1" in {r[1] for r in store.db.execute(  # type: ignore[attr-defined]
            "PRAGMA index_list('messages')")}  # uid: every write's ON CONFLICT needs it
    assert store.defer_indexes() == deferred  # asked again: nothing more, the same answer
    store.build_deferred_indexes()
    assert _indexes(store) == before and _deferred(store) == []
    store.build_deferred_indexes()  # idempotent
    Ingest(store, settings, space_check=False).run(dataset)
    assert store.defer_indexes() is False  # the store has rows: a second ingest maintains them
    assert _indexes(store) == before


def test_indexes_left_deferred_by_a_killed_run_are_built_by_the_next(store, settings, backend,
                                                                     dataset):
    """A run killed after its first batches: the indexes are still dropped (recorded); reads
    answer meanwhile, and the next ingest writes the rest without them and builds them."""
    before = _indexes(store)
    store.defer_indexes()
    store.build_deferred_indexes = lambda: None  # type: ignore[method-assign]  # killed before
    store.derive_sessions = lambda: 0  # type: ignore[method-assign]             # its end
    Ingest(store, settings, space_check=False).run(dataset)
    del store.build_deferred_indexes, store.derive_sessions
    if backend == "sqlite":
        assert set(_deferred(store)) >= MESSAGE_INDEXES
    stored = store.status()["messages"]
    sid = store.sessions(limit=1)[0]["session_id"]
    assert len(store.session_messages(sid)) > 0  # read by a scan, but read
    stats = Ingest(store, settings, space_check=False).run(dataset)
    assert stats.messages_new == 0 and store.status()["messages"] == stored
    assert _indexes(store) == before and _deferred(store) == []


def test_derivation_builds_them_first(store, settings, backend, dataset):
    """Anything that derives (a sync's records, forget) looks rows up by these indexes: it
    builds what a killed first ingest left dropped."""
    before = _indexes(store)
    store.defer_indexes()
    store.derive_sessions()
    assert _indexes(store) == before and _deferred(store) == []


def test_reads_answer_while_deferred_and_a_writable_open_leaves_them(memory_home, settings, dataset):
    """A store left with its indexes dropped (SQLite): read-only commands answer from scans,
    and opening it writable (a server, `memory index`) does not start a build that could
    take minutes at 1M rows under a request — the next ingest or derivation does it."""
    with open_store(settings) as store:
        store.defer_indexes()
        store.build_deferred_indexes = lambda: None  # type: ignore[method-assign]
        store.derive_sessions = lambda: 0  # type: ignore[method-assign]
        Ingest(store, settings, space_check=False).run(dataset)
    with open_store(settings) as store:
        left = _deferred(store)
    assert set(left) >= MESSAGE_INDEXES
    status = run("status", "--json").json()
    assert status["messages"] > 500
    sessions = run("sessions", "--json").json()
    shown = run("show", "session", sessions[0]["session_id"], "--json").json()
    assert shown["messages"]
    with open_store(settings) as store:
        assert _deferred(store) == left  # a writable open built nothing
    run("ingest", str(dataset), "--json")
    with open_store(settings) as store:
        assert _deferred(store) == []
        assert set(_indexes(store)) >= MESSAGE_INDEXES
