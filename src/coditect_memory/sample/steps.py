"""An assistant step: its tool calls, their results (with large outputs in tool-results/) and
the sub-agents a Task call runs (both layouts)."""

from __future__ import annotations

import base64
import os
from typing import Any

from . import vocab as V
from .core import DAY_MS, V2_0, V2_1, Chain, Session, dumps, iso
from .lines import SURROGATE_MARK
from .responses import Responses
from .todos import Todos
from .tools import Tools


class Steps(Tools, Responses, Todos):
    """Writes an assistant step: its response with tool calls, then each call's result."""

    def _step(self, s: Session, c: Chain) -> bool:
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

    def _result(self, s: Session, c: Chain, call: dict, assistant_uuid: str) -> bool:
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
        if SURROGATE_MARK in (content if isinstance(content, str) else ""):
            self._surrogate_line(s, c, fields)
        else:
            self._line(s, c, "user", fields)
        size = len(content) if isinstance(content, str) else len(dumps(content))
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
                               "prRepository": repo, "timestamp": iso(s.t)}, s.t)
        if call.get("rejected"):
            self._mark("rejection")
            if not c.sidechain:
                self._tick(s, 2000, 20000)
                self._user(s, c, [{"type": "text", "text": "[Request interrupted by user for tool use]"}])
                return False
        return True

    def _subagent(self, s: Session, parent: Chain, call: dict) -> None:
        desc, prompt, stype = call["task"]
        if s.modern:
            agent_id = "a" + self._hex(6)
            rel = f"{s.slug_dir}/{s.sid}/subagents/agent-{agent_id}.jsonl"
            meta = {"agentType": stype, "description": desc, "toolUseId": call["id"]}
            self._write_file(f"{s.slug_dir}/{s.sid}/subagents/agent-{agent_id}.meta.json",
                             dumps(meta), "transcript", s.t, s)
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
            c = Chain(f, head, True, agent_id, model, path)
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

    def _agent_progress(self, s: Session, parent: Chain, call: dict, agent_id: str,
                        prompt: str, msg_uuid: str) -> None:
        data = {"message": {"type": "user", "message": {"role": "user", "content": [
            {"type": "text", "text": prompt}]}, "uuid": msg_uuid, "timestamp": iso(s.t)},
            "normalizedMessages": [], "type": "agent_progress", "prompt": prompt, "agentId": agent_id}
        self._progress(s, parent, data, "agent_msg_01" + self._b62(22), call["id"])
