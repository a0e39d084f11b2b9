"""A real PostgreSQL server for the tests: one per test process (xdist worker), on loopback.

`initdb` in a temp dir, started with `pg_ctl` on a free port (trust auth, except one role
that must give its password under scram-sha-256; fsync off: a test server), stopped at the
end of the session even when tests fail. Each test gets a database of its own, cloned from a
migrated template (`CREATE DATABASE ... TEMPLATE`: milliseconds).
As root (CI), the server runs as the `postgres` OS user, as PostgreSQL requires.

Absent PostgreSQL skips the PostgreSQL parameters with the reason, except in CI (`CI=true`),
where it is a failure: CI must run the whole suite on both backends.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PASSWORD_ROLE, PASSWORD = "memory_pw", "right-horse-battery"  # the role that needs its password


class PgUnavailable(Exception):
    """No PostgreSQL binaries on this machine (the message says what to install)."""


def bindir() -> Path:
    """Where initdb and pg_ctl are (Debian keeps them off PATH)."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        path = Path(out.stdout.strip())
        if (path / "initdb").exists():
            return path
    for found in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True):
        return found.parent
    raise PgUnavailable("PostgreSQL is not installed (apt-get install postgresql-15)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One initdb'd, running server; `database()` makes a fresh migrated database."""

    # A test server's settings: nothing is synced (a test's data need not survive a crash of
    # the machine). A benchmark passes a real server's instead (benchmarks/common.py).
    TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                     "max_connections": "200", "shared_buffers": "64MB"}

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        """`settings` replace TEST_SETTINGS' values (and add others): they are given on the
        command line, which wins over `ALTER SYSTEM`."""
        self.settings = {**self.TEST_SETTINGS, **(settings or {})}
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="memory-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.root, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                 "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        # real password authentication for one role (read before the trust lines)
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        self.start()
        self.sql(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
        self._names = itertools.count()
        self.template: str | None = None

    def _pg(self, tool: str, *args: str) -> None:
        p = subprocess.run([*self._as, str(self.bin / tool), *args], capture_output=True,
                           text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"{tool} failed: {p.stdout}{p.stderr}")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1" + "".join(
            f" -c {k}={v}" for k, v in self.settings.items())
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", opts,
                 "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, db: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(db), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def database(self, empty: bool = False) -> str:
        """The URL of a new database holding the current schema (cloned from a template), or
        nothing at all (`empty`)."""
        name = f"t_{os.getpid()}_{next(self._names)}"
        if empty:
            self.sql(f"CREATE DATABASE {name}")
            return self.url(name)
        if self.template is None:
            from coditect_memory.store.postgres.backend import PostgresStore

            self.sql("CREATE DATABASE t_template")
            PostgresStore(self.url("t_template")).close()
            self.template = "t_template"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        # a store of its own, as a database migrated from nothing would be
        self.sql("UPDATE store_meta SET value = substr(md5(random()::text), 1, 32)"
                 " WHERE key IN ('store_id', 'backup_epoch')", name)
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
