"""A smaller SQLite store (issue 18, store size; migration 0024): a message's content hash is
derived from its text instead of stored, and a transcript uuid is kept as its 16 bytes. Invisible to every reader: exports, digests and incremental backups
see the hash the text has, and every door the uuid's text."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from coditect_memory.sample import generate
from coditect_memory.store.sqlite import digest
from coditect_memory.store.sqlite.packing import uid_sql

from .builders import all_messages
from .conftest import ingest_json, run
from .test_ingest_packing import half_stored_as_before


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("lean") / "claude"
    generate(data, messages=3000, seed=3)
    return data


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _exported_hashes(home: Path) -> dict[str, str | None]:
    """uid -> content_hash as export gives it, each checked against the row's text or blob;
    each transcript line's uuids checked against the line's own."""
    out = {}
    lines: dict[str, list[bytes]] = {}
    uuids = 0
    for m in all_messages(home):
        want = m["blob_sha256"] if m["content"] is None else _sha(m["content"])
        assert m["content_hash"] == want, m["uid"]
        out[m["uid"]] = m["content_hash"]
        if m["source_kind"] == "transcript" and m["ext_id"] is not None:
            if m["source_file"] not in lines:
                lines[m["source_file"]] = (Path(m["source_root"]) / m["source_file"]).read_bytes().splitlines()
            line = json.loads(lines[m["source_file"]][m["source_line"] - 1])
            assert (m["ext_id"], m["parent_ext_id"]) == (line["uuid"], line.get("parentUuid")), m["uid"]
            uuids += 1
    assert uuids > 1000
    return out


def test_hash_derived_not_stored(sample, memory_home):
    assert ingest_json(sample)["errors"] == 0
    hashes = _exported_hashes(memory_home)
    with sqlite3.connect(memory_home / "memory.db") as db:
        assert db.execute("SELECT count(*) FROM messages WHERE typeof(ext_id) = 'text'"
                          " AND source_kind = 'transcript'").fetchone()[0] == 0  # 16 bytes each
        stored = dict(db.execute(f"SELECT {uid_sql('uid')}, content_hash FROM messages"))
        texts = db.execute("SELECT count(*) FROM messages WHERE content IS NOT NULL"
                           " OR content_z IS NOT NULL").fetchone()[0]
        in_blobs = db.execute("SELECT count(*) FROM messages WHERE content IS NULL"
                              " AND content_z IS NULL AND content_hash = blob_sha256").fetchone()[0]
        # the digest a backup records: the same as over the hashes the texts have
        assert digest.message_digest(db.cursor()) == digest.as_dict(*digest.row_sum(hashes.items()))
    assert texts > 5000 and in_blobs > 0
    assert sum(h is not None for h in stored.values()) == in_blobs  # only texts kept in blobs keep theirs


def test_upgrade_keeps_stored_hashes(sample, memory_home, tmp_path):
    """A store made before migration 24 (every hash stored): its rows keep their hashes, rows
    stored after the upgrade derive theirs, and the backup triggers made before are made
    again to log the derived hash."""
    half_stored_as_before(sample, memory_home, tmp_path, 24,
                          "INSERT INTO backup_marks VALUES ('messages', 0)")  # backed up: tracked
    with sqlite3.connect(memory_home / "memory.db") as db:
        before = dict(db.execute(f"SELECT {uid_sql('uid')}, content_hash FROM messages"))
    assert sum(h is not None for h in before.values()) > 1000
    out = ingest_json(sample)  # upgrades in place, then stores the other half
    assert out["errors"] == 0 and out["messages_new"] > 1000
    hashes = _exported_hashes(memory_home)
    with sqlite3.connect(memory_home / "memory.db") as db:
        stored = dict(db.execute(f"SELECT {uid_sql('uid')}, content_hash FROM messages"))
        uuid_types = dict(db.execute(f"SELECT {uid_sql('uid')}, typeof(ext_id) FROM messages WHERE ext_id IS NOT NULL"))
        triggers = [r[0] for r in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages'"
            " AND name IN ('backup_u_messages', 'backup_d_messages')")]
    assert {u: stored[u] for u in before} == before
    assert sum(stored[u] is None for u in hashes if u not in before) > 1000
    assert {uuid_types[u] for u in before if u in uuid_types} == {"text"}  # as stored then
    assert sum(t == "blob" for u, t in uuid_types.items() if u not in before) > 1000
    assert len(triggers) == 2 and all("content_sha" in t for t in triggers)


@pytest.mark.fault("derived hash: a writer without content_sha")
def test_a_writer_without_the_hash_function_is_refused(sample, memory_home, tmp_path):
    """A backed-up message changed by a connection that cannot derive its hash (the sqlite3
    shell) fails with SQLite's error instead of logging a wrong hash: the next incremental
    backup's digest stays right."""
    assert ingest_json(sample)["errors"] == 0
    assert run("backup", "create", "--target", str(tmp_path / "repo"), "--json").code == 0
    db = sqlite3.connect(memory_home / "memory.db")
    try:
        text = db.execute("SELECT content FROM messages WHERE id = 1").fetchone()[0]
        with pytest.raises(sqlite3.OperationalError, match="content_sha"):
            db.execute("UPDATE messages SET content = 'edited' WHERE id = 1")
        assert db.execute("SELECT content FROM messages WHERE id = 1").fetchone()[0] == text
    finally:
        db.close()
