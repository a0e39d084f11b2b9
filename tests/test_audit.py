"""The audit log: append-only and hash-chained. `audit verify` exits 0 on an intact log and
21 naming the first bad entry when any entry was edited, removed or reordered.

Every test here runs on both backends (the `store` fixture); the CLI tests point the
commands at that store (MEMORY_DATABASE_URL on PostgreSQL) and tamper from outside the
product (sqlite3 on the file, psycopg on the server)."""

from __future__ import annotations

import sqlite3

import pytest

from coditect_memory.privacy import audit
from coditect_memory.privacy.audit import AuditTampered

from .conftest import run, run_proc


@pytest.fixture
def logged(store):
    for i in range(5):
        audit.record(store, "export", target=f"project-{i}", reason="test", detail={"n": i})
    return store


def _cli_on(store, monkeypatch) -> None:
    """The CLI of this test uses `store` (closed first: the commands open their own)."""
    store.close()
    if store.kind == "postgresql":
        monkeypatch.setenv("MEMORY_DATABASE_URL", store.url)


def _tamper_outside(store, memory_home, sql: str) -> None:
    """Run `sql` with the database's own client, as someone editing the store by hand."""
    if store.kind == "postgresql":
        import psycopg

        with psycopg.connect(store.url, autocommit=True) as conn:
            conn.execute(sql)
        return
    db = sqlite3.connect(memory_home / "memory.db")
    db.execute(sql)
    db.commit()
    db.close()


def test_intact_chain_verifies(logged):
    v = audit.verify(logged)
    assert v.ok and v.entries == 5
    rows = logged.audit_rows()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS and rows[1].prev_hash == rows[0].hash


@pytest.mark.fault("audit: an entry edited, removed or moved ({bad})")
@pytest.mark.parametrize("tamper, bad", [
    ("UPDATE audit_log SET reason = 'other' WHERE seq = 3", 3),            # edited
    ("UPDATE audit_log SET detail = '{\"n\":9}' WHERE seq = 2", 2),        # edited detail
    ("DELETE FROM audit_log WHERE seq = 4", 5),                            # removed
    ("UPDATE audit_log SET seq = seq + 100 WHERE seq = 2", 3),             # moved (reordered)
])
def test_tampering_is_named(logged, tamper, bad):
    with logged.tx() as db:
        db.execute(tamper)
    v = audit.verify(logged)
    assert not v.ok and v.first_bad == bad


@pytest.mark.fault("audit: two entries swapped")
def test_reorder_of_two_entries_is_found(logged):
    rows = logged.audit_rows()
    a, b = rows[1], rows[2]
    with logged.tx() as db:  # swap the contents of entries 2 and 3, hashes and all
        for r, seq in ((a, 1002), (b, 1003)):
            db.execute("UPDATE audit_log SET seq = ? WHERE seq = ?", (seq, r.seq))
        db.execute("UPDATE audit_log SET seq = 3 WHERE seq = 1002")
        db.execute("UPDATE audit_log SET seq = 2 WHERE seq = 1003")
    v = audit.verify(logged)
    assert not v.ok and v.first_bad == 2


def test_removing_the_last_entries_is_not_found_without_the_pinned_hash(logged):
    """What a chain cannot see (documented): the tail cut off. The last hash, copied
    elsewhere, shows it: verify's last_hash differs from the pinned one."""
    pinned = audit.verify(logged).last_hash
    with logged.tx() as db:
        db.execute("DELETE FROM audit_log WHERE seq = 5")
    assert audit.verify(logged).last_hash != pinned


def test_retention_keeps_the_chain_verifiable(logged):
    with logged.tx() as db:
        db.execute("UPDATE audit_log SET at = 0 WHERE seq <= 2")  # very old
    # the edit above broke entries 1-2; dropping them leaves an anchored, intact chain
    assert audit.prune(logged, retention_days=1) == 2
    v = audit.verify(logged)
    assert v.ok and v.entries == 3 and logged.audit_anchor()[0] == 2


def test_cli_verify_exit_codes(logged, memory_home, monkeypatch):
    _cli_on(logged, monkeypatch)
    ok = run("audit", "verify", "--json").json()
    assert ok["ok"] is True and ok["entries"] == 5
    listed = run("audit", "list", "--json").json()
    assert len(listed["entries"]) == 5 and listed["last_hash"] == ok["last_hash"]
    _tamper_outside(logged, memory_home, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
    p = run_proc("audit", "verify")
    assert p.code == AuditTampered.exit_code == 21
    assert "entry 2" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_audit_list_since(logged, monkeypatch):
    _cli_on(logged, monkeypatch)
    assert run("audit", "list", "--since", "2999-01-01", "--json").json()["entries"] == []


def test_backups_restores_and_exports_are_in_the_log(tmp_path, memory_home, cli_backend):
    """backup create, backup verify, restore and export each write one entry (ids and counts,
    never content). A backup and its check do not write to the store they copy (an unchanged
    store still gives an empty incremental): their entries wait beside it, are listed
    `pending`, and join the chain, in order, with the next entry written; tampering with the
    chain is still found."""
    from .conftest import ingest_json
    from .privacy.backends import configure

    configure(memory_home, cli_backend)
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "2")
    ingest_json(root)
    target = str(tmp_path / "backups")
    first = run("backup", "create", "--target", target, "--json").json()
    same = run("backup", "create", "--target", target, "--json").json()
    assert same["type"] == "incremental"
    if cli_backend == "sqlite":  # (PostgreSQL's incrementals copy the three rollup tables whole)
        assert same["rows_stored"] == 0  # the first backup's entry did not change the store  # the first backup's entry did not change the store
    run("backup", "verify", first["backup_id"], "--target", target)
    entries = run("audit", "list", "--json").json()["entries"]
    waiting = [e for e in entries if e.get("pending")]
    assert [e["action"] for e in waiting] == ["backup", "backup", "backup.verify"]
    assert waiting[0]["detail"]["backup_id"] == first["backup_id"] and waiting[0]["hash"] is None
    assert waiting[0]["detail"]["messages"] == first["messages"]
    run("export", "-o", str(tmp_path / "out.jsonl"))
    run("backup", "restore", first["backup_id"], "--target", target, "--into",
        str(tmp_path / "restored"))
    entries = run("audit", "list", "--json").json()["entries"]
    assert not any(e.get("pending") for e in entries)
    assert [e["action"] for e in entries] == ["backup", "backup", "backup.verify", "export",
                                              "restore"]
    assert all(e["hash"] and e["actor"] for e in entries)
    assert entries[-1]["detail"]["messages"] == first["messages"]
    assert run_proc("audit", "verify").code == 0
    details = {k for e in entries for k in (e["detail"] or {})}
    assert details <= {"backup_id", "type", "messages", "rows_stored", "objects_written", "ok",
                       "objects", "problems", "deep", "into"}  # ids and counts, never content


def test_token_mint_and_revoke_are_in_the_log(logged, memory_home):
    """Who was given access, and when it was taken back: the token's id, name, scope and
    submodules, never the token itself."""
    from coditect_memory.actions import auth
    from coditect_memory.settings import load_settings

    issued = auth.issue(logged, load_settings(memory_home), "ci-bot", "read", [], "1d")
    auth.revoke(logged, issued.row["id"])
    last = logged.audit_rows()[-2:]
    assert [(r.action, r.target) for r in last] == [("token.mint", issued.row["id"]),
                                                    ("token.revoke", issued.row["id"])]
    assert '"scope":"read"' in (last[0].detail or "") and issued.token not in str(last)
    assert audit.verify(logged).ok


def test_api_reads_are_in_the_log_by_token_never_their_content(tmp_path, memory_home, cli_backend):
    """A token reading a session or searching through the REST API is logged (who: the
    token's name and submodule; what: the session id, the query's sha256 — never the query or
    the content); the entries wait beside the store and join the chain with the next one."""
    import hashlib

    from .api_support import bearer, client, token
    from .conftest import ingest_json
    from .privacy.backends import configure

    configure(memory_home, cli_backend)
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "2")
    ingest_json(root)
    sid = run("sessions", "--json").json()[0]["session_id"]
    c, reader = client(memory_home), token(memory_home, "read")
    query = "qzsecretquestionwombat"
    assert c.get(f"/api/v1/sessions/{sid}", headers=bearer(reader)).status_code == 200
    assert c.get("/api/v1/search", params={"q": query}, headers=bearer(reader)).status_code == 200
    assert c.get("/api/v1/sessions/nosuchsession", headers=bearer(reader)).status_code == 404
    reads = [e for e in run("audit", "list", "--json").json()["entries"]
             if e["action"] in ("session.read", "search")]
    assert [(e["action"], e["target"], e.get("pending")) for e in reads] == [
        ("session.read", sid, True), ("search", None, True)]
    assert all(e["actor"].startswith("token:") for e in reads)
    assert reads[1]["detail"] == {"query_sha256": hashlib.sha256(query.encode()).hexdigest()}
    assert query not in (memory_home / audit.PENDING).read_text()
    run("export", "-o", str(tmp_path / "out.jsonl"))  # the next entry written chains them
    entries = run("audit", "list", "--json").json()["entries"]
    assert [e["action"] for e in entries][-3:] == ["session.read", "search", "export"]
    assert not any(e.get("pending") for e in entries)
    assert run_proc("audit", "verify").code == 0


def test_an_entry_deferred_while_others_are_chained_is_kept(store, tmp_path):
    """A token's read appended while `record` chains the waiting entries goes to a new pending
    file, not into the one being deleted; a pending file left by a process that died is
    chained too."""
    home = tmp_path / "home"
    audit.defer(home, "api.search", "first")
    (home / f"{audit.PENDING}.999999999.taking").write_bytes(  # no such process
        b'{"action":"api.search","actor":"token:t","at":1,"detail":null,"target":"orphan"}\n')
    append = store.audit_append

    def append_while_a_read_arrives(make):  # the API writes between two chained entries
        if not (home / audit.PENDING).exists():
            audit.api_read(home, "t", None, "api.search", "during", "q")
        return append(make)

    store.audit_append = append_while_a_read_arrives
    audit.record(store, "export", "now", home=home)
    store.audit_append = append
    assert [e["target"] for e in audit.pending(home)] == ["during"]
    audit.record(store, "export", "later", home=home)
    assert audit.pending(home) == []
    assert not list(home.glob("*.taking"))
    assert sorted(r.target for r in store.audit_rows()) == ["during", "first", "later", "now", "orphan"]
    assert audit.verify(store).ok


def test_level_changes_and_revokes_chain_waiting_entries_first(store, tmp_path, settings):
    """A privacy level set or a token revoked after an API read: the read comes first in the
    chain, as it came first in time."""
    from coditect_memory.actions import auth
    from coditect_memory.actions.privacy import set_level

    home = tmp_path / "home"
    audit.api_read(home, "t", None, "api.search", "before-level", "q")
    set_level(store, "project", "alpha", "TEAM", home=home)
    audit.api_read(home, "t", None, "api.search", "before-revoke", "q")
    token = auth.issue(store, settings, "x", "read", ttl="1d")
    auth.revoke(store, token.row["id"], home=home)
    actions = [(r.action, r.target) for r in store.audit_rows()]
    assert actions.index(("api.search", "before-level")) < actions.index(("privacy.set", "project:alpha"))
    assert actions.index(("api.search", "before-revoke")) < actions.index(("token.revoke", token.row["id"]))
    assert audit.pending(home) == [] and audit.verify(store).ok
