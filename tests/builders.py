"""Small, realistic Claude Code data for the robustness tests, written into tmp_path.

Line shapes follow the real transcripts in ../shared/fixtures (spotter, Claude Code 2.1.38):
the same keys, in the same places, with deterministic ids and times so every run is equal.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

T0 = datetime(2025, 11, 19, 17, 0, 0, tzinfo=UTC)
CWD = "/home/dev/webapp"


def sid(n: int) -> str:
    """A session id that looks like Claude's (a UUID)."""
    return str(uuid.UUID(int=0x5E55_0000_0000_4000_8000_0000_0000_0000 + n))


def uid_of(session: str, i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{session}/{i}"))


def stamp(i: int, day: int = 0) -> str:
    t = T0 + timedelta(days=day, seconds=i)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _base(session: str, i: int, cwd: str) -> dict[str, Any]:
    return {"parentUuid": uid_of(session, i - 1) if i else None, "isSidechain": False,
            "userType": "external", "cwd": cwd, "sessionId": session, "version": "2.1.38",
            "gitBranch": "main"}


def user(session: str, i: int, text: str, cwd: str = CWD, day: int = 0) -> dict[str, Any]:
    return {**_base(session, i, cwd), "type": "user",
            "message": {"role": "user", "content": text},
            "uuid": uid_of(session, i), "timestamp": stamp(i, day), "permissionMode": "default"}


def assistant(session: str, i: int, text: str, cwd: str = CWD, day: int = 0,
              tool: bool = False) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if tool:
        content.append({"type": "tool_use", "id": f"toolu_{session[-6:]}_{i}", "name": "Bash",
                        "input": {"command": "pytest -q", "timeout": 30000}})
    return {**_base(session, i, cwd),
            "message": {"model": "claude-opus-4-6", "id": f"msg_{session[-8:]}_{i}",
                        "type": "message", "role": "assistant", "content": content,
                        "stop_reason": None, "stop_sequence": None,
                        "usage": {"input_tokens": 3, "cache_creation_input_tokens": 100,
                                  "cache_read_input_tokens": 200, "output_tokens": 13}},
            "requestId": f"req_{session[-8:]}_{i}", "type": "assistant",
            "uuid": uid_of(session, i), "timestamp": stamp(i, day)}


def conversation(session: str, n: int, cwd: str = CWD, start: int = 0, day: int = 0,
                 tools: bool = False) -> list[dict[str, Any]]:
    """n lines alternating prompt / answer, numbered from `start`."""
    out = []
    for i in range(start, start + n):
        if i % 2 == 0:
            out.append(user(session, i, f"step {i}: please fix the failing test in module {i}",
                            cwd, day))
        else:
            out.append(assistant(session, i, f"Done with step {i}; the test passes now.", cwd,
                                 day, tool=tools))
    return out


def line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def write_jsonl(path: Path, objs: list[Any], tail: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line(o) for o in objs) + tail)
    return path


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def transcript_path(root: Path, session: str, slug: str = "-home-dev-webapp") -> Path:
    return root / "projects" / slug / f"{session}.jsonl"


# --- looking at the store -----------------------------------------------------------------
@contextlib.contextmanager
def db(home: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the store in `home` (never creates it), for assertions."""
    conn = sqlite3.connect(f"file:{home / 'memory.db'}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def uids(home: Path) -> set[str]:
    with db(home) as conn:
        return {r[0] for r in conn.execute("SELECT uid FROM messages")}


def store_state(home: Path) -> dict[str, Any]:
    """Everything a clean run determines, without run ids, row ids or wall-clock times."""
    with db(home) as conn:
        messages = sorted(tuple(r) for r in conn.execute("""
            SELECT m.uid, m.session_id, p.path, m.source_kind, m.type, m.content_hash, m.ts,
                   m.source_line, m.source_offset, f.path, m.linked_uid, m.tool_name, m.metadata,
                   m.is_error, m.is_sidechain, m.agent_id, m.parent_ext_id, m.model, m.level
            FROM messages m LEFT JOIN projects p ON p.id = m.project_id
            LEFT JOIN source_files f ON f.id = m.source_file_id"""))
        sessions = [tuple(r) for r in conn.execute("""
            SELECT s.id, p.path, s.started_at, s.ended_at, s.title, s.summary, s.first_prompt,
                   s.git_branch, s.version, s.model, s.slug, s.message_count, s.prompt_count,
                   s.tool_call_count, s.error_count, s.input_tokens, s.output_tokens,
                   s.cache_read_tokens, s.cache_write_tokens, s.parent_session_id, s.dirty
            FROM sessions s LEFT JOIN projects p ON p.id = s.project_id ORDER BY s.id""")]
        projects = [tuple(r) for r in conn.execute(
            "SELECT path, name, first_seen FROM projects ORDER BY path")]
        files = [tuple(r) for r in conn.execute("""
            SELECT path, kind, size, sha256, bytes_consumed, lines_consumed, prefix_sha256,
                   partial_tail, missing_since IS NULL FROM source_files ORDER BY path""")]
        usage = [tuple(r) for r in conn.execute("SELECT * FROM api_usage ORDER BY 1, 2")]
    with open_store(load_settings(home), readonly=True) as store:
        status = dict(store.status())
    for volatile in ("runs", "last_run"):
        status.pop(volatile)
    return {"messages": messages, "sessions": sessions, "projects": projects, "files": files,
            "usage": usage, "status": status}


# --- unreadable files when running as root ---------------------------------------------
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def drop_file_caps() -> None:
    """preexec_fn: drop root's right to ignore file modes, so chmod 000 blocks reads.

    Dropped from the bounding set, the capabilities are gone after exec even for uid 0.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def as_unprivileged() -> dict[str, Any]:
    """Popen/run keyword arguments under which chmod 000 really blocks reads."""
    return {"preexec_fn": drop_file_caps} if os.geteuid() == 0 else {}
