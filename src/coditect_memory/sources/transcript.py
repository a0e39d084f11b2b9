"""Claude Code transcripts: projects/<slug>/<session>.jsonl, sub-agents, web exports.

One row per content block, so tool calls, results and thinking can be told apart. Every
entry type is kept: known ones get their salient text in `content`, every other field goes
verbatim into metadata, so the original line can be rebuilt.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

from ..hashing import UID_SEP, content_hash, keyed_uid, ts_prefix, uid_key
from ..timeutil import parse_ts
from .base import Issue, Record, Usage
from .jsonl import read_objects
from .read_context import ReadContext
from .text import blocks_text, compact_json, flatten

# Line-level keys that become columns (or are rebuilt from them); the rest is metadata.
_LINE_KEYS = ("type", "uuid", "parentUuid", "sessionId", "timestamp", "isSidechain", "agentId")

_TITLE_FIELDS = {
    "summary": "summary",
    "custom-title": "customTitle",
    "ai-title": "aiTitle",
    "last-prompt": "lastPrompt",
    "agent-name": "agentName",
    "queue-operation": "content",
    "pr-link": "prUrl",
}


_SESSION_ID = re.compile(rb'"sessionId"\s*:\s*"([^"]{1,200})"')


def _file_session(ctx: ReadContext) -> str | None:
    """The session of lines that carry no sessionId: the first one named in the file's first
    256 KB. Its first 16 KB are read first: a match found there is the first (a match that
    began earlier and crossed 16 KB could only hold one that ends later)."""
    if "session" not in ctx.state:
        try:
            with open(ctx.path, "rb") as f:
                head = f.read(1 << 14)
                m = _SESSION_ID.search(head)
                if m is None and len(head) == 1 << 14:
                    m = _SESSION_ID.search(head + f.read((1 << 18) - len(head)))
        except OSError:
            m = None
        ctx.state["session"] = m.group(1).decode("utf-8", "replace") if m else ctx.session_hint
    return ctx.state["session"]


def read_transcript(ctx: ReadContext) -> Iterator[Record | Issue]:
    state = ctx.state
    hint = _file_session(ctx)
    agent_hint = ctx.agent_hint
    tool_names: dict[str, str] = {}

    def line(obj: dict, no: int, offset: int) -> list[Record] | tuple[Issue]:
        try:
            return _entry(obj, no, offset, state, hint, agent_hint, tool_names)
        except (TypeError, AttributeError, ValueError, KeyError) as e:
            # a shape no version of Claude Code wrote yet: report it, read on
            return (Issue(f"unexpected entry shape ({type(e).__name__}: {e}); line skipped",
                          no, offset),)

    yield from read_objects(ctx, line)


def _entry(obj, no, offset, state, hint, agent_hint, tool_names) -> list[Record]:
    get = obj.get
    etype = get("type") or "unknown"
    if not isinstance(etype, str):
        etype = "unknown"
    session = get("sessionId") or hint
    ts = parse_ts(get("timestamp"))
    snapshot = get("snapshot")
    if not isinstance(snapshot, dict):
        snapshot = {}
    if ts is None and etype == "file-history-snapshot":
        ts = parse_ts(snapshot.get("timestamp"))
    if ts is None:
        ts = state.get("last_ts")
    else:
        state["last_ts"] = ts
    cwd = get("cwd")
    if cwd:
        state["cwd"] = cwd
    else:
        cwd = state.get("cwd")
    ext = get("uuid")
    base_id = (session, ext) if ext else ("tx", session, content_hash(compact_json(obj)))
    # the uid of the line's n-th row hashes `key + str(n)` (made once per line, not per row)
    key, prefix = uid_key(*base_id) + UID_SEP, ts_prefix(ts)
    meta = _without(obj, _LINE_KEYS)
    is_sidechain = bool(get("isSidechain")) or agent_hint is not None
    common = {"kind": "transcript", "session_id": session, "ts": ts, "line": no, "offset": offset,
              "project": cwd, "ext_id": ext, "parent_ext_id": get("parentUuid"),
              "agent_id": get("agentId") or agent_hint, "is_sidechain": is_sidechain}
    facts = _facts(get, state)
    if ext and "parent_checked" not in state and not is_sidechain:
        state["parent_checked"] = True
        parent = get("parentUuid") or get("logicalParentUuid")
        if isinstance(parent, str) and parent:
            facts = {**(facts or {}), "parent_ref": parent}
    if etype == "file-history-snapshot":
        backups = snapshot.get("trackedFileBackups")
        if isinstance(backups, dict):
            # '<hash>@v<N>': the hash names the file, every version of it shares it
            named = {str(v["backupFileName"]).split("@", 1)[0]: path for path, v in backups.items()
                     if isinstance(v, dict) and v.get("backupFileName")}
            if named:
                facts = {**(facts or {}), "backups": named}
    if (etype == "user" or etype == "assistant") and isinstance(get("message"), dict):
        records = _message(obj, etype, meta, common, key, prefix, tool_names)
    else:
        records = [_other(obj, etype, meta, common, keyed_uid(key + "0", prefix))]
    if records:
        records[0].facts = facts
    return records


_FACT_KEYS = (("gitBranch", "git_branch"), ("version", "version"), ("slug", "slug"))


def _facts(get: Any, state: dict) -> dict | None:
    """Session facts that changed since the previous line of this file (`get`: the line's)."""
    facts = None
    for key, name in _FACT_KEYS:
        v = get(key)
        if v and state.get(name) != v:
            state[name] = v
            if facts is None:
                facts = {}
            facts[name] = v
    return facts


def _without(obj: dict, keys: tuple[str, ...]) -> dict:
    """A copy of `obj` without `keys`, its other keys in their order (half the time of a
    dict comprehension testing every key: measured on 150k lines)."""
    rest = obj.copy()
    for k in keys:
        rest.pop(k, None)
    return rest


def _message(obj, etype, meta, common, key, prefix, tool_names) -> list[Record]:
    msg = obj["message"]
    content = msg.get("content")
    meta["message"] = _without(msg, ("content",))
    role = msg.get("role") or etype
    model = msg.get("model") if etype == "assistant" else None
    is_meta = bool(obj.get("isMeta")) or bool(obj.get("isVisibleInTranscriptOnly"))
    text_type = "compact_summary" if obj.get("isCompactSummary") else etype
    usage = _usage(obj, msg, common) if etype == "assistant" else None
    error = bool(obj.get("isApiErrorMessage") or obj.get("error"))
    if isinstance(content, str) or content is None:
        blocks: list[Any] = [{"type": "text", "text": content or ""}]
        meta["content_form"] = "string"
    elif isinstance(content, list):
        blocks = content
    else:
        blocks = [{"type": "text", "text": flatten(content)}]
        meta["content_form"] = type(content).__name__
    records: list[Record] = []
    for i, block in enumerate(blocks):
        rec = _block(block, keyed_uid(key + str(i), prefix), role, text_type, common, tool_names)
        rec.model = model
        if is_meta or (rec.type == "user" and _injected(rec.content)):
            rec.is_meta = True
        if error and rec.type == etype:
            rec.is_error = True
        if not records:
            rec.metadata = {**meta, **(rec.metadata or {})}
            rec.usage = usage
        records.append(rec)
    if not records:  # an empty content list: keep the line itself
        records.append(Record(uid=keyed_uid(key + "0", prefix), type=text_type, role=role,
                              content="", metadata=meta, usage=usage, model=model, **common))
    return records


# Tags of text a person typed (a slash command, a `!` shell command); other tagged user text
# (<local-command-stdout>, <ide_opened_file>, <system-reminder>, ...) is injected by the tool.
_TYPED_TAGS = ("<command-name>", "<command-message>", "<bash-input>")


def _injected(text: str | None) -> bool:
    t = (text or "").lstrip()
    if t.startswith("<"):
        return not any(tag in t[:3000] for tag in _TYPED_TAGS)
    return t.startswith(("[Request interrupted", "Caveat:"))


def _block(block, key, role, text_type, common, tool_names) -> Record:
    if not isinstance(block, dict):
        return Record(uid=key, type=text_type, role=role, content=str(block), **common)
    btype = block.get("type")
    if btype == "text":
        extra = {k: v for k, v in block.items() if k not in ("type", "text")} or None
        return Record(uid=key, type=text_type, role=role, content=str(block.get("text") or ""),
                      metadata=extra, **common)
    if btype == "tool_use":
        name = block.get("name")
        tid = _id(block.get("id"))
        if tid and name:
            tool_names[tid] = name
        extra = {k: v for k, v in block.items() if k not in ("type", "input", "id", "name")}
        return Record(uid=key, type="tool_use", role=role, content=compact_json(block.get("input")),
                      tool_name=name, tool_use_id=tid, metadata=extra or None, **common)
    if btype == "tool_result":
        tid = _id(block.get("tool_use_id"))
        body = block.get("content")
        extra = {k: v for k, v in block.items() if k not in ("type", "content", "tool_use_id", "is_error")}
        blob = None
        if isinstance(body, list):
            images = [b for b in body if isinstance(b, dict) and b.get("type") == "image"]
            if images:
                extra["content_blocks"] = body  # images inside a result: kept verbatim
        elif not isinstance(body, str) and body is not None:
            extra["content_value"] = body
        return Record(uid=key, type="tool_result", role=role, content=blocks_text(body),
                      tool_name=tool_names.get(tid), tool_use_id=tid,
                      is_error=bool(block.get("is_error")), metadata=extra or None, blob=blob,
                      **common)
    if btype in ("thinking", "redacted_thinking"):
        extra = {k: v for k, v in block.items() if k not in ("type", "thinking")}
        return Record(uid=key, type="thinking", role=role, content=str(block.get("thinking") or ""),
                      metadata=extra or None, **common)
    if btype == "image":
        return _image(block, key, role, common)
    # document, tool_reference, server_tool_use, ... and anything newer: kept verbatim
    return Record(uid=key, type=str(btype or "block"), role=role, content=flatten(block),
                  metadata={"block": block}, **common)


def _image(block, key, role, common) -> Record:
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    meta = {k: v for k, v in source.items() if k != "data"}
    blob = None
    data = source.get("data")
    if isinstance(data, str):
        try:
            blob = base64.b64decode(data, validate=False)
        except ValueError:
            meta["data"] = data
    if blob is not None:
        meta["bytes"] = len(blob)
    size = f" {len(blob) // 1024} KB" if blob else ""
    return Record(uid=key, type="image", role=role,
                  content=f"[image {meta.get('media_type', '')}{size}]",
                  metadata={"image": meta}, blob=blob, **common)


def _usage(obj, msg, common) -> Usage | None:
    u = msg.get("usage")
    if not isinstance(u, dict):
        return None
    mid = msg.get("id") or obj.get("uuid")
    if not mid:
        return None
    write = u.get("cache_creation_input_tokens")
    if write is None and isinstance(u.get("cache_creation"), dict):
        write = sum(v for v in u["cache_creation"].values() if isinstance(v, int))
    return Usage(
        message_id=str(mid),
        request_id=str(obj.get("requestId") or ""),
        session_id=common["session_id"],
        model=msg.get("model"),
        ts=common["ts"],
        input_tokens=_int(u.get("input_tokens")),
        output_tokens=_int(u.get("output_tokens")),
        cache_read_tokens=_int(u.get("cache_read_input_tokens")),
        cache_write_tokens=_int(write),
        is_sidechain=common["is_sidechain"],
    )


def _id(v: Any) -> str | None:
    """An id as text (a dict key and a column), whatever the line put there."""
    return v if v is None or isinstance(v, str) else compact_json(v)


def _int(v: Any) -> int:
    """A token count; anything that is not one a SQLite INTEGER can hold counts as 0."""
    ok = isinstance(v, int) and not isinstance(v, bool) and 0 <= v < (1 << 63)
    return v if ok else 0


def _other(obj, etype, meta, common, key) -> Record:
    """Every entry that is not a user/assistant message: system, progress, bookkeeping, ..."""
    field = _TITLE_FIELDS.get(etype)
    component = level = tool = None
    is_error = False
    if field:
        content = obj.get(field)
        content = content if isinstance(content, str) else flatten(content)
    elif etype == "system":
        content, component, level, is_error = _system(obj)
    elif etype == "progress":
        content, component, tool = _progress(obj.get("data") or {})
    elif etype == "attachment":
        att = obj.get("attachment") or {}
        sub = str(att.get("type", "")) if isinstance(att, dict) else ""
        content = flatten(att, 5000)
        component = "Hooks" if sub.startswith("hook") else None
        is_error = "error" in sub
    elif etype == "file-history-snapshot":
        snapshot = obj.get("snapshot")
        backups = snapshot.get("trackedFileBackups") if isinstance(snapshot, dict) else None
        content = "\n".join(map(str, backups)) if isinstance(backups, dict) else ""
    else:
        content = flatten(meta, 5000)  # the line without its column keys
    return Record(uid=key, type=etype, role=None, content=content or "", component=component,
                  level=level, tool_name=tool, is_error=is_error, metadata=meta, **common)


def _system(obj) -> tuple[str, str | None, str | None, bool]:
    sub = obj.get("subtype") if isinstance(obj.get("subtype"), str) else ""
    level = obj.get("level")
    level = "warn" if level == "warning" else level
    component = None
    content = obj.get("content") if isinstance(obj.get("content"), str) else ""
    errors = obj.get("hookErrors") or []
    if sub == "stop_hook_summary":
        component = "Hooks"
        infos = obj.get("hookInfos") if isinstance(obj.get("hookInfos"), list) else []
        cmds = [str(h.get("command", "")) for h in infos if isinstance(h, dict)]
        errors = errors if isinstance(errors, list) else [errors]
        content = "\n".join(["Stop hooks: " + ", ".join(cmds), *map(str, errors)])
    elif sub == "turn_duration":
        ms = obj.get("durationMs")
        content = f"turn took {ms / 1000:.1f} s" if isinstance(ms, int | float) else "turn_duration"
    elif sub == "api_error":
        component = "API"
        content = content or flatten(obj.get("error") or obj.get("cause") or "")
    elif sub in ("compact_boundary", "microcompact_boundary"):
        component = "Compaction"
        content = content or "Conversation compacted"
    elif sub == "local_command":
        component = "Commands"
    is_error = level == "error" or sub == "api_error" or bool(errors)
    return content or sub, component, level, is_error


def _progress(data: dict) -> tuple[str, str | None, str | None]:
    if not isinstance(data, dict):
        return flatten(data), None, None
    kind = data.get("type", "")
    if kind == "hook_progress":
        return f"{data.get('hookName', '')}: {data.get('command', '')}", "Hooks", None
    if kind == "bash_progress":
        return str(data.get("output", "")), None, "Bash"
    if kind == "mcp_progress":
        return flatten(data, 5000), "MCP", None
    if kind == "agent_progress":
        inner = data.get("message") or {}
        msg = inner.get("message") if isinstance(inner, dict) else None
        body = msg.get("content") if isinstance(msg, dict) else None
        return blocks_text(body)[:5000], "Agents", None
    return flatten(data, 5000), None, None


def read_web_session(ctx: ReadContext) -> Iterator[Record | Issue]:
    """A claude.ai/code web export: {"loglines": [...]}, one transcript entry each."""
    from .documents import load_json

    obj = yield from load_json(ctx)
    if obj is None:
        return
    lines = obj.get("loglines") if isinstance(obj, dict) else None
    if not isinstance(lines, list):
        yield Issue("JSON file without a 'loglines' list; not a web session export")
        return
    tool_names: dict[str, str] = {}
    hint = ctx.session_hint
    for i, entry in enumerate(lines):
        if isinstance(entry, dict):
            entry.setdefault("uuid", f"{hint}:{i}")
            try:
                records = _entry(entry, None, None, ctx.state, hint, None, tool_names)
            except (TypeError, AttributeError, ValueError, KeyError) as e:
                yield Issue(f"logline {i}: unexpected entry shape ({type(e).__name__}: {e});"
                            " skipped")
                continue
            for rec in records:
                rec.metadata = {**(rec.metadata or {}), "logline": i}
                yield rec
