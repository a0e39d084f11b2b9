"""The ingested folder is never touched (issue: robustness, 4; DESIGN.md principle 1)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
from pathlib import Path

from .builders import conversation, line, sid, transcript_path, user, write_jsonl
from .conftest import FIXTURES, ingest_json, run

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
