"""`memory context` (and the SessionStart hook, the MCP `context` tool): the pack for a
project, and `memory context diff`: what changed since the pack before."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..context.pack import Item, Pack, assemble, memory_items, now_ms, pack_id, score, words
from ..context.tokens import TokenCounter
from ..errors import NotFound, UsageError
from ..privacy.levels import agent_shield
from ..settings import Settings
from ..store.base import Store
from ..store.protocol.memories import MemoryFilter
from ..timeutil import parse_ts

__all__ = ["ContextRequest", "DiffResult", "Pack", "context", "diff", "resolve_project"]

EXCERPTS = 6
SESSIONS = 3
CANDIDATES = 250  # the most important memories ranked for a pack (a 4k pack holds ~100)


@dataclass
class ContextRequest:
    project: str | None = None  # a project's path or name
    cwd: str | None = None  # else the project at (or above) this folder
    query: str | None = None
    budget: int | None = None  # tokens; default [memories] budget
    record: bool = True  # keep the pack (for `context diff`); a read-only door does not
    unknown_ok: bool = False  # a folder the store has never seen: a pack of global memories
    visible_projects: tuple[int, ...] | None = None  # an API token's submodules (None: all)


def resolve_project(store: Store, project: str | None, cwd: str | None, unknown_ok: bool = False,
                    visible: tuple[int, ...] | None = None) -> tuple[int, str | None, str | None]:
    """(id, path, name) of the project named or at `cwd`; (0, None, None) for none. A project
    outside `visible` (an API token's submodules) is as unknown as one never stored."""
    if project:
        ids = [i for i in store.project_ids(project) if visible is None or i in visible]
        if not ids:
            raise NotFound(f"no project {project!r} in the store: see `memory report projects`")
        path, name = store.project_labels(ids[:1])[ids[0]]
        return ids[0], path, name
    if not cwd and not unknown_ok:
        raise UsageError("name a project, or a folder inside one (cwd)")
    found = store.project_for_cwd(cwd) if cwd else None
    if found is not None and visible is not None and found[0] not in visible:
        found = None
    if found is None:
        if unknown_ok:
            return 0, cwd, None
        raise NotFound(f"no project at {cwd} in the store: run `memory ingest`, or pass --project")
    return found


def context(store: Store, settings: Settings, request: ContextRequest,
            counter: TokenCounter | None = None, cache: Any = None) -> Pack:
    """Build the pack (recorded unless asked not to, or the store is read-only)."""
    budget = request.budget or settings.memories.budget
    if budget < 50:
        raise UsageError("--budget must be at least 50 tokens")
    pid, path, name = resolve_project(store, request.project, request.cwd, request.unknown_ok,
                                      request.visible_projects)
    now = now_ms()
    query = words(request.query or "")
    memories = store.memories(MemoryFilter(
        project_id=pid, statuses=("active",),
        min_seen={"pattern": settings.memories.pattern_min_seen}, with_entities=False,
        limit=CANDIDATES, visible_projects=request.visible_projects))
    shield = agent_shield(store, settings.privacy)  # a pack is for a model: no EPHEMERAL in it
    memories = [m for m in memories if shield.sees(m["project"], m["session_id"])]
    # recency on the project's clock too: its latest work is "recent", however long ago
    seen = [m["last_seen"] for m in memories if m["last_seen"] and m["project"]]
    clock = min(now, parse_ts(max(seen)) or now) if seen else now
    candidates = memory_items(memories, query, clock)
    if path and pid:
        for s in store.sessions(project=path, limit=SESSIONS):
            if not shield.sees(path, s["session_id"]):
                continue
            text = " ".join((s["summary"] or s["title"] or s["first_prompt"] or "").split())[:240]
            if text:
                candidates.append(Item(key=f"s:{s['session_id']}", section="session", text=text,
                                       score=score(0.45, text, s["started_at"], query, clock),
                                       session_id=s["session_id"], timestamp=s["started_at"]))
    if request.query:
        candidates += [i for i, r in _excerpts(store, settings, request, path if pid else None, query,
                                               clock, cache) if shield.sees(r.get("project"), i.session_id)]
    counter = counter or TokenCounter()
    title = f"Memory of {name or path or 'all projects'}"
    note = ("From coditect-memory: what earlier sessions decided, learned and left open. "
            "References: `memory memories show ID`, `memory show session ID`.")
    items, markdown, tokens = assemble(title, candidates, budget, counter, note)
    pack = Pack(id=pack_id(path, items, request.query, now), project=path, project_name=name,
                query=request.query, budget=budget, tokens=tokens, created_at=now, items=items,
                markdown=markdown)
    if request.record and not store.readonly:
        store.put_pack(pack.id, pid, now, pack.to_json())
        store.touch_memories([i.memory_id for i in items if i.memory_id], now)
    return pack


def _excerpts(store: Store, settings: Settings, request: ContextRequest, project: str | None,
              query: set[str], now: int, cache: Any) -> list[tuple[Item, Any]]:
    from .search import SearchRequest, search

    req = SearchRequest(query=request.query or "", project=[project] if project else [],
                        limit=EXCERPTS, mode="keyword", type=["user", "assistant"],
                        visible_projects=request.visible_projects)
    out = []
    for r in search(store, settings, req, cache).results:
        snippet = " ".join(str(r.get("snippet") or "").split())[:300]
        if snippet:
            out.append((Item(key=f"x:{r['uid']}", section="excerpt", text=snippet,
                             score=score(0.6, snippet, r.get("timestamp"), query, now) * 1.5,
                             session_id=r.get("session_id"), timestamp=r.get("timestamp")), r))
    return out


@dataclass
class DiffResult:
    project: str | None
    before: str | None  # pack ids
    after: str
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "before": self.before, "after": self.after,
                "added": self.added, "removed": self.removed}


def diff(store: Store, settings: Settings, request: ContextRequest,
         counter: TokenCounter | None = None) -> DiffResult:
    """A new pack, compared with the one recorded before it for the same project."""
    pid, _, _ = resolve_project(store, request.project, request.cwd, request.unknown_ok,
                                request.visible_projects)
    before = store.packs(pid, limit=1)
    pack = context(store, settings, ContextRequest(**{**request.__dict__, "record": True}), counter)
    old = {i["key"]: i for i in before[0]["items"]} if before else {}
    new = {i.key: i.to_json() for i in pack.items}
    return DiffResult(project=pack.project, before=before[0]["id"] if before else None,
                      after=pack.id, added=[v for k, v in new.items() if k not in old],
                      removed=[v for k, v in old.items() if k not in new])
