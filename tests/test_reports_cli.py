"""Reports as a person and a script use them: time ranges of any precision, rollups that
follow the data as it arrives, a busy store, every output format, `memory timeline`, and
errors a person can act on."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
import sqlite3
from collections import Counter

import pytest

from coditect_memory.reports.filters import parse_bound, parse_day, parse_range, today
from coditect_memory.sample import generate

from .conftest import ingest_into, ingest_json, run, run_proc
from .test_reports import Oracle, day, iso, report

NAMES = ("project-activity", "timeline", "component-usage", "error-analysis",
         "extraction-progress", "usage")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("claude")
    return root, generate(root, sessions=10, seed=3)


@pytest.fixture(scope="module")
def store_home(sample, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    ingest_into(home, sample[0])
    return home


@pytest.fixture
def stored(store_home, monkeypatch):
    monkeypatch.setenv("MEMORY_HOME", str(store_home))
    return store_home


def _comparable(name: str, out: dict) -> dict:
    """A report without what depends on ingest order (which row is the example)."""
    out = {k: v for k, v in out.items() if k not in ("filters",)}
    if name == "error-analysis":
        for r in out["rows"]:
            r["samples"] = [(s["signature"], s["count"]) for s in r["samples"]]
        for m in out["messages"]:
            m.pop("example")
    return out


def _copy_home(stored, tmp_path):
    """A copy of the shared store whose writer gives up quickly (for busy-store tests)."""
    home = tmp_path / "copy"
    home.mkdir()
    src = sqlite3.connect(stored / "memory.db")
    dst = sqlite3.connect(home / "memory.db")
    src.backup(dst)
    src.close()
    dst.close()
    (home / "config.toml").write_text("[ingest]\nlock_wait_seconds = 0.2\n")
    return home


@contextlib.contextmanager
def _write_locked(home):
    """Another process holds the store's write lock meanwhile."""
    writer = sqlite3.connect(home / "memory.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def _check_range(home, since: str, until: str) -> None:
    lo, hi = parse_bound(since, False), parse_bound(until, True)
    oracle = Oracle(home / "memory.db", lo, hi)
    rows = {r["project"]: r for r in report("project-activity", "--since", since, "--until", until)["rows"]}
    expect = oracle.per_project()
    assert set(rows) == set(expect), (since, until)
    for path, e in expect.items():
        r = rows[path]
        assert (r["sessions"], r["messages"], r["prompts"], r["errors"], r["tool_calls"]) == \
            (len(e["sessions"]), e["messages"], e["prompts"], e["errors"], e["tool_calls"]), path
        assert r["active_days"] == len(e["days"]), path
        assert (r["first_activity"], r["last_activity"]) == (iso(e["first"]), iso(e["last"])), path
        assert r["hours"] == round(e["active_ms"] / 3_600_000, 2), path
    names = {(r["kind"], r["component"]): (r["uses"], r["errors"], r["sessions"])
             for r in report("component-usage", "--since", since, "--until", until)["rows"]}
    assert names == {k: (v["uses"], v["errors"], len(v["sessions"])) for k, v in oracle.per_name().items()}
    errors = Counter({(r["component"], r["project"]): r["errors"]
                      for r in report("error-analysis", "--since", since, "--until", until)["rows"]})
    assert errors == oracle.errors_by()
    usage = {r["date"]: [r["responses"], r["input_tokens"], r["output_tokens"],
                         r["cache_read_tokens"], r["cache_write_tokens"]]
             for r in report("usage", "--since", since, "--until", until)["rows"]}
    assert usage == {k: v for k, v in oracle.usage_by("day").items() if k is not None}


class TestRanges:
    """--since/--until give the figures of exactly the rows in range, whether the bounds are
    whole days (stored rollups) or any instant (the partial days computed from the rows)."""

    def test_whole_days(self, stored, sample):
        first, last = sample[1]["date_range"]
        days = sorted(d for d, t in sample[1]["per_day"].items() if t["sessions"])
        _check_range(stored, days[1], days[-2])
        assert parse_bound(days[-2], True) - parse_bound(days[-2], False) == 86_400_000

    def test_any_instant(self, stored, sample):
        sessions = sorted((s["started_at"], s["ended_at"]) for s in sample[1]["per_session"].values()
                          if not s["history_only"])
        # cut through the middle of sessions at both ends, and within one day
        a = sessions[1][0][:11] + "13:37:00Z" if sessions[1][0][11:13] < "13" else sessions[1][0]
        mid = sessions[-2]
        _check_range(stored, a, mid[0][:14] + "59:59.500Z")
        start = sessions[-1][0]
        _check_range(stored, start[:11] + "00:30:00Z", start[:14] + "45:00Z")

    def test_bad_bounds_are_usage_errors(self, stored):
        for args in (("--since", "soon"), ("--since", "2025-12-10", "--until", "2025-12-01"),
                     ("--since", "2025-02-30")):
            r = run_proc("report", "usage", *args)
            assert r.code == 2 and "error" in r.stderr and "Traceback" not in r.stderr, args
        r = run_proc("report", "usage", "--project", "no-such-project")
        assert r.code == 4 and "project-activity" in r.stderr

    def test_project_filter(self, stored):
        rows = report("project-activity")["rows"]
        target = max(rows, key=lambda r: r["messages"])
        for value in (target["project"], target["project_name"]):
            only = report("project-activity", "--project", value)["rows"]
            assert only == [target]
            errs = report("error-analysis", "--project", value)["rows"]
            assert sum(r["errors"] for r in errs) == target["errors"]
            assert {r["project"] for r in errs} <= {target["project"]}


class TestRollupsFollowTheData:
    """Reports after several ingests (history first, a transcript that grows, the rest later)
    equal reports of a store that ingested everything at once."""

    def test_incremental_equals_fresh(self, sample, tmp_path, monkeypatch):
        root, _ = sample
        staged = tmp_path / "claude"
        staged.mkdir()
        shutil.copy(root / "history.jsonl", staged / "history.jsonl")
        biggest = max(root.glob("projects/*/*.jsonl"), key=lambda p: p.stat().st_size)
        lines = biggest.read_bytes().splitlines(keepends=True)
        part = staged / biggest.relative_to(root)
        part.parent.mkdir(parents=True)
        part.write_bytes(b"".join(lines[: len(lines) // 2]))
        monkeypatch.setenv("MEMORY_HOME", str(tmp_path / "incremental"))
        ingest_json(staged)
        before = {n: report(n) for n in NAMES}  # builds the rollups on partial data
        assert before["project-activity"]["rows"]
        part.write_bytes(b"".join(lines))  # the session goes on
        ingest_json(staged)
        grown = report("project-activity")
        assert grown != before["project-activity"]
        shutil.copytree(root, staged, dirs_exist_ok=True)  # then everything else
        ingest_json(staged)
        incremental = {n: _comparable(n, report(n)) for n in NAMES if n != "extraction-progress"}
        monkeypatch.setenv("MEMORY_HOME", str(tmp_path / "fresh"))
        ingest_json(staged)
        fresh = {n: _comparable(n, report(n)) for n in NAMES if n != "extraction-progress"}
        for name in fresh:
            assert incremental[name] == fresh[name], name
        oracle = Oracle(tmp_path / "incremental" / "memory.db")
        rows = {r["project"]: r for r in incremental["project-activity"]["rows"]}
        assert {p: r["messages"] for p, r in rows.items()} == \
            {p: e["messages"] for p, e in oracle.per_project().items()}

    def test_busy_store_is_computed_from_rows(self, stored, monkeypatch, tmp_path):
        """While another process holds the write lock, reports do not wait for it: they
        compute the range from the rows, and say the same."""
        expect = {n: _comparable(n, report(n)) for n in ("project-activity", "error-analysis")}
        home = _copy_home(stored, tmp_path)
        dst = sqlite3.connect(home / "memory.db")
        dst.execute("DELETE FROM report_state")  # as if the rollups had never been built
        dst.commit()
        dst.close()
        monkeypatch.setenv("MEMORY_HOME", str(home))
        with _write_locked(home):
            for name, want in expect.items():
                assert _comparable(name, report(name)) == want, name
        state = sqlite3.connect(home / "memory.db").execute("SELECT count(*) FROM report_state")
        assert state.fetchone()[0] == 0  # nothing was written while the lock was held

    def test_busy_store_recomputes_only_its_stale_sessions(self, stored, sample, monkeypatch,
                                                          tmp_path):
        """Rollups out of date for some sessions, on a store that cannot be written: those
        sessions are computed from their rows, the others read from the rollups (their rows
        here made wrong, so reading them would show), and the figures are the same."""
        names = ("project-activity", "error-analysis", "component-usage", "usage", "timeline")
        days = sorted(sample[1]["per_day"])
        ranges = ((), ("--since", f"{days[len(days) // 2]}T09:30:00Z"))
        expect = {(n, r): _comparable(n, report(n, *r)) for n in names for r in ranges}
        home = _copy_home(stored, tmp_path)
        db = sqlite3.connect(home / "memory.db")
        stale = [r[0] for r in db.execute("SELECT session_id FROM report_sessions"
                                          " WHERE session_id <> '' ORDER BY session_id")][::3]
        marks = ", ".join("?" * len(stale))
        db.execute(f"DELETE FROM report_sessions WHERE session_id IN ({marks})", stale)
        for table, col in (("report_days", "messages"), ("report_names", "uses"),
                           ("report_usage", "input_tokens"), ("report_errors", "message_id")):
            db.execute(f"UPDATE {table} SET {col} = {col} + 100000 WHERE session_id IN ({marks})",
                       stale)
        db.commit()
        db.close()
        monkeypatch.setenv("MEMORY_HOME", str(home))
        with _write_locked(home):
            for (name, rng), want in expect.items():
                assert _comparable(name, report(name, *rng)) == want, (name, rng)


class TestFormats:
    """Every report renders as JSON (rows), CSV (the rows), Markdown tables and one
    self-contained HTML file with charts, to stdout or --out."""

    @pytest.mark.parametrize("name", NAMES)
    def test_every_format(self, stored, name, tmp_path):
        data = report(name)
        rows = data["rows"]
        assert isinstance(rows, list) and rows, name
        text = run("report", name, "--format", "csv").stdout
        parsed = list(csv.DictReader(io.StringIO(text)))
        assert len(parsed) == len(rows)
        assert set(rows[0]) <= set(parsed[0])
        md = run("report", name, "--format", "md").stdout
        assert md.startswith("# ") and re.search(r"^\|[-:|]+\|$", md, re.M)
        out = tmp_path / f"{name}.html"
        r = run("report", name, "--format", "html", "--out", str(out))
        html = out.read_text()
        assert str(out) in r.stderr
        assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
        assert html.count("<svg") >= 2 and "<table>" in html
        assert not re.search(r"<script|<link|@import|url\(|(src|href)=\"?https?:", html, re.I)
        table = run("report", name).stdout
        assert data["report"] == name and table.strip()

    def test_session_formats(self, stored, sample):
        sid = max(sample[1]["per_session"], key=lambda s: sample[1]["per_session"][s]["messages"])
        md = run("report", "session", sid, "--format", "md").stdout
        assert "## Conversation" in md and "**you**" in md
        html = run("report", "session", sid, "--format", "html").stdout
        assert "Conversation" in html and "<details" in html and "<script" not in html
        rows = list(csv.DictReader(io.StringIO(run("report", "session", sid, "--format", "csv").stdout)))
        assert len(rows) == report("session", sid)["message_count"]
        text = run("report", "session", sid).stdout
        assert sid in text and "Files touched" in text

    def test_session_table_out_puts_everything_in_the_file(self, stored, sample, tmp_path):
        """`report session ID --format table --out F`: the conversation goes to F too,
        nothing but the `wrote` line to the terminal."""
        sid = max(sample[1]["per_session"], key=lambda s: sample[1]["per_session"][s]["messages"])
        out = tmp_path / "s.txt"
        r = run("report", "session", sid, "--format", "table", "--out", str(out))
        text = out.read_text()
        assert r.stdout == "" and str(out) in r.stderr
        assert sid in text and "Files touched" in text and re.search(r" (you|claude) ", text)

    def test_json_flag_and_format_json_agree(self, stored):
        a = run("report", "usage", "--json").json()
        b = run("report", "usage", "--format", "json").json()
        assert a == b and a["currency"] == "USD"


class TestTimelineCommand:
    """`memory timeline DAY|RANGE` lists the sessions of each day in order, as stored."""

    def test_each_day_lists_its_sessions(self, stored, sample):
        oracle = Oracle(stored / "memory.db")
        expect: dict[str, set] = {}
        for (date, _), e in oracle.per_day_project().items():
            expect.setdefault(date, set()).update(e["sessions"])
        for date in sorted(d for d, s in expect.items() if s)[:6]:
            view = run("timeline", date, "--json").json()
            assert [d["date"] for d in view["days"]] == [date]
            listed = [s["session_id"] for s in view["rows"]]
            assert set(listed) == expect[date], date
            starts = [s["from"] for s in view["rows"]]
            assert starts == sorted(starts)
            for s in view["rows"]:
                assert s["title"] is not None or s["first_prompt"] is None
                assert all(p["timestamp"][:10] == date for p in s["prompts_said"])
            text = run("timeline", date).stdout
            assert all(sid[:8] in text for sid in listed)

    def test_range_default_and_day_words(self, stored, sample):
        days = sorted(d for d, t in sample[1]["per_day"].items() if t["sessions"])
        view = run("timeline", f"{days[0]}..{days[2]}", "--json").json()
        assert [d["date"] for d in view["days"]][0] == days[0]
        assert [d["date"] for d in view["days"]][-1] <= days[2]
        assert {d["date"] for d in view["days"]} >= {days[0], days[1], days[2]}
        last = run("timeline", "--json").json()
        assert len(last["days"]) == 1 and last["days"][0]["date"] >= days[-1]
        assert parse_day("20251126") == parse_day("2025-11-26")
        nov = parse_day("Nov 26")
        assert nov.month == 11 and nov.day == 26 and nov <= today()
        assert parse_range("2025-11-26") == (parse_bound("2025-11-26", False), parse_bound("2025-11-26", True))
        assert day(parse_bound("yesterday", False)) < day(parse_bound("today", False))
        r = run_proc("timeline", "someday")
        assert r.code == 2 and "try" in r.stderr


class TestCommandErrors:
    """Wrong use gets one line a person can act on, with a stable exit code."""

    def test_usage_errors(self, stored):
        for args, code in ((("report", "session"), 2), (("report", "usage", "extra"), 2),
                           (("report", "session", "abc", "--since", "7d"), 2),
                           (("report", "extraction-progress", "-p", "x"), 2),
                           (("report", "nonsense"), 2), (("report", "usage", "--format", "pdf"), 2)):
            r = run_proc(*args)
            assert r.code == code and "Traceback" not in r.stderr, args

    def test_no_store_yet(self, tmp_path, monkeypatch):
        monkeypatch.setenv("MEMORY_HOME", str(tmp_path / "empty"))
        r = run_proc("report", "project-activity")
        assert r.code == 12 and "memory ingest" in r.stderr
