"""Long tool calls and results kept compressed (issue 18, store size; migration 0022). Packing
is invisible: every door reads a message's text as the source had it, whether the row was
stored packed, plain, before the store was upgraded, or copied to PostgreSQL (which keeps
content plain)."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import pytest

from coditect_memory.sample import generate
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.store.sqlite.derive import LINK_PARENT
from coditect_memory.store.sqlite.packing import (
    CONTENT_MIN,
    MetaCodec,
    sql_functions,
    uid_sql,
    uuid_sql,
)

from .builders import all_messages
from .conftest import ingest_json, run
from .test_ingest_packing import half_stored_as_before


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("content") / "claude"
    generate(data, messages=14000, seed=5)  # > 1,000 long tool results: a dictionary is trained
    return data


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _packed(home: Path) -> list[tuple[str, str, str]]:
    """(uid, session, a word of its text) of the SQLite store's packed rows."""
    with sqlite3.connect(home / "memory.db") as db:
        rows = db.execute(f"SELECT {uid_sql('uid')}, {uuid_sql('session_id')}, content_z FROM messages"
                          " WHERE content_z IS NOT NULL AND content IS NULL").fetchall()
        codec = MetaCodec()
        return [(u, s, codec.text(db, None, z) or "") for u, s, z in rows]


def _check_texts(home: Path) -> dict[str, str]:
    """Every exported message's text hashes to the content_hash stored when it was read (a
    row decoded with the wrong dictionary, or another row's bytes, cannot pass)."""
    texts = {}
    for m in all_messages(home):
        if m["content"] is not None and m["blob_sha256"] is None:
            assert _sha(m["content"]) == m["content_hash"], m["uid"]
            texts[m["uid"]] = m["content"]
    return texts


@pytest.mark.usefixtures("cli_backend")
def test_every_door_reads_the_text_as_read(sample, memory_home, cli_backend):
    """On both backends: export, show session and search give each text as the source had
    it; only SQLite packs (PostgreSQL's TOAST compresses, and its SQL reads content)."""
    assert ingest_json(sample)["errors"] == 0
    texts = _check_texts(memory_home)
    long = [u for u, t in texts.items() if len(t) >= CONTENT_MIN]
    assert len(long) > 1000
    if cli_backend == "sqlite":
        packed = _packed(memory_home)
        assert len(packed) > len(long) // 3
        uid, session, text = max(packed, key=lambda p: (len(p[2]) < 20_000, len(p[2])))
    else:
        assert not (memory_home / "memory.db").exists()
        uid = long[-1]
        session = next(m["session_id"] for m in all_messages(memory_home) if m["uid"] == uid)
        text = texts[uid]
    shown = {m["uid"]: m["content"] for m in run("show", "session", session, "--json").json()["messages"]}
    assert shown[uid] == texts[uid] == text
    assert all(shown[u] == texts[u] for u in shown if u in texts)
    words = sorted(set(re.findall(r"[a-z]{5,}", text)))[:40]
    word = min(words, key=lambda w: sum(w in t for t in texts.values()))  # the rarest
    hits = run("search", word, "--limit", "500", "--json").json()["results"]
    assert uid in {h["uid"] for h in hits}  # the keyword index read the packed text
    assert ingest_json(sample)["messages_new"] == 0


def test_keyword_index_read_unpacks_as_sql_does(sample, memory_home, tmp_path):
    """The keyword index's read unpacks texts in Python (store/sqlite/search.py `_lean_rows`):
    the same rows as a read through SQL's CONTENT, also through a store opened before the
    dictionaries were trained (the index follower's, while the writer trains them)."""
    small = tmp_path / "small"
    generate(small, messages=300, seed=6)  # too few rows to train a dictionary
    assert ingest_json(small)["errors"] == 0
    with open_store(load_settings(memory_home)) as early:
        assert all(r.content is not None for b in early.rows_to_index(0, early.max_message_id(), lean=True)
                   for r in b if r.type == "tool_result")
        assert ingest_json(sample)["errors"] == 0
        upto = early.max_message_id()
        lean = [r for b in early.rows_to_index(0, upto, lean=True) for r in b]
        full = [r for b in early.rows_to_index(0, upto) for r in b]
        some = [r.id for r in full[::7]]
        assert early.rows_by_ids(some, lean=True) == [r for r in lean if r.id in set(some)]
    assert len(_packed(memory_home)) > 1000
    assert lean == [r._replace(uid="", content_hash=None) for r in full]


def test_forget_by_match_and_hard_take_packed_rows(sample, memory_home):
    """`forget --match` finds text inside packed rows, and --hard leaves none of it."""
    assert ingest_json(sample)["errors"] == 0
    uid, _, text = max(_packed(memory_home), key=lambda p: len(p[2]))
    needle = text[len(text) // 2: len(text) // 2 + 40]
    out = run("forget", "--match", needle, "--hard", "--yes", "--json").json()
    assert out["messages"] >= 1
    assert uid not in {m["uid"] for m in all_messages(memory_home)}
    _check_texts(memory_home)


def test_upgrade_keeps_old_rows_and_packs_new_ones(sample, memory_home, tmp_path):
    """A store made before migration 22: its rows stay plain and readable; rows stored after
    the upgrade are packed."""
    old = half_stored_as_before(sample, memory_home, tmp_path, 22, "DELETE FROM metadata_dicts"
                                " WHERE source_kind LIKE 'content/%'")["content"]

    out = ingest_json(sample)  # upgrades in place, then stores the other half
    assert out["errors"] == 0 and out["messages_new"] > 1000
    texts = _check_texts(memory_home)
    assert all(texts[u] == t for u, t in old.items() if u in texts)
    with sqlite3.connect(memory_home / "memory.db") as db:
        assert db.execute("SELECT count(*) FROM messages WHERE content_z IS NOT NULL"
                          " AND run_id = 1").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM messages WHERE content_z IS NOT NULL"
                          " AND run_id > 1").fetchone()[0] > 0


def test_copy_to_postgresql_and_back(sample, memory_home, pg_server, tmp_path):
    """`db copy` of a packed store to PostgreSQL stores plain text there (same digest, same
    texts), and back to a file reads the same."""
    assert ingest_json(sample)["errors"] == 0
    assert _packed(memory_home)
    before = _check_texts(memory_home)
    url = pg_server.database(empty=True)
    assert run("db", "copy", "--from", str(memory_home / "memory.db"), "--to", url,
               "--json").json()["verified"]
    back = tmp_path / "back" / "memory.db"
    assert run("db", "copy", "--from", url, "--to", str(back), "--json").json()["verified"]
    with sqlite3.connect(back) as db:
        assert db.execute("SELECT count(*) FROM messages WHERE content_z IS NOT NULL").fetchone()[0] == 0
    back_home = back.parent
    assert _check_texts(back_home) == before


@pytest.mark.usefixtures("cli_backend")
def test_resumed_session_found_through_the_narrow_uuid_index(tmp_path, memory_home, cli_backend):
    """Migration 23 indexes 8 characters of each transcript uuid (8 of its 16 bytes since
    migration 24): a resumed session still finds its parent (both backends), also one
    stored before 24 (its uuid as text), and SQLite's plan uses that index, not a scan."""
    from .test_sources import SID, SID2, make_root

    root = make_root(tmp_path / "claude")
    for path in (root / "projects").glob("*/*.jsonl"):  # real uuids: SQLite keeps their bytes
        text = path.read_text()
        for i, short in enumerate(("u1", "a1", "u2", "v1")):
            text = text.replace(f'"{short}"', f'"0000000{i}-aaaa-4bbb-8ccc-dddddddddddd"')
        path.write_text(text)
    ingest_json(root)
    assert run("show", "session", SID2, "--json").json()["parent_session_id"] == SID
    if cli_backend == "sqlite":
        with sqlite3.connect(memory_home / "memory.db") as db:
            sql_functions(db)
            plan = " ".join(str(r) for r in db.execute(
                "EXPLAIN QUERY PLAN SELECT (SELECT p.session_id FROM messages p" + LINK_PARENT
                + ") FROM sessions"))
            assert "messages_ext_prefix" in plan, plan
            assert db.execute("SELECT count(*) FROM messages WHERE session_id = uuid_bytes(?)"
                              " AND typeof(ext_id) = 'blob'", (SID,)).fetchone()[0] > 0
            db.execute(f"UPDATE messages SET ext_id = {uuid_sql('ext_id')} WHERE session_id = uuid_bytes(?)", (SID,))
            db.execute("UPDATE sessions SET parent_session_id = NULL, dirty = 1 WHERE id = ?", (SID2,))
        ingest_json(root)  # derives the dirty session again: its parent is stored as text
        assert run("show", "session", SID2, "--json").json()["parent_session_id"] == SID
