"""Helpers of the sync tests: machines (a MEMORY_HOME each, ingested from a sample folder of
its own), a central `memory serve` process on loopback over SQLite or PostgreSQL, the CLI run
as each machine (in-process, or as a real process to kill), and the order-independent digest
of a store (stores/digest.py's sum over uid and content hash)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner

from coditect_memory.actions import auth
from coditect_memory.cli.main import cli
from coditect_memory.sample import generate
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.store.sqlite.digest import MOD, row_sum

from .api_support import Server
from .conftest import Result
from .s3server import Relay, free_port, stop_process

TEAM_CONFIG = '[privacy]\ndefault_level = "TEAM"\n[sync]\nbatch_size = {batch}\n'


def env_of(home: Path, database_url: str = "") -> dict[str, str]:
    return {"MEMORY_HOME": str(home), "MEMORY_DATABASE_URL": database_url, "MEMORY_SYNC_TOKEN": ""}


def memory(home: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> Result:
    """`memory ARGS` in-process as the machine at HOME (always on SQLite)."""
    r = CliRunner().invoke(cli, list(args), env={**env_of(home), **(env or {})},
                           catch_exceptions=False)
    res = Result(r.exit_code, r.stdout, r.stderr if r.stderr_bytes is not None else "")
    if check and r.exit_code != 0:
        raise AssertionError(f"memory {' '.join(args)} exited {r.exit_code}: {r.output}")
    return res


def memory_proc(home: Path, *args: str, env: dict[str, str] | None = None,
                timeout: float = 120) -> Result:
    """The real `memory` entry point as a process (exit codes, stderr, no traceback)."""
    p = subprocess.run([sys.executable, "-m", "coditect_memory", *args], capture_output=True,
                       text=True, env={**os.environ, **env_of(home), **(env or {})}, timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr)


def sample(base: Path, seed: int, sessions: int = 6) -> Path:
    root = base / f"claude-{seed}"
    generate(root, sessions=sessions, seed=seed)
    return root


def share(src: Path, dst: Path) -> Path:
    """One transcript of `src` also in `dst` (the same file on two machines)."""
    transcript = next(p for p in sorted(src.glob("projects/*/*.jsonl"))
                      if not p.stem.startswith("agent-"))  # named by its session id
    target = dst / transcript.relative_to(src)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(transcript, target)
    return target


def machine(base: Path, name: str, root: Path, batch: int = 500) -> Path:
    """A machine's home: TEAM level by default (so its rows may be shared) and `root` ingested."""
    home = base / name
    home.mkdir(parents=True)
    (home / "config.toml").write_text(TEAM_CONFIG.format(batch=batch))
    memory(home, "ingest", str(root), "--json")
    return home


@contextlib.contextmanager
def on_database(url: str) -> Iterator[None]:
    """MEMORY_DATABASE_URL set to `url` ('' : SQLite in the home) for this process, then back."""
    old = os.environ.get("MEMORY_DATABASE_URL")
    os.environ["MEMORY_DATABASE_URL"] = url
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MEMORY_DATABASE_URL", None)
        else:
            os.environ["MEMORY_DATABASE_URL"] = old


def hashes(home: Path, database_url: str = "") -> dict[str, str]:
    """uid -> content hash of every message of a store."""
    with on_database(database_url), open_store(load_settings(home), readonly=True) as store:
        return {d["uid"]: d["content_hash"] for d in store.export_messages()}


def digest(home: Path, database_url: str = "") -> tuple[int, str]:
    """(messages, order-independent digest over uid and content hash) of a store."""
    total, n = row_sum(hashes(home, database_url).items())
    return n, f"{total % MOD:064x}"


def uid_digest(home: Path, database_url: str = "") -> tuple[int, str]:
    """(messages, order-independent digest over the uids alone): identity, whatever masking
    a team's privacy level applied on the way."""
    total, n = row_sum((u, None) for u in hashes(home, database_url))
    return n, f"{total % MOD:064x}"


class SyncServer:
    """`memory serve` over the store at HOME (or DATABASE_URL) on a free loopback port; it
    can be stopped, killed and started again on the same port."""

    def __init__(self, home: Path, database_url: str = "") -> None:
        self.home, self.database_url = home, database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        with on_database(database_url), open_store(load_settings(home)):
            pass  # made (and migrated) before the server opens it
        self.proc: subprocess.Popen[str] | None = None

    def token(self, scope: str = "write", *subs: str, name: str = "sync") -> str:
        with on_database(self.database_url):
            settings = load_settings(self.home)
            with open_store(settings) as store:
                return auth.issue(store, settings, name, scope, list(subs), "1d").token

    def start(self, timeout: float = 20.0, env: dict[str, str] | None = None) -> SyncServer:
        """Serve (again, on the same port); `env`: e.g. a MEMORY_FAILPOINT for this run."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coditect_memory", "serve", "--port", str(self.port)],
            env={**os.environ, **env_of(self.home, self.database_url), **(env or {})},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.wait_healthy(timeout)
        return self

    wait_healthy = Server.wait_healthy  # (it only needs self.proc and self.url)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None

    def kill(self) -> None:
        """kill -9: no shutdown of any kind."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def digest(self) -> tuple[int, str]:
        return digest(self.home, self.database_url)

    def uid_digest(self) -> tuple[int, str]:
        return uid_digest(self.home, self.database_url)

    def hashes(self) -> dict[str, str]:
        return hashes(self.home, self.database_url)


class CutResponse(Relay):
    """The backup tests' relay, cutting on the way back instead: once `after` bytes of
    answers went to the client, the answer in flight is cut and the relay stops listening (a
    connection lost mid-response, then a server that does not answer)."""

    def __init__(self, upstream_port: int, after: int) -> None:
        self.after, self.down = after, 0
        super().__init__(upstream_port)

    def _pipe(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        if upstream:
            return super()._pipe(src, dst, upstream)
        try:
            while data := src.recv(65536):
                with self.lock:
                    left, self.down = self.after - self.down, self.down + len(data)
                if left < len(data):
                    dst.sendall(data[:max(0, left)])
                    self.cut()
                    return
                dst.sendall(data)
        except OSError:
            pass
