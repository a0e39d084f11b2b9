"""Shared test helpers: an isolated MEMORY_HOME per test, the settings and an opened store on
it (parametrised by backend, for the conformance suite), and the CLI run in-process or as a
real subprocess (for kill and concurrency tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from coditect_memory.cli.main import cli
from coditect_memory.settings import Settings, load_settings
from coditect_memory.store import Store, open_store

from . import reliability
from .pgserver import PgServer, PgUnavailable

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "fixtures"
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is absent")

# Every backend the `store` and `cli_backend` fixtures run the conformance suite on. The
# PostgreSQL server is started by the tests themselves (tests/pgserver.py).
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def memory_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "memory-home"
    monkeypatch.setenv("MEMORY_HOME", str(home))
    monkeypatch.delenv("MEMORY_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)  # piped output follows it: tests set their own
    return home


@pytest.fixture
def settings(memory_home) -> Settings:
    """The settings of the isolated home (its config.toml, if a test wrote one first)."""
    return load_settings(memory_home)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """This test process's PostgreSQL server (stopped at the end, also on failure). Absent
    PostgreSQL skips the PostgreSQL tests with the reason, except in CI, where it fails."""
    try:
        server = PgServer()
    except PgUnavailable as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs every test on PostgreSQL too: {e}")
        pytest.skip(str(e))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


def backend_settings(backend: str, settings: Settings, request: pytest.FixtureRequest,
                     empty: bool = False) -> Settings:
    """`settings` pointed at the store of `backend` of this test (SQLite: the file in the
    isolated home; PostgreSQL: a database of the test server made for this test, migrated
    unless `empty`)."""
    if backend == "sqlite":
        return settings
    server = request.getfixturevalue("pg_server")
    if empty:
        return replace(settings, database_url=server.database(empty=True))
    if not hasattr(request.node, "pg_url"):
        request.node.pg_url = server.database()
    return replace(settings, database_url=request.node.pg_url)


@pytest.fixture
def store(backend, settings, request) -> Iterator[Store]:
    """An opened, empty, writable Store of each backend on the isolated home."""
    with open_store(backend_settings(backend, settings, request)) as s:
        yield s


@pytest.fixture(params=BACKENDS)
def cli_backend(request, monkeypatch) -> str:
    """The test's commands run on each backend: PostgreSQL through MEMORY_DATABASE_URL naming
    a new database (the search index and backups stay in MEMORY_HOME, as for SQLite)."""
    if request.param == "postgresql":
        monkeypatch.setenv("MEMORY_DATABASE_URL", request.getfixturevalue("pg_server").database())
    return str(request.param)


@pytest.fixture(scope="module", params=BACKENDS)
def module_backend(request) -> Iterator[str]:
    """A module whose tests share one store (built by module-scoped fixtures) runs once per
    backend: on PostgreSQL, MEMORY_DATABASE_URL names a new database while the module's
    fixtures build the store, and in each test (`on_module_backend`). Yields that URL ('' on
    SQLite, the store in MEMORY_HOME)."""
    url = request.getfixturevalue("pg_server").database() if request.param == "postgresql" else ""
    with pytest.MonkeyPatch.context() as mp:
        if url:
            mp.setenv("MEMORY_DATABASE_URL", url)
        else:
            mp.delenv("MEMORY_DATABASE_URL", raising=False)
        yield url


@pytest.fixture
def on_module_backend(memory_home, module_backend, monkeypatch) -> str:
    """The module's backend in this test too (memory_home clears MEMORY_DATABASE_URL)."""
    if module_backend:
        monkeypatch.setenv("MEMORY_DATABASE_URL", module_backend)
    return module_backend


@pytest.fixture
def own_store(on_module_backend, request, monkeypatch) -> str:
    """A test of such a module that builds a store of its own: a new database on PostgreSQL."""
    if not on_module_backend:
        return ""
    url = request.getfixturevalue("pg_server").database()
    monkeypatch.setenv("MEMORY_DATABASE_URL", url)
    return url


class Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def json(self):
        return json.loads(self.stdout)


def run(*args: str, check: bool = True) -> Result:
    """Run `memory ARGS` in-process (fast), as a user would type it."""
    runner = CliRunner()
    r = runner.invoke(cli, list(args), catch_exceptions=False)
    res = Result(r.exit_code, r.stdout, r.stderr if r.stderr_bytes is not None else "")
    if check and r.exit_code != 0:
        raise AssertionError(f"memory {' '.join(args)} exited {r.exit_code}: {r.output}")
    return res


def run_proc(*args: str, env: dict | None = None, timeout: float = 120) -> Result:
    """Run the real `memory` entry point in a subprocess (exit codes, stderr, signals)."""
    p = subprocess.run([sys.executable, "-m", "coditect_memory", *args], capture_output=True,
                       text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr)


def ingest_json(root: Path | str, *extra: str) -> dict:
    return run("ingest", str(root), "--json", *extra).json()


def ingest_into(home: Path, root: Path | str) -> dict:
    """Ingest ROOT into the store at HOME: a module-scoped store shared by read-only tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MEMORY_HOME", str(home))
    try:
        return ingest_json(root)
    finally:
        mp.undo()


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "fault(name): the test is one try of this fault in "
                            "docs/reliability.md (tests/reliability.py)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    reliability.record_test(item, outcome.get_result())


def pytest_sessionstart(session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller, or a plain run
        reliability.reset()


def pytest_sessionfinish(session, exitstatus) -> None:
    """Write docs/reliability.md from this session's records: only after a whole-suite run
    that was not cut short (a partial run would shrink the figures), or when forced."""
    cfg = session.config
    if hasattr(cfg, "workerinput"):
        return
    mode = os.environ.get("MEMORY_RELIABILITY", "")
    whole = (cfg.args_source == pytest.Config.ArgsSource.TESTPATHS and not cfg.option.keyword
             and not cfg.option.markexpr and not cfg.option.maxfail
             and not cfg.getoption("lf", False) and exitstatus in (0, 1))
    rows = reliability.totals()
    if rows and mode != "off" and (mode == "write" or whole):
        reliability.write(rows)
