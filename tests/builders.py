"""Small, realistic Claude Code data for the robustness tests, written into tmp_path.

Line shapes follow the real transcripts in ../shared/fixtures (spotter, Claude Code 2.1.38):
the same keys, in the same places, with deterministic ids and times so every run is equal.
"""

from __future__ import annotations

import ctypes
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from coditect_memory.settings import load_settings
from coditect_memory.store import Store, open_store

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
def open_at(home: Path) -> Store:
    """The store in `home`, read-only (never creates it): what tests ask through the Store."""
    return open_store(load_settings(home), readonly=True)


def all_messages(home: Path) -> list[dict[str, Any]]:
    """Every stored message with its provenance (the Store's export), oldest first."""
    with open_at(home) as store:
        return list(store.export_messages())


def uids(home: Path) -> set[str]:
    return {m["uid"] for m in all_messages(home)}


_VOLATILE = ("id", "run_id", "session", "blob")  # row ids, runs, facts riding on a first row


def store_state(home: Path) -> dict[str, Any]:
    """Everything a clean run determines, through the Store, without run ids, row ids or
    wall-clock times: every message with its provenance, sessions, the manifest, status."""
    with open_at(home) as store:
        messages, facts = [], {}
        for m in store.export_messages():
            if "session" in m:
                facts[m["session_id"]] = m["session"]
            messages.append(tuple(v for k, v in m.items() if k not in _VOLATILE))
        sessions = sorted(store.sessions(limit=1 << 40), key=lambda s: s["session_id"])
        files = []
        for root in sorted({f["root"] for f in store.files()}):
            for path, f in sorted(store.manifest(root).items()):
                files.append((root, path, f.kind, f.size, f.sha256, f.bytes_consumed,
                              f.lines_consumed, f.prefix_sha256, f.partial_tail, f.missing_since is None))
        status = dict(store.status())
    for volatile in ("runs", "last_run"):
        status.pop(volatile)
    return {"messages": sorted(messages), "sessions": sessions, "facts": facts, "files": files,
            "projects": sorted({(s["project"], s["project_name"]) for s in sessions if s["project"]}),
            "status": status}


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


def processes(home: Path, marker: bytes) -> list[int]:
    """Processes (Linux: /proc) whose command line holds `marker` started for the store at
    `home` (MEMORY_HOME in their environment): an ingest's helper processes."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if marker in cmd and f"MEMORY_HOME={home}\0".encode() in env:
            out.append(int(pid))
    return out
