"""Messages' session ids as 16 bytes on SQLite (issue 18, store size; migration 0027).
Invisible to every reader: a session is found by its id, canonical uuid or not, through show,
reports, search, export and forget on both backends, after `db copy` either way, and in a store
upgraded from the version before (whose session ids the migration converts)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from coditect_memory.sample import generate
from coditect_memory.store.sqlite.packing import sql_functions

from .builders import all_messages, conversation, sid, transcript_path, write_jsonl
from .conftest import ingest_json, run, run_proc
from .test_ingest_packing import half_stored_as_before

ODD = "Imported-Session_7"  # not a canonical uuid: stored as the text it is


def _forms(db_path: Path) -> dict[str, int]:
    """How SQLite stores messages' session ids: typeof -> rows."""
    with sqlite3.connect(db_path) as db:
        return dict(db.execute("SELECT typeof(session_id), count(*) FROM messages GROUP BY 1").fetchall())


def _two_sessions(root: Path) -> tuple[str, str]:
    canonical = sid(1)
    write_jsonl(transcript_path(root, canonical), conversation(canonical, 6))
    write_jsonl(transcript_path(root, ODD), conversation(ODD, 4))
    return canonical, ODD


@pytest.mark.usefixtures("cli_backend")
def test_every_door_finds_a_session_by_its_id(tmp_path, memory_home, cli_backend):
    """A canonical uuid (16 bytes on SQLite) and an id of another form (text) read back and
    filter alike: show, the session report, search --session, the activity report, export,
    and forget --session takes exactly that session's rows."""
    canonical, odd = _two_sessions(tmp_path / "claude")
    assert ingest_json(tmp_path / "claude")["errors"] == 0
    if cli_backend == "sqlite":
        with sqlite3.connect(memory_home / "memory.db") as db:
            stored = dict(db.execute("SELECT session_id, typeof(session_id) FROM messages").fetchall())
        assert set(stored.values()) == {"blob", "text"} and stored[odd] == "text"
    for session, n in ((canonical, 6), (odd, 4)):
        shown = run("show", "session", session, "--json").json()
        assert shown["session_id"] == session and len(shown["messages"]) == n
        report = run("report", "session", session, "--format", "json").json()
        assert report["session_id"] == session and report["message_count"] == n
        assert report["prompt_count"] == n // 2 and report["duration_seconds"] == n - 1
        hits = run("search", "failing test", "--session", session, "--json").json()["results"]
        assert hits and {h["session_id"] for h in hits} == {session}
    rows = run("report", "project-activity", "--format", "json").json()["rows"]
    assert sum(r["sessions"] for r in rows) == 2 and sum(r["messages"] for r in rows) == 10
    assert {m["session_id"] for m in all_messages(memory_home)} == {canonical, odd}
    gone = run("forget", "--session", canonical, "--yes", "--json").json()
    assert gone["messages"] == 6
    assert {m["session_id"] for m in all_messages(memory_home)} == {odd}
    assert "no session row" not in run("doctor", "--json", check=False).stdout


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("sids") / "claude"
    generate(data, messages=3000, seed=5)
    return data


def test_copy_to_postgresql_and_back(sample, memory_home, pg_server, tmp_path):
    """`db copy` to PostgreSQL gives it the text; a file copied back from it stores each
    canonical id as its 16 bytes again, so its look-ups find the same sessions."""
    assert ingest_json(sample)["errors"] == 0
    sessions = {s["session_id"]: s["message_count"] for s in run("sessions", "--limit", "500", "--json").json()}
    url = pg_server.database(empty=True)
    assert run("db", "copy", "--from", str(memory_home / "memory.db"), "--to", url, "--json").json()["verified"]
    back = tmp_path / "back" / "memory.db"
    assert run("db", "copy", "--from", url, "--to", str(back), "--json").json()["verified"]
    assert set(_forms(back)) <= {"blob", "null"}
    assert _forms(back) == _forms(memory_home / "memory.db")
    with sqlite3.connect(back) as db:
        sql_functions(db)
        for session, n in list(sessions.items())[:5]:
            assert db.execute("SELECT count(*) FROM messages WHERE session_id = uuid_bytes(?)"
                              " AND deleted_at IS NULL", (session,)).fetchone()[0] >= n > 0


def test_upgrade_converts_and_ingest_keeps_one_form(sample, memory_home, tmp_path):
    """A store made before 27 (session ids as text) is converted whole when it opens: the rest
    of the data then lands in the same sessions, a second ingest stores nothing, and each
    session's counts are a fresh store's."""
    half_stored_as_before(sample, memory_home, tmp_path, 27)
    assert set(_forms(memory_home / "memory.db")) <= {"text", "null"}
    out = ingest_json(sample)
    assert out["errors"] == 0 and out["messages_new"] > 1000
    assert set(_forms(memory_home / "memory.db")) <= {"blob", "null"}
    assert ingest_json(sample)["messages_new"] == 0
    upgraded = {s["session_id"]: (s["message_count"], s["prompt_count"])
                for s in run("sessions", "--limit", "500", "--json").json()}
    fresh = tmp_path / "fresh"
    assert run_proc("ingest", str(sample), "--json", env={"MEMORY_HOME": str(fresh)}).code == 0
    made = {s["session_id"]: (s["message_count"], s["prompt_count"]) for s in run_proc(
        "sessions", "--limit", "500", "--json", env={"MEMORY_HOME": str(fresh)}).json()}
    assert upgraded == made and len(made) > 3


@pytest.mark.fault("upgrade 27: killed after converting the session ids")
def test_an_upgrade_killed_midway_leaves_the_store_as_it_was(sample, memory_home, tmp_path):
    """Migration 27 runs in one transaction: killed after its UPDATE, the store is the old one
    (session ids text, 27 not applied) and the next open upgrades it."""
    half_stored_as_before(sample, memory_home, tmp_path, 27)
    before = _forms(memory_home / "memory.db")
    killed = run_proc("db", "upgrade", env={"MEMORY_FAILPOINT": "migrate-27:converted"})
    assert killed.code == -9
    assert _forms(memory_home / "memory.db") == before and "blob" not in before
    assert run("db", "upgrade", "--json").json()["applied_now"] == [27, 28]
    assert set(_forms(memory_home / "memory.db")) <= {"blob", "null"}
    assert ingest_json(sample)["errors"] == 0 and ingest_json(sample)["messages_new"] == 0
