"""Shared test helpers: an isolated MEMORY_HOME per test, and the CLI run in-process or as a
real subprocess (for kill and concurrency tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from coditect_memory.cli.main import cli

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "fixtures"


@pytest.fixture(autouse=True)
def memory_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "memory-home"
    monkeypatch.setenv("MEMORY_HOME", str(home))
    monkeypatch.delenv("MEMORY_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    return home


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
