"""What backups and export ask of a store."""

from __future__ import annotations

from abc import ABC
from typing import Any


class DeltaUnavailable(Exception):
    """An incremental backup cannot be built on this parent; the message says why (the
    caller makes a full backup instead)."""


class BackupStore(ABC):  # noqa: B024 - methods become abstract as each concern moves here
    # --- backups (issue 4) --------------------------------------------------------------------
    def backup_snapshot(self, workdir: str):
        """A consistent, frozen view of the store for `backup create`, taken while writers go
        on: `.read(offset, n)`, `.size`, `.page_size`, `.page_count`, `.method`, `.backend`,
        `.summary()` (schema version, row counts, message digest, change position), `.close()`.

        `workdir` may hold a temp copy when the backend needs one."""
        from ...errors import UsageError

        raise UsageError(f"backups are not available on the {type(self).__name__} backend yet")

    def backup_delta(self, workdir: str, parent: dict[str, Any]):
        """What changed since the backup whose manifest is `parent`, read like a snapshot
        (`.read(offset, n)`, `.size`, `.page_size`, `.page_count`, `.summary()`, `.rows`,
        `.close()`); raises DeltaUnavailable when it cannot be built on that parent."""
        raise DeltaUnavailable(f"the {type(self).__name__} backend makes full backups only")

    def export_messages(self, project: str | None = None, since: int | None = None):
        """Every message as a plain dict (uid, source_kind, provenance, ...), oldest first,
        for `memory export`; `since` in epoch ms."""
        from ...errors import UsageError

        raise UsageError(f"export is not available on the {type(self).__name__} backend yet")
