"""Faults a backup must survive: SIGKILL during create, damaged, truncated and missing
objects, a missing parent, path-traversal names in a manifest, and a full target."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import run, run_proc
from .test_backup_support import build_store, install_store, more_sessions, status_at


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("faults-store"), messages=6000)


def create(target: Path, *extra: str) -> dict:
    return run("backup", "create", "--target", str(target), "--json", *extra).json()


def manifest(target: Path, backup_id: str) -> dict:
    return json.loads((target / "manifests" / f"{backup_id}.json").read_text())


def object_path(target: Path, oid: str) -> Path:
    return target / "objects" / oid[:2] / oid


def listed(target: Path) -> list[str]:
    return [b["backup_id"] for b in run("backup", "list", "--target", str(target), "--json").json()]


@pytest.fixture(scope="module")
def chain_template(template, tmp_path_factory):
    """A store with a full backup and an incremental on top of new sessions, made once."""
    base = tmp_path_factory.mktemp("faults-chain")
    home = base / "home"
    install_store(template, home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        full = create(base / "target", "--type", "full")
        run("ingest", str(more_sessions(base, seed=51)), "--json")
        inc = create(base / "target")
    assert inc["type"] == "incremental"
    return home, base / "target", full["backup_id"], inc["backup_id"]


@pytest.fixture
def chain(chain_template, memory_home, tmp_path):
    """A copy of the chain's store (as MEMORY_HOME) and of its target, for one test to damage."""
    home, target, full, inc = chain_template
    install_store(home, memory_home)
    shutil.copytree(target, tmp_path / "target")
    return tmp_path / "target", full, inc


class TestKilledCreate:
    """SIGKILL during `backup create` never lists a half backup; the earlier chain still
    verifies and restores, and the next run succeeds."""

    @pytest.mark.fault("backup: SIGKILL during create (fail points, mid-upload, random instants)")
    def test_sigkill_mid_upload(self, chain, tmp_path):
        target, full, inc = chain
        run("ingest", str(more_sessions(tmp_path, seed=52, sessions=4)), "--json")
        before = {p for p in (target / "objects").rglob("*") if p.is_file()}
        proc = subprocess.Popen([sys.executable, "-m", "coditect_memory", "backup", "create",
                                 "--type", "full", "--target", str(target)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            now = {p for p in (target / "objects").rglob("*") if p.is_file()}
            if now - before:
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL, "the backup finished before it could be killed"
        assert {p for p in (target / "objects").rglob("*") if p.is_file()} - before, \
            "killed before any object was written: nothing was tested"
        assert listed(target) == [full, inc]
        v = run("backup", "verify", inc, "--target", str(target), "--deep", "--json").json()
        assert v["ok"], v["problems"]
        run("backup", "restore", inc, "--target", str(target), "--into", str(tmp_path / "r"))
        assert status_at(tmp_path / "r")["messages"] > 0
        again = create(target, "--type", "full")
        assert listed(target) == [full, inc, again["backup_id"]]
        assert run("backup", "verify", again["backup_id"], "--target", str(target), "--deep",
                   "--json").json()["ok"]
        restored = tmp_path / "r2"
        run("backup", "restore", again["backup_id"], "--target", str(target), "--into", str(restored))
        assert status_at(restored) == run("status", "--json").json()

    @pytest.mark.parametrize("point", ["backup:marking", "backup:delta-api_usage",
                                       "backup:delta-messages", "backup:source-ready",
                                       "backup:objects-stored", "backup:committed"])
    @pytest.mark.fault("backup: SIGKILL during create (fail points, mid-upload, random instants)")
    def test_sigkill_during_an_incremental(self, chain, tmp_path, point):
        """Killed at each step of an incremental (inside the marks' transaction, half-way
        through the delta, with the delta written, with its objects stored, just after the
        manifest): no half backup is listed, and the next incremental restores the store
        exactly (the killed run's temp files are gone)."""
        target, full, inc = chain
        run("ingest", str(more_sessions(tmp_path, seed=81, sessions=2)), "--json")
        before = listed(target)
        r = run_proc("backup", "create", "--target", str(target),
                     env={"MEMORY_FAILPOINT": point})
        assert r.code == -signal.SIGKILL
        after = listed(target)
        assert after == (before + after[-1:] if point == "backup:committed" else before)
        last = create(target)
        assert last["type"] == "incremental", last["notes"]
        run("backup", "restore", last["backup_id"], "--target", str(target), "--into",
            str(tmp_path / "r"))
        assert status_at(tmp_path / "r") == run("status", "--json").json()
        assert not list((Path(os.environ["MEMORY_HOME"]) / "backup-tmp").glob("delta-*")), \
            "the killed runs' delta files were not cleaned up"


class TestDamagedObjects:
    """verify names the damaged object and exits 13; restore refuses and leaves nothing."""

    def _refused(self, target: Path, backup_id: str, into: Path, what: str, oid: str) -> None:
        r = run_proc("backup", "verify", backup_id, "--target", str(target), "--json")
        assert r.code == 13
        out = json.loads(r.stdout)
        assert out["ok"] is False and len(out["problems"]) == 1
        assert oid in out["problems"][0] and what in out["problems"][0]
        r = run_proc("backup", "restore", backup_id, "--target", str(target), "--into", str(into))
        assert r.code == 13 and oid in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert not any(into.iterdir()) if into.exists() else True

    @pytest.mark.fault("backup: damaged object (byte flipped, truncated), then verify, restore, create")
    def test_flipped_byte(self, chain, tmp_path):
        target, full, inc = chain
        oid = manifest(target, full)["segments"][0][2]
        path = object_path(target, oid)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x40
        path.write_bytes(bytes(data))
        self._refused(target, inc, tmp_path / "r", "damaged", oid)

    @pytest.mark.fault("backup: damaged object (byte flipped, truncated), then verify, restore, create")
    def test_truncated_object(self, chain, tmp_path):
        target, full, inc = chain
        oid = manifest(target, inc)["segments"][0][2]
        path = object_path(target, oid)
        path.write_bytes(path.read_bytes()[:-100])
        self._refused(target, inc, tmp_path / "r", "truncated", oid)

    @pytest.mark.fault("backup: missing object or parent manifest")
    def test_missing_object_in_chain(self, chain, tmp_path):
        target, full, inc = chain
        oid = manifest(target, full)["segments"][-1][2]
        object_path(target, oid).unlink()
        self._refused(target, inc, tmp_path / "r", "missing", oid)
        ok = run_proc("backup", "verify", full, "--target", str(target))
        assert ok.code == 13, "the full backup needs that object too"

    @pytest.mark.fault("backup: missing object or parent manifest")
    def test_next_incremental_after_damage_is_a_full(self, chain, tmp_path):
        target, full, inc = chain
        object_path(target, manifest(target, inc)["segments"][0][2]).unlink()
        made = create(target)
        assert made["type"] == "full" and "is missing" in made["notes"][0]
        assert run("backup", "verify", made["backup_id"], "--target", str(target),
                   "--json").json()["ok"]

    @pytest.mark.fault("backup: missing object or parent manifest")
    def test_missing_parent(self, chain, tmp_path):
        target, full, inc = chain
        (target / "manifests" / f"{full}.json").unlink()
        r = run_proc("backup", "verify", inc, "--target", str(target), "--json")
        assert r.code == 13 and full in json.loads(r.stdout)["problems"][0]
        r = run_proc("backup", "restore", inc, "--target", str(target), "--into", str(tmp_path / "r"))
        assert r.code == 13 and "missing" in r.stderr


class TestHostileNames:
    """Names from a manifest or the command line cannot reach outside the repository."""

    @pytest.mark.fault("backup: path-traversal names in a manifest or an argument")
    def test_traversal_object_name_in_manifest(self, chain, tmp_path):
        target, full, inc = chain
        victim = tmp_path / "victim"
        victim.write_text("do not read me")
        m = manifest(target, inc)
        evil = "../../../victim"
        m["objects"][evil] = {"sha256": "0" * 64, "size": 14, "kind": "delta"}
        m["segments"].append([0, 14, evil])
        (target / "manifests" / f"{inc}.json").write_text(json.dumps(m))
        r = run_proc("backup", "verify", inc, "--target", str(target), "--json")
        assert r.code == 13 and "rejected" in json.loads(r.stdout)["problems"][0]
        r = run_proc("backup", "restore", inc, "--target", str(target), "--into", str(tmp_path / "r"))
        assert r.code == 13 and "invalid object" in r.stderr
        assert victim.read_text() == "do not read me"

    @pytest.mark.fault("backup: path-traversal names in a manifest or an argument")
    def test_traversal_backup_id(self, chain, tmp_path):
        target, _, _ = chain
        r = run_proc("backup", "verify", "../../etc/passwd", "--target", str(target), "--json")
        assert r.code == 13 and "refusing backup name" in json.loads(r.stdout)["problems"][0]
        r = run_proc("backup", "restore", "../x", "--target", str(target), "--into", str(tmp_path / "r"))
        assert r.code == 13 and "refusing backup name" in r.stderr

    @pytest.mark.fault("backup: path-traversal names in a manifest or an argument")
    def test_traversal_parent(self, chain, tmp_path):
        target, full, inc = chain
        m = manifest(target, inc)
        m["parent"] = "../" + full
        (target / "manifests" / f"{inc}.json").write_text(json.dumps(m))
        r = run_proc("backup", "restore", inc, "--target", str(target), "--into", str(tmp_path / "r"))
        assert r.code == 13 and "invalid parent" in r.stderr


def _limit_file_size() -> None:
    """In the child: files larger than 64 KiB cannot be written (EFBIG), like a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))


class TestTargetFull:
    """A target that fills up mid-backup: a clear one-line error (exit 15), nothing
    committed, no temp files left, and a later run succeeds."""

    @pytest.mark.fault("backup: target full mid-backup (file size limit: EFBIG)")
    def test_full_target(self, chain, tmp_path):
        target, full, inc = chain
        run("ingest", str(more_sessions(tmp_path, seed=53, sessions=3)), "--json")
        create(target)  # the limit below hits the store's file too: leave it nothing to write
        before = listed(target)
        p = subprocess.run([sys.executable, "-m", "coditect_memory", "backup", "create", "--type",
                            "full", "--target", str(target)], capture_output=True, text=True,
                           preexec_fn=_limit_file_size, timeout=120)
        assert p.returncode == 15, p.stderr
        assert "is full" in p.stderr and "nothing was committed" in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
        assert listed(target) == before
        assert not [q for q in target.rglob("*") if ".tmp-" in q.name]
        again = create(target, "--type", "full")
        assert run("backup", "verify", again["backup_id"], "--target", str(target), "--deep",
                   "--json").json()["ok"]


def test_no_store_to_back_up(tmp_path):
    r = run_proc("backup", "create", "--target", str(tmp_path / "t"))
    assert r.code == 12 and "no store" in r.stderr
    assert not os.path.exists(tmp_path / "t" / "manifests")
