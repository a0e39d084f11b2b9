"""Shared by the backup tests (no tests here): a generated, ingested store made once per
module and copied into each test's MEMORY_HOME (a copy of the file is a fraction of an ingest's time)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coditect_memory.sample import generate

from .conftest import run


def build_store(base: Path, sessions: int = 12, seed: int = 7, messages: int | None = None) -> Path:
    """Generate a Claude folder under `base` and ingest it into `base/home`; returns home."""
    root = base / "claude"
    generate(root, sessions=sessions, seed=seed, messages=messages)
    home = base / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        run("ingest", str(root), "--json")
    return home


def install_store(template_home: Path, home: Path) -> None:
    """Put a copy of the template store in `home` (the test's MEMORY_HOME)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_home / "memory.db", home / "memory.db")


def more_sessions(base: Path, seed: int, sessions: int = 2) -> Path:
    """A second, different Claude folder: new sessions to ingest on top."""
    root = base / f"claude-{seed}"
    generate(root, sessions=sessions, seed=seed)
    return root


def status_at(home: Path) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        return run("status", "--json").json()
