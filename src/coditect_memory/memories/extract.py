"""The rule-based extractor: memories from what is captured, no LLM.

Reads messages in id order (`ExtractRow`) and yields `MemoryDraft`s:

- preference: a person's standing instruction ("use uv, not pip", "never mock the
  database", "always run ruff", "don't touch generated files");
- decision: "we decided / let's go with / we'll use ..." said by either side, a plan's title;
- fact: the lines of CLAUDE.md and memory notes;
- todo: TodoWrite lists and todo/task files (a completed item closes its todo), the pending
  tasks of compact summaries;
- error_fix: a Bash command that failed, then passed after files were edited;
- pattern: a command run again and again (shown once seen often enough).

An `Extractor` keeps the open state (a session's failing commands, edits since) between
batches of one run; across runs a failure and its fix are paired when they arrive together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from ..store.protocol.memories import EXTRACT_TOOLS, ExtractRow, MemoryDraft

IMPORTANCE = {"preference": 0.8, "decision": 0.7, "fact": 0.6, "error_fix": 0.6, "todo": 0.5,
              "pattern": 0.3}
MAX_TEXT = 300

_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_PREFERENCE = re.compile(
    r"^(?:please\s+|and\s+|also\s+|but\s+|ok,?\s+|no,?\s+)*"
    r"(?:always|never|don'?t|do not|avoid|stop|prefer)\b"
    r"|\buse\s+[\w.+-]+,?\s+(?:not|instead of|rather than)\s+[\w.+-]+"
    r"|\bi (?:prefer|want you to|'d rather)\b|\bfrom now on\b", re.I)
_DECISION = re.compile(
    r"\b(?:we(?:'ve| have)? decided|decided to|decision:|let'?s go with|let'?s use|"
    r"we(?:'ll| will) (?:use|go with|keep|switch to)|going with|we chose|settled on)\b", re.I)
# Words every _DECISION match holds, lower case: most answers hold none, and `in` finds that
# faster than the regex (166k answers of a 1M first ingest, none a decision: 1.7 s -> 0.5 s)
_DECISION_WORDS = ("decid", "let's ", "lets ", "we'll ", "we will ", "going with", "we chose",
                   "settled on")
_QUESTION = re.compile(r"\?\s*$")
_FILE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:py|pyi|ts|tsx|js|jsx|go|rs|rb|java|kt|"
                   r"c|h|cpp|toml|json|ya?ml|md|sql|sh|cfg|ini|lock|txt))\b")
_CODE = re.compile(r"`([^`\n]{2,80})`")
_IDENT = re.compile(r"^[A-Za-z_][\w.]*(?:\(\))?$")
_ERROR = re.compile(r"\b([A-Z][A-Za-z]+(?:Error|Exception)|E[A-Z]{3,}|[A-Z]\d{3,5}|E\d{4})\b")
_TOOL_WORD = re.compile(r"\b(uv|pip|poetry|npm|pnpm|yarn|cargo|go|make|docker|pytest|ruff|"
                        r"mypy|alembic|git|terraform|kubectl|bun)\b")
_TODO_LINE = re.compile(r"^\[(pending|in_progress|completed)\]\s*(.+)$")
# Sections of a compact summary whose bullets are todos or decisions.
_SUMMARY_SECTION = re.compile(r"(?i)^\W*(pending tasks?|next steps?|open questions?|remaining work|"
                              r"(?:key )?decisions?(?: made)?)\W*:?\s*$")
_PASSED = re.compile(r"(?i)\b(error|failed|traceback|exception)\b")


_EDITS = frozenset(("Edit", "Write", "MultiEdit"))  # files edited while a command fails
_TOOLS_READ = frozenset(EXTRACT_TOOLS)  # the calls whose arguments _tool_use reads: Bash,
# TodoWrite and _EDITS (the store gives no others: store.protocol.memories)


def _may_decide(text: str) -> bool:
    """False when _DECISION cannot match the text's first 4,000 characters. Only for ASCII:
    under re.I, 'ſ' matches 's' and 'K' (Kelvin) 'k', which str.lower() does not make."""
    if not text.isascii():
        return True
    low = text[:4000].lower()
    return any(w in low for w in _DECISION_WORDS)


def norm(text: str) -> str:
    """What near-duplicates share: lower case, words only, one space."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))[:400]


def entities(text: str) -> list[tuple[str, str]]:
    """Files, commands/tools, functions and error codes a text names."""
    found: dict[tuple[str, str], None] = {}
    for f in _FILE.findall(text):
        found[("file", f)] = None
    for code in _CODE.findall(text):
        code = code.strip()
        if _FILE.fullmatch(code):
            continue
        if " " in code or code.split("/")[0] in ("uv", "npm"):
            found[("command", code.split()[0])] = None
        elif _IDENT.match(code):
            found[("function", code.removesuffix("()"))] = None
    for tool in _TOOL_WORD.findall(text.lower()):
        found[("package", tool)] = None
    for e in _ERROR.findall(text):
        found[("error", e)] = None
    return list(found)[:12]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1].rstrip() + "…"


def _sentences(text: str) -> Iterable[str]:
    for s in _SENTENCE.split(text):
        s = s.strip().strip("-*> ").strip()
        if 8 <= len(s) <= 400:
            yield s


@dataclass
class _Session:
    failing: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)  # cmd -> uid, error, ts
    edited: list[str] = field(default_factory=list)  # files edited since the first failure
    commands: dict[str, str] = field(default_factory=dict)  # tool_use_id -> command


KNOWN_TEXTS = 10_000  # texts an Extractor keeps the clip, norm and entities of, at most
KNOWN_CHARS = 1_000  # and only texts this short: long ones rarely repeat, and would hold memory


class Extractor:
    def __init__(self) -> None:
        self.sessions: dict[str, _Session] = {}
        # Drafts repeat (the same command run, the same todo listed again): 17k drafts of 1.7k
        # texts at 150k messages, where norm and entities took 0.4 s of the 1.3 s of feed.
        self._known: dict[tuple[str, str | None], tuple[str, str, list[tuple[str, str]]]] = {}

    def _draft(self, kind: str, text: str, row: ExtractRow, status: str = "active",
               key: str | None = None) -> MemoryDraft:
        known = self._known.get((text, key))
        if known is None:
            clipped = _clip(text)
            known = (clipped, norm(key or clipped), entities(clipped))
            if len(text) + len(key or "") <= KNOWN_CHARS:
                if len(self._known) >= KNOWN_TEXTS:
                    self._known.clear()
                self._known[(text, key)] = known
        return MemoryDraft(type=kind, text=known[0], norm=known[1],
                           project_id=row.project_id or 0, importance=IMPORTANCE[kind],
                           entities=list(known[2]),  # a draft's own: _bash_result adds to it
                           evidence=[(row.uid, row.session_id, row.ts)], status=status)

    def feed(self, rows: Iterable[ExtractRow]) -> list[MemoryDraft]:
        out: list[MemoryDraft] = []
        for row in rows:
            if row.type == "tool_result":  # its call and is_error say enough: a success passes
                if row.tool_name == "Bash" and not row.is_meta:  # even a silent one
                    out += self._bash_result(row)
                continue
            if not row.content or (row.is_meta and row.type != "compact_summary"):
                continue  # injected by the tool, not said (a compaction's summary is ours to read)
            if row.type == "user" and row.is_prompt:
                out += self._said(row, by_person=True)
            elif row.type == "assistant":
                out += self._said(row, by_person=False)
            elif row.type == "memory_note":
                out += [self._draft("fact", s, row) for s in self._bullets(row.content)]
            elif row.type == "plan":
                title = row.content.lstrip().split("\n", 1)[0].lstrip("# ").strip()
                if title:
                    out.append(self._draft("decision", title, row))
            elif row.type == "compact_summary":
                out += self._summary(row)
            elif row.type in ("todos", "task"):
                out += self._todo_lines(row.content.splitlines(), row)
            elif row.type == "tool_use":
                out += self._tool_use(row)
        return out

    @staticmethod
    def _bullets(text: str) -> list[str]:
        return [s.lstrip("-* ").strip() for s in text.splitlines()
                if s.lstrip().startswith(("-", "*")) and len(s.strip()) > 6]

    def _summary(self, row: ExtractRow) -> list[MemoryDraft]:
        """A compaction's pending tasks (todos) and decisions, from their bullet lists."""
        out: list[MemoryDraft] = []
        kind = None
        for line in (row.content or "").splitlines():
            m = _SUMMARY_SECTION.match(line)
            if m:
                kind = "decision" if "decision" in m.group(1).lower() else "todo"
            elif kind and line.lstrip().startswith(("-", "*")) and len(line.strip()) > 6:
                out.append(self._draft(kind, line.strip().lstrip("-* "), row))
            elif line.strip() and not line.startswith(" "):
                kind = None
        return out

    def _said(self, row: ExtractRow, by_person: bool) -> list[MemoryDraft]:
        out: list[MemoryDraft] = []
        content = row.content or ""
        if by_person and (content.startswith("<") or len(content) > 4000):
            return out  # a slash command's wrapper or a pasted log, not an instruction
        if not by_person and not (_may_decide(content) and _DECISION.search(content, 0, 4000)):
            return out  # no sentence of it says a decision (most answers): not split
        for s in _sentences(content[:4000]):
            if _QUESTION.search(s):
                continue
            if by_person and _PREFERENCE.search(s):
                out.append(self._draft("preference", s, row))
            elif _DECISION.search(s):
                out.append(self._draft("decision", s, row))
        return out

    def _todo_lines(self, lines: Iterable[str], row: ExtractRow) -> list[MemoryDraft]:
        out = []
        for line in lines:
            m = _TODO_LINE.match(line.strip())
            if m:
                status = "done" if m.group(1) == "completed" else "active"
                out.append(self._draft("todo", m.group(2), row, status))
        return out

    def _tool_use(self, row: ExtractRow) -> list[MemoryDraft]:
        tool = row.tool_name
        if tool not in _TOOLS_READ or (tool in _EDITS and not self._failing(row.session_id)):
            return []  # its arguments say nothing here: not parsed (most tool calls)
        try:
            args = orjson.loads(row.content or "")
        except orjson.JSONDecodeError:
            return []
        if not isinstance(args, dict):
            return []
        s = self.sessions.setdefault(row.session_id or "", _Session())
        if row.tool_name == "TodoWrite" and isinstance(args.get("todos"), list):
            lines = [f"[{t.get('status')}] {t.get('content')}" for t in args["todos"]
                     if isinstance(t, dict) and t.get("content")]
            return self._todo_lines(lines, row)
        if tool in _EDITS and s.failing:
            path = args.get("file_path")
            if isinstance(path, str) and path not in s.edited:
                s.edited.append(path)
        if row.tool_name == "Bash" and isinstance(args.get("command"), str) and row.tool_use_id:
            s.commands[row.tool_use_id] = args["command"].strip()
            if len(s.commands) > 500:
                s.commands.pop(next(iter(s.commands)))
            cmd = args["command"].strip()
            if 3 <= len(cmd) <= 120 and "\n" not in cmd:
                return [self._draft("pattern", f"Runs `{cmd}`", row, key=f"runs {cmd}")]
        return []

    def _failing(self, session_id: str | None) -> bool:
        s = self.sessions.get(session_id or "")
        return s is not None and bool(s.failing)

    def _bash_result(self, row: ExtractRow) -> list[MemoryDraft]:
        s = self.sessions.setdefault(row.session_id or "", _Session())
        cmd = s.commands.pop(row.tool_use_id or "", None)
        if cmd is None:
            return []
        text = row.content or ""
        if row.is_error:
            first = next((ln.strip() for ln in text.splitlines() if _PASSED.search(ln)),
                         text.strip().split("\n", 1)[0])
            s.failing[cmd] = (row.uid, first[:160], row.ts)
            return []
        failed = s.failing.pop(cmd, None)
        if failed is None or not s.edited:
            return []
        files = ", ".join(f"`{f.rsplit('/', 1)[-1]}`" for f in s.edited[-4:])
        draft = self._draft("error_fix", f"`{cmd}` failed ({failed[1]}); it passed after editing "
                            f"{files}", row, key=f"fix {cmd} {failed[1]}")
        draft.evidence.insert(0, (failed[0], row.session_id, failed[2]))
        draft.entities += [("file", f) for f in s.edited[-4:] if ("file", f) not in draft.entities]
        if not s.failing:
            s.edited.clear()
        return [draft]
