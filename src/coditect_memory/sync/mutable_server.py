"""The server's side of syncing mutable records: what `POST /api/v1/sync/mutable/push` and
`GET /api/v1/sync/mutable/pull` do (api/routes/sync_mutable.py only checks the token).

A token scoped to submodules reads and writes only records of its projects: session notes
and session levels by their session's project (the server's own knowledge of the session
first), project levels by the project, memories by theirs; a memory of no project, like a
level named by a bare project name, is for unscoped tokens only.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import UsageError
from ..settings import LEVELS
from ..store.base import Store
from ..store.protocol.sync_mutable import KINDS, Pushed
from .mutable import wire
from .mutable_merge import server_rule

REFUSED = "refused"  # outside the token's submodules: not stored, not an error for the rest


def _project(p: dict[str, Any], sessions: dict[str, str | None]) -> str | None:
    kind, key, value = p["kind"], p["key"], p.get("value")
    if kind == "memory":
        return value["ident"][0] if value else None
    if kind == "level" and key.startswith("project:"):
        return str(key.split(":", 1)[1])
    session = key.split(":", 1)[1] if kind == "level" else key
    return sessions.get(session) or p.get("project")


MAX_INT = 2**62  # what a store's integer column holds, with room


def _valid_value(kind: str, key: str, v: Any) -> bool:
    """A value of this kind as push_mutable sends it (None: absent)."""
    if v is None:
        return kind != "memory"
    if kind == "note":
        return (isinstance(v.get("title"), str | None) and isinstance(v.get("tags"), list)
                and all(isinstance(t, str) for t in v["tags"]))
    if kind == "level":
        return key.split(":", 1)[0] in ("project", "session") and v.get("level") in LEVELS
    ident = v.get("ident")
    return (isinstance(ident, list) and len(ident) == 3 and isinstance(ident[0], str | None)
            and all(isinstance(x, str) for x in ident[1:])
            and all(isinstance(v.get(f), str) for f in ("type", "text", "norm"))
            and all(isinstance(v.get(f), bool) for f in ("pinned", "deleted")))


def _check(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pushed records, well-formed, or a one-line 422 naming the first that is not."""
    for r in records:
        kind, key, base, value = r.get("kind"), r.get("key"), r.get("base", 0), r.get("value")
        if (kind not in KINDS or not isinstance(key, str) or not key or len(key) > 1000
                or not isinstance(base, int) or not 0 <= base < MAX_INT
                or not isinstance(value, dict | None) or not _valid_value(kind, key, value)):
            raise UsageError(f"a record must be {{kind: {'|'.join(KINDS)}, key, base, value}} with"
                             f" the value of its kind (docs/json-and-exit-codes.md): {str(r)[:200]}")
    return records


def serve_push(store: Store, records: list[dict[str, Any]], machine: str,
               visible: frozenset[str] | None) -> dict[str, Any]:
    """Accept or answer each pushed record (one transaction); {"results": [...]} in order."""
    records = _check(records)
    sessions = store.session_projects([r["key"].split(":", 1)[1] if r["kind"] == "level" else r["key"]
                                       for r in records if r["kind"] != "memory"])
    results: list[dict[str, Any] | None] = []
    pushed: list[Pushed] = []
    for r in records:
        project = _project(r, sessions)
        if visible is not None and project not in visible:
            results.append({"kind": r["kind"], "key": r["key"], "status": REFUSED, "revision": 0})
            continue
        results.append(None)
        pushed.append(Pushed(r["kind"], r["key"], int(r.get("base") or 0), r.get("value"), project))
    answers = iter(store.mutable_log_push(pushed, machine, server_rule, int(time.time() * 1000)))
    out = []
    for res in results:
        if res is None:
            what, c = next(answers)
            res = {"status": what, **wire(c)}
        out.append(res)
    return {"results": out}


def serve_pull(store: Store, after: int, limit: int, machine: str | None,
               visible: frozenset[str] | None) -> dict[str, Any]:
    """Central records after `after` that others made and the token may see."""
    store.mutable_log_fold(int(time.time() * 1000))  # changes made on the server itself first
    records, nxt, more = store.mutable_log_since(after, limit, machine, visible)
    return {"records": [wire(c) for c in records], "next": nxt, "more": more}
