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
from ..store.base import Store
from ..store.protocol.sync_mutable import KINDS, Pushed
from .mutable import wire
from .mutable_merge import server_rule

REFUSED = "refused"  # outside the token's submodules: not stored, not an error for the rest


def _project(p: dict[str, Any], sessions: dict[str, str | None]) -> str | None:
    kind, key, value = p["kind"], p["key"], p.get("value")
    if kind == "memory":
        ident = (value or {}).get("ident") or [p.get("project")]
        return ident[0] if isinstance(ident, list) and ident else None
    if kind == "level" and key.startswith("project:"):
        return str(key.split(":", 1)[1])
    session = key.split(":", 1)[1] if kind == "level" else key
    return sessions.get(session) or p.get("project")


def _check(records: Any) -> list[dict[str, Any]]:
    """The pushed records, well-formed, or a one-line 400."""
    if not isinstance(records, list):
        raise UsageError("records: give a list of {kind, key, base, value}")
    for r in records:
        if (not isinstance(r, dict) or r.get("kind") not in KINDS or not isinstance(r.get("key"), str)
                or not r["key"] or not isinstance(r.get("base", 0), int)
                or not isinstance(r.get("value"), dict | None)):
            raise UsageError(f"a record must be {{kind: {'|'.join(KINDS)}, key, base, value}}: {str(r)[:200]}")
        if r["kind"] == "memory" and r.get("value") is not None and not isinstance(
                r["value"].get("ident"), list):
            raise UsageError("a memory's value must carry its ident [project, type, norm]")
    return records


def serve_push(store: Store, records: Any, machine: str,
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
