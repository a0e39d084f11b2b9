"""api_usage's session ids as 16 bytes on SQLite (issue 18, store size; migration 0028).
Invisible to every reader: a session's token usage is found by its id through report usage
(by session, project, day, model), the session report, the sessions list, usage over time
of a project, export and forget, on both backends; the same figures after `db copy` either
way and in a store upgraded from the version before (whose session ids the migration
converts). A comparison that missed one form would find no usage: every figure is checked
against the generator's truth, not only against itself."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from coditect_memory.sample import generate
from coditect_memory.store.sqlite.packing import uuid_sql

from .conftest import ingest_json, run, run_proc
from .test_ingest_packing import half_stored_as_before

_LOGGED = "SELECT count(*) FROM backup_changes WHERE tbl = 'api_usage'"
TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens")  # what the truth counts exactly


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    data = tmp_path_factory.mktemp("usage-sids") / "claude"
    truth = generate(data, messages=3000, seed=11)
    return data, truth


def _forms(db_path: Path) -> dict[str, int]:
    """How SQLite stores api_usage's session ids: typeof -> rows."""
    with sqlite3.connect(db_path) as db:
        return dict(db.execute("SELECT typeof(session_id), count(*) FROM api_usage GROUP BY 1").fetchall())


def figures(tmp_path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Every door's usage figures of the store the environment names (`env`: another one,
    through a process of its own)."""
    def cli(*args: str) -> Any:
        if env is None:
            return run(*args, "--json").json()
        r = run_proc(*args, "--json", env=env)
        assert r.code == 0, r.stderr
        return r.json()

    out: dict[str, Any] = {by: cli("report", "usage", "--by", by)["rows"]
                           for by in ("session", "project", "model", "day")}
    out["totals"] = cli("report", "usage")["totals"]
    sessions = cli("sessions", "--limit", "500")
    out["sessions"] = {s["session_id"]: [s[k] for k in (*TOKENS, "output_tokens")] for s in sessions}
    busiest = sorted(sessions, key=lambda s: (-s["cache_read_tokens"], s["session_id"]))[:3]
    out["models"] = {s["session_id"]: cli("report", "session", s["session_id"])["models"] for s in busiest}
    project = max(out["project"], key=lambda r: (r["cache_read_tokens"], r["project"] or ""))["project"]
    out["project_days"] = cli("report", "usage", "--by", "day", "--project", project)["rows"]
    path = tmp_path / f"export-{len(list(tmp_path.glob('export-*')))}.jsonl"
    cli("export", "-o", str(path))
    exported: dict[str, list[int]] = {}
    for line in path.read_text().splitlines():
        d = json.loads(line)
        if "session" in d:  # a session's facts come with its first line
            rows = d["session"]["usage"]  # message_id, request_id, model, ts, tokens..., sidechain
            exported[d["session_id"]] = [len(rows), *(sum(r[i] for r in rows) for i in (4, 6, 7))]
    out["export"] = exported
    return out


def against_the_truth(got: dict[str, Any], truth: dict[str, Any]) -> None:
    """The figures are the generator's: every session with responses has them, per door."""
    per = {sid: s for sid, s in truth["per_session"].items() if s.get("api_responses")}
    assert len(per) > 3
    for k in TOKENS:
        assert got["totals"][k] == truth["tokens"][k.removesuffix("_tokens")], k
    assert got["totals"]["responses"] == truth["api_responses"]
    by_session = {r["session_id"]: r for r in got["session"]}
    for sid, t in per.items():
        want = [t["api_responses"], *(t[k] for k in TOKENS)]
        assert [by_session[sid]["responses"], *(by_session[sid][k] for k in TOKENS)] == want, sid
        assert got["sessions"][sid][:3] == want[1:], sid
        assert got["export"][sid] == want, sid
    for sid, models in got["models"].items():
        assert sum(m["responses"] for m in models) == per[sid]["api_responses"], sid
    projects = defaultdict(Counter)
    for t in per.values():
        projects[t["project"]].update({k: t[k] for k in TOKENS})
    rows = {r["project"]: r for r in got["project"]}
    for path, sums in projects.items():
        assert [rows[path][k] for k in TOKENS] == [sums[k] for k in TOKENS], path
    project = max(got["project"], key=lambda r: (r["cache_read_tokens"], r["project"] or ""))["project"]
    assert sum(r["cache_read_tokens"] for r in got["project_days"]) == projects[project]["cache_read_tokens"] > 0


@pytest.mark.usefixtures("cli_backend")
def test_every_door_finds_a_sessions_usage(sample, tmp_path, memory_home, cli_backend):
    """Usage by session, project, day and model, the sessions' token totals, the session
    report's models, usage over time of one project and export are the truth's on both
    backends; forget --session takes exactly that session's usage."""
    data, truth = sample
    assert ingest_json(data)["errors"] == 0
    if cli_backend == "sqlite":
        assert set(_forms(memory_home / "memory.db")) == {"blob"}
    got = figures(tmp_path)
    against_the_truth(got, truth)
    sid, t = max(((s, t) for s, t in truth["per_session"].items() if t.get("api_responses")),
                 key=lambda kv: (kv[1]["api_responses"], kv[0]))
    assert run("forget", "--session", sid, "--yes", "--json").json()["messages"] > 0
    after = run("report", "usage", "--json").json()["totals"]
    assert after["responses"] == truth["api_responses"] - t["api_responses"]
    for k in TOKENS:
        assert after[k] == got["totals"][k] - t[k], k
    assert sid not in {r["session_id"] for r in run("report", "usage", "--by", "session", "--json").json()["rows"]}


def test_upgrade_gives_the_same_figures(sample, memory_home, tmp_path):
    """A store made before 28 (api_usage's session ids as text) with half the data is
    converted when it opens; with the rest ingested after, every usage figure is a fresh
    store's, which are the truth's."""
    data, truth = sample
    half_stored_as_before(data, memory_home, tmp_path, 28)
    assert set(_forms(memory_home / "memory.db")) == {"text"}
    assert ingest_json(data)["errors"] == 0
    assert set(_forms(memory_home / "memory.db")) == {"blob"}
    upgraded = figures(tmp_path)
    fresh = tmp_path / "fresh"
    env = {"MEMORY_HOME": str(fresh)}
    assert run_proc("ingest", str(data), "--json", env=env).code == 0
    assert upgraded == figures(tmp_path, env)
    against_the_truth(upgraded, truth)


def test_upgrade_of_a_whole_store_rolls_up_the_same(sample, memory_home, tmp_path):
    """The same data before and after the migration alone: every row's session id turned back
    into text and the report rollups made again from them after the upgrade give the same
    figures as before. On a backed-up store the conversion logs nothing row by row (its
    trigger is dropped, then made again) and the next backup is a full one that verifies."""
    data, _ = sample
    assert ingest_json(data)["errors"] == 0
    before = figures(tmp_path)
    repo = str(tmp_path / "repo")
    assert run("backup", "create", "--target", repo, "--json").json()["type"] == "full"
    with sqlite3.connect(memory_home / "memory.db") as db:
        db.execute(f"UPDATE api_usage SET session_id = {uuid_sql('session_id')}")
        db.execute("DELETE FROM schema_migrations WHERE version = 28")
        for table in ("report_days", "report_names", "report_usage", "report_errors",
                      "report_sessions", "report_state"):
            db.execute(f"DELETE FROM {table}")
    assert set(_forms(memory_home / "memory.db")) == {"text"}
    with sqlite3.connect(memory_home / "memory.db") as db:
        logged = db.execute(_LOGGED).fetchone()[0]
        assert logged > 0  # the raw UPDATE above was logged, row by row
    assert run("db", "upgrade", "--json").json()["applied_now"] == [28]
    assert set(_forms(memory_home / "memory.db")) == {"blob"}
    with sqlite3.connect(memory_home / "memory.db") as db:
        assert db.execute(_LOGGED).fetchone()[0] == logged
        assert db.execute("SELECT 1 FROM sqlite_master WHERE name = 'backup_u_api_usage'").fetchone()
    assert figures(tmp_path) == before
    made = run("backup", "create", "--target", repo, "--json").json()
    assert made["type"] == "full"
    assert run("backup", "verify", made["backup_id"], "--target", repo, "--json").json()["ok"]


def test_copy_to_postgresql_and_back(sample, memory_home, pg_server, tmp_path):
    """`db copy` to PostgreSQL gives it the text; a file copied back from it stores each
    canonical id as its 16 bytes again; the figures are the same on all three."""
    data, truth = sample
    assert ingest_json(data)["errors"] == 0
    mine = figures(tmp_path)
    url = pg_server.database(empty=True)
    assert run("db", "copy", "--from", str(memory_home / "memory.db"), "--to", url, "--json").json()["verified"]
    on_pg = figures(tmp_path, {"MEMORY_HOME": str(tmp_path / "pg"), "MEMORY_DATABASE_URL": url})
    back = tmp_path / "back" / "memory.db"
    assert run("db", "copy", "--from", url, "--to", str(back), "--json").json()["verified"]
    assert _forms(back) == _forms(memory_home / "memory.db") == {"blob": truth["api_responses"]}
    assert figures(tmp_path, {"MEMORY_HOME": str(back.parent)}) == mine == on_pg


@pytest.mark.fault("upgrade 28: killed after converting api_usage's session ids")
def test_an_upgrade_killed_midway_leaves_the_store_as_it_was(sample, memory_home, tmp_path):
    """Migration 28 runs in one transaction: killed after its UPDATE, the store is the old one
    (api_usage's session ids text, 28 not applied) and the next open upgrades it."""
    data, _ = sample
    half_stored_as_before(data, memory_home, tmp_path, 28)
    before = _forms(memory_home / "memory.db")
    killed = run_proc("db", "upgrade", env={"MEMORY_FAILPOINT": "migrate-28:converted"})
    assert killed.code == -9
    assert _forms(memory_home / "memory.db") == before == {"text": sum(before.values())}
    assert run("db", "upgrade", "--json").json()["applied_now"] == [28]
    assert set(_forms(memory_home / "memory.db")) == {"blob"}
    assert ingest_json(data)["errors"] == 0 and ingest_json(data)["messages_new"] == 0
