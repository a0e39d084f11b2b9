"""Helpers of the API tests: a sample store in a home of its own, tokens, a client on the
app in-process (FastAPI's TestClient: the real app, routes and store, no network), and a
real `memory serve` process on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from coditect_memory.actions import auth, submodules
from coditect_memory.api import create_app
from coditect_memory.sample import generate
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .conftest import ingest_into
from .s3server import MotoServer, free_port

# The sample's projects fall into these (billing-api/services/invoices is inside "work":
# the longest prefix wins).
SUBMODULES = {"work": ["/home/dev/work"], "invoices": ["/home/dev/work/billing-api/services/invoices"],
              "src": ["/home/dev/src", "/home/dev/oss"]}


def sample_home(base: Path, sessions: int = 12) -> tuple[Path, Path]:
    """A home holding the ingested sample (and its submodules), and the sample's folder."""
    root, home = base / "claude", base / "home"
    generate(root, sessions=sessions, seed=7)
    home.mkdir(parents=True, exist_ok=True)  # shared with submodule tokens (privacy levels)
    (home / "config.toml").write_text('[privacy]\ndefault_level = "TEAM"\n')
    ingest_into(home, root)
    with open_store(load_settings(home)) as store:
        for name, paths in SUBMODULES.items():
            submodules.add(store, name, paths)
    return home, root


def token(home: Path, scope: str, *subs: str, ttl: str | None = "90d") -> str:
    settings = load_settings(home)
    with open_store(settings) as store:
        return auth.issue(store, settings, f"test-{scope}", scope, list(subs), ttl).token


def client(home: Path, redis_url: str | None = None) -> TestClient:
    from dataclasses import replace

    settings = load_settings(home)
    if redis_url:
        settings = replace(settings, api=replace(settings.api, redis_url=redis_url))
    return TestClient(create_app(settings), raise_server_exceptions=False)


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


class Server:
    """`memory serve` as a real process on 127.0.0.1:<free port>."""

    def __init__(self, home: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coditect_memory", "serve", "--port", str(self.port), *args],
            env={**os.environ, "MEMORY_HOME": str(home)}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)

    def wait_healthy(self, timeout: float = 10.0) -> float:
        """Seconds until /api/v1/health answered 200."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(f"memory serve exited {self.proc.returncode}: "
                                     f"{self.proc.stderr.read() if self.proc.stderr else ''}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"no health answer within {timeout} s")

    stop = MotoServer.stop  # terminate; kill after 10 s (it only needs self.proc)


def ingest_new_prompt(home: Path, root: Path, n: int, text: str) -> None:
    """A prompt appended to one of the sample's transcripts, then a CLI ingest of it into
    HOME: a write by another door while the API serves."""
    import json

    import pytest

    from .conftest import run

    transcript = next(root.glob("projects/*/*.jsonl"))
    line = json.loads(transcript.read_text().splitlines()[-1])
    line.update(uuid=f"f00dcafe-0000-4000-8000-{n:012d}", type="user",
                message={"role": "user", "content": text})
    with transcript.open("a") as f:
        f.write(json.dumps(line) + "\n")
    mp = pytest.MonkeyPatch()
    mp.setenv("MEMORY_HOME", str(home))
    try:
        run("ingest", str(root), "--json")
    finally:
        mp.undo()
