"""Reports against known truth: a generated Claude folder (the generator's own counts) and an
oracle that recomputes every figure in plain Python from the stored rows, without the
reports' SQL or rollups. Numbers in different reports must also agree with each other."""

from __future__ import annotations

import sqlite3
import tomllib
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coditect_memory.sample import generate
from coditect_memory.store.sqlite.backend import SQLiteStore
from coditect_memory.store.sqlite.packing import uuid_sql

from .conftest import ingest_into, run, run_proc

DAY = 86_400_000
IDLE = 30 * 60 * 1000
PRICES = Path(__file__).resolve().parents[1] / "src/coditect_memory/reports/prices.toml"


# A human prompt, as the oracle reads the rows (derive.prompts is what ingest stores).
PROMPT = ("type = 'user' AND is_meta = 0 AND is_sidechain = 0 AND linked_uid IS NULL"
          " AND source_kind IN ('transcript', 'history', 'import')")


def day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class Oracle:
    """Every report figure, recomputed naively from the rows of memory.db."""

    def __init__(self, db_path: Path, since: int | None = None, until: int | None = None) -> None:
        db = sqlite3.connect(db_path)
        self.projects = {pid: path for pid, path in db.execute("SELECT id, path FROM projects")}
        cols = ("id", "session_id", "project_id", "ts", "type", "is_error", "component",
                "tool_name", "source_kind", "source_line", "prompt")
        everything = [dict(zip(cols, r, strict=True)) for r in db.execute(
            f"SELECT id, {uuid_sql('session_id')}, project_id, ts, type, is_error, component, tool_name,"
            f" source_kind, source_line, ({PROMPT}) FROM messages"
            " WHERE deleted_at IS NULL")]
        lo, hi = -(1 << 62) if since is None else since, 1 << 62 if until is None else until
        bounded = since is not None or until is not None
        self.rows = [r for r in everything
                     if not bounded or (r["ts"] is not None and lo <= r["ts"] < hi)]
        self.usage = [r for r in db.execute(
            f"SELECT {uuid_sql('u.session_id')}, u.model, u.ts, u.input_tokens, u.output_tokens,"
            " u.cache_read_tokens, u.cache_write_tokens, s.project_id"
            f" FROM api_usage u LEFT JOIN sessions s ON s.id = {uuid_sql('u.session_id')}")
            if not bounded or (r[2] is not None and lo <= r[2] < hi)]
        self.gaps = self._gaps(everything, lo, hi)
        db.close()

    @staticmethod
    def _gaps(rows, lo, hi) -> list[tuple[dict, int]]:
        """(row, gap) for each conversation line in range whose previous line in the session
        is at most 30 min before it (the previous line may be before the range)."""
        lines = defaultdict(list)
        for r in rows:
            if (r["session_id"] and r["ts"] is not None and r["source_line"] is not None
                    and r["source_kind"] in ("transcript", "history", "import")):
                lines[r["session_id"]].append(r)
        out = []
        for items in lines.values():
            items.sort(key=lambda r: r["ts"])
            for prev, cur in zip(items, items[1:], strict=False):
                if lo <= cur["ts"] < hi and cur["ts"] - prev["ts"] <= IDLE:
                    out.append((cur, cur["ts"] - prev["ts"]))
        return out

    @staticmethod
    def name_of(r: dict) -> tuple[str, str] | None:
        """The one component or tool a row counts for (see derive/counting.py)."""
        comp = r["component"] or ("API" if r["type"] == "assistant" and r["is_error"] else None)
        if comp:
            return "component", comp
        if r["tool_name"] and (r["type"] == "tool_use" or r["is_error"]):
            return "tool", r["tool_name"]
        return None

    def per_project(self) -> dict[str | None, dict]:
        out: dict[str | None, dict] = defaultdict(lambda: {
            "sessions": set(), "messages": 0, "prompts": 0, "errors": 0, "tool_calls": 0,
            "days": set(), "first": None, "last": None, "active_ms": 0})
        for r in self.rows:
            p = out[self.projects.get(r["project_id"])]
            if r["session_id"]:
                p["sessions"].add(r["session_id"])
            p["messages"] += 1
            p["prompts"] += r["prompt"]
            p["errors"] += r["is_error"]
            p["tool_calls"] += r["type"] == "tool_use"
            if r["ts"] is not None:
                p["days"].add(r["ts"] // DAY)
                p["first"] = r["ts"] if p["first"] is None else min(p["first"], r["ts"])
                p["last"] = r["ts"] if p["last"] is None else max(p["last"], r["ts"])
        for r, gap in self.gaps:
            out[self.projects.get(r["project_id"])]["active_ms"] += gap
        return out

    def per_day_project(self) -> dict[tuple[str, str | None], dict]:
        out: dict = defaultdict(lambda: {"sessions": set(), "messages": 0, "errors": 0,
                                         "tool_calls": 0, "names": Counter(), "active_ms": 0})
        for r in self.rows:
            if r["ts"] is None:
                continue
            d = out[(day(r["ts"]), self.projects.get(r["project_id"]))]
            if r["session_id"]:
                d["sessions"].add(r["session_id"])
            d["messages"] += 1
            d["errors"] += r["is_error"]
            d["tool_calls"] += r["type"] == "tool_use"
            name = self.name_of(r)
            if name and (name[0] == "component" or r["type"] == "tool_use"):
                d["names"][name] += 1
        for r, gap in self.gaps:
            out[(day(r["ts"]), self.projects.get(r["project_id"]))]["active_ms"] += gap
        return out

    def per_name(self) -> dict[tuple[str, str], dict]:
        out: dict = defaultdict(lambda: {"uses": 0, "errors": 0, "sessions": set(), "days": set()})
        for r in self.rows:
            name = self.name_of(r)
            if not name:
                continue
            n = out[name]
            n["uses"] += 1 if name[0] == "component" else r["type"] == "tool_use"
            n["errors"] += r["is_error"]
            if r["session_id"]:
                n["sessions"].add(r["session_id"])
            if r["ts"] is not None:
                n["days"].add(r["ts"] // DAY)
        return out

    def errors_by(self) -> Counter:
        """Errors per (component or tool or row type, project)."""
        out: Counter = Counter()
        for r in self.rows:
            if r["is_error"]:
                name = self.name_of(r)
                out[(name[1] if name else r["type"], self.projects.get(r["project_id"]))] += 1
        return out

    def usage_by(self, key: str) -> dict:
        out: dict = defaultdict(lambda: [0, 0, 0, 0, 0])
        for sid, model, ts, i, o, r, w, pid in self.usage:
            k = {"day": day(ts) if ts is not None else None, "model": model,
                 "project": self.projects.get(pid), "session": sid}[key]
            acc = out[k]
            for j, v in enumerate((1, i, o, r, w)):
                acc[j] += v
        return out


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("claude")
    return root, generate(root, sessions=16, seed=7)


@pytest.fixture(scope="module")
def store_home(sample, tmp_path_factory):
    """One ingested store shared by the read-only tests of this module."""
    home = tmp_path_factory.mktemp("home")
    assert ingest_into(home, sample[0])["errors"] == 0
    return home


@pytest.fixture
def stored(store_home, sample, monkeypatch):
    monkeypatch.setenv("MEMORY_HOME", str(store_home))
    return sample[1], Oracle(store_home / "memory.db")


def report(*args: str) -> dict:
    return run("report", *args, "--json").json()


def by_project(rows: list[dict]) -> dict:
    return {r["project"]: r for r in rows}


class TestProjectActivity:
    """project-activity equals the generator's truth per project and the oracle's recount."""

    def test_sessions_tools_errors_tokens_match_the_truth(self, stored):
        truth, _ = stored
        rows = by_project(report("project-activity")["rows"])
        errors, tokens = Counter(), defaultdict(Counter)
        for s in truth["per_session"].values():
            errors[s["project"]] += s.get("error_rows", 0)
            for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens"):
                tokens[s["project"]][k] += s.get(k, 0)
        for path, t in truth["per_project"].items():
            r = rows[path]
            assert r["sessions"] == t["sessions"] + t["history_only_sessions"], path
            assert r["tool_calls"] == t["tool_calls"], path
            assert r["errors"] == errors[path], path
            for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens"):
                assert r[k] == tokens[path][k], (path, k)
        assert sum(r["sessions"] for r in rows.values()) >= truth["sessions"]

    def test_counts_days_and_hours_match_the_oracle(self, stored):
        _, oracle = stored
        rows = by_project(report("project-activity")["rows"])
        expect = oracle.per_project()
        assert set(rows) == set(expect)
        for path, e in expect.items():
            r = rows[path]
            assert (r["sessions"], r["messages"], r["prompts"], r["errors"], r["tool_calls"]) == \
                (len(e["sessions"]), e["messages"], e["prompts"], e["errors"], e["tool_calls"]), path
            assert r["active_days"] == len(e["days"]), path
            assert (r["first_activity"], r["last_activity"]) == (iso(e["first"]), iso(e["last"])), path
            assert r["hours"] == round(e["active_ms"] / 3_600_000, 2), path
        assert sum(r["hours"] for r in rows.values()) > 1  # the sample has real working time

    def test_prompts_match_the_truth(self, stored):
        """Local commands (/mcp) that Claude Code 2.1 writes as system lines are linked, not
        counted as extra prompts."""
        truth, _ = stored
        rows = by_project(report("project-activity")["rows"])
        for path, t in truth["per_project"].items():
            assert rows[path]["prompts"] == t["prompts"] + t["history_only_prompts"], path


class TestTimeline:
    """timeline rows (date, project) equal the truth per day and the oracle per day and project."""

    def test_days_match_the_truth(self, stored):
        truth, _ = stored
        rows = report("timeline")["rows"]
        per_day = defaultdict(Counter)
        for r in rows:
            per_day[r["date"]]["tool_calls"] += r["tool_calls"]
            per_day[r["date"]]["sessions_started"] += r["sessions_started"]
        # sessions the generator never wrote (test_sample's xfail: MEMORY.md makes one)
        for s in run("sessions", "--json", "--limit", "1000").json():
            if s["session_id"] not in truth["per_session"]:
                per_day[s["started_at"][:10]]["sessions_started"] -= 1
        for date, t in truth["per_day"].items():
            assert per_day[date]["tool_calls"] == t["tool_calls"], date
            assert per_day[date]["sessions_started"] == t["sessions"] + t["history_only_sessions"], date

    def test_rows_match_the_oracle(self, stored):
        _, oracle = stored
        rows = {(r["date"], r["project"]): r for r in report("timeline")["rows"]}
        expect = oracle.per_day_project()
        assert set(rows) == set(expect)
        for key, e in expect.items():
            r = rows[key]
            assert (r["sessions"], r["messages"], r["errors"], r["tool_calls"]) == \
                (len(e["sessions"]), e["messages"], e["errors"], e["tool_calls"]), key
            names = {("component", k): v for k, v in r["components"].items()}
            names |= {("tool", k): v for k, v in r["tools"].items()}
            assert names == {k: v for k, v in e["names"].items() if v}, key
            assert r["hours"] == round(e["active_ms"] / 3_600_000, 2), key
            assert all(len(d) == 10 for d in (r["date"],))

    def test_titles_are_the_sessions_of_the_day(self, stored):
        sessions = {s["session_id"]: s for s in run("sessions", "--json", "--limit", "1000").json()}
        rows = report("timeline")["rows"]
        titled = [t for r in rows for t in r["titles"]]
        assert titled and all(any(t == (s["title"] or sid[:8]) for sid, s in sessions.items())
                              for t in titled)


class TestComponentUsage:
    """component-usage equals the oracle per component and tool, and the truth for tools."""

    def test_matches_the_oracle(self, stored):
        _, oracle = stored
        rows = {(r["kind"], r["component"]): r for r in report("component-usage")["rows"]}
        expect = oracle.per_name()
        assert set(rows) == set(expect)
        for key, e in expect.items():
            r = rows[key]
            assert (r["uses"], r["errors"], r["sessions"], r["active_days"]) == \
                (e["uses"], e["errors"], len(e["sessions"]), len(e["days"])), key
            assert r["error_rate"] == (round(100 * e["errors"] / e["uses"], 2) if e["uses"] else None)
        kinds = {k for k, _ in rows}
        assert kinds == {"component", "tool"}
        assert {"Hooks", "LSP", "Permissions", "MCP"} <= {n for k, n in rows if k == "component"}

    def test_tools_match_the_truth(self, stored):
        truth, _ = stored
        rows = report("component-usage")["rows"]
        tools = [r for r in rows if r["kind"] == "tool"]
        assert sum(r["uses"] for r in tools) == truth["tool_calls"]
        assert sum(r["errors"] for r in tools) == truth["tool_errors"]


class TestErrorAnalysis:
    """error-analysis counts every error row once, by component and project, with samples
    that point to where the error was read."""

    def test_counts_match_the_truth_and_the_oracle(self, stored):
        truth, oracle = stored
        out = report("error-analysis")
        rows = out["rows"]
        assert sum(r["errors"] for r in rows) == truth["error_rows"]
        got = Counter({(r["component"], r["project"]): r["errors"] for r in rows})
        assert got == oracle.errors_by()
        for r in rows:
            assert 1 <= r["sessions"] <= r["errors"] and 1 <= r["days"] <= r["errors"]
            assert r["first_seen"] <= r["last_seen"]
            assert 1 <= len(r["samples"]) <= 3
            assert sum(s["count"] for s in r["samples"]) <= r["errors"]

    def test_samples_have_provenance(self, stored, sample):
        root = sample[0]
        for r in report("error-analysis")["rows"]:
            for s in r["samples"]:
                path = root / s["source_file"]
                assert path.exists(), s
                assert s["session_id"] in s["source_file"] or s["session_id"] in path.read_text(), s
                if s["source_line"]:  # the line read holds the error's time as written
                    line = path.read_text(errors="replace").splitlines()[s["source_line"] - 1]
                    assert s["timestamp"] in line, s

    def test_similar_messages_are_grouped(self, stored):
        messages = report("error-analysis")["messages"]
        sigs = [m["signature"] for m in messages]
        assert len(sigs) == len(set(sigs))
        # the sample writes many failed test runs and missing files: each is one group
        assert any(m["errors"] > 1 for m in messages)
        assert all("N" in s or not any(ch.isdigit() for ch in s) for s in sigs)


class TestCrossReport:
    """A number shown by two reports is the same number."""

    def test_errors_agree(self, stored):
        activity = by_project(report("project-activity")["rows"])
        errors = report("error-analysis")
        per_project = Counter()
        for r in errors["rows"]:
            per_project[r["project"]] += r["errors"]
        assert {p: r["errors"] for p, r in activity.items() if r["errors"]} == dict(per_project)
        components = {(r["kind"], r["component"]): r["errors"] for r in report("component-usage")["rows"]}
        for r in errors["by_component"]:
            if r["kind"] != "other":
                assert components[(r["kind"], r["component"])] == r["errors"]

    def test_timeline_sums_to_project_activity(self, stored):
        activity = by_project(report("project-activity")["rows"])
        sums = defaultdict(Counter)
        for r in report("timeline")["rows"]:
            for k in ("messages", "errors", "tool_calls", "prompts"):
                sums[r["project"]][k] += r[k]
        for path, r in activity.items():
            for k in ("errors", "tool_calls"):
                assert sums[path][k] == r[k], (path, k)
            assert sums[path]["messages"] <= r["messages"]  # rows with no time are on no day

    def test_search_finds_the_tool_errors_reports_count(self, stored, store_home):
        """`level:error` finds failed tool calls too (they carry no log level)."""
        db = sqlite3.connect(store_home / "memory.db")
        failed = db.execute("SELECT count(*) FROM messages WHERE type = 'tool_result'"
                            " AND is_error = 1 AND deleted_at IS NULL").fetchone()[0]
        db.close()
        assert failed > 0
        found = run("search", "level:error type:tool_result", "--json", "--limit", "1").json()
        assert found["total"] == failed

    def test_tokens_agree_with_status_and_usage(self, stored):
        status = run("status", "--json").json()
        usage = report("usage")
        totals = usage["totals"]
        assert [totals[k] for k in ("input_tokens", "output_tokens", "cache_read_tokens",
                                    "cache_write_tokens")] == \
            [status["tokens"][k] for k in ("input", "output", "cache_read", "cache_write")]
        assert totals["responses"] == status["api_responses"]
        activity = report("project-activity")["rows"]
        assert sum(r["total_tokens"] for r in activity) == totals["total_tokens"]
        assert round(sum(r["cost_usd"] for r in activity), 4) == round(totals["cost_usd"], 4)


def _price(model: str) -> dict:
    table = tomllib.loads(PRICES.read_text())["prices"]
    key = max((k for k in table if model.startswith(k)), key=len)
    return table[key]


class TestUsage:
    """usage equals the truth's tokens and api_usage per day, model, project and session, priced
    from the price table (defaults overridable in config)."""

    def test_totals_match_the_truth(self, stored):
        truth, _ = stored
        totals = report("usage")["totals"]
        for k in ("input", "output", "cache_read", "cache_write"):
            assert totals[f"{k}_tokens"] == truth["tokens"][k], k
        assert totals["responses"] == truth["api_responses"]

    @pytest.mark.parametrize("by", ["day", "model", "project", "session"])
    def test_groups_match_the_oracle(self, stored, by):
        _, oracle = stored
        out = report("usage", "--by", by)
        key = {"day": "date", "model": "model", "project": "project", "session": "session_id"}[by]
        got = {r[key]: [r["responses"], r["input_tokens"], r["output_tokens"],
                        r["cache_read_tokens"], r["cache_write_tokens"]] for r in out["rows"]}
        assert got == dict(oracle.usage_by(by))

    def test_cost_is_tokens_times_list_prices(self, stored):
        rows = report("usage", "--by", "model")["rows"]
        priced = [r for r in rows if r["model"].startswith("claude-")]
        assert priced
        for r in priced:
            p = _price(r["model"])
            expect = (r["input_tokens"] * p["input"] + r["output_tokens"] * p["output"]
                      + r["cache_read_tokens"] * p["cache_read"]
                      + r["cache_write_tokens"] * p["cache_write"]) / 1e6
            assert r["cost_usd"] == pytest.approx(expect, rel=1e-9), r["model"]
        assert sum(r["cost_usd"] for r in rows) > 0

    def test_config_prices_override_the_defaults(self, stored, store_home, monkeypatch, tmp_path):
        model = next(r["model"] for r in report("usage", "--by", "model")["rows"]
                     if r["model"].startswith("claude-") and r["output_tokens"])
        cfg = tmp_path / "config.toml"
        cfg.write_text(f'[prices."{model}"]\ninput = 0\noutput = 1000000\ncache_read = 0\n'
                       'cache_write = 0\n[prices."my-model"]\ninput = 1\n')
        monkeypatch.setenv("MEMORY_CONFIG", str(cfg))
        row = next(r for r in report("usage", "--by", "model")["rows"] if r["model"] == model)
        assert row["cost_usd"] == pytest.approx(row["output_tokens"])


class TestSessionReport:
    """`report session ID` reconstructs one session as the truth wrote it."""

    def _busiest(self, truth) -> tuple[str, dict]:
        return max(((sid, s) for sid, s in truth["per_session"].items() if not s["history_only"]),
                   key=lambda kv: (kv[1]["error_rows"], kv[1]["tool_calls"]))

    def test_matches_the_truth(self, stored):
        truth, _ = stored
        sid, t = self._busiest(truth)
        out = report("session", sid[:10])
        assert out["session_id"] == sid
        assert out["message_count"] == t["messages"] == len(out["rows"])
        assert out["project"] == t["project"]
        assert sum(c["uses"] for c in out["components"] if c["kind"] == "tool") == t["tool_calls"]
        assert len(out["errors"]) == t["error_rows"]
        for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens"):
            assert out["tokens"][k] == t[k], k
        assert sum(m["responses"] for m in out["models"]) == t["api_responses"]
        assert out["duration_seconds"] > 0 and 0 < out["active_hours"] * 3600 <= out["duration_seconds"]
        assert [m["timestamp"] for m in out["rows"] if m["timestamp"]] == \
            sorted(m["timestamp"] for m in out["rows"] if m["timestamp"])

    def test_files_touched_come_from_tool_calls_and_file_history(self, stored):
        truth, _ = stored
        sid, _ = self._busiest(truth)
        out = report("session", sid)
        files = {f["path"]: f for f in out["files"]}
        calls = [m for m in out["rows"] if m["type"] == "tool_use" and '"file_path"' in (m["content"] or "")]
        assert calls and all(any(p in (m["content"] or "") for p in files) for m in calls)
        assert all(f["reads"] + f["writes"] + f["versions"] > 0 for f in files.values())

    def test_unknown_session_is_not_found(self, stored):
        r = run_proc("report", "session", "no-such-session", "--json")
        assert r.code == 4 and "memory sessions" in r.stderr and "Traceback" not in r.stderr


class TestExtractionProgress:
    """extraction-progress lists every run as `memory runs` does and the coverage of each
    source kind as the manifest holds it."""

    def test_runs_and_coverage(self, stored):
        truth, _ = stored
        out = report("extraction-progress")
        runs = run("runs", "--json").json()
        assert [r["run_id"] for r in out["rows"]] == sorted(r["run_id"] for r in runs)
        first = out["rows"][0]
        assert (first["messages_new"], first["errors"]) == (truth["messages"], 0)
        assert sum(k["bytes_read"] for k in first["by_kind"].values()) == first["bytes_read"]
        kinds = {k["kind"]: k for k in out["by_kind"]}
        for kind, t in truth["files"].items():
            assert (kinds[kind]["files"], kinds[kind]["bytes"]) == (t["files"], t["bytes"]), kind
        assert kinds["transcript"]["coverage_pct"] == 100.0
        assert sum(k["messages"] for k in kinds.values()) == truth["messages"]
        assert all(f["coverage_pct"] < 100 or f["errors"] or f["partial_tail"] for f in out["files"])
        every = report("extraction-progress", "--all")["files"]
        assert len(every) == sum(t["files"] for t in truth["files"].values())


class TestRowFacts:
    """What the rules (derive/) store per row: filled at write time, and by migration 7's code
    step for rows stored before it, the same either way."""

    FACTS = "id, is_prompt, count_kind, count_name, error_signature"

    def test_migration_fills_what_ingest_writes(self, store_home, tmp_path, stored):
        src = sqlite3.connect(store_home / "memory.db")
        want = src.execute(f"SELECT {self.FACTS} FROM messages ORDER BY id").fetchall()
        old = sqlite3.connect(tmp_path / "memory.db")
        src.backup(old)
        src.close()
        for col in ("is_prompt", "count_kind", "count_name", "error_signature"):
            old.execute(f"ALTER TABLE messages DROP COLUMN {col}")  # a store made before 0007
        old.execute("DELETE FROM schema_migrations WHERE version = 7")
        old.execute("INSERT INTO backup_marks VALUES ('messages', 0)")  # backed up: tracked
        old.commit()
        old.close()
        SQLiteStore(str(tmp_path / "memory.db")).close()
        got = sqlite3.connect(tmp_path / "memory.db")
        assert got.execute(f"SELECT {self.FACTS} FROM messages ORDER BY id").fetchall() == want
        assert any(r[1] for r in want) and any(r[4] for r in want)
        triggers = {r[0] for r in got.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert "backup_u_messages" in triggers  # dropped for the backfill, made again
