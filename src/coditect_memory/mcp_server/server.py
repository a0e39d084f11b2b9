"""`memory mcp`: the archive as MCP tools on stdio (the official SDK's `MCPServer`, 2.x).

A door like the CLI: one Store and one SearchCache for the process, each tool a thin call
of an `actions/` function returning its `to_json()`. A user error becomes the tool's error
result (one line), never a crash of the server. `remember` is left out read-only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from ..errors import MemoryError_
from ..privacy.levels import Shield, agent_shield
from ..settings import Settings
from ..store.base import Store

F = TypeVar("F", bound=Callable[..., Any])


def _user_errors(fn: F) -> F:
    """Our one-line errors reach the client as the tool's error text (not a crash)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MemoryError_ as e:
            raise ToolError(str(e)) from None
    return wrapper  # type: ignore[return-value]


def build(store: Store, settings: Settings, read_only: bool = False) -> MCPServer:
    from ..actions import browse, memories, reports
    from ..actions import context as ctx
    from ..actions.search import SearchRequest
    from ..actions.search import search as run_search
    from ..context.tokens import TokenCounter
    from ..search.cache import SearchCache

    cache = SearchCache()
    counter: list[TokenCounter] = []  # loaded on the first `context` call

    def shown(value: Any, shield: Shield | None = None) -> Any:
        """What a model may read: nothing of an EPHEMERAL project or session (privacy)."""
        from ..errors import NotFound
        from ..privacy.levels import HIDDEN

        out = (shield or agent_shield(store, settings.privacy)).apply(value)
        if out is HIDDEN:
            raise NotFound("not found: its project or session is EPHEMERAL (kept on this machine)")
        return out

    def unseen(shield: Shield) -> dict[str, Any]:
        """What a search must leave out so that its `total` counts only what `shown` keeps:
        the projects and sessions a model may not see (EPHEMERAL), as search filters."""
        from ..privacy.levels import AGENT, visible

        levels = shield.levels
        out: dict[str, Any] = {"hidden_sessions": tuple(
            sid for sid, level in levels.sessions.items() if not visible(level, AGENT))}
        if not visible(levels.default, AGENT):  # only the projects set visible, no others
            out["visible_projects"] = tuple(p["id"] for p in store.report_projects(None)
                                            if shield.sees_project(p["path"])) or (0,)
        elif any(not visible(level, AGENT) for level in levels.projects.values()):
            out["hidden_projects"] = tuple(p["id"] for p in store.report_projects(None)
                                           if not shield.sees_project(p["path"]))
        return out

    server = MCPServer("coditect-memory", instructions=(
        "Search and recall everything earlier Claude Code sessions said and did: `search` "
        "finds messages (each result names its session), `get_session` replays one, "
        "`context` gives a token-budgeted briefing of a project, `recall` lists remembered "
        "decisions, preferences, facts, fixes and todos, `related` tells everything about "
        "a file or command."))

    @server.tool(description="Search every stored message (words, \"phrases\", -not, "
                 "project:NAME, after:DATE). Each result names its session_id and timestamp. "
                 "source: transcript, history, debug, todo, plan, file_history (file versions "
                 "before an edit: results name file_path and file_version), shell_snapshot, "
                 "session_env.")
    @_user_errors
    def search(query: str, project: str | None = None, limit: int = 10,
               source: str | None = None) -> dict[str, Any]:
        shield = agent_shield(store, settings.privacy)  # once: it reads the privacy levels
        req = SearchRequest(query=query, project=[project] if project else [],
                            source=[source] if source else [],
                            limit=max(1, min(limit, 100)), mode="keyword", **unseen(shield))
        return shown(run_search(store, settings, req, cache).to_json(), shield)

    @server.tool(description="One session's messages in order (by id or a unique prefix).")
    @_user_errors
    def get_session(session_id: str, limit: int = 200) -> dict[str, Any]:
        view = browse.show_session(store, session_id)
        out = view.to_json()
        out["messages"] = view.visible[:max(1, limit)]
        return shown(out)

    @server.tool(description="What happened on a day or range (YYYY-MM-DD or FROM..TO): "
                 "sessions, prompts, errors.")
    @_user_errors
    def timeline(when: str | None = None, project: str | None = None) -> dict[str, Any]:
        return shown(reports.timeline(store, settings, when, project).to_json())

    @server.tool(description="A briefing of a project within a token budget: pinned memories, "
                 "preferences, facts, decisions, open todos, fixes, recent sessions and, "
                 "with a query, relevant past excerpts.")
    @_user_errors
    def context(project: str | None = None, cwd: str | None = None, query: str | None = None,
                budget: int = 2000) -> dict[str, Any]:
        if not counter:
            counter.append(TokenCounter())
        req = ctx.ContextRequest(project=project, cwd=cwd, query=query, budget=budget,
                                 record=False, unknown_ok=project is None)
        return ctx.context(store, settings, req, counter[0], cache).to_json()

    @server.tool(description="Remembered decisions, preferences, facts, error fixes, todos "
                 "and patterns; filter by project, type and words.")
    @_user_errors
    def recall(query: str | None = None, project: str | None = None, type: str | None = None,
               limit: int = 30) -> list[Any]:
        return shown(list(memories.list_memories(store, memories.ListRequest(
            project=project, types=[type] if type else [], query=query, limit=limit)).to_json()))

    @server.tool(description="Everything known about an entity: a file path, function, "
                 "command, package or error code.")
    @_user_errors
    def related(entity: str) -> dict[str, Any]:
        return shown(dict(memories.related(store, entity).to_json()))

    if not read_only:
        @server.tool(description="Remember something for later sessions (type: decision, "
                     "preference, fact, error_fix, todo, pattern).")
        @_user_errors
        def remember(text: str, type: str = "fact", project: str | None = None,
                     pin: bool = False) -> dict[str, Any]:
            return memories.add(store, memories.AddRequest(text=text, type=type, project=project,
                                                           pin=pin)).to_json()

    return server


def serve(settings: Settings, read_only: bool = False) -> None:
    from ..store import open_store

    with open_store(settings, readonly=read_only, create=False) as store:
        build(store, settings, read_only or store.readonly).run("stdio")
