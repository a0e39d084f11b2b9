"""Plans (`plans/<slug>.md`) carry no session id: the session that wrote one is found from
the transcripts, before the run's sessions are derived (`ingest/pipeline.py`)."""

from __future__ import annotations

from abc import ABC, abstractmethod


class PlanSessionStore(ABC):
    @abstractmethod
    def link_plans(self) -> int:
        """Give each plan row without a session the session that wrote it: the one whose
        transcript lines carry the plan file's name as their `slug` (sessions.slug); when
        several do (a resumed session keeps its slug), the one that called ExitPlanMode
        last; none when no transcript says. That session is marked dirty, so derivation
        settles the plan's project and counts it. Returns how many plans were linked."""
