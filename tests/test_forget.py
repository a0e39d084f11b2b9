"""`memory forget`: soft hides at once from search, show, sessions, reports and export, and a
re-ingest does not bring the rows back; --hard leaves none of their bytes under MEMORY_HOME;
a restore of an older backup does not bring them back; the audit log has the forget.

Every test here runs on both backends (`cli_backend`); on PostgreSQL "no bytes left" is
checked on every file under MEMORY_HOME and every row of every table (the server's own files,
WAL and replicas are the operator's: README, Privacy)."""

from __future__ import annotations

import contextlib
import json
import shutil

import pytest

from coditect_memory.errors import MemoryError_, NotFound

from .conftest import run
from .privacy.backends import configure
from .test_privacy_contract import leaks, stored_leaks

MARKER = "zqxwvfjordmarkerlemniscate"


@pytest.fixture
def sample(tmp_path, memory_home, cli_backend):
    configure(memory_home, cli_backend)
    return make_sample(tmp_path)


def make_sample(tmp_path):
    """A sample ~/.claude ingested, MARKER in one prompt: (its root, that session)."""
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "4")
    path = sorted((root / "projects").rglob("*.jsonl"), key=lambda p: -p.stat().st_size)[0]
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        obj = json.loads(line)
        if obj.get("type") == "user" and isinstance(obj["message"].get("content"), str):
            obj["message"]["content"] += f" {MARKER}"
            lines[i] = json.dumps(obj)
            break
    path.write_text("\n".join(lines) + "\n")
    run("ingest", str(root))
    hits = run("search", MARKER, "--json").json()["results"]
    return root, hits[0]["session_id"]


def shown(session: str) -> int:
    try:
        return run("show", "session", session, "--json", check=False).code
    except NotFound as e:
        return e.exit_code


def visible(session: str) -> dict:
    return {
        "search": run("search", MARKER, "--json").json()["total"],
        "show": shown(session),
        "sessions": session in run("sessions", "--json").stdout,
        "export": session in run("export").stdout,
    }


def test_soft_forget_hides_everywhere_and_stays_forgotten(sample):
    root, session = sample
    assert visible(session) == {"search": 1, "show": 0, "sessions": True, "export": True}
    out = run("forget", "--session", session, "--yes", "--reason", "user request", "--json").json()
    assert out["messages"] > 0 and out["sessions"] == 1 and out["hard"] is False
    gone = visible(session)
    assert gone["search"] == 0 and gone["show"] != 0 and not gone["sessions"] and not gone["export"]
    report = run("report", "activity", "--json", check=False).stdout
    assert session not in report
    # the same lines read again (a changed first line forces a re-read) do not come back
    for path in (root / "projects").rglob("*.jsonl"):
        path.write_text("\n" + path.read_text())
    again = run("ingest", str(root), "--json").json()
    assert again["messages_read"] > 0 and again["messages_new"] == 0
    assert visible(session)["search"] == 0
    entries = run("audit", "list", "--json").json()["entries"]
    forgets = [e for e in entries if e["action"] == "forget"]
    assert len(forgets) == 1 and forgets[0]["reason"] == "user request"
    assert forgets[0]["detail"]["messages"] == out["messages"]
    assert MARKER not in json.dumps(entries)
    run("audit", "verify")


def test_hard_forget_leaves_no_bytes(sample, memory_home):
    _, session = sample
    assert stored_leaks(memory_home, {MARKER})  # it is there before
    run("forget", "--session", session, "--yes", "--hard")
    assert stored_leaks(memory_home, {MARKER}) == []
    assert run("search", MARKER, "--json").json()["total"] == 0


def index_terms(home) -> list[tuple[str, int]]:
    """MARKER's terms in the keyword index's term dictionary: a deleted document's terms stay
    there until its segment is gone (Tantivy compresses the dictionary, so a byte search of
    its files would not see them)."""
    from coditect_memory.search.index import KeywordIndex

    [path] = (home / "index").glob("keyword-*")
    return KeywordIndex(path).searcher().terms_with_prefix("text", MARKER[:10])


@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
def test_the_index_never_returns_a_forgotten_row(sample, memory_home, hard):
    """Soft: the documents are deleted by id at once. Hard: the segments that held them are
    rewritten (no rebuild: the same index stays), so their terms are gone from it."""
    _, session = sample
    before = sorted((memory_home / "index").glob("keyword-*"))
    assert run("search", MARKER, "--json").json()["total"] == 1 and index_terms(memory_home)
    run("forget", "--session", session, "--yes", *(["--hard"] if hard else []))
    assert run("search", MARKER, "--json").json()["total"] == 0
    assert run("search", MARKER[:10] + "*", "--json").json()["total"] == 0
    assert sorted((memory_home / "index").glob("keyword-*")) == before
    assert bool(index_terms(memory_home)) is not hard
    others = run("search", "the", "--json").json()
    assert others["total"] > 0 and all(r["session_id"] != session for r in others["results"])


@pytest.mark.fault("disk full: forget --hard, the index rewrite after the rows are purged")
def test_an_index_write_failing_after_the_purge_is_one_line_and_repairable(
        tmp_path, memory_home, cli_backend):
    """The rows are purged, then the keyword index (on a full tmpfs) cannot be rewritten: one
    line saying what to run; the store is consistent (forgotten, audited, nothing left to
    purge); `memory index --rebuild` with space again leaves no word of the forgotten rows."""
    from .conftest import run_proc
    from .test_disk_full import Tmpfs, one_line_error

    if shutil.which("mount") is None:
        pytest.skip("no `mount` command: cannot make a small disk to fill")
    configure(memory_home, cli_backend)
    fs = Tmpfs(memory_home / "index", 64 << 10)  # the keyword index on a disk of its own
    try:
        _, session = make_sample(tmp_path)
        run("forget", "--session", session, "--yes")
        with open(fs.path / "filler", "wb", buffering=0) as f, contextlib.suppress(OSError):
            while True:  # fill the index's disk
                f.write(b"\0" * (1 << 16))
                f.flush()
        r = run_proc("privacy", "purge", "--all")
        one_line_error(r, "memory index --rebuild", "forgotten rows are deleted")
        assert shown(session) == NotFound.exit_code
        assert run("search", MARKER, "--json").json()["total"] == 0
        assert run("privacy", "purge", "--all", "--json").json()["rows"] == 0
        assert any(e["action"] == "forget" for e in run("audit", "list", "--json").json()["entries"])
        run("audit", "verify")
        (fs.path / "filler").unlink()
        run("index", "--rebuild")
        assert stored_leaks(memory_home, {MARKER}) == [] and index_terms(memory_home) == []
        assert run("search", MARKER, "--json").json()["total"] == 0
        assert run("search", "the", "--json").json()["total"] > 0
    finally:
        fs.umount()


def test_match_forget_keeps_the_rest_of_the_session(sample):
    _, session = sample
    before = run("show", "session", session, "--json").json()
    run("forget", "--match", MARKER, "--yes")
    after = run("show", "session", session, "--json").json()
    n_before = len(before["messages"]) if "messages" in before else before["session"]["message_count"]
    n_after = len(after["messages"]) if "messages" in after else after["session"]["message_count"]
    assert n_after == n_before - 1
    entries = run("audit", "list", "--json").json()["entries"]
    assert MARKER not in json.dumps(entries)  # only the text's sha256 is recorded


def test_restore_of_an_older_backup_does_not_bring_it_back(sample, tmp_path, memory_home):
    """A restore writes a SQLite store (a PostgreSQL store's backups are SQLite images): it
    honours the tombstones of the repository and of the store in use, on either backend."""
    _, session = sample
    target = tmp_path / "backups"
    made = run("backup", "create", "--target", str(target), "--json").json()
    run("forget", "--session", session, "--yes", "--hard")
    into = tmp_path / "restored"
    run("backup", "restore", made["backup_id"], "--target", str(target), "--into", str(into))
    assert leaks(into, {MARKER}) == []
    assert any(e["action"] == "restore" for e in run("audit", "list", "--json").json()["entries"])
    mp = pytest.MonkeyPatch()
    mp.setenv("MEMORY_HOME", str(into))
    mp.delenv("MEMORY_DATABASE_URL", raising=False)
    try:
        assert run("search", MARKER, "--json").json()["total"] == 0
        assert session not in run("sessions", "--json").stdout
    finally:
        mp.undo()
    # and in place (--replace) too
    run("backup", "restore", made["backup_id"], "--target", str(target), "--into",
        str(memory_home), "--replace")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MEMORY_DATABASE_URL", raising=False)  # the SQLite store just written
        assert run("search", MARKER, "--json").json()["total"] == 0
        assert leaks(memory_home, {MARKER}) == []


def test_forget_needs_a_filter_and_confirmation(sample):
    for args, code, words in ((("forget",), 2, "say what to forget"),
                              (("forget", "--session", sample[1]), 2, "pass --yes"),
                              (("forget", "--session", "no-such", "--yes"), 4, "nothing matches")):
        with pytest.raises(MemoryError_) as e:
            run(*args, check=False)
        assert e.value.exit_code == code and words in str(e.value)


def test_purge_after_days(sample, memory_home):
    _, session = sample
    run("forget", "--session", session, "--yes")
    assert stored_leaks(memory_home, {MARKER})  # held
    assert run("privacy", "purge", "--json").json()["rows"] == 0  # not due yet
    assert run("privacy", "purge", "--all", "--json").json()["rows"] > 0
    assert stored_leaks(memory_home, {MARKER}) == []



def test_project_and_before_filters(sample):
    sessions = run("sessions", "--json").json()
    project = next(s["project"] for s in sessions if s["project"])
    n_project = sum(s["message_count"] for s in sessions if s["project"] == project)
    out = run("forget", "--project", project, "--yes", "--json").json()
    assert out["messages"] >= n_project > 0
    assert all(s["project"] != project for s in run("sessions", "--json").json())
    before = run("forget", "--before", "2100-01-01", "--yes", "--json").json()
    assert before["messages"] > 0
    left = run("export").stdout.splitlines()[:-1]  # the last line is the trailer
    assert left and all(json.loads(line).get("timestamp") is None for line in left), \
        "only rows without a time are left: they are before no date"
    run("audit", "verify")


def test_the_store_forgets_by_match_and_by_tombstones_carried_in(store):
    """The Store methods under forget and restore, on each backend (`store`): a --match
    forget takes only the rows holding the text (PostgreSQL: strpos), and tombstones carried
    in (a restore, later sync) remove their rows at once and are kept for the next ingest."""
    from coditect_memory.store.protocol.privacy import ForgetSelector

    from .test_store_conformance import ROOT, conversation_batch

    run_id = store.begin_run(ROOT, "claude")
    for session, lines in (("s-1", 6), ("s-2", 4)):
        store.write_batch(conversation_batch(store, run_id, session, lines))
    store.finish_run(run_id, {}, "completed")
    store.derive_sessions()
    sel = ForgetSelector(match="fix test 2")  # "please fix test 2" of each session
    plan = store.forget_plan(sel)
    assert plan.messages == 2 and plan.sessions == ["s-1", "s-2"] and plan.whole_sessions == []
    done = store.forget(sel, "{}", "test", 1, 2)
    assert done.messages == 2 and done.forget_id > 0
    assert store.add_tombstones(["s-1/3", "s-2/0", "s-2/1", "s-2/3", "elsewhere/9"], 3) == 4
    assert {"s-1/2", "s-2/2", "s-1/3", "elsewhere/9"} <= store.tombstoned()
    assert store.session("s-1")["message_count"] == 4 and store.session("s-2") is None
    assert store.purge_forgotten(None) == 2  # the two held rows, then scrub (VACUUM on PostgreSQL)
    assert store.forget_plan(ForgetSelector(match="fix test 2")).messages == 0


def test_rows_with_packed_metadata_are_forgotten(store):
    """A row whose metadata is packed (bytes, migration 0016: every row of a kind once 4,000
    have been seen) is held and purged like any other (it once failed with a traceback)."""
    from coditect_memory.store.protocol.privacy import ForgetSelector

    from .test_store_conformance import ROOT, conversation_batch

    run_id = store.begin_run(ROOT, "claude")
    store.write_batch(conversation_batch(store, run_id, "s-1", 4))
    store.finish_run(run_id, {}, "completed")
    store.derive_sessions()
    with store.tx() as db:
        db.execute("UPDATE messages SET metadata_z = ? WHERE session_id = 's-1'", (b"\x28\xb5\x2f\xfd",))
    done = store.forget(ForgetSelector(sessions=("s-1",)), "{}", None, 1, 2)
    assert done.messages == 4 and store.session("s-1") is None
    assert store.purge_forgotten(None) == 5  # the four rows and their session


def test_the_api_forgets_a_session_the_same_way(sample, memory_home):
    """`DELETE /api/v1/sessions/{id}?gdpr_request=true` is `memory forget --session ID`: an
    admin token, a confirmation, then gone from every read; audited under the token's name."""
    from .api_support import bearer, client, token

    _, session = sample
    c = client(memory_home)
    admin, write = token(memory_home, "admin"), token(memory_home, "write")
    assert c.delete(f"/api/v1/sessions/{session}", headers=bearer(write),
                    params={"gdpr_request": "true"}).status_code == 403
    r = c.delete(f"/api/v1/sessions/{session}", headers=bearer(admin))
    assert r.status_code == 422 and "gdpr_request=true" in r.json()["error"]["message"]
    assert visible(session)["search"] == 1
    r = c.delete(f"/api/v1/sessions/{session}", headers=bearer(admin),
                 params={"gdpr_request": "true", "reason": "user asked"})
    assert r.status_code == 200 and r.json()["sessions"] == 1 and r.json()["messages"] > 0, r.text
    assert c.get(f"/api/v1/sessions/{session}", headers=bearer(admin)).status_code == 404
    assert visible(session) == {"search": 0, "show": 4, "sessions": False, "export": False}
    entries = run("audit", "list", "--json").json()["entries"]
    last = [e for e in entries if e["action"] == "forget"][-1]
    assert last["actor"].startswith("token:") and last["reason"] == "user asked"


def test_a_forget_leaves_the_rollups_a_full_rebuild_would_make(store):
    """Forget re-rolls only the sessions it touched (their ids inline, so both planners use
    the session index); the report rollups must equal a rebuild from scratch, on each backend."""
    from coditect_memory.store.protocol.privacy import ForgetSelector

    from .test_store_conformance import ROOT, conversation_batch

    run_id = store.begin_run(ROOT, "claude")
    for session, lines in (("s-1", 8), ("s-2", 6), ("s-3", 4)):
        store.write_batch(conversation_batch(store, run_id, session, lines))
    store.finish_run(run_id, {}, "completed")
    store.derive_sessions()
    store.refresh_reports()

    def rollups() -> dict[str, list]:
        return {t: sorted(repr(tuple(r)) for r in store.db.execute(f"SELECT * FROM {t}").fetchall())
                for t in ("report_days", "report_names", "report_usage", "report_errors")}

    had = rollups()
    store.forget(ForgetSelector(sessions=("s-1",)), "{}", None, 1, 2)
    store.forget(ForgetSelector(match="fix test 2"), "{}", None, 1, 2)  # a row of s-2 and s-3
    after = rollups()
    assert after != had and not any("'s-1'" in r for rows in after.values() for r in rows)
    with store.tx() as db:
        db.execute("DELETE FROM report_state")  # the next refresh builds every rollup again
    store.refresh_reports()
    assert rollups() == after


def _segments(home) -> list[str]:
    [path] = (home / "index").glob("keyword-*")
    return [s["segment_id"] for s in json.loads((path / "meta.json").read_text())["segments"]]


def _index_again(ids: list[int]) -> None:
    """What ingest does to the older rows of a session that grew: index them again (their
    old documents deleted, new ones in a new segment)."""
    from coditect_memory.search import indexer
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    settings = load_settings()
    with open_store(settings, create=False) as store:
        assert indexer.reindex(store, settings.search.index_dir, ids) > 0


def _ids(session: str) -> list[int]:
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    with open_store(load_settings(), readonly=True) as store:
        return sorted(store.message_ids_in_sessions([session], 10**12))


def test_hard_forget_rewrites_only_the_segments_that_held_it(sample, memory_home):
    """Deletes elsewhere (another session indexed again) do not make a hard forget rewrite
    their segments: only the ones holding the forgotten documents go."""
    _, session = sample
    [first] = _segments(memory_home)
    other = next(s["session_id"] for s in run("sessions", "--json").json() if s["session_id"] != session)
    ids = _ids(other)
    _index_again(ids)
    _index_again(ids[:len(ids) // 2])  # the second segment now holds deleted documents too
    first_, second, third = _segments(memory_home)
    assert first_ == first
    run("forget", "--session", session, "--yes", "--hard")
    left = _segments(memory_home)
    assert first not in left and second in left and third in left
    assert index_terms(memory_home) == [] and run("search", MARKER, "--json").json()["total"] == 0


def test_hard_forget_finds_older_copies_of_its_documents(sample, memory_home):
    """The forgotten session's rows were indexed again (it grew): their older, deleted
    copies in the first segment hold the same words, and go too."""
    _, session = sample
    [first] = _segments(memory_home)
    _index_again(_ids(session))
    assert len(_segments(memory_home)) == 2
    run("forget", "--session", session, "--yes", "--hard")
    assert first not in _segments(memory_home)
    assert index_terms(memory_home) == [] and stored_leaks(memory_home, {MARKER}) == []


def test_hard_forget_keeps_another_forgets_schedule(sample, memory_home):
    """--hard purges its own rows at once; a soft forget made before keeps its purge date."""
    _, session = sample
    sessions = [s["session_id"] for s in run("sessions", "--json").json()]
    other = next(s for s in sessions if s != session)
    run("forget", "--session", other, "--yes")
    run("forget", "--session", session, "--yes", "--hard")
    assert stored_leaks(memory_home, {MARKER}) == []
    assert run("privacy", "purge", "--all", "--json").json()["rows"] > 0  # the soft one's, still held
