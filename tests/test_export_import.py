"""`memory export` / `memory import`: a plain JSONL archive that imports back to an equal
store, with provenance on every line."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path

import orjson
import pytest

from .conftest import run, run_proc
from .test_backup_support import build_store, install_store, status_at

_SAME = ("messages", "sessions", "projects", "by_source", "api_responses", "tokens",
         "first_message", "last_message", "schema_version")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("export-store"))


@pytest.fixture
def store(template, memory_home) -> Path:
    install_store(template, memory_home)
    return memory_home


def lines(path: Path) -> list[dict]:
    """The message lines of an export (its trailer left out)."""
    return messages(path.read_text())


def messages(text: str) -> list[dict]:
    rows = [json.loads(x) for x in text.splitlines()]
    assert rows[-1].keys() == {"trailer", "messages", "sha256"} and rows[-1]["messages"] == len(rows) - 1
    return rows[:-1]


def at_home(home: Path, *args: str, check: bool = True):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        return run(*args, check=check)


class TestRoundTrip:
    """export -> import -> export gives the same lines (provenance aside), the same
    messages, sessions, projects and token counts; importing twice stores nothing new."""

    def test_equal_store(self, store, tmp_path):
        out = tmp_path / "all.jsonl"
        summary = run("export", "--output", str(out), "--json").json()
        first = lines(out)
        assert summary["messages"] == len(first) == run("status", "--json").json()["messages"]
        other = tmp_path / "other-home"
        imported = at_home(other, "import", str(out), "--json").json()
        assert imported["messages_new"] == len(first) and imported["errors"] == 0
        a, b = run("status", "--json").json(), status_at(other)
        assert {k: a[k] for k in _SAME} == {k: b[k] for k in _SAME}
        sessions = run("sessions", "--json", "--limit", "1000").json()
        assert at_home(other, "sessions", "--json", "--limit", "1000").json() == sessions
        again = tmp_path / "again.jsonl"
        at_home(other, "export", "--output", str(again))
        second = lines(again)
        strip = [{k: v for k, v in d.items() if k != "provenance"} for d in first]
        assert [{k: v for k, v in d.items() if k != "provenance"} for d in second] == strip
        twice = at_home(other, "import", str(out), "--json").json()
        assert twice["messages_new"] == 0 and twice["duplicates"] == len(first)

    def test_every_line_has_identity_and_provenance(self, store, tmp_path):
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        rows = lines(out)
        kinds = {r["source_kind"] for r in rows}
        assert {"transcript", "history", "debug", "file_history"} <= kinds
        assert all(r["uid"] and r["provenance"]["file"] for r in rows)
        assert any("blob_text" in r for r in rows), "file versions carry their content"
        root = Path(rows[0]["provenance"]["root"])
        t = next(r for r in rows if r["source_kind"] == "transcript" and r.get("ext_id"))
        with open(root / t["provenance"]["file"], "rb") as f:
            f.seek(t["provenance"]["offset"])
            original = json.loads(f.readline())
        assert original["uuid"] == t["ext_id"] and original["sessionId"] == t["session_id"]


class TestFilters:
    """--project and --since select exactly the matching messages."""

    def test_project_and_since(self, store, tmp_path):
        everything = messages(run("export").stdout)
        project = next(r["project"] for r in everything if r["project"])
        only = messages(run("export", "--project", project).stdout)
        assert only == [r for r in everything if r["project"] == project]
        stamps = sorted(r["timestamp"] for r in everything if r["timestamp"])
        since = stamps[len(stamps) // 2]
        later = messages(run("export", "--since", since).stdout)
        assert later and [r["uid"] for r in later] == \
            [r["uid"] for r in everything if r["timestamp"] and r["timestamp"] >= since]
        r = run_proc("export", "--since", "yesterday-ish")
        assert r.code == 2 and "not a date" in r.stderr


class TestImportBadInput:
    """A bad line in an import file is recorded with its line number; the rest is stored."""

    def test_bad_lines(self, store, tmp_path):
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        text = out.read_text().splitlines()
        text.insert(3, "{not json")
        text.insert(5, json.dumps({"content": "no uid"}))
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join(text) + "\n")
        other = tmp_path / "h"
        r = at_home(other, "import", str(bad), "--json", check=False)
        res = r.json()
        assert r.code == 17 and not res["complete"]
        # the two inserted lines, and the trailer, which counts two lines fewer
        assert res["errors"] == 3 and res["messages_new"] == len(text) - 3
        assert [b["line"] for b in res["bad_lines"]] == [4, 6, len(text)]
        errs = at_home(other, "errors", "--json").json()
        assert sorted(e["line"] for e in errs) == [4, 6, len(text)]
        r = run_proc("import", str(tmp_path / "nope.jsonl"))
        assert r.code == 3 and "nothing to import" in r.stderr

    def test_extraction_reader_keeps_uids(self, store, tmp_path):
        """The generic reader (`ingest --format extraction`) reads an export too; it keeps
        each line's uid and source kind (lines without text it cannot store)."""
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        rows = [r for r in lines(out) if r["content"]]
        other = tmp_path / "h"
        at_home(other, "ingest", "--format", "extraction", str(out), "--json")
        again = tmp_path / "again.jsonl"
        at_home(other, "export", "-o", str(again))
        got = {r["uid"]: r["source_kind"] for r in lines(again)}
        assert got == {r["uid"]: r["source_kind"] for r in rows}


def image_session(root: Path, data: bytes) -> None:
    """A Claude folder with one session whose user pasted an image (`data` its bytes)."""
    sid = "5e5510a0-0000-4000-8000-00000000a11e"
    folder = root / "projects" / "-tmp-pasted"
    folder.mkdir(parents=True)
    line = {"type": "user", "uuid": "u-image", "sessionId": sid, "cwd": "/tmp/pasted",
            "timestamp": "2025-11-20T10:00:00.000Z",
            "message": {"role": "user", "content": [
                {"type": "text", "text": "what is in this picture?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": base64.b64encode(data).decode()}}]}}
    (folder / f"{sid}.jsonl").write_text(json.dumps(line) + "\n")


def blob_digests(rows: list[dict]) -> set[str]:
    out = set()
    for r in rows:
        if "blob_base64" in r:
            out.add(hashlib.sha256(base64.b64decode(r["blob_base64"])).hexdigest())
        elif "blob_text" in r:
            out.add(hashlib.sha256(r["blob_text"].encode()).hexdigest())
    return out


class TestLossless:
    """Issue 10, item 5: export -> import gives an equal store: pasted images keep their
    bytes, and every message keeps its original provenance (file, file kind, line, byte
    offset, run), so the second store's export is byte for byte the first's."""

    def test_images_and_provenance_survive(self, store, tmp_path):
        picture = random.Random(5).randbytes(20_000)
        image_session(tmp_path / "claude", picture)
        run("ingest", str(tmp_path / "claude"), "--json")
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        rows = lines(out)
        assert sum(r["type"] == "image" and "blob_base64" in r for r in rows) > 1
        image = next(r for r in rows if r["type"] == "image" and r["ext_id"] == "u-image")
        assert image["content"].startswith("[image image/png")
        assert base64.b64decode(image["blob_base64"]) == picture
        other = tmp_path / "other-home"
        res = at_home(other, "import", str(out), "--json").json()
        assert res["complete"] and res["messages_new"] == len(rows) and res["bad_lines"] == []
        again = tmp_path / "again.jsonl"
        at_home(other, "export", "-o", str(again))
        assert again.read_bytes() == out.read_bytes()
        assert blob_digests(lines(again)) == blob_digests(rows)
        assert hashlib.sha256(picture).hexdigest() in blob_digests(rows)
        a, b = run("status", "--json").json(), status_at(other)
        assert {k: a[k] for k in _SAME} == {k: b[k] for k in _SAME}
        sample = random.Random(1).sample(lines(again), 50)
        original = {r["uid"]: r["provenance"] for r in rows}
        assert all(r["provenance"] == original[r["uid"]] for r in sample)
        assert all(r["provenance"]["file"] != again.name for r in sample)


def write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


class TestDamagedImport:
    """Issue 10, item 6: a line whose content, uid or any other field was changed is not
    stored; each is reported with its line number (import JSON and `memory errors`), the
    import exits 17, and a later clean import leaves no duplicates."""

    @pytest.mark.parametrize("field", ["content", "uid"])
    def test_damaged_lines_are_not_stored(self, store, tmp_path, field):
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        raw = out.read_text().splitlines()
        rows = lines(out)
        pick = sorted(random.Random(3).sample(range(len(rows)), 40))
        for i in pick:
            if field == "content":
                rows[i]["content"] = (rows[i]["content"] or "") + " (altered)"
            else:
                rows[i]["uid"] = rows[i]["uid"][:-4] + "beef"
        damaged = write(tmp_path / "damaged.jsonl", [*rows, raw[-1]])
        other = tmp_path / "other"
        r = at_home(other, "import", str(damaged), "--json", check=False)
        res = r.json()
        assert r.code == 17 and not res["complete"]
        assert res["messages_new"] == len(rows) - 40
        assert sorted(b["line"] for b in res["bad_lines"]) == [i + 1 for i in pick]
        assert all("check" in b["reason"] for b in res["bad_lines"])
        errs = at_home(other, "errors", "--json").json()
        assert sorted(e["line"] for e in errs) == [i + 1 for i in pick]
        clean = at_home(other, "import", str(out), "--json").json()
        assert clean["complete"] and clean["messages_new"] == 40
        assert status_at(other)["messages"] == len(rows)

    def test_old_exports_checked_by_content_hash_and_uid_time(self, store, tmp_path):
        """Exports without `check` (format /1) are still verified where they can be."""
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        rows = lines(out)
        for r in rows:
            del r["check"]
        texts = [i for i, r in enumerate(rows) if r["content"]]
        altered, moved = texts[5], texts[9]
        rows[altered]["content"] += "!"
        rows[moved]["uid"] = "00000001" + rows[moved]["uid"][8:]
        other = tmp_path / "other"
        r = at_home(other, "import", str(write(tmp_path / "old.jsonl", rows)), "--json", check=False)
        res = r.json()
        assert r.code == 17
        by_line = {b["line"]: b for b in res["bad_lines"]}
        assert "content_hash" in by_line[altered + 1]["reason"]
        assert "does not fit" in by_line[moved + 1]["reason"]
        warning = [b for b in res["bad_lines"] if b["severity"] == "warning"]
        assert len(warning) == 1 and "no trailer" in warning[0]["reason"]
        assert res["messages_new"] == len(rows) - 2

    def test_an_intact_old_export_imports_with_a_warning(self, store, tmp_path):
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        rows = [{k: v for k, v in r.items() if k != "check"} for r in lines(out)]
        r = at_home(tmp_path / "o", "import", str(write(tmp_path / "old.jsonl", rows)), "--json")
        res = r.json()
        assert r.code == 0 and res["complete"] and res["messages_new"] == len(rows)
        assert res["warnings"] == 1 and "no trailer" in res["bad_lines"][0]["reason"]


class TestTruncatedImport:
    """Issue 10, item 7: an export cut short — mid-line, at a line boundary, or missing its
    final newline — is an error (exit 17) that says so, not "0 bad lines"."""

    @pytest.fixture
    def export(self, store, tmp_path) -> Path:
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        return out

    def check(self, tmp_path: Path, data: bytes, words: str) -> dict:
        cut = tmp_path / "cut.jsonl"
        cut.write_bytes(data)
        r = at_home(tmp_path / "other", "import", str(cut), "--json", check=False)
        res = r.json()
        assert r.code == 17 and not res["complete"], res
        assert any(words in b["reason"] for b in res["bad_lines"]), res["bad_lines"]
        return res

    def test_cut_mid_line(self, export, tmp_path):
        data = export.read_bytes()
        half = data[: len(data) // 2]
        assert not half.endswith(b"\n")
        res = self.check(tmp_path, half, "cut short: its last line")
        assert res["messages_new"] == half.count(b"\n")
        r = run_proc("import", str(tmp_path / "cut.jsonl"),
                     env={"MEMORY_HOME": str(tmp_path / "third")})
        assert r.code == 17 and "import incomplete" in r.stderr and "cut short" in r.stderr

    def test_cut_at_a_line_boundary(self, export, tmp_path):
        text = export.read_bytes().splitlines(keepends=True)
        res = self.check(tmp_path, b"".join(text[:1000]), "no trailer line")
        assert res["messages_new"] == 1000

    def test_no_final_newline(self, export, tmp_path):
        self.check(tmp_path, export.read_bytes()[:-1], "has no newline")

    def test_an_empty_export_is_complete(self, store, tmp_path):
        out = tmp_path / "none.jsonl"
        assert run("export", "--project", "no-such-project", "-o", str(out), "--json").json()["messages"] == 0
        assert lines(out) == []
        res = at_home(tmp_path / "o", "import", str(out), "--json").json()
        assert res["complete"] and res["messages_read"] == 0 and res["errors"] == 0

    def test_lines_removed_or_reordered(self, export, tmp_path):
        text = export.read_bytes().splitlines(keepends=True)
        self.check(tmp_path, b"".join(text[:10] + text[11:]), "lines were removed")
        swapped = text[:10] + [text[11], text[10]] + text[12:]
        self.check(tmp_path, b"".join(swapped), "reordered")


def rewrite(path: Path, rows: list[dict]) -> Path:
    """An export of `rows` as `memory export` writes one: each line's check, the trailer."""
    from coditect_memory.transfer.export import line_check, trailer

    checks = hashlib.sha256()
    with open(path, "wb") as f:
        for r in rows:
            body = orjson.dumps({k: v for k, v in r.items() if k != "check"})
            check = line_check(body)
            checks.update(check.encode() + b"\n")
            f.write(body[:-1] + b',"check":"' + check.encode() + b'"}\n')
        f.write(orjson.dumps(trailer(len(rows), checks)) + b"\n")
    return path


class TestConflicts:
    """Issue 10, "also found": a sound line whose uid is stored with other content keeps the
    stored version and is recorded (file, line, uid), not counted as a duplicate."""

    def test_conflicting_uids_are_recorded(self, store, tmp_path):
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        rows = lines(out)
        texts = [i for i, r in enumerate(rows) if r["content"] and "blob_base64" not in r
                 and "blob_text" not in r][:3]
        for i in texts:
            rows[i]["content"] += " (another version)"
            rows[i]["content_hash"] = hashlib.sha256(rows[i]["content"].encode()).hexdigest()
        other = rewrite(tmp_path / "other.jsonl", rows)
        r = run("import", str(other), "--json", check=False)
        res = r.json()
        assert r.code == 17 and not res["complete"] and res["conflicts"] == 3
        assert res["messages_new"] == 0 and res["duplicates"] == len(rows) - 3
        assert [b["line"] for b in res["bad_lines"]] == [i + 1 for i in texts]
        assert all(rows[i]["uid"] in b["reason"] for i, b in zip(texts, res["bad_lines"], strict=True))
        assert [e["line"] for e in run("errors", "--json").json()] == [i + 1 for i in texts]
        again = tmp_path / "again.jsonl"
        run("export", "-o", str(again))
        assert again.read_bytes() == out.read_bytes(), "the stored versions are kept"
        twice = run("import", str(out), "--json").json()
        assert twice["complete"] and twice["conflicts"] == 0 and twice["duplicates"] == len(rows)
