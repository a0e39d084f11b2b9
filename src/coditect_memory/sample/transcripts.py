"""projects/<folder>/<session>.jsonl: a session's main transcript, turn by turn (the prompt,
the assistant's steps, the end-of-turn lines), and the sessions-index.json of each project."""

from __future__ import annotations

import base64
import os
from typing import Any

import orjson

from . import vocab as V
from .compaction import Compaction
from .core import (
    DAY_KEYS,
    DAY_MS,
    END_MS,
    HISTORY_SID,
    MODERN,
    V2_0,
    V2_1,
    Chain,
    Session,
    day,
    dumps,
    folder_name,
    iso,
)
from .history import History
from .steps import Steps


class Transcripts(Steps, Compaction, History):
    """Writes a session's main transcript and the projects' session indexes."""

    def _session(self, start: int, project: int, vi: int, budget: int) -> Session:
        """Write the main transcript of a session of about `budget` rows, turn by turn."""
        sid = self._uuid()
        s = Session(sid, start, project, vi, budget)
        r = self.random
        slug_dir = f"projects/{folder_name(s.cwd)}"
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
            c = Chain(f, head, False, None, s.model, path)
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
        return s

    def _title(self, s: Session) -> str:
        words = s.first_prompt.split()[:6] or ["Session"]
        title = " ".join(words).strip("`'\".,:?")
        return title[:1].upper() + title[1:]

    def _turn(self, s: Session, c: Chain, turn: int) -> None:
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

    def _prompt(self, s: Session, c: Chain, turn: int) -> None:
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
        self._history(s, hist_t, display, s.cwd, s.sid if s.vi >= HISTORY_SID else None, pasted)
        if meta_expansion:
            self._tick(s, 1, 30)
            self._user(s, c, [{"type": "text", "text": meta_expansion}], 1, {"isMeta": True})
        if s.vi >= V2_0 and r() < 0.02 or self._force("queue_operation", s.vi >= V2_0):
            queued = self._fill(s, self.choice(V.FOLLOWUPS))
            self._plain(s, c, {"type": "queue-operation", "operation": "enqueue",
                               "timestamp": iso(s.t + 900), "sessionId": s.sid, "content": queued},
                        s.t + 900)
            self._plain(s, c, {"type": "queue-operation", "operation": "dequeue",
                               "timestamp": iso(s.t + 1400), "sessionId": s.sid}, s.t + 1400)
            self._mark("queue_operation")

    def _local_command(self, s: Session, c: Chain) -> None:
        name, out = self.choice(V.LOCAL_COMMANDS)
        t = self._tick(s, 50, 300)
        self._history(s, t - 20, name, s.cwd, s.sid if s.vi >= HISTORY_SID else None)
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

    def _index_entry(self, s: Session) -> None:
        self.index_entries[s.project].append({
            "sessionId": s.sid, "fullPath": f"/home/dev/.claude/{s.slug_dir}/{s.sid}.jsonl",
            "fileMtime": s.end, "firstPrompt": s.first_prompt[:200], "messageCount": s.rows,
            "created": iso(s.start), "modified": iso(s.end), "gitBranch": s.branch,
            "projectPath": s.cwd, "isSidechain": False, "modern": s.modern})

    def _sessions_indexes(self) -> None:
        """projects/<folder>/sessions-index.json, for projects with a session of 2.1.2 or later."""
        for project, entries in sorted(self.index_entries.items()):
            modern = [e.pop("modern") for e in entries]
            if not any(modern):
                continue
            cwd = V.PROJECTS[project][0]
            doc = {"version": 1, "entries": entries, "originalPath": cwd}
            self._write_file(f"projects/{folder_name(cwd)}/sessions-index.json",
                             dumps(doc, option=orjson.OPT_INDENT_2), "transcript", END_MS)
            self.t_by_source["transcript"] += 1  # dated by its mtime, in no session or project
            pd = self.per_day.setdefault(day(END_MS), dict.fromkeys(DAY_KEYS, 0))
            pd["transcript_messages"] += 1
