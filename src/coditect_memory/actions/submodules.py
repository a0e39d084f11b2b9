"""Submodules: named path prefixes that group projects (a team's repositories), and what a
token scoped to some of them may see.

A project belongs to the submodule whose path prefix matches its working directory, the
longest match winning (`/work/app` and `/work/app/plugins` can be two submodules).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..errors import NotFound, UsageError
from ..store.base import Store
from ..store.protocol.access import SubmoduleRow
from ..store.protocol.reports import ProjectRow
from ..store.protocol.sync import MachineRow
from ..timeutil import iso


def _norm(prefix: str) -> str:
    return prefix.rstrip("/") or "/"


def owner(path: str, submodules: list[SubmoduleRow]) -> str | None:
    """The submodule a project's path belongs to (the longest matching prefix), or None."""
    best, best_len = None, -1
    for s in submodules:
        for prefix in s["paths"]:
            p = _norm(prefix)
            if (path == p or path.startswith(p if p.endswith("/") else p + "/")) and len(p) > best_len:
                best, best_len = s["name"], len(p)
    return best


@dataclass
class SubmoduleList:
    submodules: list[SubmoduleRow]

    def to_json(self) -> list[SubmoduleRow]:
        return self.submodules


def add(store: Store, name: str, paths: list[str], git_url: str | None = None) -> SubmoduleRow:
    """Add a submodule (or replace its paths and URL)."""
    if not name.strip() or "," in name:
        raise UsageError("a submodule name must not be empty or hold a comma")
    if not paths or any(not p.startswith("/") for p in paths):
        raise UsageError("give each --path as an absolute path prefix, e.g. --path /work/app")
    store.put_submodule(name, sorted({_norm(p) for p in paths}), git_url, int(time.time() * 1000))
    return next(s for s in store.submodules() if s["name"] == name)


def list_submodules(store: Store) -> SubmoduleList:
    return SubmoduleList(store.submodules())


@dataclass
class MachineList:
    """The server's registry of machines that sync (`memory sync`), with their last sync."""

    machines: list[MachineRow]

    def to_json(self) -> list[dict[str, Any]]:
        return [{**m, "first_seen": iso(m["first_seen"]), "last_push_at": iso(m["last_push_at"]),
                 "last_pull_at": iso(m["last_pull_at"])} for m in self.machines]


def machines(store: Store) -> MachineList:
    return MachineList(store.sync_machines())


def remove(store: Store, name: str) -> dict[str, Any]:
    if not store.remove_submodule(name):
        raise NotFound(f"no submodule {name!r}; `memory submodule list` shows them")
    return {"name": name, "removed": True}


@dataclass(frozen=True)
class Visibility:
    """What a principal may see: these projects (None: everything)."""

    project_ids: tuple[int, ...] | None = None
    paths: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        """Part of a cache key: equal for principals that see the same."""
        return "*" if self.project_ids is None else ",".join(map(str, self.project_ids))

    def sees(self, project_path: str | None) -> bool:
        return self.project_ids is None or (project_path is not None and project_path in self.paths)

    def narrow(self, ids: tuple[int, ...] | None) -> tuple[int, ...] | None:
        """`ids` (None: any) restricted to what is visible."""
        if self.project_ids is None:
            return ids
        if ids is None:
            return self.project_ids
        return tuple(i for i in ids if i in set(self.project_ids))


EVERYTHING = Visibility()


def visibility(store: Store, submodules: tuple[str, ...]) -> Visibility:
    """The projects of these submodules (none named: everything)."""
    if not submodules:
        return EVERYTHING
    subs = store.submodules()
    mine = [p for p in store.report_projects(None) if owner(p["path"], subs) in submodules]
    # (0,) when none: no project has id 0, and `IN ()` is not portable SQL
    ids = tuple(sorted(p["id"] for p in mine)) or (0,)
    return Visibility(ids, frozenset(p["path"] for p in mine))


@dataclass
class ProjectList:
    projects: list[dict[str, Any]]

    def to_json(self) -> list[dict[str, Any]]:
        return self.projects


def projects(store: Store, seen: Visibility = EVERYTHING) -> ProjectList:
    """Every visible project with its submodule."""
    subs = store.submodules()
    rows: list[ProjectRow] = [p for p in store.report_projects(None) if seen.sees(p["path"])]
    return ProjectList([{**p, "submodule": owner(p["path"], subs)} for p in rows])
