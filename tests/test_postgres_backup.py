"""Incremental backups of a PostgreSQL store, on a real server: the change-tracking triggers,
a delta about the size of the change, restore of full + incrementals into a SQLite home and
into a fresh database (`--into postgresql://`), each equal to the source by counts and digest."""

from __future__ import annotations

import psycopg
import pytest

from coditect_memory.store.postgres.copy import pg_summary

from . import test_postgres
from .builders import conversation, sid, transcript_path, write_jsonl
from .conftest import ingest_json, run, run_proc
from .test_crash_safety import make_dataset

pg = test_postgres.pg  # the fixture: a fresh database, named by MEMORY_DATABASE_URL


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("pgb") / "claude", sessions=30)


def _add_session(root, n: int, lines: int = 6) -> None:
    session = sid(5000 + n)
    write_jsonl(transcript_path(root, session, slug="-home-dev-later"),
                conversation(session, lines, cwd="/home/dev/later", day=25))


def _backup(repo, kind: str = "incremental") -> dict:
    return run("backup", "create", "--type", kind, "--target", str(repo), "--json").json()


def _summary_without_bookkeeping(url: str) -> dict:
    s = pg_summary(url)
    return {"counts": s["counts"], "digest": s["digest"]}


class TestIncremental:
    def test_small_change_small_delta_and_restores_equal(self, pg, pg_server, dataset, tmp_path,
                                                         memory_home):
        root = tmp_path / "claude"
        import shutil

        shutil.copytree(dataset, root)
        ingest_json(root)
        repo = tmp_path / "repo"
        full = _backup(repo, "full")
        assert full["type"] == "full"

        # a small change: one new session of 6 lines, and edits of old rows of each kind of
        # table (an id table, a keyed table) the triggers must log
        _add_session(root, 1)
        ingest_json(root)
        with psycopg.connect(pg, autocommit=True) as c:
            c.execute("UPDATE messages SET content = 'edited' WHERE id = (SELECT min(id) FROM messages)")
            c.execute("DELETE FROM messages WHERE id = (SELECT min(id) + 1 FROM messages)")
            c.execute("UPDATE sessions SET title = 'renamed' WHERE id = (SELECT min(id) FROM sessions)")
        inc = _backup(repo)
        assert inc["type"] == "incremental", inc["notes"]
        assert inc["parent"] == full["backup_id"]
        assert 0 < inc["rows_stored"] < 400, inc  # the new session's rows and the touched ones
        assert inc["bytes"] < full["bytes"] / 5, (inc["bytes"], full["bytes"])

        # a second incremental on the first, after another small change
        _add_session(root, 2)
        ingest_json(root)
        inc2 = _backup(repo)
        assert inc2["type"] == "incremental" and inc2["parent"] == inc["backup_id"]
        source = _summary_without_bookkeeping(pg)
        assert inc2["messages"] == source["digest"]["messages"]

        assert run("backup", "verify", inc2["backup_id"], "--deep", "--target", str(repo),
                   "--json").json()["ok"]

        # into a SQLite home: the chain's store, checked against the manifest
        restored = run("backup", "restore", inc2["backup_id"], "--target", str(repo), "--into",
                       str(tmp_path / "r"), "--json").json()
        assert restored["chain"] == [full["backup_id"], inc["backup_id"], inc2["backup_id"]]
        assert restored["digest"] == source["digest"]["value"]
        # ... whose rows from the deltas (text on PostgreSQL) are found by their keys as
        # SQLite keeps them: a session added after the full backup, its messages and usage
        home = {"MEMORY_HOME": str(tmp_path / "r"), "MEMORY_DATABASE_URL": ""}
        added = run_proc("report", "session", sid(5001), "--json", env=home)
        assert added.code == 0, added.stderr
        assert added.json()["message_count"] == 6 and added.json()["models"]
        assert len(run_proc("show", "session", sid(5001), "--json", env=home).json()["messages"]) == 6

        # into a fresh database: equal to the source by counts and digest
        fresh = pg_server.database(empty=True)
        done = run("backup", "restore", inc2["backup_id"], "--target", str(repo), "--into", fresh,
                   "--json").json()
        assert done["messages"] == source["digest"]["messages"]
        back = _summary_without_bookkeeping(fresh)
        assert back == source
        restores = [e for e in run("audit", "list", "--json").json()["entries"]
                    if e["action"] == "restore"]  # in this machine's log, as a folder restore is
        assert restores and restores[-1]["detail"]["into"] == done["into"]
        # point in time by backup: the first incremental's store
        older = pg_server.database(empty=True)
        run("backup", "restore", inc["backup_id"], "--target", str(repo), "--into", older, "--json")
        assert pg_summary(older)["digest"]["messages"] == inc["messages"]

    def test_restore_into_a_database_holding_another_store_is_refused(self, pg, pg_server, dataset,
                                                                      tmp_path, memory_home):
        ingest_json(dataset)
        repo = tmp_path / "repo"
        made = _backup(repo, "full")
        other = pg_server.database()
        with psycopg.connect(other, autocommit=True) as c:
            c.execute("INSERT INTO extraction_runs (started_at, status, root) VALUES (1, 'completed', '/x')")
        r = run_proc("backup", "restore", made["backup_id"], "--target", str(repo), "--into", other)
        assert r.code != 0 and "another store" in r.stderr and "Traceback" not in r.stderr

    def test_ingest_inserts_log_nothing(self, pg, dataset, tmp_path, memory_home):
        """Rows above the marks are found by their ids: ingest after a backup writes no log
        line for its new messages (the row trigger's WHEN is false)."""
        root = tmp_path / "claude"
        import shutil

        shutil.copytree(dataset, root)
        ingest_json(root)
        _backup(tmp_path / "repo", "full")
        _add_session(root, 3, lines=40)
        ingest_json(root)
        with psycopg.connect(pg) as c:
            logged = c.execute("SELECT count(*) FROM backup_changes WHERE tbl = 'messages'").fetchone()
        assert logged == (0,)


@pytest.mark.fault("PostgreSQL incremental backups while an ingest writes")
def test_incrementals_while_an_ingest_writes(pg, pg_server, dataset, tmp_path, memory_home):
    """Backups taken while another process ingests: each restores to exactly what its
    manifest says (verify --deep), and the last chain, restored into a fresh database,
    equals the store once the ingest is done and one more incremental is taken."""
    from .test_crash_safety import start_ingest

    first = tmp_path / "first"
    _add_session(first, 9)
    ingest_json(first)
    repo = tmp_path / "repo"
    made = [_backup(repo, "full")]
    p = start_ingest(memory_home, dataset)
    try:
        while p.poll() is None and len(made) < 6:
            made.append(_backup(repo))
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    finally:
        if p.poll() is None:
            p.kill()
    made.append(_backup(repo))
    assert all(m["type"] == "incremental" for m in made[1:]), [m["notes"] for m in made]
    for m in made[1:]:
        assert run("backup", "verify", m["backup_id"], "--deep", "--target", str(repo),
                   "--json").json()["ok"]
    source = _summary_without_bookkeeping(pg)  # before the restore adds its own audit entry
    fresh = pg_server.database(empty=True)
    run("backup", "restore", made[-1]["backup_id"], "--target", str(repo), "--into", fresh, "--json")
    assert _summary_without_bookkeeping(fresh) == source
