"""A static HTML archive: index (projects) → project pages (sessions, newest first) → one
page per session (the `report session ID --format html` render), a `search.json` searched by
a small script on the index, and one shared CSS file with a dark mode.

Incremental: `.site-manifest.json` keeps, per session, a signature of what its page shows;
a re-run renders only sessions whose signature changed, and writes the other pages only
when their text changed."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import orjson

from ..actions.reports import Options, ReportFilters, report
from ..errors import UsageError, io_error
from ..reports.fmt import readable
from ..reports.render import render
from ..reports.render.html import conversation
from ..settings import Settings
from ..store.base import Store
from ..store.protocol.read import Message, Session
from .assets import CSS, SEARCH_JS

MANIFEST = ".site-manifest.json"
_ALL = 1 << 31  # `Store.sessions` takes a limit: this one means every session


@dataclass(frozen=True)
class SiteRequest:
    out: Path
    project: str | None = None  # only this project (path or name)


@dataclass(frozen=True)
class SiteResult:
    written: int  # files written this run (pages, search.json, CSS)
    unchanged: int  # session pages left as they were
    sessions: int
    projects: int
    out: Path

    def to_json(self) -> dict[str, Any]:
        return {"written": self.written, "unchanged": self.unchanged, "sessions": self.sessions,
                "projects": self.projects, "out": str(self.out)}


def project_slug(path: str | None) -> str:
    """A file name for a project: readable, and unique through a hash of its full path."""
    path = path or "(no project)"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.rstrip("/").rsplit("/", 1)[-1]).strip("-.")
    return f"{name or 'project'}-{hashlib.sha1(path.encode()).hexdigest()[:8]}"


def session_file(session_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", session_id) + ".html"


def agent_file(session_id: str, agent_id: str) -> str:
    """The page of a sub-agent of a session (its transcript is stored within the session)."""
    return session_file(session_id)[:-5] + "--agent-" + session_file(agent_id)


def sub_agents(messages: list[Message]) -> dict[str, list[Message]]:
    """The sub-agents a session ran, from the transcripts' own marks (isSidechain + agentId,
    in both layouts: <session>/subagents/agent-ID.jsonl and the older agent-ID.jsonl), each
    with its messages in order, and its sidecar (agent-ID.meta.json: type, description)."""
    agents: dict[str, list[Message]] = defaultdict(list)
    metas: dict[str, Message] = {}
    for m in messages:
        if m["type"] == "agent_meta" and m["agent_id"]:
            metas[m["agent_id"].removesuffix(".meta")] = m
        elif m["is_sidechain"] and m["agent_id"]:
            agents[m["agent_id"]].append(m)
    return {a: ([metas[a]] if a in metas else []) + rows for a, rows in agents.items()}


def agent_label(agent_id: str, messages: list[Message]) -> str:
    """What a sub-agent was for: its type and description, else the prompt it was given."""
    meta = next((m for m in messages if m["type"] == "agent_meta"), None)
    if meta is not None:
        return ": ".join(readable(meta["content"]).splitlines()[:2])
    prompt = next((m for m in messages if m["type"] == "user" and (m["content"] or "").strip()), None)
    return " ".join(readable(prompt["content"]).split())[:100] if prompt else f"agent {agent_id}"


def _agent_page(s: Session, agent_id: str, label: str, messages: list[Message]) -> str:
    """A sub-agent's own conversation, linked to the session that ran it."""
    parent = s["title"] or s["session_id"]
    body = (f'<nav class="site"><a href="../index.html">All projects</a> › <a href="../projects/'
            f'{project_slug(s["project"])}.html">{escape(s["project_name"] or s["project"] or "—")}</a>'
            f' › sub-agent of <a class="parent" href="{session_file(s["session_id"])}">'
            f"{escape(parent)}</a></nav><h1>{escape(label)}</h1>"
            f'<p class="scope">sub-agent {escape(agent_id)} · {len(messages):,} messages</p>'
            + conversation(messages))
    return _page(label, "../site.css", body)


def _signature(s: Session, children: list[str]) -> str:
    """What a session page shows changes only with these."""
    return f"{s['message_count']}|{s['ended_at']}|{s['title']}|{s['parent_session_id']}|" + \
        ",".join(children)


class _Writer:
    """Writes a file only when its text differs, counting what it wrote."""

    def __init__(self, out: Path) -> None:
        self.out, self.written = out, 0

    def put(self, rel: str, text: str, force: bool = False) -> None:
        path = self.out / rel
        data = text.encode("utf-8")
        if not force and path.is_file() and path.read_bytes() == data:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        self.written += 1


def _page(title: str, css: str, body: str, script: str = "") -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)} — coditect-memory</title><link rel="stylesheet" href="{css}">'
            f"</head><body>{body}{script}</body></html>\n")


def _session_page(store: Store, settings: Settings, s: Session, sessions: dict[str, Session],
                  children: list[str], agents: dict[str, str]) -> str:
    """The reports' session render, with the site's CSS, a way back and cross-links (the
    session it continues, those continuing it, the sub-agents it ran: id -> label)."""
    rep = report(store, settings, "session", ReportFilters(), Options(session_id=s["session_id"]))
    html = render(rep, "html")
    links = [f'<a href="../index.html">All projects</a> › <a href="../projects/'
             f'{project_slug(s["project"])}.html">{escape(s["project_name"] or s["project"] or "—")}</a>']
    parent = s["parent_session_id"]
    if parent and parent in sessions:
        links.append(f'continues <a class="parent" href="{session_file(parent)}">'
                     f'{escape(sessions[parent]["title"] or parent)}</a>')
    if children:
        links.append("continued by / sub-agents: " + ", ".join(
            f'<a class="child" href="{session_file(c)}">{escape(sessions[c]["title"] or c)}</a>'
            for c in children))
    if agents:
        links.append("sub-agents: " + ", ".join(
            f'<a class="agent" href="{agent_file(s["session_id"], a)}">{escape(label)}</a>'
            for a, label in agents.items()))
    nav = '<nav class="site">' + " · ".join(links) + "</nav>"
    html = html.replace("</head>", '<link rel="stylesheet" href="../site.css"></head>', 1)
    return html.replace("<body>", "<body>" + nav, 1)


def _project_page(name: str, rows: list[Session]) -> str:
    items = "".join(
        f'<tr><td><a href="../sessions/{session_file(s["session_id"])}">'
        f'{escape(s["title"] or s["first_prompt"] or s["session_id"])[:200]}</a></td>'
        f'<td class="d">{escape((s["started_at"] or "")[:16].replace("T", " "))}</td>'
        f'<td class="n">{s["message_count"]:,}</td></tr>' for s in rows)
    body = (f'<nav class="site"><a href="../index.html">All projects</a></nav><h1>{escape(name)}</h1>'
            f'<p class="scope">{len(rows):,} sessions, newest first</p>'
            f"<table><tr><th>session</th><th>started</th><th class=\"n\">messages</th></tr>"
            f"{items}</table>")
    return _page(name, "../site.css", body)


def _index(projects: list[tuple[str, str, int]], search: str) -> str:
    """The project list and a search box over the entries of search.json, carried inline (a
    page opened from disk may not fetch a file beside it)."""
    rows = "".join(f'<tr><td><a href="projects/{slug}.html">{escape(name)}</a></td>'
                   f'<td class="n">{n:,}</td></tr>' for slug, name, n in projects)
    body = ('<h1>Claude Code archive</h1><input id="q" type="search" autofocus '
            'placeholder="Search titles and first prompts…" aria-label="search">'
            '<ol id="hits"></ol><h2>Projects</h2>'
            f'<table id="projects"><tr><th>project</th><th class="n">sessions</th></tr>{rows}</table>')
    data = search.replace("</", "<\\/")  # JSON text safe inside a script element
    return _page("Claude Code archive", "site.css", body,
                 f'<script id="search-data" type="application/json">{data}</script>'
                 f"<script>{SEARCH_JS}</script>")


def build_site(store: Store, settings: Settings, request: SiteRequest) -> SiteResult:
    """Write (or bring up to date) the archive under request.out; a folder that cannot be
    made or written is one line saying so."""
    out = request.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file: give a folder (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        return _build(store, settings, request)
    except OSError as e:
        raise io_error(e, "memory site", out if out.is_dir() else None) or UsageError(
            f"cannot write the archive to {out}: {e.strerror or e}; give a folder you can "
            "write to") from e


def _build(store: Store, settings: Settings, request: SiteRequest) -> SiteResult:
    out = request.out
    manifest_path = out / MANIFEST
    manifest: dict[str, str] = orjson.loads(manifest_path.read_bytes()) if manifest_path.is_file() else {}
    sessions = {s["session_id"]: s for s in store.sessions(request.project, limit=_ALL)}
    children: dict[str, list[str]] = defaultdict(list)
    for s in sessions.values():
        if s["parent_session_id"] in sessions:
            children[s["parent_session_id"]].append(s["session_id"])
    writer = _Writer(out)
    unchanged = 0
    by_project: dict[str | None, list[Session]] = defaultdict(list)
    for sid, s in sessions.items():
        by_project[s["project"]].append(s)
        sig = _signature(s, children[sid])
        page = f"sessions/{session_file(sid)}"
        if manifest.get(sid) == sig and (out / page).is_file():
            unchanged += 1
            continue
        for stale in (out / "sessions").glob(session_file(sid)[:-5] + "--agent-*.html"):
            stale.unlink()  # its sub-agents' pages are written again below
        agents = sub_agents(store.session_messages(sid))
        labels = {a: agent_label(a, said) for a, said in agents.items()}
        for a, said in agents.items():
            writer.put(f"sessions/{agent_file(sid, a)}", _agent_page(s, a, labels[a], said), force=True)
        writer.put(page, _session_page(store, settings, s, sessions, children[sid], labels),
                   force=True)
        manifest[sid] = sig
    if request.project is None:  # sessions gone from the store (forgotten): their pages go too
        for sid in [sid for sid in manifest if sid not in sessions]:
            (out / "sessions" / session_file(sid)).unlink(missing_ok=True)
            for page_of_agent in (out / "sessions").glob(session_file(sid)[:-5] + "--agent-*.html"):
                page_of_agent.unlink()
            del manifest[sid]
    projects = []
    for path, rows in sorted(by_project.items(),
                             key=lambda kv: (kv[1][0]["project_name"] or kv[0] or "").lower()):
        name = rows[0]["project_name"] or path or "(no project)"
        rows.sort(key=lambda s: s["started_at"] or "", reverse=True)
        writer.put(f"projects/{project_slug(path)}.html", _project_page(name, rows))
        projects.append((project_slug(path), name, len(rows)))
    search = [{"id": s["session_id"], "title": s["title"], "project": s["project_name"] or s["project"],
               "prompt": (s["first_prompt"] or "")[:300], "href": f"sessions/{session_file(sid)}"}
              for sid, s in sessions.items()]
    search_json = orjson.dumps(search).decode()
    writer.put("search.json", search_json)
    writer.put("site.css", CSS)
    writer.put("index.html", _index(projects, search_json))
    manifest_path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS))
    return SiteResult(writer.written, unchanged, len(sessions), len(projects), out)
