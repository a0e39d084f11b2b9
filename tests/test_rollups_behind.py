"""A first ingest's report rollups are built on a second connection while the sessions'
facts are derived and memories extracted (store/sqlite/rollups_behind.py): they land the
same rollups as a build from nothing, a kill before they land leaves them to the next run,
and rollups written meanwhile by another writer are not overwritten with older rows."""

from __future__ import annotations

import os
import subprocess
import sys

from coditect_memory.ingest.pipeline import Ingest
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.store.sqlite import rollups
from coditect_memory.store.sqlite.rollups_behind import FirstBuild

from .conftest import run

TABLES = (*rollups.MAIN.values(), "report_sessions")


def rolled(store) -> dict[str, list[tuple]]:
    """Every rollup row, and the watermarks."""
    out = {t: sorted((tuple(r) for r in store.db.execute(f"SELECT * FROM {t}")), key=repr)
           for t in TABLES}
    out["state"] = sorted(tuple(r) for r in store.db.execute(
        "SELECT name, value FROM report_state WHERE name <> 'rolls'"))
    return out


def rebuilt(store) -> dict[str, list[tuple]]:
    """The rollups built again from nothing, in one transaction (as before this file)."""
    with store.tx() as db:
        db.execute("DELETE FROM report_state")
        rollups.refresh_in(db)
    return rolled(store)


def sample(tmp_path):
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "6")
    return root


def test_a_first_ingest_lands_the_rollups_of_a_build_from_nothing(tmp_path, memory_home, cli_backend):
    root = sample(tmp_path)
    out = run("ingest", str(root), "--json").json()
    assert out["messages_new"] > 1000
    with open_store(load_settings()) as store:
        assert store.refresh_reports() == 0  # in place when the ingest returned
        landed = rolled(store)
        assert landed["report_days"] and landed["report_names"] and landed["report_errors"]
        assert landed == rebuilt(store)


def test_a_kill_before_the_rollups_land_leaves_them_to_the_next_run(tmp_path, memory_home, cli_backend):
    root = sample(tmp_path)
    p = subprocess.run([sys.executable, "-m", "coditect_memory", "ingest", str(root), "--json"],
                       env={**os.environ, "MEMORY_FAILPOINT": "rollups-behind:read"},
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == -9, p.stderr[-2000:]
    with open_store(load_settings()) as store:
        assert rollups.watermarks(store.db) == (0, 0)  # read, never landed
        assert store.db.execute("SELECT count(*) FROM report_days").fetchone()[0] == 0
    again = run("ingest", str(root), "--json").json()
    assert again["messages_new"] == 0
    with open_store(load_settings()) as store:
        assert store.refresh_reports() == 0
        assert rolled(store) == rebuilt(store)


def test_rollups_written_meanwhile_are_not_overwritten_with_the_rows_read_before(tmp_path, store):
    """Another writer changes a row and writes the rollups after the build read the rows: the
    build refreshes them from the rows as they are, instead of landing what it read."""
    Ingest(store, load_settings(), space_check=False).run(sample(tmp_path))
    with store.tx() as db:
        db.execute("DELETE FROM report_state")
        rollups.clear(db)
    fixed = store.db.execute("SELECT min(id) FROM messages WHERE is_error = 0 AND session_id IS NOT NULL"
                             " AND ts IS NOT NULL").fetchone()[0]
    build = FirstBuild(store)
    assert build.read.wait(60)
    with store.tx() as db:  # the other writer: a row becomes an error, the rollups follow
        db.execute("UPDATE messages SET is_error = 1 WHERE id = ?", (fixed,))
        rollups.refresh_in(db)
    build.derived()
    build.wait()
    errors = {r[0] for r in store.db.execute("SELECT message_id FROM report_errors")}
    assert fixed in errors
    assert rolled(store) == rebuilt(store)
