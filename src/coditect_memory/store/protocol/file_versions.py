"""What search asks of a store about file versions (`file-history/<session>/<hash>@v<N>`).

A file version's content is a blob, not a message's text, and its real path is only known
from the transcript's `file-history-snapshot` lines (the `file_backups` table). Search reads
both through this one method: to index a version (its path's words and its text) and to show
a hit (the path, the version, the session, the text the snippet is cut from).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import NamedTuple


class FileVersion(NamedTuple):
    """One stored file version."""

    message_id: int
    uid: str
    session_id: str | None  # the session that wrote it
    path: str | None  # the file's real path, when a transcript of the session named it
    backup: str  # the backup's name, '<hash>@v<N>'
    version: int | None  # N
    size: int  # bytes of the whole file
    text: str | None  # its first `max_bytes` as text (UTF-8, bad bytes replaced); None if binary

    def indexed_text(self) -> str:
        """What the keyword index reads: the path's words (the backup's name when no
        transcript named the path), the version, then the text (none for a binary file)."""
        return f"{self.path or self.backup} @v{self.version}\n{self.text or ''}"


# The first 100 kB of a file version are indexed (as the first 100k characters of any
# message are: search/index.py MAX_INDEXED_CHARS); the rest is kept, not indexed.
INDEXED_BYTES = 100_000


class FileVersionStore(ABC):
    @abstractmethod
    def file_versions(self, ids: Iterable[int], max_bytes: int) -> dict[int, FileVersion]:
        """The live file versions among these message ids (other ids are left out)."""

    @abstractmethod
    def file_version(self, uid: str, max_bytes: int) -> FileVersion | None:
        """The live file version of this message uid (as search results name it)."""

    @abstractmethod
    def file_version_ids(self, after_id: int, upto_id: int) -> list[int]:
        """Ids of the file versions with after_id < id <= upto_id, in order (deleted too)."""
