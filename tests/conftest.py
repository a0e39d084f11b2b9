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

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "fixtures"
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is absent")

# Every backend the `store` fixture runs the conformance suite on. PostgreSQL joins when its
# backend lands: "postgresql" below, and MEMORY_TEST_DATABASE_URL naming a scratch database.
BACKENDS = ["sqlite"]


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


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


def backend_settings(backend: str, settings: Settings) -> Settings:
    """`settings` pointed at a store of `backend` (SQLite: the file in the isolated home)."""
    if backend == "sqlite":
        return settings
    url = os.environ.get("MEMORY_TEST_DATABASE_URL", "")
    if not url.startswith(backend):
        pytest.skip(f"set MEMORY_TEST_DATABASE_URL to a scratch {backend} database")
    return replace(settings, database_url=url)


@pytest.fixture
def store(backend, settings) -> Iterator[Store]:
    """An opened, empty, writable Store of each backend on the isolated home."""
    with open_store(backend_settings(backend, settings)) as s:
        yield s


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
