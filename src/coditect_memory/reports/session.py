"""`session ID`: one session reconstructed — what it was, how long, which models and tokens,
which components and tools, what failed, which files it touched, and the conversation."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ..errors import NotFound
from ..timeutil import iso, parse_ts
from .activity import hours
from .builder import Context
from .error_analysis import load
from .model import Report, Table, col
from .prices import TOKEN_KEYS
from .usage import priced

_PATH_KEYS = ("file_path", "notebook_path", "path")
_WRITES = {"Write", "Edit", "MultiEdit", "NotebookEdit"}


def files_touched(messages: Sequence[Mapping[str, Any]],
                  backups: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Paths named by tool calls (read or written), and files with file-history versions."""
    files: dict[str, dict[str, Any]] = defaultdict(lambda: {"reads": 0, "writes": 0, "versions": 0,
                                                            "tools": Counter()})
    for m in messages:
        if m["type"] != "tool_use" or not (m["content"] or "").startswith("{"):
            continue
        try:
            args = orjson.loads(m["content"])
        except orjson.JSONDecodeError:
            continue
        path = next((args[k] for k in _PATH_KEYS if isinstance(args.get(k), str)), None)
        if not path:
            continue
        f = files[path]
        f["writes" if m["tool_name"] in _WRITES else "reads"] += 1
        f["tools"][m["tool_name"] or "?"] += 1
    for b in backups:
        files[b["path"]]["versions"] += b["versions"]
    return [{"path": p, "reads": f["reads"], "writes": f["writes"], "versions": f["versions"],
             "tools": dict(f["tools"].most_common())} for p, f in sorted(files.items())]


def build(ctx: Context) -> Report:
    wanted = ctx.options.session_id or ""
    meta = ctx.store.session(wanted)
    if meta is None:
        raise NotFound(f"no session {wanted!r}; "
                       "`memory sessions` lists them")
    sid = meta["session_id"]
    messages = ctx.store.session_messages(sid)
    models, unpriced = priced(ctx, [{**r, "key": r["model"]} for r in
                                    ctx.store.report_session_usage(sid)])
    model_rows = [{"model": m, **{k: v for k, v in acc.items() if k != "models"}}
                  for m, acc in models.items()]
    names = ctx.store.report_session_names(sid)
    active = ctx.store.report_session_active_ms(sid)
    error_rows = [{"timestamp": iso(e["ts"]), "component": e["component"], "kind": e["kind"],
                   "signature": e["signature"], "message": (e["content"] or "").strip()[:300],
                   "source_file": e["source_file"], "source_line": e["source_line"], "uid": e["uid"]}
                  for e in load(ctx, session_id=sid)]
    files = files_touched(messages, ctx.store.report_session_files(sid))
    start, end = parse_ts(meta["started_at"]), parse_ts(meta["ended_at"])
    duration = (end - start) / 1000 if start is not None and end is not None else None
    tokens = {k: sum(r[k] for r in model_rows) for k in TOKEN_KEYS}
    cost = sum(r["cost_usd"] for r in model_rows)
    info = {**meta, "duration_seconds": duration, "active_hours": hours(active),
            "models": model_rows, "tokens": tokens, "cost_usd": cost,
            "unpriced_models": sorted(unpriced)}
    components = [{"component": n["name"], "kind": n["kind"], "uses": n["uses"], "errors": n["errors"]}
                  for n in names]
    tables = [
        Table("models", "Models and tokens", [col("model"), col("responses", "API responses", "int"),
              *(col(k, k.replace("_tokens", "").replace("_", " "), "int") for k in TOKEN_KEYS),
              col("cost_usd", "cost", "usd")], model_rows),
        Table("components", "Components and tools", [col("component"), col("kind"),
              col("uses", "occurrences", "int"), col("errors", fmt="int")], components),
        Table("errors", "Errors", [col("timestamp", "time", "time"), col("component"), col("kind"),
              col("signature", "message (normalised)")], error_rows),
        Table("files", "Files touched", [col("path"), col("reads", fmt="count"), col("writes", fmt="count"),
              col("versions", "file-history versions", "count"), col("tools", fmt="names")], files),
    ]
    summary = [("session", sid), ("project", meta["project"] or "—"), ("title", meta["title"] or "—"),
               ("started", meta["started_at"] or "—"), ("ended", meta["ended_at"] or "—"),
               ("duration", f"{duration / 3600:.2f} h" if duration is not None else "—"),
               ("active", f"{hours(active):.2f} h"),
               ("messages", f"{meta['message_count']:,} ({meta['prompt_count']:,} prompts, "
                            f"{meta['tool_call_count']:,} tool calls, {meta['error_count']:,} errors)"),
               ("models", ", ".join(r["model"] for r in model_rows) or "—"),
               ("tokens", f"{sum(tokens.values()):,}, ${cost:,.2f} at list prices"),
               ("branch", meta["git_branch"] or "—"), ("Claude Code", meta["version"] or "—")]
    return Report("session", meta["title"] or f"Session {sid}", {"session_id": sid}, tables,
                  meta=info, summary=summary, conversation=messages)
