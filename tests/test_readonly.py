"""The ingested folder is never touched (issue: robustness, 4; DESIGN.md principle 1)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .builders import as_unprivileged, conversation, line, sid, transcript_path, user, write_jsonl
from .conftest import FIXTURES, ingest_json, needs_fixtures, run, run_proc

# The behaviour is the backend's contract: every test runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("cli_backend")

S1 = sid(1)


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every file, folder and link under root: kind, mode, size, mtime, ctime, content.

    atime may change (reading is allowed to); ctime changes with any write, chmod, rename,
    link or utime, so comparing it catches a re-timed file even if mtime was put back.
    """
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = None
            if stat.S_ISLNK(st.st_mode):
                digest = os.readlink(path)
            elif stat.S_ISREG(st.st_mode) and os.access(path, os.R_OK):
                with open(path, "rb") as f:
                    digest = hashlib.file_digest(f, "sha256").hexdigest()
            out[os.path.relpath(path, root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                                 st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                                 st.st_nlink, digest)
    return out


class _WriteOpens:
    """Opens under a folder that could write (audit hook; hooks cannot be removed: gated)."""

    root: Path | None = None
    seen: list[tuple[str, object, int]] = []
    installed = False

    @classmethod
    def watch(cls, root: Path) -> list[tuple[str, object, int]]:
        if not cls.installed:
            sys.addaudithook(cls._hook)
            cls.installed = True
        cls.root, cls.seen = root, []
        return cls.seen

    @classmethod
    def stop(cls) -> None:
        cls.root = None

    @classmethod
    def _hook(cls, event: str, args: tuple) -> None:
        if event != "open" or cls.root is None or not isinstance(args[0], str | bytes):
            return
        path, mode, flags = os.fsdecode(args[0]), args[1], args[2]
        if not Path(os.path.abspath(path)).is_relative_to(cls.root):
            return
        writes = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND)
        if writes or (isinstance(mode, str) and any(c in mode for c in "wax+")):
            cls.seen.append((path, mode, flags))


class TestReadOnly:
    """Ingest (first and repeated runs) and the commands that read the store create, modify,
    rename, chmod or re-time nothing under the ingested root, and open nothing there for
    writing."""

    def _tree(self, tmp_path: Path) -> Path:
        root = tmp_path / "claude"
        shutil.copytree(FIXTURES, root, symlinks=True)
        proj = root / "projects" / "-home-dev-webapp"
        write_jsonl(transcript_path(root, S1), conversation(S1, 6),
                           tail=line(user(S1, 6, "still typing"))[:30])
        (proj / "binary.jsonl").write_bytes(bytes(range(256)) * 16)
        (proj / "empty.jsonl").write_bytes(b"")
        (proj / "broken.jsonl").write_bytes(b'{"type": "user", "message": \n\xff\xfe\n')
        (proj / "loop").symlink_to("..", target_is_directory=True)
        (proj / "self.jsonl").symlink_to("self.jsonl")
        locked = write_jsonl(proj / f"{sid(2)}.jsonl", conversation(sid(2), 2))
        locked.chmod(0)
        (root / "debug").mkdir()
        (root / "debug" / f"{S1}.txt").write_text(
            "2025-11-19T17:07:55.342Z [DEBUG] [LSP MANAGER] starting\n  continued\n")
        (root / "file-history" / S1).mkdir(parents=True)
        (root / "file-history" / S1 / "0a1b2c3d4e5f6789@v1").write_text("print('v1')\n")
        (root / "todos").mkdir()
        (root / "todos" / f"{S1}-agent-{S1}.json").write_text('[{"content": "x", "status": "pending"}]')
        os.utime(root / "todos", ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
        return root

    @needs_fixtures
    def test_nothing_under_the_root_changes(self, tmp_path):
        root = self._tree(tmp_path)
        before = _snapshot(root)
        assert len(before) > 30
        writes = _WriteOpens.watch(root)
        try:
            first = ingest_json(root)
            again = ingest_json(root)
            for args in (("status", "--json"), ("runs", "--json"), ("errors", "--json"),
                         ("sessions", "--json"), ("show", "session", S1, "--json")):
                run(*args)
            run("doctor", "--json", check=False)  # exits 1 when sources need a look
        finally:
            _WriteOpens.stop()
        assert first["messages_new"] > 2000 and first["errors"] > 0
        assert again["messages_new"] == 0
        assert writes == []
        assert _snapshot(root) == before


def _data(home: Path) -> dict[str, tuple]:
    """The home's files but SQLite's WAL and shared-memory files, which a reader of a WAL
    database creates where it may (in a read-only folder it reads without them)."""
    return {k: v for k, v in _snapshot(home).items() if not k.endswith(("-wal", "-shm"))}


class TestReadOnlyStore:
    """The commands that only read open the store read-only: nothing is created, migrated or
    written, so a store in a folder we may not write (another user's, a mounted backup) reads."""

    READERS = (("status", "--json"), ("sessions", "--json"), ("show", "session", S1, "--json"),
               ("runs", "--json"), ("errors", "--json"), ("doctor", "--json"))

    def test_a_read_only_home_can_be_read(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        write_jsonl(transcript_path(root, S1), conversation(S1, 6))
        ingest_json(root)
        expected = {args[0]: run(*args).json() for args in self.READERS}
        modes = {p: p.stat().st_mode for p in [memory_home, *memory_home.rglob("*")]}
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            before = _data(memory_home)
            for args in self.READERS:
                p = subprocess.run([sys.executable, "-m", "coditect_memory", *args],
                                   capture_output=True, text=True, timeout=60, **as_unprivileged())
                assert p.returncode == 0, (args, p.stderr)
                assert json.loads(p.stdout) == expected[args[0]], args
            assert _data(memory_home) == before
        finally:
            for p, mode in modes.items():
                p.chmod(stat.S_IMODE(mode))

    def test_readers_never_create_a_store(self, memory_home, cli_backend, request, monkeypatch):
        if cli_backend == "postgresql":  # a database without memory's tables: none are made
            monkeypatch.setenv("MEMORY_DATABASE_URL",
                               request.getfixturevalue("pg_server").database(empty=True))
        for args in self.READERS:
            r = run_proc(*args)
            assert r.code == 12 and "run `memory ingest` first" in r.stderr, args
        assert not memory_home.exists()

    def test_a_store_that_needs_a_migration_says_what_to_run(self, tmp_path, memory_home):
        write_jsonl(transcript_path(tmp_path / "claude", S1), conversation(S1, 2))
        ingest_json(tmp_path / "claude")
        with open_store(load_settings(memory_home)) as store:  # as if made by an older version
            store.db.execute("DELETE FROM schema_migrations WHERE version ="
                             " (SELECT max(version) FROM schema_migrations)")
        before = _data(memory_home)
        r = run_proc("status", "--json")
        assert r.code == 12 and r.stdout == ""
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "needs an upgrade" in lines[0] and "`memory ingest`" in lines[0]
        assert _data(memory_home) == before

    def test_a_failed_ingest_creates_no_store(self, tmp_path, memory_home):
        r = run_proc("ingest", str(tmp_path / "no-such-claude"), "--json")
        assert r.code == 3 and "nothing to ingest" in r.stderr
        assert not memory_home.exists()
