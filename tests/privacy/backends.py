"""What the privacy tests need to run on each backend (the `cli_backend` and `store`
fixtures): the test home's config, and on PostgreSQL, a look at every row of every table
(the store is not a file under MEMORY_HOME there)."""

from __future__ import annotations

import os
from pathlib import Path


def configure(home: Path, backend: str, text: str = "") -> None:
    """Write the test home's config.toml: `text` (the same on every backend: memories are
    extracted on both, so the leak checks cover the memories' tables too)."""
    if text:
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(text)


def db_leaks(url: str, parts: set[str]) -> list[tuple[str, str]]:
    """(table, piece) for every piece found in any value of any row of any table of the
    database at `url` (text and bytea alike, lower-cased)."""
    import psycopg

    found = []
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_type = 'BASE TABLE' ORDER BY table_name")]
        assert "messages" in tables
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - our own names
                for value in row:
                    data = (bytes(value) if isinstance(value, (bytes, memoryview))
                            else str(value).encode()).lower()
                    found += [(table, piece) for piece in parts if piece.encode() in data]
    return found


def database_url() -> str | None:
    """The PostgreSQL store the CLI uses in this test (cli_backend sets it), if any."""
    return os.environ.get("MEMORY_DATABASE_URL") or None
