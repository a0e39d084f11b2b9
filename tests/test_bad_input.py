"""Bad input gets a clear, located error and nothing good is lost (issue: robustness, 1).

Every bad record is an ingest_errors row with file, line and reason, visible through
`memory errors`; the run goes on and exits 0; every good record is stored. Only a run that
cannot start (missing root) fails, with one line on stderr and no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .builders import (
    all_messages,
    as_unprivileged,
    assistant,
    conversation,
    line,
    sid,
    transcript_path,
    user,
    write_jsonl,
)
from .conftest import ingest_json, run, run_proc

# The behaviour is the backend's contract: every test runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("cli_backend")

S1 = sid(1)


@pytest.fixture
def claude(tmp_path: Path) -> Path:
    """The folder ingested, apart from MEMORY_HOME (which the autouse fixture puts in tmp_path)."""
    root = tmp_path / "claude"
    root.mkdir()
    return root


def _errors(run_id: int | None = None) -> list[dict]:
    args = ["errors", "--json", "--limit", "1000"]
    if run_id is not None:
        args += ["--run", str(run_id)]
    return run(*args).json()


def _by_line(errors: list[dict], path_end: str) -> dict[int | None, dict]:
    return {e["line"]: e for e in errors if e["path"].endswith(path_end)}


def _session_lines(session: str) -> dict[int, dict]:
    msgs = run("show", "session", session, "--json").json()["messages"]
    return {m["source_line"]: m for m in msgs}


def _config(home, **ingest) -> None:
    home.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{k} = {v}\n" for k, v in ingest.items())
    (home / "config.toml").write_text(f"[ingest]\n{body}")


class TestBadLinesInAFile:
    """Bad lines in the middle of a transcript are errors at their line; the lines around
    them are all stored, and the run exits 0."""

    @pytest.fixture
    def root(self, claude):
        good = conversation(S1, 4)
        cut = line(assistant(S1, 90, "this answer was cut off when the disk filled"))[:70]
        bad_utf8 = line(user(S1, 5, "caf\u00e9 PLACEHOLDER")).replace(
            b"PLACEHOLDER", b"\xff\xfe latin-1 bytes \xe9t\xe9")
        surrogate = line(user(S1, 6, "LONE")).replace(b"LONE", b"lone \\ud83d surrogate")
        data = b"".join([
            line(good[0]),                           # 1 good
            cut + b"\n",                             # 2 truncated mid-file
            line(good[1]),                           # 3 good
            b'{"type": "user", "message": oops}\n',  # 4 invalid JSON
            bad_utf8,                                # 5 invalid UTF-8: stored, repaired
            b"[1, 2, 3]\n",                          # 6 JSON, but not an object
            b"   \n",                                # 7 blank: nothing to store, no error
            line(good[2]),                           # 8 good
            surrogate,                               # 9 lone surrogate (real files have them)
            b"\x00\x01garbage\n",                    # 10 control bytes mid-file
            line(good[3]),                           # 11 good
        ])
        path = transcript_path(claude, S1)
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        return claude

    def test_each_bad_line_is_recorded_with_file_line_and_reason(self, root):
        out = ingest_json(root)  # exit 0 (run() raises otherwise)
        errs = _errors()
        assert errs == _errors(out["run_id"])
        by_line = _by_line(errs, f"{S1}.jsonl")
        assert set(by_line) == {2, 4, 5, 6, 10}
        assert all(e["path"] == f"projects/-home-dev-webapp/{S1}.jsonl" for e in errs)
        for n in (2, 4, 10):
            assert by_line[n]["severity"] == "error"
            assert ("invalid JSON" if n != 10 else "NUL-damaged region") in by_line[n]["reason"]
        assert by_line[5]["severity"] == "warning" and "UTF-8" in by_line[5]["reason"]
        assert by_line[6]["severity"] == "error" and "not a JSON object" in by_line[6]["reason"]
        data = transcript_path(root, S1).read_bytes()
        starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A][:-1]
        assert all(e["byte_offset"] == starts[e["line"] - 1] for e in errs)
        assert out["errors"] == len(errs) == 5

    def test_every_good_line_is_stored_at_its_line(self, root):
        out = ingest_json(root)
        lines = _session_lines(S1)
        assert set(lines) == {1, 3, 5, 8, 9, 11}
        assert out["messages_new"] == 6
        assert lines[5]["content"].startswith("caf\u00e9 \ufffd")
        assert "\ufffd" in lines[9]["content"]
        assert lines[11]["content"] == "Done with step 3; the test passes now."

    def test_errors_of_an_earlier_run_stay_reachable(self, root):
        first = ingest_json(root)
        ingest_json(root)
        assert _errors() == []  # nothing was re-read, so nothing re-reported
        assert len(_errors(first["run_id"])) == 5


class TestHugeLines:
    """Lines of tens of MB are stored whole; a line above [ingest] max_line_mb is an error
    at its line; neither stops the lines after it from being stored."""

    def test_a_30_mb_line_is_stored(self, claude, memory_home):
        big = "0123456789abcdef" * (30_000_000 // 16)
        path = write_jsonl(transcript_path(claude, S1), [
            user(S1, 0, "read the big log"),
            {**assistant(S1, 1, ""), "message": {**assistant(S1, 1, "")["message"],
                                                 "content": [{"type": "text", "text": big}]}},
            user(S1, 2, "thanks"),
        ])
        assert path.stat().st_size > 30_000_000
        out = ingest_json(claude)
        assert out["errors"] == 0 and out["messages_new"] == 3
        (n,) = [len(m["content"]) for m in all_messages(memory_home) if m["source_line"] == 2]
        assert n == len(big)

    def test_a_line_over_the_limit_is_an_error_and_the_rest_is_stored(self, claude, memory_home):
        _config(memory_home, max_line_mb=1)
        write_jsonl(transcript_path(claude, S1), [
            user(S1, 0, "first"),
            assistant(S1, 1, "x" * (2 << 20)),
            user(S1, 2, "third"),
        ])
        out = ingest_json(claude)
        errs = _errors()
        assert [(e["line"], e["severity"]) for e in errs] == [(2, "error")]
        assert "exceeds the 1 MiB limit" in errs[0]["reason"] and "max_line_mb" in errs[0]["reason"]
        assert set(_session_lines(S1)) == {1, 3}
        assert out["errors"] == 1

    def test_a_whole_file_source_over_the_limit_is_reported_once(self, claude, memory_home):
        _config(memory_home, max_line_mb=1)
        big = claude / "file-history" / S1 / "3f2a9c0d1e2b4a5f@v2"
        big.parent.mkdir(parents=True)
        big.write_bytes(b"print('generated')\n" * 120_000)
        small = big.with_name("3f2a9c0d1e2b4a5f@v1")
        small.write_bytes(b"print('v1')\n")
        out = ingest_json(claude)
        errs = _errors()
        assert [(e["path"], e["severity"]) for e in errs] == [
            (f"file-history/{S1}/3f2a9c0d1e2b4a5f@v2", "error")]
        assert "exceeds the 1 MiB limit" in errs[0]["reason"]
        assert out["messages_new"] == 1
        again = ingest_json(claude)
        assert again["files_changed"] == 0 and again["errors"] == 0

    def test_an_overlong_unfinished_last_line_waits_then_is_reported(self, claude, memory_home):
        """It used to loop forever: the reader rewound to the line's start and read it again."""
        _config(memory_home, max_line_mb=1)
        path = write_jsonl(transcript_path(claude, S1), conversation(S1, 2),
                           tail=line(assistant(S1, 2, "y" * (2 << 20)))[:-1])
        first = run_proc("ingest", str(claude), "--json", timeout=30)
        assert first.code == 0, first.stderr
        assert first.json()["errors"] == 0 and first.json()["messages_new"] == 2
        assert run("status", "--json").json()["partial_files"] == 1
        with open(path, "ab") as f:
            f.write(b"\n" + line(user(S1, 3, "after the big one")))
        second = ingest_json(claude)
        assert [(e["line"], e["severity"]) for e in _errors()] == [(3, "error")]
        assert second["messages_new"] == 1
        assert set(_session_lines(S1)) == {1, 2, 4}


class TestBadFiles:
    """Binary, empty and symlink-looped files are reported by path and reason; the good files
    beside them are stored, and a re-run reads none of them again."""

    @pytest.fixture
    def root(self, claude):
        root = claude
        proj = root / "projects" / "-home-dev-webapp"
        write_jsonl(transcript_path(root, S1), conversation(S1, 6))
        (proj / "binary.jsonl").write_bytes(bytes(range(256)) * 64)
        (proj / "empty.jsonl").write_bytes(b"")
        (proj / "self.jsonl").symlink_to("self.jsonl")  # ELOOP
        (proj / "back").symlink_to("..", target_is_directory=True)  # a folder loop
        (proj / "dangling.jsonl").symlink_to("gone.jsonl")
        return root

    def test_each_bad_file_is_reported_and_good_ones_stored(self, root):
        out = ingest_json(root)
        errs = {e["path"].rsplit("/", 1)[-1]: e for e in _errors()}
        assert set(errs) == {"binary.jsonl", "empty.jsonl", "self.jsonl", "back", "dangling.jsonl"}
        assert "binary" in errs["binary.jsonl"]["reason"] and errs["binary.jsonl"]["severity"] == "error"
        assert "empty" in errs["empty.jsonl"]["reason"]
        assert "symlink loop" in errs["self.jsonl"]["reason"]
        assert "symlink loop" in errs["back"]["reason"]
        assert "broken symlink" in errs["dangling.jsonl"]["reason"]
        assert out["messages_new"] == 6 and set(_session_lines(S1)) == set(range(1, 7))

    def test_a_rerun_does_not_read_the_bad_files_again(self, root):
        ingest_json(root)
        again = ingest_json(root)
        assert again["files_changed"] == 0 and again["bytes_read"] == 0
        assert again["messages_read"] == 0
        # the walk still reports what it cannot follow; the binary file is not re-read
        assert {e["path"].rsplit("/", 1)[-1] for e in _errors()} == {"self.jsonl", "back",
                                                                     "dangling.jsonl"}


class TestNulDamage:
    """Zeroed blocks (a crash leaves them in Claude Code's files) are errors by line range;
    the good lines around them are stored. A real binary file is still skipped whole."""

    def _write(self, claude: Path, data: bytes) -> Path:
        path = transcript_path(claude, S1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    @pytest.mark.fault("ingest: 4 KB zeroed block ahead of a transcript")
    def test_a_zeroed_block_at_the_start(self, claude):
        good = conversation(S1, 3)
        self._write(claude, b"\x00" * 4096 + b"\n" + b"".join(line(o) for o in good))
        out = ingest_json(claude)
        assert (out["messages_new"], out["errors"]) == (3, 1)
        [err] = _errors(out["run_id"])
        assert (err["line"], err["byte_offset"], err["severity"]) == (1, 0, "error")
        assert "NUL-damaged region" in err["reason"] and "line 1, bytes 0-4097" in err["reason"]
        assert set(_session_lines(S1)) == {2, 3, 4}

    @pytest.mark.fault("ingest: zeroed regions amid a transcript")
    def test_zeroed_regions_in_the_middle(self, claude):
        good = [line(o) for o in conversation(S1, 5)]
        data = b"".join([good[0], good[1],                        # lines 1-2
                         b"\x00" * 100 + b"\n", b"\n", b"\x00" * 50 + b"\n",  # 3-5: one region
                         good[2], good[3],                        # 6-7
                         b'{"type": "user", "mess\x00\x00\x00\n',  # 8: a line cut by zeros
                         good[4]])                                # 9
        self._write(claude, data)
        out = ingest_json(claude)
        errs = sorted(_errors(out["run_id"]), key=lambda e: e["line"])
        assert [e["line"] for e in errs] == [3, 8]
        start = len(good[0]) + len(good[1])
        assert errs[0]["byte_offset"] == start
        assert f"lines 3-5, bytes {start}-{start + 101 + 1 + 51}" in errs[0]["reason"]
        assert "line 8," in errs[1]["reason"]
        assert out["messages_new"] == 5 and set(_session_lines(S1)) == {1, 2, 6, 7, 9}

    @pytest.mark.fault("ingest: zeroed tail (or a wholly zeroed file)")
    def test_zeros_to_the_end_are_reported_not_left_partial(self, claude):
        good = b"".join(line(o) for o in conversation(S1, 2))
        self._write(claude, good + b"\x00" * 3000)  # a crash extended the file with zeros
        out = ingest_json(claude)
        [err] = _errors(out["run_id"])
        assert f"line 3, bytes {len(good)}-{len(good) + 3000}" in err["reason"]
        assert out["messages_new"] == 2 and run("status", "--json").json()["partial_files"] == 0
        (claude / "projects" / "-home-dev-webapp" / f"{sid(2)}.jsonl").write_bytes(b"\x00" * 9000)
        out = ingest_json(claude)
        [err] = _errors(out["run_id"])
        assert "NUL-damaged region" in err["reason"] and "line 1, bytes 0-9000" in err["reason"]
        assert ingest_json(claude)["files_changed"] == 0  # not read (nor reported) again

    def test_a_real_binary_file_is_still_skipped_whole(self, claude):
        png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 16
        self._write(claude, png)
        out = ingest_json(claude)
        [err] = _errors(out["run_id"])
        assert out["messages_new"] == 0 and "binary file (NUL bytes)" in err["reason"]


class TestOddNames:
    """File and folder names that are not UTF-8 (Linux allows any bytes) are read and shown
    with \\xNN escapes; they never stop the run."""

    def test_non_utf8_names(self, claude):
        proj = os.fsencode(claude / "projects" / "-home-dev-webapp")
        os.makedirs(proj + b"/caf\xe9", exist_ok=True)
        names = ((b"/r\xe9sum\xe9.jsonl", S1), (b"/caf\xe9/" + sid(2).encode() + b".jsonl", sid(2)))
        for name, session in names:
            with open(proj + name, "wb") as f:
                f.write(b"".join(line(o) for o in conversation(session, 3)))
        out = ingest_json(claude)
        assert (out["errors"], out["messages_new"]) == (0, 6)
        files = {m["source_file"] for m in run("show", "session", S1, "--json").json()["messages"]}
        assert files == {"projects/-home-dev-webapp/r\\xe9sum\\xe9.jsonl"}
        assert ingest_json(claude)["files_changed"] == 0  # the manifest knows them by that name


def _odd_lines() -> list[bytes]:
    """Valid JSON with a value of an unexpected type where Claude Code writes another: the
    format drifts between versions, and a hand-edited file can hold anything."""
    u, a = user(S1, 0, "hello"), assistant(S1, 1, "hi")
    msg = a["message"]
    objs = [
        {**u, "parentUuid": [], "cwd": 1, "version": [1, "x"], "gitBranch": {"a": 1}},
        {**u, "uuid": 42, "sessionId": S1, "timestamp": 1e30},
        {**u, "uuid": "odd-ts", "timestamp": "2025-13-45T99:99:99Z"},
        {"type": "file-history-snapshot", "messageId": "m1", "snapshot": "s",
         "isSnapshotUpdate": False},
        {"type": "file-history-snapshot", "messageId": "m2", "isSnapshotUpdate": False,
         "snapshot": {"trackedFileBackups": {"/a.py": {"backupFileName": 7}}, "timestamp": 5}},
        {**a, "uuid": "odd-tools", "message": {**msg, "model": ["m"], "content": [
            {"type": "tool_use", "id": [1], "name": {"a": 1}, "input": None},
            {"type": "image", "source": "x"}],
            "usage": {"input_tokens": 2**64 - 1, "output_tokens": "12"}}},
        {**u, "uuid": "odd-result", "message": {"role": ["user"], "content": [
            {"type": "tool_result", "tool_use_id": {"x": 1},
             "content": [{"type": "image", "source": 5}, {"type": "text", "text": 5}]}]}},
        {**u, "uuid": "odd-hooks", "type": "system", "subtype": "stop_hook_summary",
         "hookInfos": 5, "hookErrors": "boom", "level": ["warn"]},
        {**u, "uuid": "odd-turn", "type": "system", "subtype": "turn_duration", "durationMs": "12"},
        {**u, "uuid": "odd-sub", "type": "system", "subtype": 7, "content": None},
        {**u, "uuid": "odd-agent", "agentId": {"id": 1}, "isSidechain": "yes"},
    ]
    out = [line(o) for o in objs]
    out.append(line({**u, "uuid": "nan-ts"}).replace(b'"timestamp":', b'"timestamp": NaN, "t":'))
    return out


class TestOddShapes:
    """Valid JSON of an unexpected shape never stops a run: every line is stored (its odd
    values as text, the original in metadata) or reported at its line."""

    def test_every_line_is_stored_or_reported(self, claude, memory_home):
        data = _odd_lines()
        path = transcript_path(claude, S1)
        path.parent.mkdir(parents=True)
        path.write_bytes(b"".join(data))
        out = ingest_json(claude)
        messages = all_messages(memory_home)
        stored = {m["source_line"] for m in messages}
        ext = {m["ext_id"] for m in messages}
        reported = {e["line"] for e in _errors() if e["severity"] == "error"}
        assert stored | reported == set(range(1, len(data) + 1))
        assert not stored & reported
        assert out["errors"] == len(reported) == 0
        assert "42" in ext
        show = run("show", "session", S1, "--json").json()
        assert len({m["source_line"] for m in show["messages"]}) == len(data)
        assert run("status", "--json").json()["messages"] == out["messages_new"]
        assert run("doctor", "--json").json()["ok"]

    def test_deep_nesting(self, claude, memory_home):
        """Deeper than orjson writes (254 levels) is stored; deeper than any parser reads is
        a located error."""
        def nested(i: int, depth: int) -> bytes:
            obj = {**user(S1, i, f"prompt {i}"), "toolUseResult": "DEEP"}
            return line(obj).replace(b'"DEEP"', b"[" * depth + b"]" * depth)

        path = transcript_path(claude, S1)
        path.parent.mkdir(parents=True)
        path.write_bytes(nested(0, 300) + nested(1, 5000) + nested(2, 3))
        out = ingest_json(claude)
        assert (out["messages_new"], out["errors"]) == (2, 1)
        err = _errors()[0]
        assert (err["line"], err["reason"]) == (2, "invalid JSON: nested too deeply; line skipped")
        (meta,) = [m["metadata"] for m in all_messages(memory_home) if m["source_line"] == 1]
        assert json.loads(meta)["toolUseResult"] is not None and meta.count("[") == 300


def _ingest_unprivileged(root) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coditect_memory", "ingest", str(root), "--json"],
                          capture_output=True, text=True, timeout=60, **as_unprivileged())


def _chmod_blocks_reads(path) -> bool:
    probe = subprocess.run([sys.executable, "-c", f"open({str(path)!r}, 'rb')"],
                           capture_output=True, **as_unprivileged())
    return probe.returncode != 0


class TestUnreadable:
    """Unreadable files and folders are reported with the OS reason; everything readable is
    stored; once readable again, the next run stores what was missed."""

    def test_unreadable_file_and_folder(self, claude):
        root = claude
        write_jsonl(transcript_path(root, S1), conversation(S1, 4))
        locked = write_jsonl(transcript_path(root, sid(2)), conversation(sid(2), 3))
        hidden = write_jsonl(root / "projects" / "-home-dev-secret" / f"{sid(3)}.jsonl",
                             conversation(sid(3), 2, cwd="/home/dev/secret"))
        locked.chmod(0)
        hidden.parent.chmod(0)
        try:
            if not _chmod_blocks_reads(locked):
                pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE here: chmod 000"
                            " does not block reads, so unreadable files cannot be made")
            p = _ingest_unprivileged(root)
            assert p.returncode == 0, p.stderr
            out = json.loads(p.stdout)
            errs = {e["path"]: e for e in _errors(out["run_id"])}
            assert set(errs) == {f"projects/-home-dev-webapp/{sid(2)}.jsonl",
                                 "projects/-home-dev-secret"}
            assert all("Permission denied" in e["reason"] for e in errs.values())
            assert out["messages_new"] == 4
        finally:
            locked.chmod(0o644)
            hidden.parent.chmod(0o755)
        again = ingest_json(root)
        assert again["messages_new"] == 3 + 2 and again["errors"] == 0
        assert run("status", "--json").json()["sessions"] == 3


class TestRootProblems:
    """A run that cannot start exits non-zero with the reason on stderr and no traceback (one
    line for a missing root or a file given as the root)."""

    @pytest.mark.parametrize("make", ["missing", "file", "unreadable"])
    def test_one_line_reason(self, claude, make):
        root = claude / "root"
        kw = {}
        if make == "file":
            write_jsonl(root, conversation(S1, 2))
        elif make == "unreadable":
            root.mkdir()
            root.chmod(0)
            if not _chmod_blocks_reads(root / "x"):
                root.chmod(0o755)
                pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE here")
            kw = as_unprivileged()
        try:
            p = subprocess.run([sys.executable, "-m", "coditect_memory", "ingest", str(root),
                                "--json"], capture_output=True, text=True, timeout=60, **kw)
        finally:
            if make == "unreadable":
                root.chmod(0o755)
        assert p.returncode != 0
        assert p.stdout == ""
        assert "Traceback" not in p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("memory: error:")
        assert str(root) in lines[0]
        if make == "unreadable":
            assert "permission denied" in lines[0]


class TestHalfWrittenLastLine:
    """A last line still being written is not an error: it is stored once, when complete."""

    def test_completed_later_and_stored_once(self, claude):
        path = transcript_path(claude, S1)
        last = line(user(S1, 3, "and now the docs"))
        write_jsonl(path, conversation(S1, 3), tail=last[:25])
        first = ingest_json(claude)
        assert first["errors"] == 0 and first["messages_new"] == 3
        assert run("status", "--json").json()["partial_files"] == 1
        with open(path, "ab") as f:
            f.write(last[25:])
        second = ingest_json(claude)
        assert second["errors"] == 0 and second["messages_new"] == 1
        assert ingest_json(claude)["messages_new"] == 0
        lines = _session_lines(S1)
        assert sorted(lines) == [1, 2, 3, 4] and lines[4]["content"] == "and now the docs"
        assert run("status", "--json").json()["partial_files"] == 0
        assert _errors(first["run_id"]) == _errors(second["run_id"]) == []

    def test_last_line_lacking_only_its_newline(self, claude):
        """A complete last line without '\\n' is stored at once; when the writer adds the
        newline and more lines, those keep their true line numbers."""
        path = transcript_path(claude, S1)
        write_jsonl(path, conversation(S1, 2), tail=line(user(S1, 2, "third"))[:-1])
        assert ingest_json(claude)["messages_new"] == 3
        with open(path, "ab") as f:
            f.write(b"\n" + line(assistant(S1, 3, "fourth")))
        out = ingest_json(claude)
        assert out["messages_new"] == 1 and out["errors"] == 0
        lines = _session_lines(S1)
        assert sorted(lines) == [1, 2, 3, 4] and lines[4]["content"] == "fourth"
