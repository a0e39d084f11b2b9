"""When each session of the sample starts, in which project and version, and how long it runs."""

from __future__ import annotations

import math
import random

from . import vocab as V
from .core import DAY_MS, END_MS, MEAN_ROWS, SPAN_DAYS, START_MS, START_WEEKDAY


def schedule(r: random.Random, sessions: int,
             messages: int | None) -> list[tuple[int, int, int, int, bool]]:
    """(start ms, project, version index, planned rows, deleted) in start order."""
    n = sessions if messages is None else max(1, round(messages / MEAN_ROWS))
    weights = [p[2] for p in V.PROJECTS]
    budgets = [min(9000, max(14, int(r.lognormvariate(math.log(MEAN_ROWS / 1.65), 1.0))))
               for _ in range(n)]
    if messages is not None:
        scale = messages / sum(budgets)
        budgets = [max(8, round(b * scale)) for b in budgets]
    starts: list[int] = []
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
