"""The truth about a generated sample: what a correct reader must find, counted while writing.

In the units the store uses: one row per transcript content block, per other transcript line,
per history line, per debug entry, per non-empty todo list, per task/plan/file version/
snapshot/env file.

Keys: sessions, history_only_sessions, sessions_in_store, projects, transcript_messages,
messages (all rows), by_source, files ({kind: {files, bytes}} as `memory status` lists them),
bytes, history_lines (+ _without_session), debug_entries, api_responses, tokens,
tokens_first_line, prompts, history_only_prompts, tool_calls, tool_errors, error_rows,
per_project and per_day (sessions, prompts, tool_calls, tool_errors, transcript_messages,
history_only_*), per_session (what `memory sessions` should derive), features (how often each
rare shape was written; every sample has each at least once when a session can carry it),
date_range, messages_target.

Definitions:
- sessions: sessions with a transcript on disk. History-only sessions (transcripts deleted
  by Claude Code's cleanup) are counted apart, in `history_only_sessions`.
- prompts: user lines a person typed (plain prompts and slash commands written as user
  lines) in main transcripts; not tool results, isMeta lines, compact summaries,
  interruption markers, command output or sub-agent task prompts. Prompts that only
  history.jsonl still holds are `history_only_prompts`.
- tool_calls / tool_errors: tool_use blocks / tool_result blocks with is_error, in main and
  sub-agent transcripts (sub-agent lines carry their parent's sessionId).
- error_rows: rows a reader flags as errors (tool errors, API errors, system lines at level
  error or with hook errors, debug entries at level ERROR).
- tokens: per API response, i.e. per distinct (message.id, requestId), from its final line:
  a streamed response repeats `usage` on every line, and on most multi-line responses the
  earlier lines carry a partial output_tokens (as real files do). `tokens_first_line` is what
  keeping the first line of each response gives.
- days are UTC dates; a session counts on the day of its first record. Transcript rows with
  no timestamp at all (the leading summary lines of old sessions) count for their project
  but on no day.
"""

from __future__ import annotations

from typing import Any

from .core import END_MS, START_MS, Core, iso


def truth(g: Core, messages: int | None) -> dict[str, Any]:
    by_source = dict(g.t_by_source)
    by_source["history"] = g.history_lines + g.pastes  # paste-cache files are history
    by_source["debug"] = g.debug_entries
    by_source = {k: v for k, v in sorted(by_source.items()) if v}
    sessions = sum(1 for v in g.per_session.values() if not v["history_only"])
    history_only = sum(1 for v in g.per_session.values() if v["history_only"])
    totals = dict.fromkeys(("prompts", "tool_calls", "tool_errors", "error_rows"), 0)
    for v in g.per_session.values():
        for k in totals:
            totals[k] += v.get(k, 0)
    files = {k: {"files": n, "bytes": b} for k, (n, b) in sorted(g.files.items())}
    return {
        "messages_target": messages,
        "sessions": sessions,
        "history_only_sessions": history_only,
        "sessions_in_store": sessions + history_only,
        "projects": len(g.projects_used),
        "transcript_messages": by_source.get("transcript", 0),
        "messages": sum(by_source.values()),
        "by_source": by_source,
        "history_lines": g.history_lines,
        "history_lines_without_session": g.history_without_session,
        "debug_entries": g.debug_entries,
        "files": files,
        "bytes": sum(f["bytes"] for f in files.values()),
        "api_responses": g.api_responses,
        "tokens": dict(g.tokens),
        "tokens_first_line": dict(g.tokens_first),
        **totals,
        "history_only_prompts": sum(p["history_only_prompts"] for p in g.per_day.values()),
        "per_project": {k: g.per_project[k] for k in sorted(g.per_project)},
        "per_day": {k: g.per_day[k] for k in sorted(g.per_day)},
        "per_session": g.per_session,
        "features": dict(sorted(g.features.items())),
        "date_range": [iso(START_MS), iso(END_MS)],
    }
