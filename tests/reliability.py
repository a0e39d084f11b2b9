"""The reliability table (docs/reliability.md): for each fault the suite injects, how many
times it was tried and how many times the guarantee failed. Fault tests record here; the
session-finish hook in conftest.py writes the table, so its figures are this code's.

    from .reliability import record, trial

    @pytest.mark.fault("backup: SIGKILL at {point}")      # a whole test is one try of the
    def test_kill(point): ...                             # fault ({...}: its parameters)

    with trial("backup: SIGKILL at backup:committed"):   # 1 try; a failure if the block raises
        ...
    record("ingest: SIGKILL mid-file", tries=22, failures=0)  # a test that counts itself

Works under pytest-xdist: each process appends to its own file in RESULTS_DIR, and the
controller (or a plain run) merges them at the end. The table is written only by a run of
the whole suite (`make test`), so a partial run never shrinks it; MEMORY_RELIABILITY=write
forces it, MEMORY_RELIABILITY=off never writes it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / ".pytest_cache" / "reliability"
DOC = ROOT / "docs" / "reliability.md"


def record(fault: str, tries: int, failures: int) -> None:
    """Add `tries` runs of `fault`, `failures` of which broke the guarantee. Call it before
    asserting, so a failure is counted even though the test then stops."""
    if tries < 1 or not 0 <= failures <= tries:
        raise ValueError(f"record({fault!r}, tries={tries}, failures={failures})")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    line = json.dumps({"fault": fault, "tries": tries, "failures": failures})
    with open(RESULTS_DIR / f"{worker}-{os.getpid()}.jsonl", "a") as f:
        f.write(line + "\n")


@contextlib.contextmanager
def trial(fault: str) -> Iterator[None]:
    """One try of `fault`: a failure when the block raises (the exception goes on)."""
    try:
        yield
    except BaseException:
        record(fault, 1, 1)
        raise
    record(fault, 1, 0)


def record_test(item, report) -> None:
    """The `fault` marker: a marked test's call is one try, a failure unless it passed."""
    mark = item.get_closest_marker("fault")
    if mark is None or report.when != "call" or report.skipped:
        return
    params = getattr(getattr(item, "callspec", None), "params", {})
    record(mark.args[0].format(**params), 1, 0 if report.passed else 1)


def reset() -> None:
    """Forget earlier sessions' records (called when a session starts)."""
    if RESULTS_DIR.is_dir():
        for path in RESULTS_DIR.glob("*.jsonl"):
            path.unlink()


def totals() -> dict[str, list[int]]:
    """{fault: [tries, failures]} over every record of this session."""
    out: dict[str, list[int]] = {}
    for path in sorted(RESULTS_DIR.glob("*.jsonl")) if RESULTS_DIR.is_dir() else []:
        for line in path.read_text().splitlines():
            r = json.loads(line)
            t = out.setdefault(r["fault"], [0, 0])
            t[0] += r["tries"]
            t[1] += r["failures"]
    return out


def table(rows: dict[str, list[int]]) -> str:
    lines = ["| fault | tries | failures |", "|---|---:|---:|"]
    lines += [f"| {fault} | {t} | {f} |" for fault, (t, f) in sorted(rows.items())]
    return "\n".join(lines)


def write(rows: dict[str, list[int]], path: Path = DOC) -> None:
    path.write_text(
        "# Reliability\n\n"
        "Faults the test suite injects, how often, and how often the guarantee failed (a\n"
        "wrong answer with exit 0, a lost or half-written store or backup, damage not\n"
        "reported). Written by the test suite (`make test`; tests/reliability.py), never by\n"
        "hand: each row is the tests that ran on this code. A try is one injected fault\n"
        "followed by the checks that the answer is still right (or the error loud). A test\n"
        "records with `@pytest.mark.fault(name)`, `with trial(name):` or\n"
        "`record(name, tries, failures)`.\n\n"
        + table(rows) + "\n")
