"""file-history/<session>/<hash>@v<n>: the versions of a file kept before Claude edits it."""

from __future__ import annotations

import hashlib

from .core import V2_0, Session
from .lines import Lines


class FileHistory(Lines):
    """Keeps a file's version before its first edit in a turn, and says so in the transcript."""

    def _backup(self, s: Session, file: str) -> None:
        """Before the first edit of a file in a turn: keep its content (file-history)."""
        if s.vi < V2_0 or file in s.turn_backed_up:
            return
        s.turn_backed_up.add(file)
        h, version, _, _ = s.backups.get(file, ("", 0, None, 0))
        h = h or hashlib.sha256(f"{s.sid}{file}".encode()).hexdigest()[:16]
        version += 1
        name = f"{h}@v{version}"
        data = "\n".join(s.files[file]).encode() + b"\n"
        self._write_file(f"file-history/{s.sid}/{name}", data, "file_history", s.t, s)
        s.backups[file] = (h, version, name, s.t)
        self.t_by_source["file_history"] += 1
        s.stats["messages"] += 1
        if s.prompt_uuid:
            self._snapshot(s, s.main, s.prompt_uuid, True)
