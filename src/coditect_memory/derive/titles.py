"""A session's title, summary and model, from what it said (read in time order)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .prompts import prompt_title

# Lines that name a session, most telling first: the user's, the AI's, a summary.
TITLE_TYPES = ("custom-title", "ai-title", "summary", "compact_summary")
TITLE_CHARS = 200
SUMMARY_CHARS = 2000


@dataclass
class SessionText:
    """What a title is chosen from: the first prompt, the latest line of each title type."""

    first_prompt: str | None = None
    latest: dict[str, str] = field(default_factory=dict)

    def add(self, type_: str, content: str, is_prompt: bool) -> None:
        """One line, in time order: prompts give the first prompt, title lines the latest."""
        if is_prompt:
            if self.first_prompt is None:
                self.first_prompt = prompt_title(content)
        else:
            self.latest[type_] = content

    @property
    def title(self) -> str | None:
        """The user's custom title, else the AI title, else a summary line, else the first prompt."""
        f = self.latest
        title = f.get("custom-title") or f.get("ai-title") or f.get("summary") or self.first_prompt
        return " ".join(title.split())[:TITLE_CHARS] if title else None

    @property
    def summary(self) -> str | None:
        summary = self.latest.get("summary") or self.latest.get("compact_summary")
        return summary[:SUMMARY_CHARS] if summary else None


def main_model(uses: Counter[str]) -> str | None:
    """The model a session used most (placeholders such as `<synthetic>` are not models)."""
    real = [(n, model) for model, n in uses.most_common() if not model.startswith("<")]
    return real[0][1] if real else None
