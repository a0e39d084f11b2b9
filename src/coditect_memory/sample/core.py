"""What every writer of the sample shares: the clock, the random stream, the session being
written, and the counters the truth is built from.

Each source kind has its writer, a class over `Core` in a module named after what it writes;
a writer builds on the ones it calls, and `generator.Generator` stacks them all:

    on Core:        Text, Debug, Todos, Plans, SessionEnv, Shell, SettingsFiles
    on Text:        Lines, History
    on Lines:       FileHistory -> FileTools -> Tools
    Lines + Debug:  Responses -> Compaction
    Steps:          Tools + Responses + Todos
    Transcripts:    Steps + Compaction + History
    Generator:      Transcripts + Plans + SessionEnv + Shell + SettingsFiles

Everything is drawn from one `random.Random(seed)`, in the order the writers call each other:
moving a draw changes every byte after it (tests/test_sample.py pins a small sample).
"""

from __future__ import annotations

import base64
import os
import random
import re
import time
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, TextIO

import orjson

from . import vocab as V
from .pool import code_pool

END_MS = 1771092000000  # 2026-02-14T18:00:00Z: fixed, so a seed always gives the same data
SPAN_DAYS = 90
DAY_MS = 86_400_000
START_MS = END_MS - SPAN_DAYS * DAY_MS
START_WEEKDAY = 6  # 2025-11-16, the first day, was a Sunday

NL = orjson.OPT_APPEND_NEWLINE
dumps = orjson.dumps
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}

VI = {v: i for i, v in enumerate(V.VERSIONS)}
HISTORY_SID = VI["1.0.108"]  # history.jsonl lines carry a sessionId from this version on
V2_0 = VI["2.0.14"]  # file-history snapshots, debug logs, session-env, stop hooks
V2_1 = VI["2.1.1"]  # local commands as system lines, sourceToolAssistantUUID
MODERN = VI["2.1.2"]  # progress lines, <session>/subagents/, tool-results/, tasks/
MEAN_ROWS = 300  # mean planned transcript rows per session (lognormal, see schedule)

DAY_KEYS = ("sessions", "prompts", "tool_calls", "tool_errors", "transcript_messages",
            "history_only_prompts", "history_only_sessions")

def iso(ms: int) -> str:
    """ISO-8601 UTC with milliseconds, as Claude Code writes it."""
    minute, rest = divmod(ms, 60_000)
    sec, milli = divmod(rest, 1000)
    return f"{_minute(minute)}{sec:02d}.{milli:03d}Z"


@lru_cache(maxsize=16)
def _minute(minute: int) -> str:
    """The date, hour and minute (cached: iso stamps every line written, a hot path)."""
    return time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))


def day(ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))


def folder_name(path: str) -> str:
    """The projects/<name> folder Claude Code gives a working directory."""
    return re.sub(r"[^A-Za-z0-9]", "-", path)


class Chain:
    """One transcript file being written: the main session or a sub-agent."""

    __slots__ = ("f", "head", "parent", "sidechain", "agent_id", "model", "path", "last_ts")

    def __init__(self, f: IO[bytes], head: dict, sidechain: bool, agent_id: str | None, model: str,
                 path: Path) -> None:
        self.f = f
        self.head = head
        self.parent: str | None = None
        self.sidechain = sidechain
        self.agent_id = agent_id
        self.model = model
        self.path = path
        self.last_ts = 0


class Session:
    """What is known about the session being written."""

    # set when its transcript is opened (transcripts.py) or by the writers that need them
    branch: str
    model: str
    sub_model: str
    entry: str  # "cli" or "vscode"
    hooks: bool
    modern: bool
    thinking: bool
    slug_dir: str  # projects/<folder>
    main: Chain
    plan: str  # the plan file's text, once ExitPlanMode wrote one
    pr: tuple[int, str, str]  # the pull request a create_pr call opened
    dbg_path: Path
    dbg_t: int

    def __init__(self, sid: str, start: int, project: int, vi: int, budget: int) -> None:
        self.sid = sid
        self.t = start
        self.start = start
        self.project = project
        self.cwd, self.lang, _, branches = V.PROJECTS[project]
        self.branches = branches
        self.vi = vi
        self.version = V.VERSIONS[vi]
        self.budget = budget
        self.rows = 0
        self.ctx = 0  # context tokens (cache read of the next response)
        self.pending = 0  # tokens added since the last response
        self.last_response_t = start
        self.files: dict[str, list[str]] = {}  # path -> current lines (for file history)
        self.backups: dict[str, tuple[str, int, str | None, int]] = {}  # path -> (hash, v, name, t)
        self.turn_backed_up: set[str] = set()
        self.todos: list[dict] = []
        self.read: set[str] = set()  # files read and unchanged since
        self.tasks: list[dict] = []
        self.prompt_uuid: str | None = None
        self.prev_prompt_parent: str | None = None
        self.slug: str | None = None
        self.dbg: TextIO | None = None
        self.first_prompt = ""
        self.stats = {"transcript_messages": 0, "messages": 0, "prompts": 0, "tool_calls": 0,
                      "tool_errors": 0, "error_rows": 0, "api_responses": 0,
                      "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
                      "cache_write_tokens": 0}
        self.daily: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # rows, prompts, calls, errors
        self.end = start  # the latest record written
        self.first = start + DAY_MS  # the earliest record written (the store's started_at)
        self.undated = 0  # rows with no timestamp (leading summary lines)


class Core:
    """The random stream, the files written and the counters behind the truth."""

    def __init__(self, out: Path, seed: int) -> None:
        self.out = out
        self.rng = rng = random.Random(seed)
        self.random = rnd = rng.random
        self.getrandbits = rng.getrandbits
        # faster than Random.choice/randint (no rejection sampling); still a function of the seed
        self.choice = lambda seq: seq[int(rnd() * len(seq))]
        self.randint = lambda lo, hi: lo + int(rnd() * (hi - lo + 1))
        self.made_dirs: set[Path] = set()
        self.seen: set[str] = set()
        self.pools = {lang: code_pool(lang) for lang in V.LANG}
        self.pastes = 0  # paste-cache/ files: long pastes history.jsonl refers to
        self.t_by_source: dict[str, int] = defaultdict(int)
        self.files: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.per_project: dict[str, dict[str, int]] = {}
        self.per_day: dict[str, dict[str, int]] = {}
        self.per_session: dict[str, dict[str, Any]] = {}
        self.tokens = dict.fromkeys(("input", "output", "cache_read", "cache_write"), 0)
        self.tokens_first = dict.fromkeys(("input", "output", "cache_read", "cache_write"), 0)
        self.api_responses = 0
        self.history_lines = 0
        self.history_without_session = 0
        self.history_heap: list[tuple[int, int, bytes]] = []
        self.history_seq = 0
        self.debug_entries = 0
        self.projects_used: set[str] = set()
        self.index_entries: dict[int, list[dict]] = defaultdict(list)
        self.features: dict[str, int] = defaultdict(int)
        self.tool_names: dict[tuple, list[str]] = {}
        self.slugs: set[str] = set()

    def _mkdir(self, path: Path) -> None:
        if path not in self.made_dirs:
            path.mkdir(parents=True, exist_ok=True)
            self.made_dirs.add(path)

    def _write_file(self, rel: str, data: bytes, kind: str | None, mtime_ms: int | None = None,
                    s: Session | None = None) -> Path:
        """Write one file; count it under `kind`, the manifest kind a reader will give it."""
        path = self.out / rel
        self._mkdir(path.parent)
        path.write_bytes(data)
        if mtime_ms is not None:
            os.utime(path, (mtime_ms / 1000, mtime_ms / 1000))
        if kind is not None:
            self.files[kind][0] += 1
            self.files[kind][1] += len(data)
        if s is not None and mtime_ms is not None:
            self._seen(s, mtime_ms)
        return path

    def _uuid(self) -> str:
        h = f"{self.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"

    def _b62(self, n: int) -> str:
        """n base62-looking characters (message, request and tool ids)."""
        raw = base64.b64encode(self.getrandbits(6 * n + 12).to_bytes((6 * n + 19) // 8, "big"),
                               b"Xk")
        return raw[:n].decode()

    def _hex(self, n: int) -> str:
        return f"{self.getrandbits(4 * n):0{n}x}"

    def _force(self, feature: str, eligible: bool = True) -> bool:
        """True the first time an eligible session meets a feature, so every sample has it."""
        return eligible and feature not in self.seen

    def _mark(self, feature: str) -> None:
        self.seen.add(feature)
        self.features[feature] += 1

    def _seen(self, s: Session, ts: int) -> None:
        if ts < s.first:
            s.first = ts
        if ts > s.end:
            s.end = ts

    def _rows(self, s: Session, n: int, ts: int) -> None:
        s.rows += n
        s.stats["transcript_messages"] += n
        s.stats["messages"] += n
        s.daily[ts // DAY_MS][0] += n
        self._seen(s, ts)

    def _tick(self, s: Session, lo: int, hi: int) -> int:
        s.t += self.randint(lo, hi)
        if s.t > s.end:
            s.end = s.t
        return s.t

    def _count_day(self, key: str, project: str, day: str, n: int = 1) -> None:
        pp = self.per_project.setdefault(project, dict.fromkeys(DAY_KEYS, 0))
        pp[key] += n
        pd = self.per_day.setdefault(day, dict.fromkeys(DAY_KEYS, 0))
        pd[key] += n
