"""A full disk is one line with exit 16, never a traceback, and the store stays consistent:
the next run with space completes it (issue 10, item 3). Each case fills a small tmpfs; where
one cannot be mounted (not root, no CAP_SYS_ADMIN) the tests skip and say so."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from coditect_memory.errors import StorageIOError

from .builders import as_unprivileged, conversation, sid, transcript_path, write_jsonl
from .conftest import Result, run_proc

FULL = StorageIOError.exit_code


class Tmpfs:
    """A tmpfs of a given size mounted on a folder, resizable (`grow`), unmounted after."""

    def __init__(self, path: Path, size_kb: int) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self._mount(f"size={size_kb}k")

    def _mount(self, options: str, *extra: str) -> None:
        r = subprocess.run(["mount", "-t", "tmpfs", *extra, "-o", options, "tmpfs", str(self.path)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}): "
                        "run as root to test a full disk")

    def grow(self, size_kb: int = 256 << 10) -> None:
        self._mount(f"remount,size={size_kb}k")

    def umount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Callable[[str, int], Tmpfs]]:
    if shutil.which("mount") is None:
        pytest.skip("no `mount` command: cannot make a small disk to fill")
    made: list[Tmpfs] = []

    def make(name: str, size_kb: int) -> Tmpfs:
        made.append(Tmpfs(tmp_path / name, size_kb))
        return made[-1]

    yield make
    for fs in made:
        fs.umount()


def claude_folder(root: Path, sessions: int, lines: int = 100) -> Path:
    for s in range(sessions):
        write_jsonl(transcript_path(root, sid(3000 + s)), conversation(sid(3000 + s), lines,
                                                                        tools=True))
    return root


def one_line_error(r, *words: str) -> None:
    """The failure as the contract says: exit 16, one line on stderr naming it, no traceback."""
    assert r.code == FULL, (r.code, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memory: error: "), r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    for word in words:
        assert word in lines[0], lines[0]


def memory(home: Path, *args: str):
    return run_proc(*args, env={"MEMORY_HOME": str(home)})


def healthy(home: Path) -> dict:
    """`memory doctor` finds nothing wrong; the store's status."""
    doctor = memory(home, "doctor", "--json")
    assert doctor.code == 0 and json.loads(doctor.stdout)["ok"], doctor.stdout[-2000:]
    return json.loads(memory(home, "status", "--json").stdout)


@pytest.fixture
def claude(tmp_path) -> Path:
    return claude_folder(tmp_path / "claude", 40)


@pytest.fixture
def clean(tmp_path, claude) -> dict:
    """What one run on a roomy disk stores."""
    home = tmp_path / "roomy"
    assert memory(home, "ingest", str(claude), "--json").code == 0
    return healthy(home)


@pytest.mark.fault("disk full: ingest (tmpfs MEMORY_HOME of 200 KB to 4 MB)")
# 960 KB: a new store with every migration (0012-0023 added tables, columns, indexes) leaves the
# run room to begin, so it fails at a batch; at 700 it failed writing the ingest lock
@pytest.mark.parametrize("size_kb", [200, 960, 1024, 4096])
def test_ingest_on_a_full_disk(tmpfs, claude, clean, size_kb):
    """Full while creating the store (200 KB), or at a batch, the sessions or the run's end."""
    fs = tmpfs("home", size_kb)
    r = memory(fs.path, "ingest", str(claude), "--no-space-check")
    one_line_error(r, "the store", "no space left on the device", "free some space")
    fs.grow()
    again = memory(fs.path, "ingest", str(claude), "--json")
    assert again.code == 0, again.stderr
    status = healthy(fs.path)
    assert (status["messages"], status["sessions"]) == (clean["messages"], clean["sessions"])
    runs = json.loads(memory(fs.path, "runs", "--json").stdout)
    assert runs[0]["status"] == "completed"
    if size_kb >= 800:  # the failed run had begun: it says why it failed, not "ended before…"
        assert runs[1]["status"] == "failed" and "no space left" in runs[1]["message"], runs[1]


def test_ingest_refuses_a_disk_clearly_too_small(tmpfs, claude):
    fs = tmpfs("home", 1024)
    r = memory(fs.path, "ingest", str(claude))
    one_line_error(r, "not enough free space", "MB free", "--no-space-check")
    assert not (fs.path / "memory.db").exists() or healthy(fs.path)["messages"] == 0


@pytest.mark.fault("disk full: search index build (tmpfs MEMORY_HOME)")
def test_search_index_on_a_full_disk(tmp_path, tmpfs, claude, clean):
    roomy = tmp_path / "roomy"
    shutil.rmtree(roomy / "index")
    db = roomy / "memory.db"
    fs = tmpfs("home", (db.stat().st_size >> 10) + 128)
    shutil.copy2(db, fs.path / "memory.db")
    r = memory(fs.path, "search", "test", "--json")
    one_line_error(r, "search index", "no space left on the device")
    fs.grow()
    again = memory(fs.path, "search", "test", "--json")
    assert again.code == 0, again.stderr
    assert healthy(fs.path)["messages"] == clean["messages"]


@pytest.mark.fault("disk full: export -o (tmpfs destination)")
def test_export_to_a_full_disk(tmp_path, tmpfs, clean):
    fs = tmpfs("out", 256)
    out = fs.path / "all.jsonl"
    r = memory(tmp_path / "roomy", "export", "-o", str(out))
    one_line_error(r, f"writing {out}", "no space left on the device")
    assert os.listdir(fs.path) == []  # no partial file left behind
    fs.grow()
    assert memory(tmp_path / "roomy", "export", "-o", str(out)).code == 0
    assert sum(1 for _ in out.open()) == clean["messages"] + 1  # + the trailer


@pytest.mark.fault("disk full: backup restore --into (tmpfs destination)")
def test_restore_into_a_full_disk(tmp_path, tmpfs, clean):
    home, target = tmp_path / "roomy", tmp_path / "repo"
    made = memory(home, "backup", "create", "--type", "full", "--target", str(target), "--json")
    assert made.code == 0, made.stderr
    restore = ("backup", "restore", json.loads(made.stdout)["backup_id"], "--target", str(target),
               "--into")
    fs = tmpfs("into", 512)
    r = memory(home, *restore, str(fs.path))
    one_line_error(r, f"restoring into {fs.path}", "no space left on the device")
    assert not (fs.path / "memory.db").exists()
    fs.grow()
    again = memory(home, *restore, str(fs.path))
    assert again.code == 0, again.stderr
    assert healthy(fs.path)["messages"] == clean["messages"]


@pytest.mark.fault("disk full: incremental backup's temp file (tmpfs MEMORY_HOME)")
def test_incremental_backup_temp_file_on_a_full_disk(tmp_path, tmpfs):
    fs = tmpfs("home", 64 << 10)
    target = tmp_path / "repo"
    first = claude_folder(tmp_path / "claude", 30)
    assert memory(fs.path, "ingest", str(first)).code == 0
    made = memory(fs.path, "backup", "create", "--type", "full", "--target", str(target))
    assert made.code == 0, made.stderr
    claude_folder(first, 60)  # 30 more sessions: the incremental has a delta to write
    assert memory(fs.path, "ingest", str(first)).code == 0
    filler = fs.path / "filler"  # leave room to open the store, not for the delta's temp file
    filler.write_bytes(b"\0" * (shutil.disk_usage(fs.path).free - (256 << 10)))
    r = memory(fs.path, "backup", "create", "--target", str(target))
    one_line_error(r, "no space left on the device")
    filler.unlink()
    again = memory(fs.path, "backup", "create", "--target", str(target), "--json")
    assert again.code == 0, again.stderr
    made = json.loads(again.stdout)
    assert made["type"] == "incremental", made
    verify = memory(fs.path, "backup", "verify", made["backup_id"], "--target", str(target))
    assert verify.code == 0, verify.stderr
    healthy(fs.path)


def test_a_failure_the_store_could_not_record_is_recorded_by_the_next_run(tmp_path, memory_home):
    """When even marking the run failed cannot be written, the cause is left in the lock
    file's first block (already allocated), and the next run records it on that run."""
    from coditect_memory.ingest.lock import IngestLock

    claude = claude_folder(tmp_path / "claude", 2)
    first = json.loads(memory(memory_home, "ingest", str(claude), "--json").stdout)["run_id"]
    why = "writing the store failed: no space left on the device; free some space"
    with IngestLock(memory_home, 1) as lock:
        assert lock.left is None
        assert lock.leave_note(first, why)
    assert memory(memory_home, "ingest", str(claude)).code == 0
    runs = {r["run_id"]: r for r in json.loads(memory(memory_home, "runs", "--json").stdout)}
    assert runs[first]["status"] == "failed"
    assert runs[first]["message"] == f"{why} (recorded by run {first + 1})"
    with IngestLock(memory_home, 1) as lock:
        assert lock.left is None  # recorded once


@pytest.mark.fault("I/O error: read-only MEMORY_HOME (EROFS)")
def test_ingest_on_a_read_only_disk(tmpfs, claude):
    fs = tmpfs("home", 64 << 10)
    assert memory(fs.path, "ingest", str(claude_folder(claude, 41))).code == 0
    claude_folder(claude, 42)  # something new to write
    fs._mount("remount,ro")
    r = memory(fs.path, "ingest", str(claude))
    one_line_error(r, "read-only file system", "writable disk")
    st = memory(fs.path, "status")
    assert st.code == 0, st.stderr  # still readable
    found = memory(fs.path, "search", "anything")  # a clear line, not an EROFS traceback
    assert found.code == 2 and "copy $MEMORY_HOME to a writable folder" in found.stderr
    assert "Traceback" not in found.stderr
    fs._mount("remount,rw")
    assert memory(fs.path, "ingest", str(claude)).code == 0
    assert healthy(fs.path)["sessions"] == 42


@pytest.mark.fault("I/O error: MEMORY_HOME not writable (EACCES)")
def test_ingest_into_a_folder_not_writable(tmp_path, claude):
    home = tmp_path / "home"
    assert memory(home, "ingest", str(claude_folder(claude, 41))).code == 0
    claude_folder(claude, 42)
    home.chmod(0o555)
    try:
        p = subprocess.run([sys.executable, "-m", "coditect_memory", "ingest", str(claude)],
                           capture_output=True, text=True, env={**os.environ, "MEMORY_HOME": str(home)},
                           **as_unprivileged())
    finally:
        home.chmod(0o755)
    one_line_error(Result(p.returncode, p.stdout, p.stderr), "permission denied")
    assert memory(home, "ingest", str(claude)).code == 0
    assert healthy(home)["sessions"] == 42


def test_each_cause_is_named_with_what_to_do():
    """The one translation (errors.io_error) of what each layer catches; EIO cannot be made
    on demand here, so it is checked as the OSError a failing disk raises."""
    from coditect_memory.errors import io_error

    eio = io_error(OSError(errno.EIO, "Input/output error", "/data/memory.db"), "writing the store")
    assert str(eio) == ("writing the store failed: I/O error: the disk may be failing "
                        "(/data/memory.db); check the disk (dmesg, smartctl), then run "
                        "`memory doctor`")
    assert eio is not None and eio.exit_code == FULL
    tantivy = io_error(ValueError("Failed to commit: IoError(No space left on device (os error 28))"),
                       "updating the search index")
    assert tantivy is not None and "no space left on the device" in str(tantivy)
    killed = io_error(ValueError("An index writer was killed.. A worker thread encountered an error"
                                 " (io::Error most likely) or panicked."), "updating the search index")
    assert killed is not None and "I/O error" in str(killed)  # one line, not a traceback
    rofs = io_error(OSError(errno.EROFS, "Read-only file system"), "writing x")
    assert rofs is not None and "read-only file system" in str(rofs)
    assert io_error(OSError(errno.ENOENT, "No such file"), "x") is None  # not a disk's refusal
    assert io_error(ValueError("bad query"), "x") is None


def test_import_checks_space_too(tmp_path, tmpfs, clean):
    out = tmp_path / "all.jsonl"
    assert memory(tmp_path / "roomy", "export", "-o", str(out)).code == 0
    fs = tmpfs("home", 1024)
    r = memory(fs.path, "import", str(out))
    one_line_error(r, "not enough free space", "--no-space-check")
    fs.grow()
    assert memory(fs.path, "import", str(out)).code == 0
    assert healthy(fs.path)["messages"] == clean["messages"]
