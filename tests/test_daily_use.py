"""The rough edges a person meets every day (issue 15): a short session id that several
sessions share, `--at` dates for restore, one backup size, what `show session` prints."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from coditect_memory.errors import UsageError
from coditect_memory.sample import generate
from coditect_memory.timeutil import iso, parse_user_time, today
from coditect_memory.units import human_bytes

from .conftest import ingest_into, run, run_proc
from .test_backup_support import install_store


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("claude")
    generate(root, sessions=12, seed=5)
    home = tmp_path_factory.mktemp("home")
    ingest_into(home, root)
    return home


@pytest.fixture
def stored(home, monkeypatch):
    monkeypatch.setenv("MEMORY_HOME", str(home))
    return home


class TestSessionPrefix:
    """`show session 5` when several sessions start with 5: a usage error listing them."""

    def _shared_prefix(self) -> tuple[str, list[dict]]:
        rows = run("sessions", "--json", "--limit", "1000").json()
        first, n = Counter(r["session_id"][0] for r in rows).most_common(1)[0]
        assert n >= 2, "the sample should have two sessions starting alike"
        return first, [r for r in rows if r["session_id"].startswith(first)]

    def test_ambiguous_prefix_lists_the_candidates(self, stored):
        prefix, matches = self._shared_prefix()
        for args in (("show", "session", prefix), ("report", "session", prefix)):
            r = run_proc(*args, env={"MEMORY_HOME": str(stored)})
            assert r.code == 2 and r.stdout == "" and "Traceback" not in r.stderr, args
            assert "ambiguous" in r.stderr and f"{len(matches)} sessions" in r.stderr
            for m in matches:
                assert m["session_id"] in r.stderr
                assert m["started_at"][:16].replace("T", " ") in r.stderr
                assert " ".join((m["title"] or "").split())[:40] in r.stderr

    def test_unique_prefix_and_unknown_id(self, stored):
        rows = run("sessions", "--json", "--limit", "1000").json()
        ids = [r["session_id"] for r in rows]
        sid = ids[0]
        short = next(sid[:n] for n in range(1, len(sid) + 1)
                     if sum(i.startswith(sid[:n]) for i in ids) == 1)
        assert run("show", "session", short, "--json").json()["session_id"] == sid
        r = run_proc("show", "session", "zz-none", env={"MEMORY_HOME": str(stored)})
        assert r.code == 4 and "no session 'zz-none'" in r.stderr

    def test_wildcards_are_not_prefixes(self, stored):
        r = run_proc("show", "session", "%", env={"MEMORY_HOME": str(stored)})
        assert r.code == 4 and "ambiguous" not in r.stderr


class TestRestoreAt:
    """`backup restore --at DAY`: a day means up to its end, written as `timeline` takes it."""

    def test_parse_user_time_days(self):
        assert iso(parse_user_time("2026-12-02")) == "2026-12-02T00:00:00.000Z"
        assert iso(parse_user_time("2026-12-02", end_of_day=True)) == "2026-12-02T23:59:59.999Z"
        assert iso(parse_user_time("2026-12-02T09:30Z", end_of_day=True)) == "2026-12-02T09:30:00.000Z"
        t = today()
        assert iso(parse_user_time("today", True))[:10] == t.isoformat()
        assert iso(parse_user_time("yesterday"))[:10] == (t - timedelta(days=1)).isoformat()
        assert iso(parse_user_time("7d"))[:10] == (t - timedelta(days=7)).isoformat()
        feb = iso(parse_user_time("Feb 10"))
        assert feb[5:10] == "02-10" and feb[:10] <= t.isoformat()
        for bad in ("someday", "2026-02-30"):
            with pytest.raises(UsageError):
                parse_user_time(bad)

    def test_restore_at_a_day_takes_that_days_backup(self, home, memory_home, tmp_path):
        install_store(home, memory_home)
        target = tmp_path / "target"
        made = run("backup", "create", "--target", str(target), "--json").json()
        day = made["created_at"][:10]
        month_day = today().strftime("%b %d")
        for i, at in enumerate((day, "today", month_day, "0d")):
            out = run("backup", "restore", "--at", at, "--target", str(target),
                      "--into", str(tmp_path / f"r{i}"), "--json", "--timezone", "UTC").json()
            assert out["backup_id"] == made["backup_id"], at
        for at in ("yesterday", "7d"):
            r = run_proc("backup", "restore", "--at", at, "--target", str(target),
                         "--into", str(tmp_path / "none"), "--timezone", "UTC")
            assert r.code == 1 and "no backup" in r.stderr, at
        # a day in --timezone: in UTC+14 the backup was made on the local day after its UTC day
        from zoneinfo import ZoneInfo

        there = datetime.fromisoformat(made["created_at"].replace("Z", "+00:00")).astimezone(
            ZoneInfo("Pacific/Kiritimati")).date()
        out = run("backup", "restore", "--at", there.isoformat(), "--target", str(target),
                  "--into", str(tmp_path / "kiritimati"), "--json", "--timezone",
                  "Pacific/Kiritimati").json()
        assert out["backup_id"] == made["backup_id"]
        r = run_proc("backup", "restore", "--at", (there - timedelta(days=1)).isoformat(),
                     "--target", str(target), "--into", str(tmp_path / "none"),
                     "--timezone", "Pacific/Kiritimati")
        assert r.code == 1 and "no backup" in r.stderr
        r = run_proc("backup", "restore", "--at", "someday", "--target", str(target),
                     "--into", str(tmp_path / "none"))
        assert r.code == 2 and "not a date or time" in r.stderr


class TestBackupSize:
    """`backup create` and `backup list` give the same size for the same backup."""

    def test_create_and_list_agree(self, home, memory_home, tmp_path):
        install_store(home, memory_home)
        target = tmp_path / "target"
        full = run("backup", "create", "--target", str(target), "--json").json()
        run("ingest", str(generate_more(tmp_path)), "--json")
        text = run("backup", "create", "--target", str(target)).stdout
        listed = {b["backup_id"]: b for b in
                  run("backup", "list", "--target", str(target), "--json").json()}
        assert listed[full["backup_id"]]["bytes_written"] == full["bytes"] > 0
        inc = [b for b in listed.values() if b["type"] == "incremental"][0]
        written = human_bytes(inc["bytes_written"])
        assert f"{written} written" in text
        table = run("backup", "list", "--target", str(target)).stdout
        row = next(ln for ln in table.splitlines() if ln.startswith(inc["backup_id"]))
        assert row.rstrip().endswith(written)
        objects = sum(p.stat().st_size for p in (target / "objects").rglob("*") if p.is_file())
        assert full["bytes"] + inc["bytes_written"] == objects


def generate_more(base):
    root = base / "more"
    generate(root, sessions=2, seed=41)
    return root


class TestReadableConversation:
    """What a transcript holds raw (terminal escapes, slash-command markup) is rendered
    readable by `show session` and the session report; the store and --json keep it raw."""

    RAW = "\x1b[31mFAILED\x1b[0m 2 tests\r\n\x1b]0;title\x07done \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"

    def test_readable(self):
        from coditect_memory.reports.fmt import readable

        assert readable(self.RAW) == "FAILED 2 tests\ndone link"
        assert readable("<command-message>review is running…</command-message>\n"
                        "<command-name>/review</command-name>\n"
                        "<command-args>fix/login</command-args>") == "/review fix/login"
        assert readable("<local-command-stdout>\x1b[1mok\x1b[22m</local-command-stdout>") == "ok"
        assert readable("Grüße 日本\ttab\nline") == "Grüße 日本\ttab\nline"

    def test_show_session_renders_no_escapes_or_markup(self, tmp_path, monkeypatch):
        import json

        sid = "0b0e5c0d-1111-4222-8333-944445555666"
        project = tmp_path / "claude" / "projects" / "-work-demo"
        project.mkdir(parents=True)
        lines = [
            {"type": "user", "uuid": "u1", "sessionId": sid, "timestamp": "2026-12-01T10:00:00Z",
             "cwd": "/work/demo", "message": {"role": "user", "content":
                 "<command-message>review is running…</command-message>\n"
                 "<command-name>/review</command-name>\n<command-args>fix/login</command-args>"}},
            {"type": "assistant", "uuid": "a1", "parentUuid": "u1", "sessionId": sid,
             "timestamp": "2026-12-01T10:00:05Z", "cwd": "/work/demo",
             "message": {"role": "assistant", "model": "claude-opus-4-1", "content": [
                 {"type": "text", "text": "Ran it: " + self.RAW}]}},
        ]
        (project / f"{sid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        monkeypatch.setenv("MEMORY_HOME", str(tmp_path / "home"))
        run("ingest", str(tmp_path / "claude"), "--json")
        raw = run("show", "session", sid, "--json").json()
        assert any("\x1b[31m" in (m["content"] or "") for m in raw["messages"])
        for out in (run("show", "session", sid).stdout,
                    run("report", "session", sid, "--format", "md").stdout,
                    run("report", "session", sid, "--format", "html").stdout):
            assert "\x1b" not in out and "\x07" not in out and "command-name" not in out
            assert out.count("/review fix/login") >= 2 and "FAILED 2 tests" in out


def _pty_run(*args: str, env: dict, columns: int, stderr: bool = False) -> str:
    """`memory ARGS` with its output on a pseudo-terminal of `columns` columns, as a person
    sees it (escapes removed)."""
    import os
    import pty
    import re
    import subprocess
    import sys

    main, side = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "coditect_memory", *args], stdout=side,
                         stderr=side if stderr else subprocess.DEVNULL, env={**os.environ, **env,
                                                         "COLUMNS": str(columns), "TERM": "xterm"})
    os.close(side)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    p.wait(timeout=60)
    os.close(main)
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def _money(v: float) -> str:
    return f"${v:,.2f}"


class TestTablesFit:
    """Tables keep their important columns within the terminal's width, say what they left
    out, never cut a figure; piped output is plain, unpadded and complete."""

    CASES = (  # report, columns that must stay at 100 columns
        (("usage", "--by", "session"), ("session", "total", "cost")),
        (("usage", "--by", "model"), ("model", "input", "output", "total", "cost")),
        (("component-usage",), ("component", "occurrences", "sessions", "errors", "error rate")),
        (("project-activity",), ("project", "sessions", "errors", "cost", "last", "days", "hours")),
    )

    @pytest.mark.parametrize(("args", "kept"), CASES)
    def test_terminal_of_100_columns(self, stored, args, kept, monkeypatch):
        import re

        monkeypatch.delenv("COLUMNS", raising=False)
        data = run("report", *args, "--json").json()
        piped = run("report", *args, "--limit", "5").stdout.splitlines()
        every = re.split(r"\s{2,}", next(ln for ln in piped if ln.startswith(kept[0] + "  ")).strip())
        for columns in (100, 80):
            out = _pty_run("report", *args, "--limit", "5", env={"MEMORY_HOME": str(stored)},
                           columns=columns)
            lines = out.splitlines()
            assert max(len(ln) for ln in lines) <= columns, (columns, out)
            shown = re.split(r"\s{2,}", next(ln for ln in lines if ln.startswith(kept[0] + "  ")).strip())
            if columns == 100:
                assert set(kept) <= set(shown), (shown, out)
            said = " ".join(out.split(f"to fit {columns} columns: ")[1:])
            left_out = said.split("left out: ")[1].split(";")[0].split(" (")[0].split(", ") \
                if "left out: " in said else []
            assert sorted(shown + left_out) == sorted(every), (shown, left_out, out)
            if "cost" in shown:
                for r in data["rows"][:5]:
                    assert _money(r["cost_usd"]) in out  # never `$10.1`

    def test_piped_output_is_plain_unpadded_and_complete(self, stored, monkeypatch):
        monkeypatch.delenv("COLUMNS", raising=False)
        data = run("report", "usage", "--by", "session", "--json").json()
        out = run("report", "usage", "--by", "session", "--limit", "100").stdout
        assert "\x1b" not in out and all(ln == ln.rstrip() for ln in out.splitlines())
        header = next(ln for ln in out.splitlines() if ln.startswith("session"))
        for label in ("project", "title", "input", "output", "cache read", "cache write",
                      "total", "cost", "models"):
            assert label in header
        for r in data["rows"]:
            assert r["session_id"] in out and _money(r["cost_usd"]) in out
        assert "to fit" not in out and "…" not in out.split("more rows")[0]

    def test_piped_output_follows_columns(self, stored, monkeypatch):
        monkeypatch.setenv("COLUMNS", "90")
        out = run("report", "usage", "--by", "session").stdout
        assert max(len(ln) for ln in out.splitlines()) <= 90
        assert "to fit 90 columns: left out:" in out
        assert run("report", "usage", "--by", "session", "--json").json() == \
            run("report", "usage", "--by", "session", "--format", "json").json()


class TestPipedLists:
    """`sessions`, `status` and `runs` piped: no trailing padding, and $COLUMNS honoured."""

    @pytest.mark.parametrize("args", [("sessions",), ("status",), ("runs",)])
    def test_unpadded(self, stored, monkeypatch, args):
        monkeypatch.delenv("COLUMNS", raising=False)
        lines = run(*args).stdout.splitlines()
        assert len(lines) >= 2 and all(ln == ln.rstrip() for ln in lines), lines

    def test_columns(self, stored, monkeypatch):
        monkeypatch.setenv("COLUMNS", "70")
        lines = run("sessions").stdout.splitlines()
        assert lines and max(len(ln) for ln in lines) <= 70


class TestIngestSaysWhatItWaitsFor:
    """After the bytes are read, the bar names the work left (deriving, indexing, extracting)
    instead of sitting at 100 % in silence; it is gone before the summary."""

    def test_phases_on_a_terminal(self, tmp_path):
        root = tmp_path / "claude"
        generate(root, sessions=6, seed=3)
        out = _pty_run("ingest", str(root), env={"MEMORY_HOME": str(tmp_path / "h")}, columns=120,
                       stderr=True)
        assert "deriving sessions" in out and "updating the search index" in out
        assert "Run 1" in out and "Traceback" not in out


class TestTimezoneEverywhere:
    """--timezone (default: the local zone) on every date-based command: where days begin and
    the zone times are shown in; `--until DAY` includes that whole day. Both backends."""

    LATE = "2025-11-19T23:30:00.000Z"  # 08:30 on Nov 20 in Tokyo

    @pytest.fixture
    def late(self, tmp_path, cli_backend):
        from . import builders as b

        s = b.sid(501)
        lines = [b.user(s, 0, "the quetzal importer drops rows"),
                 b.assistant(s, 1, "Looking at the quetzal importer.")]
        lines[0]["timestamp"], lines[1]["timestamp"] = self.LATE, "2025-11-19T23:31:00.000Z"
        now = datetime.now(UTC)
        y = b.sid(502)
        when = [now - timedelta(days=1), now]  # yesterday at this time, and now
        more = [b.user(y, 0, "ocelot parser question"), b.user(y, 1, "ocelot parser again")]
        for line, at in zip(more, when, strict=True):
            line["timestamp"] = iso(int(at.timestamp() * 1000))
        b.write_jsonl(b.transcript_path(tmp_path / "claude", s), lines)
        b.write_jsonl(b.transcript_path(tmp_path / "claude", y), more)
        run("ingest", str(tmp_path / "claude"), "--json")
        return s, y

    def test_timeline_days_begin_in_the_zone(self, late):
        sid = late[0]
        tokyo = run("timeline", "2025-11-20", "--timezone", "Asia/Tokyo", "--json").json()
        assert tokyo["timezone"] == "Asia/Tokyo"
        assert [r["session_id"] for r in tokyo["rows"]] == [sid]
        assert tokyo["rows"][0]["date"] == "2025-11-20"
        utc = run("timeline", "2025-11-20", "--timezone", "UTC", "--json").json()
        assert sid not in {r["session_id"] for r in utc["rows"]}
        text = run("timeline", "2025-11-20", "--timezone", "Asia/Tokyo").stdout
        assert "Thursday 20 November 2025" in text and "08:30–08:31" in text

    def test_search_since_until_and_times_in_the_zone(self, late):
        def found(*args: str) -> set[str]:
            return {r["session_id"] for r in run("search", "quetzal", "--json", *args).json()["results"]}

        assert found("--since", "2025-11-20", "--timezone", "Asia/Tokyo") == {late[0]}
        assert found("--since", "2025-11-20", "--timezone", "UTC") == set()
        assert found("--until", "2025-11-19", "--timezone", "UTC") == {late[0]}
        assert found("--until", "2025-11-19", "--timezone", "Asia/Tokyo") == set()
        shown = run("search", "quetzal", "--timezone", "Asia/Tokyo").stdout
        assert "2025-11-20 08:30" in shown

    def test_until_yesterday_includes_yesterday(self, late):
        """`--until yesterday` meant the first millisecond of yesterday: it is the whole day."""
        hits = run("search", "ocelot", "--until", "yesterday", "--timezone", "UTC", "--json").json()
        assert [r["snippet"] for r in hits["results"]] == ["ocelot parser question"]
        assert parse_user_time("yesterday", end_of_day=True) == \
            parse_user_time("today") - 1

    def test_sessions_show_and_status_show_times_in_the_zone(self, late):
        sid = late[0]
        listed = run("sessions", "--timezone", "Asia/Tokyo", "--limit", "5").stdout
        assert "2025-11-20 08:30" in listed
        assert "2025-11-19 23:30" in run("sessions", "--timezone", "UTC", "--limit", "5").stdout
        shown = run("show", "session", sid, "--timezone", "Asia/Tokyo").stdout
        assert "2025-11-20 08:30" in shown and "08:30:00 you" in shown
        assert "2025-11-20 08:30" in run("status", "--timezone", "Asia/Tokyo").stdout
        # --json keeps ISO UTC whatever the zone
        rows = run("sessions", "--timezone", "Asia/Tokyo", "--json").json()
        assert next(r for r in rows if r["session_id"] == sid)["started_at"] == self.LATE

    def test_an_unknown_zone_is_one_line(self):
        r = run_proc("sessions", "--timezone", "Mars/Olympus")
        assert r.code == 2 and r.stderr.count("\n") == 1 and "IANA" in r.stderr
