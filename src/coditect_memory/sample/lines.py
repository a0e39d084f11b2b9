"""One transcript line: the fields every line carries, its uuid chain, its row counts."""

from __future__ import annotations

import io
from typing import Any

from .core import NL, Chain, Session, dumps, iso
from .text import Text

# orjson won't encode a lone surrogate: a text holds this mark instead, and _surrogate_line
# swaps the encoded mark for the escape once the line is JSON.
SURROGATE_MARK = "\x00LONE-SURROGATE\x00"
_SURROGATE_JSON = dumps(SURROGATE_MARK)[1:-1]


class Lines(Text):
    """Writes transcript lines and counts them as rows of their session and day."""

    def _plain(self, s: Session, c: Chain, obj: dict, ts: int | None = None) -> None:
        """A line without uuid or message (summary, titles, queue operations, PR links)."""
        c.f.write(dumps(obj, option=NL))
        if ts is not None:
            c.last_ts = ts
        if c.last_ts:
            self._rows(s, 1, c.last_ts)
        else:  # a leading summary line: no time of its own or before it
            s.rows += 1
            s.stats["transcript_messages"] += 1
            s.stats["messages"] += 1
            s.undated += 1

    def _line(self, s: Session, c: Chain, typ: str, fields: dict, rows: int = 1,
              ts: int | None = None, parent: Any = ...) -> str:
        d = c.head.copy()
        if parent is ...:
            d["parentUuid"] = c.parent
        else:
            d["parentUuid"] = parent
        d["type"] = typ
        d.update(fields)
        u = self._uuid()
        t = s.t if ts is None else ts
        d["uuid"] = u
        d["timestamp"] = iso(t)
        c.f.write(dumps(d, option=NL))
        c.parent = u
        c.last_ts = t
        self._rows(s, rows, t)
        return u

    def _user(self, s: Session, c: Chain, content: Any, rows: int = 1, extra: dict | None = None,
              parent: Any = ...) -> str:
        fields: dict[str, Any] = {"message": {"role": "user", "content": content}}
        if extra:
            fields.update(extra)
        return self._line(s, c, "user", fields, rows, parent=parent)

    def _system(self, s: Session, c: Chain, subtype: str, fields: dict, error: bool = False,
                parent: Any = ...) -> str:
        f = {"subtype": subtype, **fields}
        if error:
            s.stats["error_rows"] += 1
        return self._line(s, c, "system", f, parent=parent)

    def _progress(self, s: Session, c: Chain, data: dict, tool_use_id: str, parent_tool: str) -> None:
        self._line(s, c, "progress", {"data": data, "parentToolUseID": parent_tool,
                                      "toolUseID": tool_use_id})

    def _snapshot(self, s: Session, c: Chain, message_id: str | None, update: bool) -> None:
        """A file-history-snapshot line: which backup holds each tracked file's last version."""
        tracked = {}
        for path, (_, version, name, bt) in s.backups.items():
            tracked[path] = {"backupFileName": name, "version": version, "backupTime": iso(bt)}
        obj = {"type": "file-history-snapshot", "messageId": message_id,
               "snapshot": {"messageId": message_id, "trackedFileBackups": tracked,
                            "timestamp": iso(s.t)}, "isSnapshotUpdate": update}
        c.f.write(dumps(obj, option=NL))
        c.last_ts = s.t
        self._rows(s, 1, s.t)

    def _surrogate_line(self, s: Session, c: Chain, fields: dict) -> None:
        """A result holding a lone UTF-16 surrogate, as real files sometimes do."""
        f = c.f
        c.f = buf = io.BytesIO()
        try:
            self._line(s, c, "user", fields)
        finally:
            c.f = f
        f.write(buf.getvalue().replace(_SURROGATE_JSON, b"\\ud83d"))
