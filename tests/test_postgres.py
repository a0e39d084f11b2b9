"""What only a database server brings: connection errors, the server stopping mid-ingest,
several machines writing one database, backups and whole-store copies between backends.
(The behaviour both backends share runs on both in the other test files: `cli_backend`.)"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from coditect_memory.errors import StoreError
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.store.sqlite.backend import migrations

from .builders import conversation, processes, sid, store_state, transcript_path, write_jsonl
from .conftest import ingest_json, run, run_proc
from .pgserver import PgServer
from .reliability import record
from .test_crash_safety import kill, make_dataset, start_ingest, stored_messages
from .test_postgres_deferred import index_defs, pending


@pytest.fixture
def pg(pg_server, monkeypatch) -> str:
    """A fresh database, named by MEMORY_DATABASE_URL for this test's commands."""
    url = pg_server.database()
    monkeypatch.setenv("MEMORY_DATABASE_URL", url)
    return url


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("pg") / "claude", sessions=60)


@pytest.fixture(scope="module")
def clean(dataset, pg_server, tmp_path_factory) -> dict:
    """The store of one uninterrupted run into its own database."""
    home = tmp_path_factory.mktemp("clean-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("MEMORY_DATABASE_URL", pg_server.database())
    try:
        p = start_ingest(home, dataset)
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        return store_state(home)
    finally:
        mp.undo()


def _like_clean(home: Path, clean: dict) -> None:
    state = store_state(home)
    state["status"].pop("store")  # names another database
    for part in ("status", "messages", "sessions", "projects", "files", "facts"):
        assert state[part] == {k: v for k, v in clean[part].items() if k != "store"} \
            if part == "status" else clean[part], part
    assert run("doctor", "--json", check=False).json()["ok"]


def _recorded(fault: str, home: Path, clean: dict) -> None:
    """_like_clean, counted in the reliability table whichever way it goes."""
    ok = False
    try:
        _like_clean(home, clean)
        ok = True
    finally:
        record(fault, tries=1, failures=0 if ok else 1)


class TestConnectionErrors:
    """One line that says what to do, exit 12, no traceback."""

    @pytest.mark.parametrize("case", ["unreachable", "missing database", "unknown user"])
    def test_one_line(self, case, pg_server, monkeypatch):
        port = pg_server.port
        url = {"unreachable": "postgresql://postgres@127.0.0.1:1/memory",
               "missing database": f"postgresql://postgres@127.0.0.1:{port}/no_such_db",
               "unknown user": f"postgresql://nobody:secret@127.0.0.1:{port}/postgres"}[case]
        r = run_proc("status", env={"MEMORY_DATABASE_URL": url})
        assert r.code == 12, r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert "secret" not in r.stderr  # a password is never shown
        hint = {"unreachable": "is it running", "missing database": "createdb",
                "unknown user": "MEMORY_DATABASE_URL"}[case]
        assert hint in r.stderr

    def test_wrong_password_under_password_authentication(self, pg_server):
        """A role the server authenticates by scram-sha-256: the wrong password is one line,
        exit 12, the password masked; the right one opens the database and makes the store."""
        from .pgserver import PASSWORD, PASSWORD_ROLE

        pg_server.sql(f"CREATE DATABASE t_auth_{pg_server.port} OWNER {PASSWORD_ROLE}")
        where = f"127.0.0.1:{pg_server.port}/t_auth_{pg_server.port}"
        r = run_proc("status", env={"MEMORY_DATABASE_URL": f"postgresql://{PASSWORD_ROLE}:wrong-pass@{where}"})
        assert r.code == 12, r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert "wrong-pass" not in r.stderr and f"{PASSWORD_ROLE}:***@" in r.stderr
        assert "check the user and password" in r.stderr
        ok = run_proc("db", "upgrade", "--json",
                      env={"MEMORY_DATABASE_URL": f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@{where}"})
        assert ok.code == 0, ok.stderr
        assert PASSWORD not in ok.stdout and json.loads(ok.stdout)["pending"] == []

    @pytest.mark.parametrize("writer", [False, True], ids=["in-process", "writer-process"])
    def test_server_lost_mid_run_then_the_next_run_completes(self, pg, pg_server, dataset,
                                                             clean, memory_home, writer):
        """`pg_ctl stop -m immediate` while an ingest writes (its batches written in the
        ingest process, or by its writer process): it stops with one line; after a restart
        (crash recovery), the next run gives the store of one clean run."""
        _writes_behind(memory_home, writer)
        _stopped_mid_run(pg_server, memory_home, dataset)
        assert not processes(memory_home, b"writer_main")
        _recorded("ingest: PostgreSQL stopped (immediate) mid-run"
                  + (", writer process" if writer else ""), memory_home, clean)


def _writes_behind(home: Path, writer: bool) -> None:
    """Every run of `home` writes its batches (of 50 records) in a writer process
    (store/sqlite/behind.py), however small, or none does."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f"[ingest]\nwrite_behind_mb = {0 if writer else -1}\nbatch_size = 50\n")


def _stopped_mid_run(server: PgServer, home: Path, dataset: Path) -> None:
    """An ingest whose server stops (immediate: a crash) once rows are stored, then, after a
    restart (crash recovery), another run."""
    p = start_ingest(home, dataset)
    while p.poll() is None and stored_messages(home) == 0:
        time.sleep(0.005)
    server.stop("immediate")
    try:
        _, err = p.communicate(timeout=60)
    finally:
        server.start()
    if p.returncode != 0:  # the stop landed mid-run
        assert "Traceback" not in err and "run the command again" in err, err
        assert pending(os.environ["MEMORY_DATABASE_URL"]), "the first ingest deferred no index"
    ingest_json(dataset)
    _indexes_built(server)


def _indexes_built(server: PgServer) -> None:
    """The indexes a crash left deferred are all built by the next run, as defined."""
    url = os.environ["MEMORY_DATABASE_URL"]
    assert pending(url) == [] and index_defs(url) == index_defs(server.database())


@pytest.fixture(scope="module")
def durable_server() -> Iterator[PgServer]:
    """A server set as an operator runs one (fsync, synchronous commit, full-page writes
    on): there only the ingest's own `SET synchronous_commit = off` makes its batches'
    commits asynchronous."""
    server = PgServer({"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"})
    try:
        yield server
    finally:
        server.close()


def test_a_durable_server_stopped_mid_run_loses_only_what_the_next_run_redoes(
        durable_server, dataset, clean, memory_home, monkeypatch):
    """Ingest commits its batches with synchronous_commit off (SQLite's WAL with
    synchronous=NORMAL likewise may lose its last commits to a crash): an immediate stop
    loses the commits not yet on disk, whole, each with its files' watermarks, so the next
    run reads those files again and the store is that of one clean run."""
    monkeypatch.setenv("MEMORY_DATABASE_URL", durable_server.database())
    _stopped_mid_run(durable_server, memory_home, dataset)
    _recorded("ingest: durable PostgreSQL stopped (immediate) mid-run", memory_home, clean)


class TestKilledClient:
    @pytest.mark.parametrize("writer", [False, True], ids=["in-process", "writer-process"])
    def test_kill_9_mid_ingest_then_another_run(self, pg, pg_server, dataset, clean, memory_home,
                                                writer):
        """A killed ingest's writer process commits at most the batch it holds and exits; the
        next run stores the rest, nothing twice."""
        _writes_behind(memory_home, writer)
        p = start_ingest(memory_home, dataset)
        while p.poll() is None and stored_messages(memory_home) == 0:
            time.sleep(0.005)
        if writer:
            assert processes(memory_home, b"writer_main"), "no writer process"
        assert kill(p), "the run ended before it could be killed"
        assert pending(pg), "the first ingest deferred no index"
        deadline = time.monotonic() + 15
        while processes(memory_home, b"writer_main") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not processes(memory_home, b"writer_main"), "the writer outlived the killed ingest"
        ingest_json(dataset)
        _indexes_built(pg_server)
        _recorded("ingest: SIGKILL mid-run on PostgreSQL" + (", writer process" if writer else ""),
                  memory_home, clean)
        runs = run("runs", "--json").json()
        assert [r["status"] for r in runs] == ["completed", "interrupted"]


    def test_a_run_whose_server_process_outlived_it_is_marked_when_the_next_run_ends(
            self, pg, memory_home):
        # a killed client's server process can hold its run's lock a moment longer than the
        # client lives (until it sees the client gone): a run begun meanwhile leaves that run
        # marked running, so it looks again when it ends (doctor: "runs marked running")
        from coditect_memory.store.postgres.backend import _RUN_LOCK

        with open_store(load_settings(memory_home)) as store:
            with psycopg.connect(pg, autocommit=True) as lingering:
                gone = lingering.execute(
                    "INSERT INTO extraction_runs (started_at, status, root, format, pid)"
                    " VALUES (1, 'running', '/gone', 'claude', 1) RETURNING id").fetchone()[0]
                lingering.execute("SELECT pg_advisory_lock(%s, %s)", (_RUN_LOCK, gone))
                run_id = store.begin_run("/here", "claude")
            store.finish_run(run_id, {}, "completed")
        status = {r["run_id"]: r["status"] for r in run("runs", "--json").json()}
        assert status == {run_id: "completed", gone: "interrupted"}
        assert run("doctor", "--json", check=False).json()["ok"]

class TestSeveralWriters:
    def test_two_machines_at_once_and_readers(self, pg, tmp_path, memory_home):
        """Two ingests of different folders (two machines: two homes) into one database at
        once, a reader polling meanwhile; the transcript both folders hold is stored once."""
        shared = conversation(sid(7), 40, cwd="/home/dev/shared")
        roots = []
        for m in range(2):
            root = tmp_path / f"machine{m}"
            for s in range(25):
                write_jsonl(transcript_path(root, sid(100 * (m + 1) + s)),
                            conversation(sid(100 * (m + 1) + s), 60, cwd=f"/home/dev/p{m}"))
            write_jsonl(transcript_path(root, sid(7)), shared)
            roots.append(root)
        homes = [tmp_path / "h0", tmp_path / "h1"]
        procs = [start_ingest(h, r) for h, r in zip(homes, roots, strict=True)]
        seen = []
        while any(p.poll() is None for p in procs):
            seen.append(stored_messages(memory_home))
            time.sleep(0.01)
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            outs.append(json.loads(out))
        assert seen == sorted(seen)  # readers saw the store grow, never shrink or fail
        status = run("status", "--json").json()
        assert status["sessions"] == 51
        assert status["messages"] == 50 * 60 + 40 == sum(o["messages_new"] for o in outs)
        assert sum(o["duplicates"] for o in outs) == 40  # the shared transcript, once
        assert [r["status"] for r in run("runs", "--json").json()] == ["completed"] * 2
        for home in homes:  # each machine's keyword index finds both machines' rows
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("MEMORY_HOME", str(home))
                assert len(run("search", "please", "--json", "--limit", "100").json()["results"]) > 0
        with psycopg.connect(pg) as c:  # one keyword index state per machine, none rebuilt
            engines = [r[0] for r in c.execute("SELECT engine FROM search_state ORDER BY 1")]
        engines = [e for e in engines if not e.startswith("keyword-files:")]  # one per index
        assert len(engines) == 2 and all(e.startswith("keyword@") for e in engines)


class TestSchema:
    def test_status_pending_then_upgrade(self, pg_server, monkeypatch):
        monkeypatch.setenv("MEMORY_DATABASE_URL", pg_server.database(empty=True))
        before = run("db", "status", "--json").json()
        assert before["kind"] == "postgresql" and before["applied"] == [] and before["pending"]
        up = run("db", "upgrade", "--json").json()
        assert up["pending"] == [] and up["applied_now"] == before["pending"]
        assert up["applied"] == [m[0] for m in migrations()]  # SQLite's versions

    def test_a_store_newer_than_the_code_is_refused(self, pg):
        with psycopg.connect(pg, autocommit=True) as c:
            c.execute("INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 0)")
        r = run_proc("status")
        assert r.code == 12 and "newer version of memory" in r.stderr
        assert "Traceback" not in r.stderr


class TestBackupAndCopy:
    def test_backup_restore_and_copy_back(self, pg, pg_server, dataset, tmp_path, memory_home):
        """A full backup of a PostgreSQL store verifies and restores (as a SQLite store);
        `db copy` takes it onto a new database equal to the first; and back to a file."""
        ingest_json(dataset)
        before = run("status", "--json").json()
        repo = tmp_path / "repo"
        made = run("backup", "create", "--target", str(repo), "--json").json()
        assert made["messages"] == before["messages"]
        run("backup", "verify", made["backup_id"], "--target", str(repo), "--json")  # exit 0: ok
        restored = run("backup", "restore", made["backup_id"], "--target", str(repo), "--into",
                       str(tmp_path / "r"), "--json").json()
        assert restored["messages"] == before["messages"]
        again = pg_server.database(empty=True)
        copied = run("db", "copy", "--from", str(tmp_path / "r" / "memory.db"), "--to", again,
                      "--json").json()
        assert copied["verified"] and copied["messages"] == before["messages"]
        assert run("db", "copy", "--from", str(tmp_path / "r" / "memory.db"), "--to", again,
                   "--json").json()["verified"]  # run again: nothing to add, still equal
        with open_store(load_settings(memory_home)) as a, \
                open_store(replace(load_settings(memory_home), database_url=again)) as b:
            sa, sb = a.status(), b.status()
            for s in (sa, sb):
                s.pop("store")
            assert sa == sb
        back = tmp_path / "back" / "memory.db"
        assert run("db", "copy", "--from", again, "--to", str(back), "--json").json()["verified"]
        r = run_proc("db", "copy", "--from", again, "--to", str(back))
        assert r.code == 12 and "already exists" in r.stderr  # never overwritten

    def test_copy_into_another_store_is_refused(self, pg, dataset, pg_server, tmp_path):
        ingest_json(dataset)
        other = pg_server.database()
        src = tmp_path / "src.db"
        assert run("db", "copy", "--from", pg, "--to", str(src), "--json").json()["verified"]
        with psycopg.connect(other, autocommit=True) as c:
            c.execute("INSERT INTO extraction_runs (started_at, status, root) VALUES (1, 'completed', '/x')")
        r = run_proc("db", "copy", "--from", str(src), "--to", other)
        assert r.code == 12 and "another store" in r.stderr

    def test_copy_of_a_missing_file(self, pg, tmp_path):
        r = run_proc("db", "copy", "--from", str(tmp_path / "nope.db"), "--to", pg)
        assert r.code == 12 and "no store at" in r.stderr and "Traceback" not in r.stderr


def test_no_server_binaries_is_a_reason(monkeypatch):
    """Without PostgreSQL the tests say why they skip (and fail in CI): the finder's error."""
    from .pgserver import PgUnavailable, bindir

    monkeypatch.setenv("PATH", "/nonexistent")
    if Path("/usr/lib/postgresql").exists():
        assert bindir().name == "bin"  # found without PATH: Debian's own place
    else:
        with pytest.raises(PgUnavailable, match="apt-get install"):
            bindir()
    assert shutil.which("pg_config") is None
    assert StoreError.exit_code == 12


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sample") / "claude"
    run("sample", str(root), "--sessions", "24", "--json")
    return root


class TestSameAsSQLite:
    """The contract, checked from outside: the same folder ingested into both backends gives
    the same status, search results, reports and export."""

    def test_every_door_answers_alike(self, pg, sample, tmp_path, monkeypatch):
        def both(*args: str) -> tuple[str, str]:
            out = []
            for url in ("", pg):
                with pytest.MonkeyPatch.context() as mp:
                    mp.setenv("MEMORY_HOME", str(tmp_path / ("pg" if url else "lite")))
                    mp.setenv("MEMORY_DATABASE_URL", url)
                    out.append(run(*args).stdout)
            return out[0], out[1]

        lite, pgi = (json.loads(x) for x in both("ingest", str(sample), "--json"))
        for key in ("messages_new", "duplicates", "errors", "files_seen", "sessions_updated"):
            assert lite[key] == pgi[key], key
        a, b = (json.loads(x) for x in both("status", "--json"))
        assert a.pop("store")["kind"] == "sqlite" and b.pop("store")["kind"] == "postgresql"
        a.pop("last_run"), b.pop("last_run")
        assert a == b
        for query in ("error", "test", '"no such file"', "token refresh", "the"):
            a, b = (json.loads(x) for x in both("search", query, "--json", "--limit", "30"))
            assert [h["uid"] for h in a["results"]] == [h["uid"] for h in b["results"]], query
        for report in ("project-activity", "timeline", "component-usage", "error-analysis",
                       "usage"):
            a, b = both("report", report, "--json")
            assert a == b, report
        a, b = both("sessions", "--json", "--limit", "100")
        assert a == b
        sid_ = json.loads(a)[0]["session_id"]
        assert both("show", "session", sid_, "--json")[0] == both("show", "session", sid_, "--json")[1]
        a, b = both("export")

        def volatile(text: str) -> list[dict]:
            rows = [json.loads(x) for x in text.splitlines()][:-1]  # the trailer names ids
            for r in rows:
                for k in ("id", "run_id"):
                    r.pop(k, None)
            return rows
        assert volatile(a) == volatile(b)


def test_a_nul_in_a_message_is_stored(pg, tmp_path):
    """PostgreSQL text cannot hold NUL: the message is stored (NUL shown as U+FFFD) under the
    same identity and content hash as on SQLite, and found."""
    root = tmp_path / "claude"
    lines = conversation(sid(5), 2)
    lines[0]["message"]["content"] = "hello \u0000 nulworld"
    write_jsonl(transcript_path(root, sid(5)), lines)
    out = ingest_json(root)
    assert out["messages_new"] == 2 and out["errors"] == 0
    hits = run("search", "nulworld", "--json").json()["results"]
    assert len(hits) == 1 and "\ufffd" in run("show", "session", sid(5), "--json").stdout


def test_a_batch_partly_stored_takes_the_staging_path_in_record_order(pg):
    """Ingest COPYs a batch straight into messages; one holding a stored uid is undone and
    goes through the staging table (new rows only), as does the batch after it, then the
    straight COPY again: every batch's new rows get ids in record order, none twice."""
    from coditect_memory.store.postgres.backend import PostgresStore

    from .test_store_conformance import ROOT, conversation_batch

    store = PostgresStore(pg)
    try:
        run_id = store.begin_run(ROOT, "claude")
        batches = [conversation_batch(store, run_id, "s1", 3), conversation_batch(store, run_id, "s1", 6),
                   conversation_batch(store, run_id, "s2", 4), conversation_batch(store, run_id, "s3", 4)]
        assert [store.write_batch(b) for b in batches] == [(3, 0), (3, 3), (4, 0), (4, 0)]
        assert batches[1].new_by_file == {batches[1].files[0].file_id: 3}
        with psycopg.connect(pg) as c:
            stored = [r[0] for r in c.execute("SELECT uid FROM messages ORDER BY id")]
        assert stored == [*(f"s1/{i}" for i in range(6)), *(f"s2/{i}" for i in range(4)),
                          *(f"s3/{i}" for i in range(4))]
    finally:
        store.close()


def test_a_sum_of_a_condition_is_postgresql_own_sum():
    """`sum(condition)` runs as sum((condition)::int) (not compat.sql's per-row SQL function);
    sums of numbers, of CASE, and conditions inside a function or a quote are left alone."""
    from coditect_memory.store.postgres.dialect import translate

    assert translate("SELECT sum(size IS NOT NULL AND done >= size), sum(errors), sum((a = 1)),"
                     " sum(CASE WHEN gap <= 5 THEN gap END), sum(f(a = 1)), sum(name = 'x(y')"
                     " FROM t", False) == (
        "SELECT sum((size IS NOT NULL AND done >= size)::int), sum(errors), sum(((a = 1))::int),"
        " sum(CASE WHEN gap <= 5 THEN gap END), sum(f(a = 1)), sum((name = 'x(y')::int) FROM t")


def test_a_connection_runs_without_jit_and_with_enough_work_mem(pg):
    """The store's connections turn JIT off and raise work_mem to dialect.WORK_MEM (a first
    ingest's big statements compiled for longer than they ran; the rollups sorted on disk),
    but never lower a work_mem the server's operator set higher."""
    from coditect_memory.store.postgres.backend import PostgresStore
    from coditect_memory.store.postgres.dialect import WORK_MEM

    def settings(url: str) -> tuple[str, str]:
        store = PostgresStore(url)
        try:
            return tuple(store.db.execute(  # type: ignore[return-value]
                "SELECT current_setting('jit'), current_setting('work_mem')").fetchone())
        finally:
            store.close()

    assert settings(pg) == ("off", WORK_MEM)
    db = pg.rsplit("/", 1)[1]
    with psycopg.connect(pg, autocommit=True) as c:
        c.execute(f"ALTER DATABASE {db} SET work_mem = '512MB'")
    assert settings(pg) == ("off", "512MB")
