"""Incrementals as row deltas (store/sqlite/changes.py): whatever happens to the store between
backups - updates of old rows, deletes, a deleted last row whose rowid is used again,
INSERT OR REPLACE, rollups rebuilt, tables the ingest never touches - each chain restores
every table row for row, and the counts and digest carried forward from the parent equal a
fresh scan. Also: when an incremental cannot be built on the latest backup, a full one is
made and says why."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from coditect_memory.backup.create import create_backup
from coditect_memory.backup.repository import Repository
from coditect_memory.backup.restore import restore
from coditect_memory.backup.targets import LocalTarget
from coditect_memory.store.sqlite import changes
from coditect_memory.store.sqlite.backend import SQLiteStore
from coditect_memory.store.sqlite.packing import sql_functions

from .conftest import run
from .test_backup_support import build_store, install_store, more_sessions


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("changes-store"), sessions=8)


@pytest.fixture
def store(template, memory_home):
    install_store(template, memory_home)
    s = SQLiteStore(str(memory_home / "memory.db"))
    yield s
    s.close()


def repo_at(path: Path) -> Repository:
    return Repository(LocalTarget(path)).load(create=True)


def backup(store: SQLiteStore, repo: Repository, tmp: Path, kind: str = "incremental") -> dict:
    return create_backup(store, repo, kind, tmp / "work").to_json()


def dump(db_path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the store (bookkeeping aside), with its rowid."""
    db = sqlite3.connect(db_path)
    try:
        return {t: db.execute(f'SELECT rowid, * FROM "{t}" ORDER BY rowid').fetchall()
                for t in changes.tables(db)}
    finally:
        db.close()


def restored(repo: Repository, backup_id: str, into: Path) -> dict[str, list[tuple]]:
    restore(repo, backup_id, into)  # checks counts and digest against the manifest itself
    return dump(into / "memory.db")


def mutate(db: sqlite3.Connection, rng: random.Random, round_: int) -> None:
    """A mix of what writers do to old and new rows, in one transaction."""
    ids = [r[0] for r in db.execute("SELECT id FROM messages ORDER BY id")]
    db.execute("BEGIN IMMEDIATE")
    for mid in rng.sample(ids[:-5], 5):  # old rows change (content and hash: the digest moves)
        db.execute("UPDATE messages SET content = coalesce(content, '') || ?, content_hash ="
                   " lower(hex(randomblob(16))) WHERE id = ?", (f" edit {round_}", mid))
    for mid in rng.sample(ids[:-5], 3):  # old rows go
        db.execute("DELETE FROM messages WHERE id = ?", (mid,))
    top = ids[-1]
    db.execute("DELETE FROM messages WHERE id = ?", (top,))  # the last row goes ...
    for k in range(4):  # ... and new rows take its rowid and the ones after it
        db.execute("INSERT INTO messages (uid, source_kind, type, content, content_hash, ts,"
                   " session_id) SELECT ?, source_kind, type, ?, lower(hex(randomblob(16))), ts,"
                   " session_id FROM messages WHERE id = ?",
                   (f"test-{round_}-{k}", f"new {round_} {k}", ids[0]))
    db.execute("UPDATE sessions SET title = ? WHERE id = (SELECT id FROM sessions ORDER BY rowid"
               " LIMIT 1)", (f"renamed {round_}",))
    db.execute("INSERT OR REPLACE INTO sessions (id, project_id, title, dirty) SELECT id,"
               " project_id, ?, 0 FROM sessions ORDER BY rowid LIMIT 1 OFFSET 1", (f"replaced {round_}",))
    db.execute("DELETE FROM source_files WHERE rowid = (SELECT max(rowid) FROM source_files)")
    db.execute("INSERT INTO store_meta VALUES (?, 'x') ON CONFLICT DO NOTHING", (f"note-{round_}",))
    db.execute("COMMIT")


class TestRowDeltas:
    def test_two_chains_restore_every_row(self, store, tmp_path):
        """Two targets (two chains sharing one change log) backed up at different moments;
        every backup of both restores the store exactly as it was."""
        rng = random.Random(5)
        a, b = repo_at(tmp_path / "a"), repo_at(tmp_path / "b")
        db_path = Path(store.path)
        made = []
        for round_ in range(5):
            for repo, name in ((a, "a"), (b, "b")):
                if name == "b" and round_ % 2:
                    continue  # chain b sees two rounds of changes at once
                out = backup(store, repo, tmp_path)
                made.append((repo, out, dump(db_path)))
                assert out["type"] == ("full" if round_ == 0 else "incremental"), out["notes"]
            writer = sqlite3.connect(db_path, isolation_level=None)
            writer.execute("PRAGMA recursive_triggers = ON")
            sql_functions(writer)  # the messages triggers log packing.HASH
            mutate(writer, rng, round_)
            writer.close()
        for i, (repo, out, want) in enumerate(made):
            got = restored(repo, out["backup_id"], tmp_path / f"r{i}")
            for table in want:
                assert got[table] == want[table], (i, out["backup_id"], table)
            if out["type"] == "incremental":
                assert 0 < out["rows_stored"] < 200, "an incremental stores what changed"

    def test_ingest_and_rollups_between_backups(self, store, tmp_path):
        """The writers of the product itself: an ingest (sessions grow, file watermarks move,
        derivation updates old rows) and report rollups built after the backup."""
        repo = repo_at(tmp_path / "t")
        backup(store, repo, tmp_path, "full")
        run("ingest", str(more_sessions(tmp_path, seed=61)), "--json")
        run("report", "project-activity", "--json")  # builds the rollup tables
        inc = backup(store, repo, tmp_path)
        assert inc["type"] == "incremental"
        want = dump(Path(store.path))
        assert restored(repo, inc["backup_id"], tmp_path / "r") == want
        again = backup(store, repo, tmp_path)
        assert again["rows_stored"] == 0


    @pytest.mark.parametrize("kind", ["full", "incremental"])
    @pytest.mark.fault("backup: rows committed between a backup's marks and its read")
    def test_rows_written_between_marking_and_the_read(self, store, tmp_path, monkeypatch, kind):
        """An ingest can commit rows after a backup raised its marks and before its read
        begins: they are in that backup above its marks, and when they change or go later
        (unlogged: above the marks) the next incremental still gets it right."""
        repo = repo_at(tmp_path / "t")
        if kind == "incremental":
            backup(store, repo, tmp_path, "full")
        mark = changes.mark

        def mark_then_write(db):
            mark(db)
            for k in range(3):
                db.execute("INSERT INTO messages (uid, source_kind, type, content, content_hash)"
                           " VALUES (?, 'history', 'user', 'late', 'h')", (f"late-{k}",))
        monkeypatch.setattr(changes, "mark", mark_then_write)
        parent = backup(store, repo, tmp_path, kind)
        monkeypatch.setattr(changes, "mark", mark)
        store.db.execute("DELETE FROM messages WHERE uid = 'late-0'")
        store.db.execute("UPDATE messages SET content = 'later', content_hash = 'h2' WHERE uid = 'late-1'")
        inc = backup(store, repo, tmp_path)
        assert inc["type"] == "incremental" and inc["parent"] == parent["backup_id"]
        assert restored(repo, inc["backup_id"], tmp_path / "r") == dump(Path(store.path))


class TestFallsBackToFull:
    @staticmethod
    def _backup_of(db_path: Path, repo: Repository, tmp: Path) -> dict:
        other = SQLiteStore(str(db_path))
        try:
            return backup(other, repo, tmp)
        finally:
            other.close()

    def test_restored_store_starts_a_new_chain(self, store, tmp_path):
        repo = repo_at(tmp_path / "t")
        full = backup(store, repo, tmp_path, "full")
        restore(repo, full["backup_id"], tmp_path / "r")
        made = self._backup_of(tmp_path / "r" / "memory.db", repo, tmp_path)
        assert made["type"] == "full" and "restored" in made["notes"][0]

    def test_another_store_at_the_same_target(self, store, tmp_path):
        repo = repo_at(tmp_path / "t")
        backup(store, repo, tmp_path, "full")
        made = self._backup_of(tmp_path / "other" / "memory.db", repo, tmp_path)
        assert made["type"] == "full" and "another store" in made["notes"][0]

    def test_new_table_gets_triggers_and_a_full_backup(self, store, tmp_path):
        repo = repo_at(tmp_path / "t")
        backup(store, repo, tmp_path, "full")
        store.db.execute("CREATE TABLE later_feature (id INTEGER PRIMARY KEY, note TEXT)")
        store.close()
        reopened = SQLiteStore(store.path)  # as after a migration that adds a table
        try:
            assert not changes.missing_triggers(reopened.db)
            made = backup(reopened, repo, tmp_path)
            assert made["type"] == "full" and "schema changed" in made["notes"][0]
            reopened.db.execute("INSERT INTO later_feature VALUES (1, 'kept')")
            inc = backup(reopened, repo, tmp_path)
        finally:
            reopened.close()
        assert inc["type"] == "incremental" and inc["rows_stored"] == 1
        assert restored(repo, inc["backup_id"], tmp_path / "r")["later_feature"] == [(1, 1, "kept")]
        store.db = sqlite3.connect(store.path)  # for the fixture's close

    def test_vacuum_since_the_parent(self, store, tmp_path):
        """VACUUM may give rows of tables without an INTEGER PRIMARY KEY new rowids, which
        the log would not see."""
        repo = repo_at(tmp_path / "t")
        backup(store, repo, tmp_path, "full")
        store.db.execute("VACUUM")
        made = backup(store, repo, tmp_path)
        assert made["type"] == "full" and "VACUUM" in made["notes"][0]
        assert backup(store, repo, tmp_path)["type"] == "incremental"

    def test_log_trimmed_past_the_parent(self, store, tmp_path, monkeypatch):
        repo = repo_at(tmp_path / "t")
        backup(store, repo, tmp_path, "full")
        monkeypatch.setattr(changes, "LOG_LIMIT", 10)
        store.db.execute("UPDATE messages SET is_meta = is_meta WHERE id <= 50")
        made = backup(store, repo, tmp_path)
        assert made["type"] == "full" and "no longer reaches back" in made["notes"][0]


def test_every_table_is_tracked_from_the_first_backup(store):
    def triggers() -> set[str]:
        return {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}

    names = changes.tables(store.db)
    assert {"messages", "sessions", "source_files", "api_usage", "report_days"} <= set(names)
    assert not {t for t in triggers() if t.startswith("backup_")}  # never backed up: no cost per row
    with store.tx() as db:
        changes.mark(db)  # what a backup does first
    got = triggers()
    for t in names:
        assert {f"backup_{op}_{t}" for op in "iud"} <= got, t


@pytest.mark.fault("backup: leftovers of a killed backup (work files, lock, temp objects)")
def test_temp_files_of_killed_backups_are_removed(store, tmp_path):
    """A backup killed mid-way leaves its delta (or snapshot copy) in the work folder; the
    next backup removes it, and leaves alone the files of backups still running."""
    work = tmp_path / "work"
    work.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [work / f"delta-{dead.pid}.db", work / f"snapshot-{dead.pid}.db-journal"]
    live = work / f"delta-{os.getppid()}.db"
    for p in (*stale, live):
        p.write_bytes(b"left over")
    repo = repo_at(tmp_path / "t")
    backup(store, repo, tmp_path, "full")
    backup(store, repo, tmp_path)
    assert not any(p.exists() for p in stale) and live.exists()
    left = [p.name for p in work.iterdir() if not p.name.startswith("verified-")]  # the record
    assert left == [live.name], "the backups' own files are gone too"


def test_a_backup_reads_only_the_latest_chain(store, tmp_path):
    """Making a backup reads the newest chain's manifests, not every backup ever made (on S3
    each manifest is a request). The target is the real local one, its reads counted."""
    class Counting(LocalTarget):
        def read(self, key: str) -> bytes | None:
            reads.append(key)
            return super().read(key)

    reads: list[str] = []
    repo = Repository(Counting(tmp_path / "t")).load(create=True)
    old = [backup(store, repo, tmp_path, "full")["backup_id"]]
    old += [backup(store, repo, tmp_path)["backup_id"] for _ in range(3)]
    new = [backup(store, repo, tmp_path, "full")["backup_id"], backup(store, repo, tmp_path)["backup_id"]]
    reads.clear()
    made = backup(store, repo, tmp_path)
    assert made["type"] == "incremental" and made["parent"] == new[-1]
    manifests = {k.split("/")[-1][:-5] for k in reads if k.startswith("manifests/")}
    assert manifests == set(new)


def test_triggers_of_a_store_never_backed_up_are_dropped(store):
    """A store an earlier version gave triggers on opening, never backed up, stops paying for
    them per row; its first backup makes them again."""
    with store.tx() as db:
        changes.install(db)  # as versions before the first-backup rule did
    store.close()
    reopened = SQLiteStore(store.path)
    try:
        assert changes._all_triggers(reopened.db) == {}
        with reopened.tx() as db:
            changes.mark(db)
        assert not changes.missing_triggers(reopened.db) and changes._all_triggers(reopened.db)
    finally:
        reopened.close()
