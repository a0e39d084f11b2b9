"""Verbatim metadata kept compressed (issue 18, store size): zstd with a dictionary trained
per source kind. Packing is invisible: what a row's metadata says is what the source line
said, whether the row was stored packed, plain, or before the store was upgraded."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from coditect_memory.sample import generate
from coditect_memory.store.sqlite.packing import (
    TRAIN_ROWS,
    MetaCodec,
    hash_sql,
    sql_functions,
    uid_sql,
    uuid_sql,
)

from .builders import all_messages
from .conftest import ingest_json


def _repaired(value: object) -> Any:
    """A line's JSON as the reader keeps it: a lone surrogate (half an emoji) becomes U+FFFD."""
    text = json.dumps(value, ensure_ascii=False)
    return json.loads(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))


def _check_metadata(home: Path, data: Path) -> int:
    """Every exported transcript row's metadata against its source line: each field it keeps
    is the line's own (a row decoded with the wrong dictionary, or another row's bytes,
    cannot pass). Returns how many rows were compared."""
    lines: dict[str, list[bytes]] = {}
    compared = 0
    for m in all_messages(home):
        if m["source_kind"] != "transcript" or not m["metadata"] or not m["source_line"]:
            continue
        path = Path(m["source_root"]) / m["source_file"]
        if m["source_file"] not in lines:
            lines[m["source_file"]] = path.read_bytes().splitlines()
        original = _repaired(json.loads(lines[m["source_file"]][m["source_line"] - 1]))
        meta = json.loads(m["metadata"])
        kept = {k: v for k, v in meta.items() if k in original and k != "message"}
        assert all(original[k] == v for k, v in kept.items()), (m["uid"], kept)
        compared += bool(kept)  # the line's own fields (the reader adds a few of its own)
    return compared


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("packing") / "claude"
    truth = generate(data, messages=3 * TRAIN_ROWS, seed=11)
    assert truth["by_source"]["transcript"] > 2 * TRAIN_ROWS
    return data


@pytest.mark.usefixtures("cli_backend")
def test_metadata_read_back_as_written(sample, memory_home):
    """On both backends: a run that trains dictionaries, and one that loads them."""
    assert ingest_json(sample)["errors"] == 0
    assert _check_metadata(memory_home, sample) > 2 * TRAIN_ROWS
    assert ingest_json(sample)["messages_new"] == 0
    assert _check_metadata(memory_home, sample) > 2 * TRAIN_ROWS


def _counts(home: Path) -> tuple[int, int, int]:
    """(packed, plain) transcript rows and dictionaries of the SQLite store in `home`."""
    with sqlite3.connect(home / "memory.db") as db:
        packed, plain = db.execute("SELECT count(metadata_z), count(metadata) FROM messages"
                                   " WHERE source_kind = 'transcript'").fetchone()
        dicts = db.execute("SELECT count(*) FROM metadata_dicts").fetchone()[0]
    return packed, plain, dicts


def test_most_rows_packed(sample, memory_home):
    assert ingest_json(sample)["errors"] == 0
    packed, plain, dicts = _counts(memory_home)
    assert packed > TRAIN_ROWS and TRAIN_ROWS - 50 <= plain <= TRAIN_ROWS + 50  # samples stay plain
    assert dicts >= 1


def half_stored_as_before(sample: Path, home: Path, tmp_path: Path, version: int,
                          *more: str) -> dict[str, dict[str, Any]]:
    """Half of `sample` stored as the code before migration `version` stored it: each packed
    column of that migration and later ones unpacked into its plain column, the column gone
    (`more`: other undoing SQL). Returns each plain column's values (column -> uid -> text)."""
    half = tmp_path / "half"
    (half / "projects").mkdir(parents=True)
    projects = sorted((sample / "projects").iterdir())
    for folder in projects[: len(projects) // 2]:
        shutil.copytree(folder, half / "projects" / folder.name)
    assert ingest_json(half)["errors"] == 0
    db = sqlite3.connect(home / "memory.db")
    codec = MetaCodec()  # the rows as an old version stored them: plain text
    for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                 " AND tbl_name = 'messages'").fetchall():
        db.execute(f"DROP TRIGGER {trigger}")  # made again when the store opens
    sql_functions(db, codec)  # every version before migration 24 stored each text's hash
    db.execute(f"UPDATE messages SET content_hash = {hash_sql('')} WHERE content_hash IS NULL")
    db.execute(f"UPDATE messages SET ext_id = {uuid_sql('ext_id')}, parent_ext_id ="  # and uuids as text
               f" {uuid_sql('parent_ext_id')} WHERE ext_id IS NOT NULL OR parent_ext_id IS NOT NULL")
    undone = [(v, plain, packed) for v, plain, packed in _PACKED if v >= version]
    for _, plain, packed in undone:
        rows = [(codec.text(db, None, z), i) for i, z in db.execute(
            f"SELECT id, {packed} FROM messages WHERE {packed} IS NOT NULL").fetchall()]
        assert rows
        db.executemany(f"UPDATE messages SET {plain} = ?, {packed} = NULL WHERE id = ?", rows)
    for v, _, packed in undone:
        db.execute(f"ALTER TABLE messages DROP COLUMN {packed}")
        db.execute("DELETE FROM schema_migrations WHERE version = ?", (v,))
    if version <= 24:
        db.execute("DELETE FROM schema_migrations WHERE version = 24")
    if version <= 25:  # every version before 25 stored uids as text
        db.execute(f"UPDATE messages SET uid = {uid_sql('uid')} WHERE typeof(uid) = 'blob'")
        db.execute("DELETE FROM schema_migrations WHERE version = 25")
    if version <= 27:  # every version before 27 stored messages' session ids as text
        db.execute(f"UPDATE messages SET session_id = {uuid_sql('session_id')}"
                   " WHERE typeof(session_id) = 'blob'")
        db.execute("DELETE FROM schema_migrations WHERE version = 27")
    if version <= 28:  # and api_usage's before 28
        db.execute(f"UPDATE api_usage SET session_id = {uuid_sql('session_id')}"
                   " WHERE typeof(session_id) = 'blob'")
        db.execute("DELETE FROM schema_migrations WHERE version = 28")
    for sql in more:
        db.execute(sql)
    db.commit()
    old = {plain: dict(db.execute(f"SELECT {uid_sql('uid')}, {plain} FROM messages").fetchall())
           for _, plain, _ in undone}
    db.close()
    return old


# (migration, plain column, packed column): what each packing migration added
_PACKED = ((16, "metadata", "metadata_z"), (22, "content", "content_z"))


def test_upgrade_keeps_old_rows_and_packs_new_ones(sample, memory_home, tmp_path):
    """A store made before migration 16: its rows stay plain and readable; rows stored after
    the upgrade are packed with a dictionary the upgraded store trains."""
    old = half_stored_as_before(sample, memory_home, tmp_path, 16,
                                "DROP TABLE metadata_dicts")["metadata"]

    out = ingest_json(sample)  # upgrades in place, then stores the other half
    assert out["errors"] == 0 and out["messages_new"] > 2 * TRAIN_ROWS
    got = {m["uid"]: m["metadata"] for m in all_messages(memory_home)}
    assert {u: got[u] for u in old} == old
    with sqlite3.connect(memory_home / "memory.db") as db:
        assert db.execute("SELECT count(*) FROM messages WHERE metadata_z IS NOT NULL"
                          " AND run_id = 1").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM messages WHERE metadata_z IS NOT NULL"
                          " AND run_id > 1").fetchone()[0] > 0
    assert _check_metadata(memory_home, sample) > 2 * TRAIN_ROWS


def test_dictionary_rolled_back_with_its_batch_is_written_again(store):
    """A batch that trained a dictionary and then failed takes the dictionary with it; the
    same process packs later rows with it, so the next batch writes it again (both backends)."""
    codec = store.meta_codec
    texts = [json.dumps({"cwd": "/home/dev/src/api", "version": "2.1.9", "n": i,
                         "gitBranch": f"feat/{i % 7}", "userType": "external"})
             for i in range(TRAIN_ROWS + 1)]
    with pytest.raises(RuntimeError), store.tx() as db:
        for text in texts:
            codec.pack(db, "transcript", text)
        codec.save(db)
        raise RuntimeError("the batch fails after training")
    with store.tx() as db:
        plain, packed = codec.pack(db, "transcript", texts[-1])
        assert plain is None and packed is not None
        codec.save(db)
    with store.tx() as db:  # a reader that never saw the training
        assert MetaCodec().text(db, None, packed) == texts[-1]
