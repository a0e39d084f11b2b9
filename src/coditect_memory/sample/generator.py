"""A realistic, generated `~/.claude` folder, and the truth about what it holds.

`generate(out_dir, sessions=60, messages=None, seed=7)` writes transcripts (main sessions,
both sub-agent layouts, large tool outputs), history.jsonl, todos, tasks, plans, debug logs,
file-history versions, shell snapshots and session-env folders for ~16 projects over the 90
days before a fixed date, as Claude Code 1.0.9x to 2.1.x would. Everything is drawn from
`random.Random(seed)`, so a seed always gives the same bytes; files are streamed to disk,
so memory stays flat however many messages are asked for.

It returns the truth: what a correct reader must find, counted while writing, in the units
the store uses (one row per transcript content block, per other transcript line, per history
line, per debug entry, per non-empty todo list, per task/plan/file version/snapshot/env file).

Keys of the truth: sessions, history_only_sessions, sessions_in_store, projects,
transcript_messages, messages (all rows), by_source, files ({kind: {files, bytes}} as
`memory status` lists them), bytes, history_lines (+ _without_session), debug_entries,
api_responses, tokens, tokens_first_line, prompts, history_only_prompts, tool_calls,
tool_errors, error_rows, per_project and per_day (sessions, prompts, tool_calls, tool_errors,
transcript_messages, history_only_*), per_session (what `memory sessions` should derive),
features (how often each rare shape was written; every sample has each at least once when a
session can carry it), date_range, messages_target.

Definitions used in the truth:
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

import base64
import hashlib
import heapq
import math
import os
import random
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from . import vocab as V

END_MS = 1771092000000  # 2026-02-14T18:00:00Z: fixed, so a seed always gives the same data
SPAN_DAYS = 90
DAY_MS = 86_400_000
START_MS = END_MS - SPAN_DAYS * DAY_MS
START_WEEKDAY = 6  # 2025-11-16, the first day, was a Sunday

_NL = orjson.OPT_APPEND_NEWLINE
_dumps = orjson.dumps
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_SURROGATE_MARK = "\x00LONE-SURROGATE\x00"
_SURROGATE_JSON = _dumps(_SURROGATE_MARK)[1:-1]

_VI = {v: i for i, v in enumerate(V.VERSIONS)}
V2_0 = _VI["2.0.14"]  # file-history snapshots, debug logs, session-env, stop hooks
V2_1 = _VI["2.1.1"]  # local commands as system lines, sourceToolAssistantUUID
MODERN = _VI["2.1.2"]  # progress lines, <session>/subagents/, tool-results/, tasks/
MEAN_ROWS = 300  # mean planned transcript rows per session (lognormal, see _plan)

_DAY_KEYS = ("sessions", "prompts", "tool_calls", "tool_errors", "transcript_messages",
             "history_only_prompts", "history_only_sessions")


def generate(out_dir: Path | str, sessions: int = 60, messages: int | None = None,
             seed: int = 7) -> dict[str, Any]:
    """Write a ~/.claude-like folder at `out_dir`; return the truth about it (see module doc)."""
    gen = _Generator(Path(out_dir), seed)
    return gen.run(sessions, messages)


_minute = [-1, ""]


def _iso(ms: int) -> str:
    """ISO-8601 UTC with milliseconds, as Claude Code writes it (cached per minute: hot path)."""
    minute, rest = divmod(ms, 60_000)
    if minute != _minute[0]:
        _minute[0] = minute
        _minute[1] = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
    sec, milli = divmod(rest, 1000)
    return f"{_minute[1]}{sec:02d}.{milli:03d}Z"


def _day(ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", path)


class _Slots(dict):
    """Placeholder values drawn on first use, so a template costs only what it names."""

    def __init__(self, gen: _Generator, s: _Session) -> None:
        super().__init__()
        self.gen, self.s = gen, s

    def __missing__(self, key: str) -> Any:
        value = self[key] = self.gen._slot(self.s, key)
        return value


class _Chain:
    """One transcript file being written: the main session or a sub-agent."""

    __slots__ = ("f", "head", "parent", "sidechain", "agent_id", "model", "path", "last_ts")

    def __init__(self, f, head: dict, sidechain: bool, agent_id: str | None, model: str,
                 path: Path) -> None:
        self.f = f
        self.head = head
        self.parent: str | None = None
        self.sidechain = sidechain
        self.agent_id = agent_id
        self.model = model
        self.path = path
        self.last_ts = 0


class _Session:
    """What is known about the session being written."""

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
        self.dbg = None
        self.first_prompt = ""
        self.stats = {"transcript_messages": 0, "messages": 0, "prompts": 0, "tool_calls": 0,
                      "tool_errors": 0, "error_rows": 0, "api_responses": 0,
                      "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
                      "cache_write_tokens": 0}
        self.daily: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # rows, prompts, calls, errors
        self.end = start  # the latest record written
        self.first = start + DAY_MS  # the earliest record written (the store's started_at)
        self.undated = 0  # rows with no timestamp (leading summary lines)


class _Generator:
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
        self.pools = {lang: self._code_pool(lang) for lang in V.LANG}
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

    # --- plumbing ---------------------------------------------------------------------------
    def _mkdir(self, path: Path) -> None:
        if path not in self.made_dirs:
            path.mkdir(parents=True, exist_ok=True)
            self.made_dirs.add(path)

    def _write_file(self, rel: str, data: bytes, kind: str | None, mtime_ms: int | None = None,
                    s: _Session | None = None) -> Path:
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

    def _code_pool(self, lang: str) -> list[str]:
        """~3000 lines of plausible code in `lang`, sliced to make file contents and outputs."""
        r = random.Random(f"pool-{lang}")
        ids, kw = V.IDENTS, V.LANG[lang]["kw"]
        out = []
        for _ in range(3000):
            a, b, c = r.choice(ids), r.choice(ids), r.choice(ids)
            indent = " " * (4 * r.randint(0, 3))
            form = r.randint(0, 9)
            if form == 0:
                out.append("")
            elif form == 1:
                out.append(f"{indent}{r.choice(kw)} {a}_{b}({a}, {c}):")
            elif form == 2:
                out.append(f"{indent}{a} = {b}.get({c!r}) or {r.randint(0, 500)}")
            elif form == 3:
                out.append(f"{indent}# {a} must be set before {b} is computed ({c})")
            elif form == 4:
                out.append(f"{indent}return {a}_{b}({c}, timeout={r.randint(1, 60)})")
            elif form == 5:
                out.append(f"{indent}if {a} is None or {b} > {c}.{a}:")
            elif form == 6:
                out.append(f"{indent}{r.choice(kw)} {a}.{b}({c})")
            elif form == 7:
                out.append(f"{indent}log.info(\"{a} {b}\", extra={{\"{c}\": {c}}})")
            elif form == 8:
                out.append(f"{indent}{a}s = [{b} for {b} in {c}s if {b}.{a}]")
            else:
                out.append(f"{indent}raise {a.title()}Error(f\"bad {b}: {{{c}}}\")")
        return out

    def _lines(self, lang: str, n: int) -> list[str]:
        pool = self.pools[lang]
        start = self.randint(0, len(pool) - 1)
        if n <= len(pool) - start:
            return pool[start:start + n]
        out = pool[start:]
        while len(out) < n:
            out.extend(pool[: n - len(out)])
        return out

    def _fill(self, s: _Session, template: str) -> str:
        """A template with its {placeholders} drawn for this session (only those it uses)."""
        if "{" not in template:
            return template
        return template.format_map(_Slots(self, s))

    def _slot(self, s: _Session, key: str) -> Any:
        lang = V.LANG[s.lang]
        ch = self.choice
        if key in ("file", "file2"):
            return self._file(s)
        simple = {"test": lang["tests"], "func": lang["funcs"], "dep": lang["deps"],
                  "cmd": lang["test"] + lang["other"], "branch": s.branches, "ident": V.IDENTS,
                  "ident2": V.IDENTS, "fix": V.FIXES, "cause": V.CAUSES, "task": V.TASKS,
                  "commit": V.COMMITS}.get(key)
        if simple is not None:
            return ch(simple)
        if key == "cwd":
            return s.cwd
        if key == "trace":
            return "\n".join(V.TRACE).replace("{cwd}", s.cwd)
        if key == "error":
            return ch(V.ERRORS).replace("{cwd}", s.cwd).replace("{ident}", ch(V.IDENTS))
        if key == "sha":
            return self._hex(7)
        if key == "num":
            return self.randint(12, 980)
        return self.randint(3, 412)  # n

    def _file(self, s: _Session) -> str:
        pkg = V.PKG.get(s.cwd.rsplit("/", 1)[-1], "app")
        return self.choice(V.LANG[s.lang]["files"]).replace("{pkg}", pkg)

    # --- the plan ---------------------------------------------------------------------------
    def _plan(self, sessions: int, messages: int | None) -> list[tuple[int, int, int, int, bool]]:
        """(start ms, project, version index, planned rows, deleted) in start order."""
        r = self.rng
        n = sessions if messages is None else max(1, round(messages / MEAN_ROWS))
        weights = [p[2] for p in V.PROJECTS]
        budgets = [min(9000, max(14, int(r.lognormvariate(math.log(MEAN_ROWS / 1.65), 1.0))))
                   for _ in range(n)]
        if messages is not None:
            scale = messages / sum(budgets)
            budgets = [max(8, round(b * scale)) for b in budgets]
        starts = []
        while len(starts) < n:
            day = r.randrange(SPAN_DAYS)
            if (START_WEEKDAY + day) % 7 >= 5 and r.random() < 0.7:  # fewer at weekends
                continue
            hour = r.choice((13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 1, 2)) + r.random()
            t = START_MS + day * DAY_MS + int(hour * 3_600_000)
            starts.append(min(t, END_MS - 3_600_000))
        starts.sort()
        plan = []
        nv = len(V.VERSIONS)
        for i, t in enumerate(starts):
            p = (t - START_MS) / (END_MS - START_MS)
            vi = min(nv - 1, max(0, int(p * nv + r.gauss(0, 1.2))))
            project = r.choices(range(len(V.PROJECTS)), weights)[0]
            plan.append((t, project, vi, budgets[i], False))
        # sessions whose transcripts Claude Code's cleanup deleted: only history.jsonl knows them
        for _ in range(max(1, n // 15)):
            t = START_MS + int(r.random() * 0.4 * (END_MS - START_MS))
            p = (t - START_MS) / (END_MS - START_MS)
            vi = min(nv - 1, max(0, int(p * nv + r.gauss(0, 1.2))))
            plan.append((t, r.choices(range(len(V.PROJECTS)), weights)[0], vi, 0, True))
        plan.sort()
        return plan

    # --- the run ----------------------------------------------------------------------------
    def run(self, sessions: int, messages: int | None) -> dict[str, Any]:
        self._mkdir(self.out)
        plan = self._plan(sessions, messages)
        hist_path = self.out / "history.jsonl"
        planned_total = actual_total = 0
        with open(hist_path, "wb", buffering=1 << 20) as hist:
            for i, (start, project, vi, budget, deleted) in enumerate(plan):
                if deleted:
                    self._deleted_session(start, project, vi)
                else:
                    planned_total += budget
                    carry = planned_total - actual_total - budget if messages is not None else 0
                    s = self._session(start, project, vi, max(6, budget + carry))
                    actual_total += s.rows
                nxt = plan[i + 1][0] if i + 1 < len(plan) else None
                heap = self.history_heap
                while heap and (nxt is None or heap[0][0] < nxt):
                    hist.write(heapq.heappop(heap)[2])
        self.files["history"][0] += 1
        self.files["history"][1] += hist_path.stat().st_size
        os.utime(hist_path, (END_MS / 1000, END_MS / 1000))
        self._globals()
        return self._truth(messages)

    def _count_day(self, key: str, project: str, day: str, n: int = 1) -> None:
        pp = self.per_project.setdefault(project, dict.fromkeys(_DAY_KEYS, 0))
        pp[key] += n
        pd = self.per_day.setdefault(day, dict.fromkeys(_DAY_KEYS, 0))
        pd[key] += n

    def _history(self, s: _Session | None, ts: int, display: str, project: str, sid: str | None,
                 pasted: dict | None = None) -> None:
        obj: dict[str, Any] = {"display": display, "pastedContents": pasted or {}, "timestamp": ts,
                               "project": project}
        if sid is not None:
            obj["sessionId"] = sid
        else:
            self.history_without_session += 1
        if s is not None:  # a line without sessionId joins the session its prompt is linked to
            s.stats["messages"] += 1
            self._seen(s, ts)
        self.history_seq += 1
        heapq.heappush(self.history_heap, (ts, self.history_seq, _dumps(obj, option=_NL)))
        self.history_lines += 1
        self.t_by_source["history"] += 1
        self.projects_used.add(project)

    def _deleted_session(self, start: int, project: int, vi: int) -> None:
        cwd = V.PROJECTS[project][0]
        sid = self._uuid()
        has_sid = vi >= _VI["1.0.108"]  # older history lines have no sessionId
        s = _Session(sid, start, project, vi, 0)
        t = first = start + self.randint(2000, 30000)
        n = self.randint(1, 6)
        for k in range(n):
            text = self._fill(s, self.choice(V.PROMPTS if k == 0 else V.FOLLOWUPS))
            self._history(None, t, text, cwd, sid if has_sid else None)
            self._count_day("history_only_prompts", cwd, _day(t))
            t += self.randint(40_000, 1_500_000)
        if has_sid:
            self._count_day("history_only_sessions", cwd, _day(first))
            self.per_session[sid] = {"project": cwd, "history_only": True, "messages": n,
                                     "started_at": _iso(first), "prompts": 0}
        self._mark("history_only_session")

    # --- one session -------------------------------------------------------------------------
    def _session(self, start: int, project: int, vi: int, budget: int) -> _Session:
        sid = self._uuid()
        s = _Session(sid, start, project, vi, budget)
        r = self.random
        slug_dir = f"projects/{_slug(s.cwd)}"
        self._mkdir(self.out / slug_dir)
        s.branch = self.choice(s.branches)
        era = max(e for e in V.MODELS_BY_ERA if e[0] <= vi)
        s.model = self.choice(era[1])
        s.sub_model = self.choice(era[2])
        s.entry = "vscode" if r() < 0.2 else "cli"
        s.hooks = vi >= V2_0 and (r() < 0.45 or self._force("hooks", vi >= MODERN))
        s.modern = vi >= MODERN
        s.slug_dir = slug_dir
        s.thinking = r() < 0.6
        path = self.out / slug_dir / f"{sid}.jsonl"
        head = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": s.cwd,
                "sessionId": sid, "version": s.version, "gitBranch": s.branch}
        self._open_debug(s)
        with open(path, "wb", buffering=1 << 20) as f:
            c = _Chain(f, head, False, None, s.model, path)
            s.main = c
            if vi < V2_0 and (r() < 0.4 or self._force("summary")):
                for _ in range(self.randint(1, 2)):
                    self._plain(s, c, {"type": "summary", "summary": self._title(s),
                                       "leafUuid": self._uuid()})
                self._mark("summary")
            turn = 0
            compact_at = 165_000
            force_compact = self._force("compaction", budget >= 80)
            while s.rows < s.budget:
                due = s.ctx > compact_at or (force_compact and s.rows > s.budget // 2)
                if due and s.budget - s.rows > 12:
                    self._compact(s, c)
                    force_compact = False
                self._turn(s, c, turn)
                turn += 1
                if turn == 1 and s.vi >= V2_1 and (r() < 0.5 or self._force("ai_title")):
                    self._plain(s, c, {"type": "ai-title", "aiTitle": self._title(s), "sessionId": sid})
                    self._mark("ai_title")
                if turn == 2 and (r() < 0.05 or self._force("custom_title", vi >= V2_0)):
                    self._plain(s, c, {"type": "custom-title", "customTitle": self._title(s) + " (wip)",
                                       "sessionId": sid})
                    self._mark("custom_title")
        os.utime(path, (s.end / 1000, s.end / 1000))
        size = path.stat().st_size
        self.files["transcript"][0] += 1
        self.files["transcript"][1] += size
        self._session_files(s)
        self._close_session(s)
        return s

    def _title(self, s: _Session) -> str:
        words = s.first_prompt.split()[:6] or ["Session"]
        title = " ".join(words).strip("`'\".,:?")
        return title[:1].upper() + title[1:]

    def _seen(self, s: _Session, ts: int) -> None:
        if ts < s.first:
            s.first = ts
        if ts > s.end:
            s.end = ts

    def _rows(self, s: _Session, n: int, ts: int) -> None:
        s.rows += n
        s.stats["transcript_messages"] += n
        s.stats["messages"] += n
        s.daily[ts // DAY_MS][0] += n
        self._seen(s, ts)

    def _tick(self, s: _Session, lo: int, hi: int) -> int:
        s.t += self.randint(lo, hi)
        if s.t > s.end:
            s.end = s.t
        return s.t

    def _plain(self, s: _Session, c: _Chain, obj: dict, ts: int | None = None) -> None:
        """A line without uuid or message (summary, titles, queue operations, PR links)."""
        c.f.write(_dumps(obj, option=_NL))
        if ts is not None:
            c.last_ts = ts
        if c.last_ts:
            self._rows(s, 1, c.last_ts)
        else:  # a leading summary line: no time of its own or before it
            s.rows += 1
            s.stats["transcript_messages"] += 1
            s.stats["messages"] += 1
            s.undated += 1

    def _line(self, s: _Session, c: _Chain, typ: str, fields: dict, rows: int = 1,
              ts: int | None = None, parent: Any = ...) -> str:
        d = c.head.copy()
        if parent is ...:
            d["parentUuid"] = c.parent
        else:
            d["parentUuid"] = parent
        d["type"] = typ
        d.update(fields)
        u = self._uuid()
        t = s.t if ts is None else ts
        d["uuid"] = u
        d["timestamp"] = _iso(t)
        c.f.write(_dumps(d, option=_NL))
        c.parent = u
        c.last_ts = t
        self._rows(s, rows, t)
        return u

    def _user(self, s: _Session, c: _Chain, content: Any, rows: int = 1, extra: dict | None = None,
              parent: Any = ...) -> str:
        fields: dict[str, Any] = {"message": {"role": "user", "content": content}}
        if extra:
            fields.update(extra)
        return self._line(s, c, "user", fields, rows, parent=parent)

    def _system(self, s: _Session, c: _Chain, subtype: str, fields: dict, error: bool = False,
                parent: Any = ...) -> str:
        f = {"subtype": subtype, **fields}
        if error:
            s.stats["error_rows"] += 1
        return self._line(s, c, "system", f, parent=parent)

    def _progress(self, s: _Session, c: _Chain, data: dict, tool_use_id: str, parent_tool: str) -> None:
        self._line(s, c, "progress", {"data": data, "parentToolUseID": parent_tool,
                                      "toolUseID": tool_use_id})

    # --- a turn: prompt, assistant steps, tool calls, end-of-turn lines -----------------------
    def _turn(self, s: _Session, c: _Chain, turn: int) -> None:
        r = self.random
        idle = self.randint(20_000, 900_000) if turn else self.randint(1500, 9000)
        if turn and r() < 0.06:
            idle = self.randint(1_800_000, 7_200_000)  # lunch, a meeting
        self._tick(s, idle, idle)
        s.turn_backed_up = set()
        turn_start = s.t
        if turn and r() < 0.04 or self._force("local_command", turn > 0):
            self._local_command(s, c)
            self._mark("local_command")
            return
        if turn and r() < 0.015 or self._force("rewind", turn > 1):
            c.parent = s.prev_prompt_parent  # a rewind: the new prompt forks the conversation
            self._mark("rewind")
        s.prev_prompt_parent = c.parent
        self._prompt(s, c, turn)
        remaining = s.budget - s.rows
        if s.vi >= V2_0:
            self._snapshot(s, c, s.prompt_uuid, False)
        if s.modern and s.hooks:
            self._progress(s, c, {"type": "hook_progress", "hookEvent": "UserPromptSubmit",
                                  "hookName": "UserPromptSubmit",
                                  "command": "/home/dev/.claude/hooks/inject-context.sh"},
                           self._uuid(), self._uuid())
        self._dbg(s, "[DEBUG] Executing hooks for UserPromptSubmit")
        per_step = 7 if s.modern else 4
        want = int(self.rng.expovariate(1 / 6)) if turn or r() < 0.8 else 0
        steps = max(0, min(want, 40, (remaining - 6) // per_step))
        for _ in range(steps):
            if not self._step(s, c):
                return  # interrupted by the user
        if r() < 0.002 or self._force("api_error_message", steps > 0 and s.budget > 60):
            self._api_error_message(s, c)
            return
        text = self._fill(s, self.choice(V.SUMMARIES))
        self._response(s, c, [{"type": "text", "text": text}], "end_turn")
        if s.vi >= V2_0 and s.hooks:
            hook_error = r() < 0.04
            self._system(s, c, "stop_hook_summary", {
                "hookCount": 2, "hookInfos": [{"command": "/home/dev/.claude/hooks/notify.sh"},
                                              {"command": "cd $CLAUDE_PROJECT_DIR && make lint"}],
                "hookErrors": ["make: *** [lint] Error 1"] if hook_error else [],
                "preventedContinuation": False, "stopReason": "", "hasOutput": True,
                "level": "suggestion", "toolUseID": self._uuid()}, error=hook_error)
        if s.modern and s.t - turn_start > 20_000:
            self._system(s, c, "turn_duration", {"durationMs": s.t - turn_start, "isMeta": False})

    def _prompt(self, s: _Session, c: _Chain, turn: int) -> None:
        r = self.random
        t = self._tick(s, 50, 400)
        hist_t = t - self.randint(5, 80)
        pasted = None
        meta_expansion = None
        if turn == 0 or r() < 0.45:
            text = self._fill(s, self.choice(V.PROMPTS))
        else:
            text = self._fill(s, self.choice(V.FOLLOWUPS))
        display = text
        content: Any = text
        rows = 1
        roll = r()
        if roll < 0.04 or self._force("slash_command", turn > 0):
            name, cmd, args = self.choice(V.SLASH_COMMANDS)
            args = self._fill(s, args)
            display = f"{name} {args}".strip()
            content = (f"<command-message>{cmd} is running…</command-message>\n"
                       f"<command-name>{name}</command-name>\n<command-args>{args}</command-args>")
            meta_expansion = (f"# {cmd}\n\nYou are asked to {cmd.replace('-', ' ')} for this "
                              f"repository. Follow these steps:\n\n1. Inspect the relevant files\n"
                              f"2. Explain findings clearly\n3. Propose concrete changes\n\n"
                              f"Arguments: {args or '(none)'}")
            text = display
            self._mark("slash_command")
        elif roll < 0.07 or self._force("pasted", turn > 0):
            paste = "\n".join(line.replace("{cwd}", s.cwd) for line in V.TRACE)
            nlines = paste.count("\n") + 1
            display = f"{text} [Pasted text #1 +{nlines} lines]"
            pasted = {"1": {"id": 1, "type": "text", "content": paste}}
            content = f"{text} {paste}"
            self._mark("pasted")
        elif s.lang == "ts" and (roll < 0.085 or self._force("image")):
            data = base64.b64encode(b"\x89PNG\r\n\x1a\n" + self.rng.randbytes(self.randint(3000, 40000)))
            display = f"[Image #1] {text}"
            pasted = {"1": {"id": 1, "type": "image", "mediaType": "image/png"}}
            content = [{"type": "text", "text": text},
                       {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                    "data": data.decode()}}]
            rows = 2
            self._mark("image")
        elif s.entry == "vscode" and roll < 0.35:
            file = self._file(s)
            content = [{"type": "text", "text": f"<ide_opened_file>The user opened the file "
                        f"{s.cwd}/{file} in the IDE. This may or may not be related to the current "
                        f"task.</ide_opened_file>"}, {"type": "text", "text": text}]
            rows = 2
        if not s.first_prompt:
            s.first_prompt = display
        extra: dict[str, Any] = {}
        if s.vi >= V2_0:
            extra = {"thinkingMetadata": {"maxThinkingTokens": 31999 if s.thinking else 0},
                     "todos": s.todos, "permissionMode": "acceptEdits" if r() < 0.3 else "default"}
        s.prompt_uuid = self._user(s, c, content, rows, extra)
        s.pending += len(text) // 4 + 20
        s.stats["prompts"] += 1
        s.daily[t // DAY_MS][1] += 1
        self._history(s, hist_t, display, s.cwd, s.sid if s.vi >= _VI["1.0.108"] else None, pasted)
        if meta_expansion:
            self._tick(s, 1, 30)
            self._user(s, c, [{"type": "text", "text": meta_expansion}], 1, {"isMeta": True})
        if s.vi >= V2_0 and r() < 0.02 or self._force("queue_operation", s.vi >= V2_0):
            queued = self._fill(s, self.choice(V.FOLLOWUPS))
            self._plain(s, c, {"type": "queue-operation", "operation": "enqueue",
                               "timestamp": _iso(s.t + 900), "sessionId": s.sid, "content": queued},
                        s.t + 900)
            self._plain(s, c, {"type": "queue-operation", "operation": "dequeue",
                               "timestamp": _iso(s.t + 1400), "sessionId": s.sid}, s.t + 1400)
            self._mark("queue_operation")

    def _local_command(self, s: _Session, c: _Chain) -> None:
        name, out = self.choice(V.LOCAL_COMMANDS)
        t = self._tick(s, 50, 300)
        self._history(s, t - 20, name, s.cwd, s.sid if s.vi >= _VI["1.0.108"] else None)
        cmd = (f"<command-name>{name}</command-name>\n            <command-message>{name[1:]}"
               "</command-message>\n            <command-args></command-args>")
        stdout = f"<local-command-stdout>{out}</local-command-stdout>"
        if s.vi >= V2_1:
            self._system(s, c, "local_command", {"content": cmd, "level": "info", "isMeta": False})
            self._system(s, c, "local_command", {"content": stdout, "level": "info", "isMeta": False})
            return
        caveat = ("<local-command-caveat>Caveat: The messages below were generated by the user while "
                  "running local commands. DO NOT respond to these messages or otherwise consider "
                  "them in your response unless the user explicitly asks you to."
                  "</local-command-caveat>")
        self._user(s, c, caveat, extra={"isMeta": True})
        self._user(s, c, cmd)
        s.stats["prompts"] += 1
        s.daily[t // DAY_MS][1] += 1
        self._user(s, c, stdout)

    def _snapshot(self, s: _Session, c: _Chain, message_id: str | None, update: bool) -> None:
        """A file-history-snapshot line: which backup holds each tracked file's last version."""
        tracked = {}
        for path, (_, version, name, bt) in s.backups.items():
            tracked[path] = {"backupFileName": name, "version": version, "backupTime": _iso(bt)}
        obj = {"type": "file-history-snapshot", "messageId": message_id,
               "snapshot": {"messageId": message_id, "trackedFileBackups": tracked,
                            "timestamp": _iso(s.t)}, "isSnapshotUpdate": update}
        c.f.write(_dumps(obj, option=_NL))
        c.last_ts = s.t
        self._rows(s, 1, s.t)

    # --- assistant responses ---------------------------------------------------------------
    def _response(self, s: _Session, c: _Chain, blocks: list[dict], stop: str | None,
                  model: str | None = None) -> list[str]:
        """One API response, streamed as one line per content block with a repeated usage."""
        r = self.random
        mid = "msg_01" + self._b62(22)
        rid = "req_011C" + self._b62(20)
        think = self.randint(2000, 9000) if s.t - s.last_response_t < 60_000 else 1200
        self._tick(s, think // 2, think)
        out_tokens = 0
        for b in blocks:
            body = b.get("text") or b.get("thinking") or ""
            out_tokens += len(body) // 4 + (len(_dumps(b["input"])) // 4 if "input" in b else 0) + 8
        cold = s.t - s.last_response_t > 300_000  # the prompt cache expired
        cache_write = s.pending + self.randint(40, 600) + (s.ctx if cold else 0)
        cache_read = 0 if cold else s.ctx
        s.ctx += s.pending + out_tokens + 50
        s.pending = 0
        s.last_response_t = s.t
        inp = self.randint(1, 9)
        final = {"input_tokens": inp, "cache_creation_input_tokens": cache_write,
                 "cache_read_input_tokens": cache_read,
                 "cache_creation": {"ephemeral_5m_input_tokens": cache_write,
                                    "ephemeral_1h_input_tokens": 0},
                 "output_tokens": out_tokens, "service_tier": "standard"}
        partial = final
        if len(blocks) > 1 and r() < 0.6:
            partial = {**final, "output_tokens": self.randint(1, 12)}
            if s.modern:
                final = {**final, "server_tool_use": {"web_search_requests": 0,
                                                      "web_fetch_requests": 0}, "iterations": []}
        uuids = []
        model = model or c.model
        last = len(blocks) - 1
        for i, b in enumerate(blocks):
            if i:
                self._tick(s, 200, 2500)
            msg = {"model": model, "id": mid, "type": "message", "role": "assistant",
                   "content": [b], "stop_reason": stop if i == last else None,
                   "stop_sequence": None, "usage": final if i == last else partial}
            uuids.append(self._line(s, c, "assistant", {"message": msg, "requestId": rid}))
            if b["type"] == "tool_use":
                s.stats["tool_calls"] += 1
                s.daily[s.t // DAY_MS][2] += 1
        self.api_responses += 1
        s.stats["api_responses"] += 1
        for key, field in (("input", "input_tokens"), ("output", "output_tokens"),
                           ("cache_read", "cache_read_input_tokens"),
                           ("cache_write", "cache_creation_input_tokens")):
            self.tokens[key] += final[field]
            self.tokens_first[key] += partial[field]
        s.stats["input_tokens"] += final["input_tokens"]
        s.stats["output_tokens"] += final["output_tokens"]
        s.stats["cache_read_tokens"] += final["cache_read_input_tokens"]
        s.stats["cache_write_tokens"] += final["cache_creation_input_tokens"]
        self._dbg(s, "[DEBUG] Stream started - received first chunk")
        return uuids

    def _api_error_message(self, s: _Session, c: _Chain) -> None:
        """Retries exhausted: a synthetic assistant line flagged isApiErrorMessage."""
        self._tick(s, 30_000, 90_000)
        msg = {"id": self._uuid(), "model": "<synthetic>", "role": "assistant",
               "stop_reason": "stop_sequence", "stop_sequence": "", "type": "message",
               "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                         "cache_read_input_tokens": 0},
               "content": [{"type": "text", "text": "API Error: 529 {\"type\":\"error\",\"error\":"
                            "{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"}]}
        self._line(s, c, "assistant", {"message": msg, "isApiErrorMessage": True})
        s.stats["error_rows"] += 1
        s.stats["api_responses"] += 1
        self.api_responses += 1
        self._dbg(s, self.choice(V.DEBUG_ERRORS[3:4]))
        self._mark("api_error_message")

    def _step(self, s: _Session, c: _Chain) -> bool:
        """One assistant response with tool calls, then their results. False if interrupted."""
        r = self.random
        if r() < 0.01 or self._force("api_error", s.budget > 40):
            self._tick(s, 2000, 8000)
            self._system(s, c, "api_error", {
                "level": "error", "cause": {"code": "ECONNRESET"},
                "error": {"status": 529, "error": {"type": "error", "error": {
                    "type": "overloaded_error", "message": "Overloaded"}}},
                "retryInMs": self.randint(500, 8000), "retryAttempt": 1, "maxRetries": 10},
                error=True)
            self._dbg(s, V.DEBUG_ERRORS[3])
            self._mark("api_error")
        blocks: list[dict] = []
        if s.thinking and r() < 0.35:
            sig = base64.b64encode(self.rng.randbytes(self.randint(150, 450))).decode()
            blocks.append({"type": "thinking", "thinking": self._fill(s, self.choice(V.THINKING)),
                           "signature": sig})
        if r() < 0.55:
            blocks.append({"type": "text", "text": self._fill(s, self.choice(V.INTROS + V.MIDS))})
        ncalls = 1 if r() < 0.85 else self.randint(2, 3)
        calls = [self._tool(s, c) for _ in range(ncalls)]
        for call in calls:
            block = {"type": "tool_use", "id": call["id"], "name": call["name"], "input": call["input"]}
            if s.vi >= V2_1:
                block["caller"] = {"type": "direct"}
            blocks.append(block)
        uuids = self._response(s, c, blocks, "tool_use")
        for call, au in zip(calls, uuids[-ncalls:], strict=True):
            if not self._result(s, c, call, au):
                return False
        return True

    # --- tools ------------------------------------------------------------------------------
    def _pick_tool(self, s: _Session) -> str:
        r = self.random()
        if r < 0.004 and s.vi >= V2_0 and s.slug is None:
            return "ExitPlanMode"
        if r < 0.006:
            return "mcp__github__create_pr"
        key = (s.vi < V2_0, s.modern, s.lang == "ts")
        names = self.tool_names.get(key)
        if names is None:
            names = ["Read"] * 25 + ["Bash"] * 22 + ["Edit"] * 15 + ["Grep"] * 9 + ["Glob"] * 5 + \
                ["Write"] * 4 + ["TodoWrite"] * 4 + ["Task"] * 2 + ["WebSearch"] * 2 + \
                ["WebFetch"] + ["mcp__github__get_issue"]
            if key[0]:
                names += ["LS"] * 3 + ["MultiEdit"] * 2
            if key[1]:
                names += ["TaskCreate"] * 2
            if key[2]:
                names += ["mcp__playwright__browser_snapshot"] * 2
            self.tool_names[key] = names
        return self.choice(names)

    def _tool(self, s: _Session, c: _Chain) -> dict:
        """Choose a tool call and what it returns; the result is written by _result."""
        name = self._pick_tool(s)
        if c.sidechain:
            name = self.choice(("Read", "Read", "Grep", "Glob", "Bash"))
        forced = None
        for feature, tool, ok in (("subagent_modern", "Task", s.modern),
                                  ("subagent_legacy", "Task", not s.modern),
                                  ("plan", "ExitPlanMode", s.vi >= V2_0),
                                  ("tasks", "TaskCreate", s.modern),
                                  ("todos", "TodoWrite", True),
                                  ("pr", "mcp__github__create_pr", True)):
            if not c.sidechain and self._force(feature, ok and s.budget - s.rows > 40):
                forced = tool
                break
        name = forced or name
        if name == "Task" and (c.sidechain or s.budget - s.rows < 30):
            name = "Grep"
        tid = "toolu_01" + self._b62(22)
        fn = getattr(self, "_t_" + name.replace("mcp__", "mcp_").replace("__", "_"))
        call = fn(s, c)
        call["id"] = tid
        call["name"] = name
        return call

    def _err(self, p: float) -> bool:
        return self.random() < p

    def _t_Read(self, s: _Session, c: _Chain) -> dict:
        file = self._file(s)
        path = f"{s.cwd}/{file}"
        if self._err(0.04):
            msg = "File does not exist." if self.random() < 0.6 else \
                f"ENOENT: no such file or directory, open '{path}'"
            return {"input": {"file_path": path}, "content": f"<tool_use_error>{msg}</tool_use_error>",
                    "result": f"Error: {msg}", "error": True}
        lines = self._current(s, file)
        total = len(lines)
        inp: dict[str, Any] = {"file_path": path}
        if s.modern and file in s.read and self.random() < 0.7:
            return {"input": inp, "error": False, "result": {"type": "file_unchanged"},
                    "content": "File unchanged since last read. The content from the earlier Read "
                               "tool_result in this conversation is still current — refer to that "
                               "instead of re-reading."}
        start = 1
        if self.random() < 0.0004:  # a huge log file read whole (rare)
            lines = self._lines(s.lang, self.randint(8000, 60000))
            total = len(lines)
        elif total > 120 and self.random() < 0.7:  # a window of a long file
            start = self.randint(1, total - 100)
            limit = self.randint(60, 100)
            lines = lines[start - 1:start - 1 + limit]
            inp.update(offset=start, limit=limit)
        s.read.add(file)
        body = "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(lines, start))
        return {"input": inp, "content": body,
                "result": {"type": "text", "file": {"filePath": path, "content": "\n".join(lines),
                                                    "numLines": len(lines), "startLine": start,
                                                    "totalLines": total}},
                "error": False}

    def _current(self, s: _Session, file: str) -> list[str]:
        lines = s.files.get(file)
        if lines is None:
            n = int(min(600, max(6, self.rng.lognormvariate(math.log(26), 0.75))))
            lines = s.files[file] = self._lines(s.lang, n)
        return lines

    def _bash_output(self, s: _Session, cmd: str, fail: bool) -> str:
        lang = V.LANG[s.lang]
        if cmd in lang["test"]:
            n = self.randint(3, 60)
            if fail:
                test = self.choice(lang["tests"])
                tb = self._lines(s.lang, self.randint(5, 30))
                return (f"{'.' * n}F{'.' * self.randint(0, 20)}\n=================== FAILURES "
                        f"===================\n___ {test} ___\n" + "\n".join(tb) +
                        f"\nE   AssertionError: assert {self.randint(0, 99)} == {self.randint(100, 200)}"
                        f"\n========= 1 failed, {n} passed in {self.random() * 9:.2f}s =========")
            return f"{'.' * n}\n{n} passed in {self.random() * 9:.2f}s"
        if cmd in lang["lint"]:
            if fail:
                return "\n".join(f"{self._file(s)}:{self.randint(1, 400)}:{self.randint(1, 80)}: "
                                 f"E501 Line too long ({self.randint(101, 140)} > 100)"
                                 for _ in range(self.randint(1, 8))) + "\nFound errors."
            return "All checks passed!"
        if cmd.startswith("git status"):
            return (f"On branch {s.branch}\nChanges not staged for commit:\n  modified:   "
                    f"{self._file(s)}\n  modified:   {self._file(s)}\n\nno changes added to commit")
        if cmd.startswith("git log"):
            return "\n".join(f"{self._hex(7)} {self.choice(V.COMMITS)}" for _ in range(10))
        if fail:
            err = self.choice(V.ERRORS).replace("{cwd}", s.cwd).replace("{ident}", self.choice(V.IDENTS))
            return f"{err}\n" + "\n".join(self._lines(s.lang, self.randint(0, 6)))
        return "\n".join(self._lines(s.lang, self.randint(0, 25)))

    def _t_Bash(self, s: _Session, c: _Chain) -> dict:
        lang = V.LANG[s.lang]
        cmd = self.choice(lang["test"] + lang["lint"] + lang["other"])
        cmd = cmd.replace("{pkg}", V.PKG.get(s.cwd.rsplit("/", 1)[-1], "app"))
        rejected = self._err(0.012) or self._force("rejection", not c.sidechain and s.budget > 60)
        if rejected:
            return self._rejected({"command": cmd, "description": f"Run {cmd.split()[0]}"})
        fail = self._err(0.18)
        out = self._bash_output(s, cmd, fail)
        if self.random() < 0.0004:  # a verbose build log, megabytes long (rare)
            out += "\n" + "\n".join(self._lines(s.lang, self.randint(10000, 70000)))
        elif self.random() < 0.004 or self._force("tool_results_file", s.modern and not c.sidechain):
            out += "\n" + "\n".join(self._lines(s.lang, self.randint(1000, 2000)))  # 45-90 KB
        if len(out) < 20_000 and (self.random() < 0.0005 or self._force("surrogate")):
            out += f"\nemoji cut in half: {_SURROGATE_MARK}"
            self._mark("surrogate")
        call = {"input": {"command": cmd, "description": f"Run {cmd.split()[0]}"},
                "content": f"Exit code 1\n{out}" if fail else out,
                "result": {"stdout": out, "stderr": "", "interrupted": False, "isImage": False},
                "error": fail, "bash": cmd in lang["test"]}
        if fail:
            call["result"] = f"Error: Exit code 1\n{out[:2000]}"
        return call

    def _rejected(self, inp: dict) -> dict:
        return {"input": inp, "error": True, "rejected": True, "result": "User rejected tool use",
                "content": "The user doesn't want to proceed with this tool use. The tool use was "
                           "rejected (eg. if it was a file edit, the new_string was NOT written to "
                           "the file). STOP what you are doing and wait for the user to tell you "
                           "how to proceed."}

    def _t_Edit(self, s: _Session, c: _Chain) -> dict:
        file = self._file(s)
        path = f"{s.cwd}/{file}"
        lines = self._current(s, file)
        i = self.randint(0, max(0, len(lines) - 3))
        old = "\n".join(lines[i:i + 3])
        new_lines = self._lines(s.lang, self.randint(1, 8))
        new = "\n".join(new_lines)
        inp = {"file_path": path, "old_string": old, "new_string": new, "replace_all": False}
        if not c.sidechain and (self._err(0.012)):
            return self._rejected(inp)
        if self._err(0.06):
            msg = f"String to replace not found in file.\nString: {old[:200]}"
            return {"input": inp, "content": f"<tool_use_error>{msg}</tool_use_error>",
                    "result": f"Error: {msg}", "error": True}
        call: dict[str, Any] = {"input": inp, "error": False, "edit": file}
        original = "\n".join(lines)
        self._backup(s, file)
        s.read.discard(file)
        lines[i:i + 3] = new_lines
        snippet = "\n".join(f"{k:>6}\t{line}" for k, line in enumerate(lines[i:i + 10], i + 1))
        call["content"] = (f"The file {path} has been updated. Here's the result of running "
                           f"`cat -n` on a snippet of the edited file:\n{snippet}")
        call["result"] = {"filePath": path, "oldString": old, "newString": new,
                          "originalFile": original if s.vi >= V2_0 else None,
                          "structuredPatch": [{"oldStart": i + 1, "oldLines": 3, "newStart": i + 1,
                                               "newLines": len(new_lines),
                                               "lines": ["-" + x for x in lines[i:i + 1]] +
                                               ["+" + x for x in new_lines]}],
                          "userModified": False, "replaceAll": False}
        return call

    def _t_MultiEdit(self, s: _Session, c: _Chain) -> dict:
        call = self._t_Edit(s, c)
        if not call["error"]:
            inp = call["input"]
            call["input"] = {"file_path": inp["file_path"],
                             "edits": [{"old_string": inp["old_string"], "new_string": inp["new_string"]}]}
            call["content"] = f"Applied 1 edit to {inp['file_path']}:\n1. Replaced \"{inp['old_string'][:40]}\""
        return call

    def _t_Write(self, s: _Session, c: _Chain) -> dict:
        pkg = V.PKG.get(s.cwd.rsplit("/", 1)[-1], "app")
        file = self.choice(V.LANG[s.lang]["files"]).replace("{pkg}", pkg)
        if self.random() < 0.5:
            stem, dot, ext = file.rpartition(".")
            file = f"{stem}_{self.choice(V.IDENTS)}.{ext}" if dot else file + "_new"
        path = f"{s.cwd}/{file}"
        lines = self._lines(s.lang, self.randint(8, 100))
        existed = file in s.files
        if existed:
            self._backup(s, file)
        elif s.vi >= V2_0 and file not in s.backups:
            s.backups[file] = ("", 1, None, s.t)  # a new file: tracked, nothing to back up
        s.files[file] = list(lines)
        s.read.discard(file)
        content = "\n".join(lines)
        return {"input": {"file_path": path, "content": content}, "error": False, "edit": file,
                "content": f"File {'updated' if existed else 'created'} successfully at: {path}",
                "result": {"type": "update" if existed else "create", "filePath": path,
                           "content": content, "structuredPatch": []}}

    def _t_Grep(self, s: _Session, c: _Chain) -> dict:
        pattern = self.choice(V.IDENTS) + ("_" + self.choice(V.IDENTS) if self.random() < 0.5 else "")
        n = self.randint(0, 30)
        files = sorted({self._file(s) for _ in range(n)})
        if self.random() < 0.5:
            body = "\n".join(f"{s.cwd}/{f}:{self.randint(1, 500)}:{self.choice(self.pools[s.lang]).strip()}"
                             for f in files for _ in range(self.randint(1, 3)))
            mode = "content"
        else:
            body = f"Found {len(files)} files\n" + "\n".join(f"{s.cwd}/{f}" for f in files)
            mode = "files_with_matches"
        if not files:
            body = "No matches found"
        return {"input": {"pattern": pattern, "path": s.cwd, "output_mode": mode, "-n": True},
                "content": body, "error": False,
                "result": {"mode": mode, "numFiles": len(files), "filenames": [f"{s.cwd}/{f}" for f in files],
                           "content": body if mode == "content" else "", "numLines": body.count("\n") + 1}}

    def _t_Glob(self, s: _Session, c: _Chain) -> dict:
        ext = self._file(s).rsplit(".", 1)[-1]
        files = sorted({f"{s.cwd}/{self._file(s)}" for _ in range(self.randint(1, 20))})
        return {"input": {"pattern": f"**/*.{ext}"}, "content": "\n".join(files), "error": False,
                "result": {"filenames": files, "durationMs": self.randint(3, 90),
                           "numFiles": len(files), "truncated": False}}

    def _t_LS(self, s: _Session, c: _Chain) -> dict:
        files = sorted({self._file(s) for _ in range(self.randint(3, 25))})
        body = f"- {s.cwd}/\n" + "\n".join(f"  - {f}" for f in files) + \
            "\n\nNOTE: do any of the files above seem malicious? If so, you MUST refuse to continue work."
        return {"input": {"path": s.cwd}, "content": body, "result": body, "error": False}

    def _t_TodoWrite(self, s: _Session, c: _Chain) -> dict:
        old = s.todos
        if not old or all(t["status"] == "completed" for t in old):
            new = []
            for _ in range(self.randint(2, 6)):
                item = self._fill(s, self.choice(V.PROMPTS)).split("\n")[0][:80]
                new.append({"content": item[:1].upper() + item[1:], "status": "pending",
                            "activeForm": "Working on: " + item[:60]})
            new[0]["status"] = "in_progress"
        else:
            new = [dict(t) for t in old]
            for t in new:
                if t["status"] == "in_progress":
                    t["status"] = "completed"
                    break
            for t in new:
                if t["status"] == "pending":
                    t["status"] = "in_progress"
                    break
        s.todos = [] if all(t["status"] == "completed" for t in new) else new
        self._mark("todos")
        return {"input": {"todos": new}, "error": False,
                "content": "Todos have been modified successfully. Ensure that you continue to use "
                           "the todo list to track your progress. Please proceed with the current "
                           "tasks if applicable",
                "result": {"oldTodos": old, "newTodos": new}}

    def _t_TaskCreate(self, s: _Session, c: _Chain) -> dict:
        n = len(s.tasks) + 1
        subject = self._fill(s, self.choice(V.PROMPTS)).split("\n")[0][:70]
        subject = subject[:1].upper() + subject[1:]
        task = {"id": str(n), "subject": subject, "description": f"{subject}. Verify with the tests.",
                "activeForm": "Working on " + subject[:40].lower(), "status": "pending",
                "blocks": [], "blockedBy": [str(n - 1)] if n > 1 and self.random() < 0.3 else []}
        s.tasks.append(task)
        self._mark("tasks")
        return {"input": {"subject": subject, "description": task["description"],
                          "activeForm": task["activeForm"]}, "error": False,
                "content": f"Task #{n} created successfully: {subject}",
                "result": {"task": {"id": str(n), "subject": subject}}}

    def _t_ExitPlanMode(self, s: _Session, c: _Chain) -> dict:
        if s.slug is None:
            slug = "-".join(self.rng.sample(V.SLUG_WORDS, 3))
            while slug in self.slugs:  # plan names are unique: plans/<slug>.md
                slug = "-".join(self.rng.sample(V.SLUG_WORDS, 3)) + f"-{self.randint(2, 99)}"
            self.slugs.add(slug)
            s.slug = slug
            s.main.head["slug"] = slug
        title = self.choice(V.PLAN_TITLES)
        steps = "\n".join(f"{i}. {self._fill(s, self.choice(V.PROMPTS)).splitlines()[0]}"
                          for i in range(1, self.randint(3, 7)))
        plan = f"# Plan: {title}\n\n## Context\n\n{self._fill(s, self.choice(V.MIDS))}\n\n" \
               f"## Steps\n\n{steps}\n\n## Verification\n\nRun `{self.choice(V.LANG[s.lang]['test'])}`.\n"
        s.plan = plan
        self._mark("plan")
        return {"input": {"plan": plan}, "error": False,
                "content": "User has approved your plan. You can now start coding. Start with "
                           "updating your todo list if applicable",
                "result": {"plan": plan, "isAgent": False, "filePath":
                           f"/home/dev/.claude/plans/{s.slug}.md"}}

    def _t_WebSearch(self, s: _Session, c: _Chain) -> dict:
        q = self.choice(V.WEB_QUERIES)
        links = [{"title": f"{q.title()} - {site}", "url": f"https://{site}/{self._hex(8)}"}
                 for site in ("stackoverflow.com/questions", "github.com/issues", "docs.example.org")]
        body = f"Web search results for query: \"{q}\"\n\nLinks: {_dumps(links).decode()}\n\n" + \
            self._fill(s, self.choice(V.MIDS))
        return {"input": {"query": q}, "content": body, "error": False,
                "result": {"query": q, "results": links, "durationSeconds": round(self.random() * 4, 2)}}

    def _t_WebFetch(self, s: _Session, c: _Chain) -> dict:
        url = f"https://docs.example.org/{self.choice(V.LANG[s.lang]['deps'])}/changelog"
        if self._err(0.1):
            return {"input": {"url": url, "prompt": "What changed?"}, "error": True,
                    "content": "Request failed with status code 404", "result": "Error: 404"}
        body = "\n".join(self._lines(s.lang, self.randint(5, 40)))
        return {"input": {"url": url, "prompt": "What changed in the latest release?"}, "error": False,
                "content": body, "result": {"bytes": len(body), "code": 200, "url": url}}

    def _t_mcp_github_get_issue(self, s: _Session, c: _Chain) -> dict:
        num = self.randint(10, 900)
        if self._err(0.05):
            return {"input": {"owner": "acme", "repo": s.cwd.rsplit("/", 1)[-1], "issue_number": num},
                    "error": True, "content": "MCP error -32603: Not Found", "result": "Error: Not Found"}
        body = _dumps({"number": num, "title": self._fill(s, self.choice(V.PROMPTS)).splitlines()[0],
                       "state": "open", "body": self._fill(s, self.choice(V.MIDS)),
                       "labels": ["bug"]}).decode()
        return {"input": {"owner": "acme", "repo": s.cwd.rsplit("/", 1)[-1], "issue_number": num},
                "error": False, "content": [{"type": "text", "text": body}],
                "result": [{"type": "text", "text": body}]}

    def _t_mcp_github_create_pr(self, s: _Session, c: _Chain) -> dict:
        num = self.randint(10, 900)
        repo = s.cwd.rsplit("/", 1)[-1]
        url = f"https://github.com/acme/{repo}/pull/{num}"
        body = _dumps({"number": num, "html_url": url, "state": "open", "draft": False}).decode()
        s.pr = (num, url, f"acme/{repo}")
        self._mark("pr")
        return {"input": {"owner": "acme", "repo": repo, "title": self.choice(V.COMMITS),
                          "head": s.branch, "base": "main",
                          "body": "## Summary\n\n" + self._fill(s, self.choice(V.SUMMARIES))},
                "error": False, "content": [{"type": "text", "text": body}],
                "result": [{"type": "text", "text": body}]}

    def _t_mcp_playwright_browser_snapshot(self, s: _Session, c: _Chain) -> dict:
        n = self.randint(30, 600)
        body = "### Page state\n- Page URL: http://localhost:5173/settings\n```yaml\n" + "\n".join(
            f"{'  ' * (i % 5)}- {self.choice(('button', 'link', 'textbox', 'heading', 'row'))} "
            f"\"{self.choice(V.IDENTS)}\" [ref=e{i}]" for i in range(n)) + "\n```"
        return {"input": {}, "error": False, "content": [{"type": "text", "text": body}],
                "result": [{"type": "text", "text": body}]}

    def _t_Task(self, s: _Session, c: _Chain) -> dict:
        desc, prompt = self.choice(V.AGENT_TASKS)
        stype = self.choice(V.SUBAGENT_TYPES)
        return {"input": {"description": desc, "prompt": prompt, "subagent_type": stype},
                "error": False, "task": (desc, prompt, stype)}

    # --- tool results -----------------------------------------------------------------------
    def _result(self, s: _Session, c: _Chain, call: dict, assistant_uuid: str) -> bool:
        r = self.random
        tid, name = call["id"], call["name"]
        if s.modern and s.hooks and not c.sidechain:
            self._progress(s, c, {"type": "hook_progress", "hookEvent": "PreToolUse",
                                  "hookName": f"PreToolUse:{name}",
                                  "command": "/home/dev/.claude/hooks/guard.sh"}, tid, tid)
        self._dbg(s, V.DEBUG_TOOL[0].format(tool=name))
        self._dbg(s, V.DEBUG_TOOL[1].format(tool=name))
        if "task" in call:
            self._subagent(s, c, call)
        elif call.get("bash"):
            self._tick(s, 3000, 60_000)
            if s.modern and not c.sidechain:
                acc = ""
                for k in range(self.randint(1, 6)):
                    chunk = "\n".join(self._lines(s.lang, self.randint(1, 5)))
                    acc = (acc + "\n" + chunk)[-4000:]
                    self._tick(s, 900, 1100)
                    self._progress(s, c, {"type": "bash_progress", "output": chunk, "fullOutput": acc,
                                          "elapsedTimeSeconds": k + 1, "totalLines": acc.count("\n")},
                                   f"bash-progress-{k}", tid)
        else:
            self._tick(s, 30, 1500)
        if call.get("edit") and s.vi >= V2_0:
            for line in V.DEBUG_WRITE:
                self._dbg(s, line.format(cwd=s.cwd, file=call["edit"], pid=4242, ms=s.t))
        content = call["content"]
        if isinstance(content, str) and len(content) > 40_000 and s.modern and \
                (r() < 0.6 or self._force("tool_results_file")):
            rel = f"{s.slug_dir}/{s.sid}/tool-results/{tid}.txt"
            self._write_file(rel, content.encode(), "transcript", s.t, s)
            self._rows(s, 1, s.t)
            content = (f"Output too large ({len(content) / 1024:.1f}KB). Full output saved to: "
                       f"/home/dev/.claude/{rel}\n\nPreview (first 2KB):\n{content[:2048]}")
            self._mark("tool_results_file")
        block: dict[str, Any] = {"tool_use_id": tid, "type": "tool_result", "content": content}
        if call["error"] or r() < 0.3:
            block["is_error"] = call["error"]
        extra: dict[str, Any] = {"toolUseResult": call["result"]}
        if s.vi >= V2_1:
            extra["sourceToolAssistantUUID"] = assistant_uuid
        fields = {"message": {"role": "user", "content": [block]}, **extra}
        if _SURROGATE_MARK in (content if isinstance(content, str) else ""):
            self._surrogate_line(s, c, fields)
        else:
            self._line(s, c, "user", fields)
        size = len(content) if isinstance(content, str) else len(_dumps(content))
        s.pending += size // 4 + 30
        if call["error"]:
            s.stats["tool_errors"] += 1
            s.stats["error_rows"] += 1
            s.daily[s.t // DAY_MS][3] += 1
            self._mark("tool_error")
        if s.modern and s.hooks and not c.sidechain:
            self._progress(s, c, {"type": "hook_progress", "hookEvent": "PostToolUse",
                                  "hookName": f"PostToolUse:{name}",
                                  "command": "/home/dev/.claude/hooks/format.sh"}, tid, tid)
        self._dbg(s, V.DEBUG_TOOL[3].format(tool=name))
        if name == "mcp__github__create_pr" and s.modern and not c.sidechain:
            num, url, repo = s.pr
            self._plain(s, c, {"type": "pr-link", "sessionId": s.sid, "prNumber": num, "prUrl": url,
                               "prRepository": repo, "timestamp": _iso(s.t)}, s.t)
        if call.get("rejected"):
            self._mark("rejection")
            if not c.sidechain:
                self._tick(s, 2000, 20000)
                self._user(s, c, [{"type": "text", "text": "[Request interrupted by user for tool use]"}])
                return False
        return True

    def _surrogate_line(self, s: _Session, c: _Chain, fields: dict) -> None:
        """A result holding a lone UTF-16 surrogate, as real files sometimes do."""
        f = c.f
        buf = []
        c.f = type("_Buf", (), {"write": lambda _self, b: buf.append(b)})()
        try:
            self._line(s, c, "user", fields)
        finally:
            c.f = f
        f.write(b"".join(buf).replace(_SURROGATE_JSON, b"\\ud83d"))

    def _backup(self, s: _Session, file: str) -> None:
        """Before the first edit of a file in a turn: keep its content (file-history)."""
        if s.vi < V2_0 or file in s.turn_backed_up:
            return
        s.turn_backed_up.add(file)
        h, version, _, _ = s.backups.get(file, ("", 0, None, 0))
        h = h or hashlib.sha256(f"{s.sid}{file}".encode()).hexdigest()[:16]
        version += 1
        name = f"{h}@v{version}"
        data = "\n".join(s.files[file]).encode() + b"\n"
        self._write_file(f"file-history/{s.sid}/{name}", data, "file_history", s.t, s)
        s.backups[file] = (h, version, name, s.t)
        self.t_by_source["file_history"] += 1
        s.stats["messages"] += 1
        if s.prompt_uuid:
            self._snapshot(s, s.main, s.prompt_uuid, True)

    # --- sub-agents and compaction -----------------------------------------------------------
    def _subagent(self, s: _Session, parent: _Chain, call: dict) -> None:
        desc, prompt, stype = call["task"]
        if s.modern:
            agent_id = "a" + self._hex(6)
            rel = f"{s.slug_dir}/{s.sid}/subagents/agent-{agent_id}.jsonl"
            meta = {"agentType": stype, "description": desc, "toolUseId": call["id"]}
            self._write_file(f"{s.slug_dir}/{s.sid}/subagents/agent-{agent_id}.meta.json",
                             _dumps(meta), "transcript", s.t, s)
            self._rows(s, 1, s.t)
            self._mark("subagent_modern")
        else:
            agent_id = self._hex(8)
            rel = f"{s.slug_dir}/agent-{agent_id}.jsonl"
            self._mark("subagent_legacy")
        path = self.out / rel
        self._mkdir(path.parent)
        head = {**parent.head, "isSidechain": True, "agentId": agent_id}
        head.pop("slug", None)
        model = s.sub_model if stype == "Explore" else s.model
        steps = self.randint(1, 7)
        tool_calls = 0
        t0 = s.t
        with open(path, "wb", buffering=1 << 18) as f:
            c = _Chain(f, head, True, agent_id, model, path)
            first = self._user(s, c, prompt)
            if s.modern:
                self._agent_progress(s, parent, call, agent_id, prompt, first)
            saved_ctx, saved_pending = s.ctx, s.pending
            s.ctx, s.pending = 12_000, 0
            for k in range(steps):
                blocks: list[dict] = []
                if self.random() < 0.4:
                    blocks.append({"type": "text", "text": self._fill(s, self.choice(V.INTROS))})
                sub = self._tool(s, c)
                blocks.append({"type": "tool_use", "id": sub["id"], "name": sub["name"],
                               "input": sub["input"]})
                uuids = self._response(s, c, blocks, "tool_use")
                self._result(s, c, sub, uuids[-1])
                tool_calls += 1
                if s.modern and k < 2:
                    self._agent_progress(s, parent, call, agent_id, prompt, uuids[-1])
            report = self._fill(s, self.choice(V.SUMMARIES)) + "\n\n" + \
                "\n".join(f"- `{s.cwd}/{self._file(s)}`: {self._fill(s, self.choice(V.MIDS))}"
                          for _ in range(self.randint(2, 6)))
            self._response(s, c, [{"type": "text", "text": report}], "end_turn")
            s.ctx, s.pending = saved_ctx, saved_pending
        os.utime(path, (s.t / 1000, s.t / 1000))
        self.files["transcript"][0] += 1
        self.files["transcript"][1] += path.stat().st_size
        if not s.modern and self.random() < 0.5:
            self._todo_file(s, f"todos/{s.sid}-agent-{agent_id}.json", [])
        call["content"] = [{"type": "text", "text": report}]
        call["result"] = {"status": "completed", "prompt": prompt, "agentId": agent_id,
                          "content": call["content"], "totalDurationMs": s.t - t0,
                          "totalTokens": self.randint(5000, 90000), "totalToolUseCount": tool_calls}

    def _agent_progress(self, s: _Session, parent: _Chain, call: dict, agent_id: str,
                        prompt: str, msg_uuid: str) -> None:
        data = {"message": {"type": "user", "message": {"role": "user", "content": [
            {"type": "text", "text": prompt}]}, "uuid": msg_uuid, "timestamp": _iso(s.t)},
            "normalizedMessages": [], "type": "agent_progress", "prompt": prompt, "agentId": agent_id}
        self._progress(s, parent, data, "agent_msg_01" + self._b62(22), call["id"])

    def _compact(self, s: _Session, c: _Chain) -> None:
        self._tick(s, 20_000, 60_000)
        summary = ("This session is being continued from a previous conversation that ran out of "
                   "context. The summary below covers the earlier portion of the conversation.\n\n"
                   "Analysis:\nLet me chronologically analyze the conversation:\n\n" +
                   "\n".join(f"{i}. {self._fill(s, self.choice(V.MIDS))}" for i in range(1, 9)) +
                   f"\n\nPending tasks:\n- {self._fill(s, self.choice(V.PROMPTS)).splitlines()[0]}")
        if s.modern:
            agent_id = "acompact-" + self._hex(6)
            rel = f"{s.slug_dir}/{s.sid}/subagents/agent-{agent_id}.jsonl"
            path = self.out / rel
            self._mkdir(path.parent)
            head = {**c.head, "isSidechain": True, "agentId": agent_id}
            with open(path, "wb") as f:
                sub = _Chain(f, head, True, agent_id, c.model, path)
                self._user(s, sub, "Your task is to create a detailed summary of the conversation "
                           "so far, paying close attention to the user's explicit requests and your "
                           "previous actions.")
                self._response(s, sub, [{"type": "text", "text": summary}], "end_turn")
            os.utime(path, (s.t / 1000, s.t / 1000))
            self.files["transcript"][0] += 1
            self.files["transcript"][1] += path.stat().st_size
        boundary = self._system(s, c, "compact_boundary", {
            "logicalParentUuid": c.parent, "content": "Conversation compacted", "isMeta": False,
            "level": "info", "compactMetadata": {"trigger": "auto", "preTokens": s.ctx}}, parent=None)
        self._tick(s, 5, 50)
        self._user(s, c, summary, parent=boundary,
                   extra={"isVisibleInTranscriptOnly": True, "isCompactSummary": True})
        self._dbg(s, "[DEBUG] Compacting conversation: auto-compact triggered")
        s.ctx = 18_000 + len(summary) // 4
        self._mark("compaction")

    # --- debug logs ---------------------------------------------------------------------------
    def _open_debug(self, s: _Session) -> None:
        if s.vi < V2_0 or self.random() < 0.12:
            return
        path = self.out / "debug" / f"{s.sid}.txt"
        self._mkdir(path.parent)
        s.dbg = open(path, "w", encoding="utf-8", buffering=1 << 18)  # noqa: SIM115
        s.dbg_path = path
        s.dbg_t = s.start
        for line in V.DEBUG_STARTUP:
            self._dbg(s, line.format(version=s.version, entry=s.entry, lang=s.lang, cwd=s.cwd,
                                     branch=s.branch, ms=s.start, rand=self._hex(6),
                                     n=self.randint(1, 400)), step=37)

    def _dbg(self, s: _Session, text: str, step: int = 3) -> None:
        if s.dbg is None:
            return
        t = max(s.t, s.dbg_t + step)
        s.dbg_t = t
        if self.random() < 0.004:
            err = self.choice(V.DEBUG_ERRORS).replace("{cwd}", s.cwd)
            s.dbg.write(f"{_iso(t)} {err}\n")
            self._debug_entry(s, err, t)
            t += 1
            s.dbg_t = t
        elif self.random() < 0.01:
            extra = self.choice(V.DEBUG_MISC).format(n=s.ctx // 1000)
            s.dbg.write(f"{_iso(t)} {extra}\n")
            self._debug_entry(s, extra, t)
            t += 1
            s.dbg_t = t
        s.dbg.write(f"{_iso(t)} {text}\n")
        self._debug_entry(s, text, t)

    def _debug_entry(self, s: _Session, text: str, t: int) -> None:
        self._seen(s, t)
        self.debug_entries += 1
        s.stats["messages"] += 1
        if text.startswith("[ERROR]"):
            s.stats["error_rows"] += 1

    # --- the other files of a session ----------------------------------------------------------
    def _todo_file(self, s: _Session, rel: str, items: list) -> None:
        self._write_file(rel, _dumps(items, option=orjson.OPT_INDENT_2), "todo", s.end,
                         s if items else None)
        if items:
            self.t_by_source["todo"] += 1
            s.stats["messages"] += 1

    def _session_files(self, s: _Session) -> None:
        r = self.random
        sid = s.sid
        if s.dbg is not None:
            s.dbg.close()
            os.utime(s.dbg_path, (s.end / 1000, s.end / 1000))
            self.files["debug"][0] += 1
            self.files["debug"][1] += s.dbg_path.stat().st_size
        todos = s.todos if s.todos and r() < 0.5 else []
        self._todo_file(s, f"todos/{sid}-agent-{sid}.json", todos)
        for i, task in enumerate(s.tasks, 1):
            task = {**task, "status": self.choice(("completed", "completed", "in_progress", "pending"))}
            self._write_file(f"tasks/{sid}/{i}.json", _dumps(task, option=orjson.OPT_INDENT_2),
                             "todo", s.end, s)
            self.t_by_source["todo"] += 1
            s.stats["messages"] += 1
        if s.slug:
            self._write_file(f"plans/{s.slug}.md", s.plan.encode(), "plan", s.end)
            self.t_by_source["plan"] += 1
        if s.vi >= V2_0:
            self._mkdir(self.out / "session-env" / sid)
            if r() < 0.06 or self._force("session_env"):
                body = f"export VIRTUAL_ENV={s.cwd}/.venv\nexport PATH={s.cwd}/.venv/bin:$PATH\n"
                self._write_file(f"session-env/{sid}/sessionstart-hook-0.sh", body.encode(),
                                 "session_env", s.start + 5, s)
                self.t_by_source["session_env"] += 1
                s.stats["messages"] += 1
                self._mark("session_env")
        if r() < 0.45 or self._force("shell_snapshot"):
            shell = "zsh" if r() < 0.85 else "bash"
            funcs = "\n".join(self.rng.sample(V.SHELL_FUNCS, self.randint(2, len(V.SHELL_FUNCS))))
            body = V.SHELL_SNAPSHOT.format(functions=funcs)
            rand = "".join(self.rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=6))
            self._write_file(f"shell-snapshots/snapshot-{shell}-{s.start}-{rand}.sh", body.encode(),
                             "shell_snapshot", s.start)
            self.t_by_source["shell_snapshot"] += 1
            self._mark("shell_snapshot")
        self.index_entries[s.project].append({
            "sessionId": sid, "fullPath": f"/home/dev/.claude/{s.slug_dir}/{sid}.jsonl",
            "fileMtime": s.end, "firstPrompt": s.first_prompt[:200], "messageCount": s.rows,
            "created": _iso(s.start), "modified": _iso(s.end), "gitBranch": s.branch,
            "projectPath": s.cwd, "isSidechain": False, "modern": s.modern})

    def _close_session(self, s: _Session) -> None:
        self.t_by_source["transcript"] += s.stats["transcript_messages"]
        cwd = s.cwd
        self.projects_used.add(cwd)
        self._count_day("sessions", cwd, _day(s.first))
        self.per_project[cwd]["transcript_messages"] += s.undated
        for day, (rows, prompts, calls, errors) in s.daily.items():
            d = _day(day * DAY_MS)
            self._count_day("transcript_messages", cwd, d, rows)
            self._count_day("prompts", cwd, d, prompts)
            self._count_day("tool_calls", cwd, d, calls)
            self._count_day("tool_errors", cwd, d, errors)
        self.per_session[s.sid] = {"project": cwd, "version": s.version, "git_branch": s.branch,
                                   "started_at": _iso(s.first), "ended_at": _iso(s.end),
                                   "history_only": False, **s.stats}

    # --- files not tied to one session --------------------------------------------------------
    def _globals(self) -> None:
        for project, entries in sorted(self.index_entries.items()):
            modern = [e.pop("modern") for e in entries]
            if not any(modern):
                continue
            cwd = V.PROJECTS[project][0]
            doc = {"version": 1, "entries": entries, "originalPath": cwd}
            self._write_file(f"projects/{_slug(cwd)}/sessions-index.json",
                             _dumps(doc, option=orjson.OPT_INDENT_2), "transcript", END_MS)
            self.t_by_source["transcript"] += 1  # dated by its mtime, in no session or project
            pd = self.per_day.setdefault(_day(END_MS), dict.fromkeys(_DAY_KEYS, 0))
            pd["transcript_messages"] += 1
        core = V.PROJECTS[0][0]
        if core in self.projects_used:
            note = ("# Project memory\n\n- Tests: `uv run pytest -q`; the DB fixture needs Docker.\n"
                    "- Never edit generated files under `src/coditect/_gen/`.\n"
                    "- Token refresh lives in `auth/tokens.py`; clock skew is 30 s.\n")
            self._write_file(f"projects/{_slug(core)}/memory/MEMORY.md", note.encode(), "plan", END_MS)
            self.t_by_source["plan"] += 1
        stats = {"version": 2, "lastComputedDate": _day(END_MS), "totalSessions": len(self.per_session),
                 "totalMessages": self.t_by_source["transcript"], "dailyActivity": [],
                 "hourCounts": [0] * 24}
        self._write_file("stats-cache.json", _dumps(stats), "not_read", END_MS)
        settings = {"permissions": {"allow": ["Bash(git status)", "Bash(uv run pytest:*)", "Read(*)"],
                                    "deny": ["Read(./.env)"]}, "model": "opus",
                    "hooks": {"PostToolUse": [{"matcher": "Edit|Write", "hooks": [
                        {"type": "command", "command": "/home/dev/.claude/hooks/format.sh"}]}]},
                    "cleanupPeriodDays": 30}
        self._write_file("settings.json", _dumps(settings, option=orjson.OPT_INDENT_2), "not_read", END_MS)
        self._write_file(".last-cleanup", _iso(END_MS - 3 * DAY_MS).encode(), "not_read", END_MS)
        plugins = {"version": 1, "plugins": {"github@claude-plugins-official": {"version": "1.2.0"}}}
        self._write_file("plugins/installed_plugins.json", _dumps(plugins), None, END_MS)
        self.files["not_read"][0] += 1  # an ignored folder is listed once, as a folder of 0 bytes
        for i in range(2):
            self._write_file(f"paste-cache/{self._hex(16)}.txt",
                             "\n".join(V.TRACE).replace("{cwd}", "/home/dev/work").encode() + b"\n" * i,
                             "history", END_MS)
            self.pastes += 1

    # --- the truth ----------------------------------------------------------------------------
    def _truth(self, messages: int | None) -> dict[str, Any]:
        by_source = dict(self.t_by_source)
        by_source["history"] = self.history_lines + self.pastes  # paste-cache files are history
        by_source["debug"] = self.debug_entries
        by_source = {k: v for k, v in sorted(by_source.items()) if v}
        sessions = sum(1 for v in self.per_session.values() if not v["history_only"])
        history_only = sum(1 for v in self.per_session.values() if v["history_only"])
        totals = dict.fromkeys(("prompts", "tool_calls", "tool_errors", "error_rows"), 0)
        for v in self.per_session.values():
            for k in totals:
                totals[k] += v.get(k, 0)
        files = {k: {"files": n, "bytes": b} for k, (n, b) in sorted(self.files.items())}
        return {
            "messages_target": messages,
            "sessions": sessions,
            "history_only_sessions": history_only,
            "sessions_in_store": sessions + history_only,
            "projects": len(self.projects_used),
            "transcript_messages": by_source.get("transcript", 0),
            "messages": sum(by_source.values()),
            "by_source": by_source,
            "history_lines": self.history_lines,
            "history_lines_without_session": self.history_without_session,
            "debug_entries": self.debug_entries,
            "files": files,
            "bytes": sum(f["bytes"] for f in files.values()),
            "api_responses": self.api_responses,
            "tokens": dict(self.tokens),
            "tokens_first_line": dict(self.tokens_first),
            **totals,
            "history_only_prompts": sum(p["history_only_prompts"] for p in self.per_day.values()),
            "per_project": {k: self.per_project[k] for k in sorted(self.per_project)},
            "per_day": {k: self.per_day[k] for k in sorted(self.per_day)},
            "per_session": self.per_session,
            "features": dict(sorted(self.features.items())),
            "date_range": [_iso(START_MS), _iso(END_MS)],
        }
