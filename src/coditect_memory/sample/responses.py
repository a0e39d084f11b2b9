"""Assistant responses: one line per content block, the usage each line repeats, and the
token counts of the truth."""

from __future__ import annotations

from . import vocab as V
from .core import DAY_MS, Chain, Session, dumps
from .debug import Debug
from .lines import Lines


class Responses(Lines, Debug):
    """Writes assistant responses and counts their tokens."""

    def _response(self, s: Session, c: Chain, blocks: list[dict], stop: str | None,
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
            out_tokens += len(body) // 4 + (len(dumps(b["input"])) // 4 if "input" in b else 0) + 8
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

    def _api_error_message(self, s: Session, c: Chain) -> None:
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
