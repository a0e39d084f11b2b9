"""Compaction: the summary that replaces a conversation too long for the context window."""

from __future__ import annotations

import os

from . import vocab as V
from .core import Chain, Session
from .responses import Responses


class Compaction(Responses):
    """Writes the compaction of a long conversation (and, from 2.1.2, its summarising sub-agent)."""

    def _compact(self, s: Session, c: Chain) -> None:
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
                sub = Chain(f, head, True, agent_id, c.model, path)
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
