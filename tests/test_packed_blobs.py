"""Blobs and error texts compressed, uids as 16 bytes (issue 18, store size; migration 0025).
Invisible to every reader: a file version or image reads back as the bytes its sha256 names
and a uid as its text, on both backends, after `db copy` either way, and in a store upgraded
from the version before (whose blobs and uids the migration converts)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from coditect_memory.sample import generate
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.store.sqlite.packing import pack_blob, sql_functions, uid_sql, unpack_blob

from .builders import all_messages, open_at
from .conftest import ingest_json, run, run_proc
from .test_ingest_packing import half_stored_as_before


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("blobs") / "claude"
    generate(data, messages=3000, seed=3)
    return data


def _stored(db_path: Path) -> dict[str, tuple[int, int]]:
    """sha256 -> (original size, bytes stored) of every blob."""
    with sqlite3.connect(db_path) as db:
        return {sha: (size, n) for sha, size, n in db.execute(
            "SELECT sha256, size, length(data) FROM blobs")}


def _read_back(home: Path) -> int:
    """Every exported message's blob is the bytes its sha256 names; how many there are."""
    n = 0
    for m in all_messages(home):
        if m["blob_sha256"] is not None:
            assert m["blob"] is not None and hashlib.sha256(bytes(m["blob"])).hexdigest() == m["blob_sha256"]
            n += 1
    return n


def test_pack_blob_round_trip():
    text = b"def handler():\n    return retry(backoff=2)\n" * 40
    assert len(pack_blob(text)) < len(text) and unpack_blob(pack_blob(text), len(text)) == text
    noise = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(4))  # does not shrink
    assert pack_blob(noise) == noise and unpack_blob(noise, len(noise)) == noise
    assert pack_blob(b"short") == b"short"


@pytest.mark.usefixtures("cli_backend")
def test_every_reader_gets_the_bytes(sample, memory_home, cli_backend):
    """On both backends: export gives each blob's bytes, `doctor` finds every blob matching
    its sha256, error texts read whole; only SQLite packs (blobs and errors)."""
    assert ingest_json(sample)["errors"] == 0
    assert _read_back(memory_home) > 100
    doctor = run("doctor", "--json", check=False).stdout
    assert "blobs do not match" not in doctor and "missing blobs" not in doctor
    errors = [m for m in all_messages(memory_home) if m["is_error"] and m["source_kind"] == "transcript"]
    assert len(errors) > 10 and all(m["content"] for m in errors)
    if cli_backend == "sqlite":
        stored = _stored(memory_home / "memory.db")
        assert sum(n < size for size, n in stored.values()) > len(stored) // 2
        assert all(n <= size for size, n in stored.values())
        with sqlite3.connect(memory_home / "memory.db") as db:
            assert db.execute("SELECT count(*) FROM messages WHERE is_error = 1 AND content IS NULL"
                              " AND content_z IS NOT NULL").fetchone()[0] > 0  # once trained


def test_copy_to_postgresql_and_back(sample, memory_home, pg_server, tmp_path):
    """`db copy` of a store with packed blobs: PostgreSQL gets them plain, and a file copied
    back from it reads the same bytes."""
    assert ingest_json(sample)["errors"] == 0
    url = pg_server.database(empty=True)
    assert run("db", "copy", "--from", str(memory_home / "memory.db"), "--to", url,
               "--json").json()["verified"]
    back = tmp_path / "back" / "memory.db"
    assert run("db", "copy", "--from", url, "--to", str(back), "--json").json()["verified"]
    stored = _stored(back)
    assert stored and all(n == size for size, n in stored.values())  # as PostgreSQL had them
    assert _read_back(back.parent) == _read_back(memory_home)


def _as_before_25(home: Path) -> None:
    """The store as the code before migration 25 wrote it: blobs, error texts, uids plain."""
    db = sqlite3.connect(home / "memory.db")
    sql_functions(db)
    for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                 " AND tbl_name = 'messages'").fetchall():
        db.execute(f"DROP TRIGGER {trigger}")  # made again when the store opens
    db.execute("UPDATE blobs SET data = blob_unpack(data, size)")
    db.execute("UPDATE messages SET content = content_unpack(content_z), content_z = NULL"
               " WHERE is_error = 1 AND content_z IS NOT NULL")
    db.execute(f"UPDATE messages SET uid = {uid_sql('uid')} WHERE typeof(uid) = 'blob'")
    db.execute("DELETE FROM schema_migrations WHERE version = 25")
    db.commit()
    db.close()


def test_upgrade_packs_the_blobs_stored_before(sample, memory_home):
    """A store made before migration 25 (blobs and error texts plain): opening it writable
    packs its blobs (its error rows stay plain); every byte and text reads back the same."""
    assert ingest_json(sample)["errors"] == 0
    texts = {m["uid"]: m["content"] for m in all_messages(memory_home)}
    _as_before_25(memory_home)
    before = _stored(memory_home / "memory.db")
    assert before and all(n == size for size, n in before.values())
    assert run("db", "upgrade", "--json").code == 0
    assert set(_uid_forms(memory_home)) == {"blob"}
    after = _stored(memory_home / "memory.db")
    assert after.keys() == before.keys()
    assert sum(n < size for size, n in after.values()) > len(after) // 2
    assert _read_back(memory_home) > 100
    assert {m["uid"]: m["content"] for m in all_messages(memory_home)} == texts
    assert "blobs do not match" not in run("doctor", "--json", check=False).stdout


def _uid_forms(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "memory.db") as db:
        return dict(db.execute("SELECT typeof(uid), count(*) FROM messages GROUP BY 1").fetchall())


def test_uids_as_bytes_one_form_across_the_upgrade(sample, memory_home, tmp_path):
    """A store made before 25 (uids as text) is converted whole when it opens: every uid of an
    ingest is then its 16 bytes, the other half of the data is stored once and a second
    ingest stores nothing (the identity held across the upgrade); export, the backup digest
    and forget by uid (tombstones) read and find them as text."""
    half_stored_as_before(sample, memory_home, tmp_path, 25)
    assert set(_uid_forms(memory_home)) == {"text"}
    out = ingest_json(sample)
    assert out["errors"] == 0 and out["messages_new"] > 1000
    assert set(_uid_forms(memory_home)) == {"blob"}
    assert ingest_json(sample)["messages_new"] == 0
    uids = [m["uid"] for m in all_messages(memory_home)]
    assert all(len(u) == 32 and u == u.lower() and int(u, 16) >= 0 for u in uids)
    assert len(set(uids)) == len(uids) == sum(_uid_forms(memory_home).values())
    made = run("backup", "create", "--target", str(tmp_path / "repo"), "--type", "full", "--json").json()
    assert run("backup", "verify", made["backup_id"], "--target", str(tmp_path / "repo"), "--json").code == 0
    with open_at(memory_home) as store:
        assert store.content_hashes(uids[:3]).keys() == set(uids[:3])
        assert len(store.message_ids(uids[:3])) == 3
    with open_store(load_settings(memory_home)) as store:
        assert store.add_tombstones(uids[:2], 1) == 2  # found by their text, removed
        assert store.tombstoned() == set(uids[:2]) and not store.message_ids(uids[:2])


@pytest.mark.fault("upgrade 25: killed between packing blobs and uids")
def test_an_upgrade_killed_midway_leaves_the_store_as_it_was(sample, memory_home):
    """Migration 25 runs in one transaction: killed after packing the blobs, the store is the
    old one (its blobs plain, its uids text, 25 not applied) and the next open upgrades it."""
    assert ingest_json(sample)["errors"] == 0
    _as_before_25(memory_home)
    assert _stored(memory_home / "memory.db")
    killed = run_proc("db", "upgrade", env={"MEMORY_FAILPOINT": "migrate-25:blobs-packed"})
    assert killed.code == -9
    assert set(_uid_forms(memory_home)) == {"text"}
    assert all(n == size for size, n in _stored(memory_home / "memory.db").values())
    assert run("db", "upgrade", "--json").json()["applied_now"] == [25]
    assert set(_uid_forms(memory_home)) == {"blob"}
    assert sum(n < size for size, n in _stored(memory_home / "memory.db").values()) > 0
    assert ingest_json(sample)["errors"] == 0 and ingest_json(sample)["messages_new"] == 0
