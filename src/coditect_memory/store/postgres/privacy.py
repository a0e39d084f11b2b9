"""The privacy concern on PostgreSQL: the SQLite backend's queries (store/sqlite/privacy.py,
run through dialect.py) but for what has no portable form: the substring test of
`forget --match`, and `scrub`, which is VACUUM of the tables forget and apply write.

What "no bytes left" means on a server: the rows are deleted and VACUUM makes their space
free at once (dead tuples pruned, TOAST included); `vacuum=True` (`memory privacy apply`) is
VACUUM FULL, which rewrites those tables into new files. The server's WAL segments, its
replicas and its own backups keep the old bytes until they are recycled: that is the
operator's part (docs: README, Privacy)."""

from __future__ import annotations

from typing import Any

# Every table forget, purge and apply delete from or rewrite (content, or its derived texts).
SCRUBBED = ("messages", "sessions", "blobs", "embeddings", "report_errors", "api_usage",
            "file_backups", "ingest_errors", "privacy_held")


class PostgresPrivacy:
    """Mixed into PostgresStore, before SQLiteStore."""

    db: Any
    _contains = "strpos(m.content, ?) > 0"

    def scrub(self, vacuum: bool = False) -> None:
        """VACUUM (FULL with `vacuum`) outside any transaction, on this thread's autocommit
        connection."""
        self.db.execute(f"VACUUM {'FULL ' if vacuum else ''}{', '.join(SCRUBBED)}")
