"""No silent wrong answer from backups (issue 10): a damaged object is never reused, a
damaged manifest is never left out silently, a killed backup's lock does not hold prune for
hours, an encrypted repository without its config.json is never re-initialised; and a
property test: random damage to a random object or manifest fails `verify`, and the next
`backup create` does not build on it."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from coditect_memory.backup.repository import Repository
from coditect_memory.backup.targets import LocalTarget

from . import test_backup_faults as faults
from .conftest import run, run_proc
from .reliability import trial
from .test_backup_faults import create, listed, manifest, object_path
from .test_backup_support import more_sessions, status_at

# rows of docs/reliability.md
DAMAGED_OBJECT = "backup: damaged object (byte flipped, truncated), then verify, restore, create"
DAMAGED_MANIFEST = "backup: damaged manifest (garbled, truncated), then list, restore, create"
SIGKILL = "backup: SIGKILL during create (fail points, mid-upload, random instants)"
NO_CONFIG = "backup: repository without its config.json (encrypted or not)"

# the faults module's store and chain (a full backup and an incremental), a copy per test
template, chain_template, chain = faults.template, faults.chain_template, faults.chain


def verified(target: Path, backup_id: str, deep: bool = True) -> dict:
    args = ["backup", "verify", backup_id, "--target", str(target), "--json"]
    r = run_proc(*args, *(["--deep"] if deep else []))
    return {**json.loads(r.stdout), "code": r.code}


def restores_equal(target: Path, backup_id: str, into: Path) -> bool:
    run("backup", "restore", backup_id, "--target", str(target), "--into", str(into))
    return status_at(into) == run("status", "--json").json()


def flip(path: Path, rng: random.Random | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = rng.randrange(len(data)) if rng else len(data) // 2
    data[i] ^= rng.randrange(1, 256) if rng else 0x40
    path.write_bytes(bytes(data))


def truncate(path: Path, rng: random.Random | None = None) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:rng.randrange(len(data)) if rng else len(data) - 100])




class TestNoReuseOfDamage:
    """Issue item 1: a new backup re-hashes what it reuses or builds on."""

    @pytest.mark.parametrize("damage", [flip, truncate])
    @pytest.mark.fault(DAMAGED_OBJECT)
    def test_full_backup_rewrites_a_damaged_object(self, chain, tmp_path, damage):
        target, full, inc = chain
        second = create(target, "--type", "full")
        oid = manifest(target, second["backup_id"])["segments"][0][2]
        damage(object_path(target, oid))
        assert verified(target, second["backup_id"], deep=False)["code"] == 13
        made = create(target, "--type", "full")
        assert made["objects_written"] >= 1
        assert any("written again" in n and oid in n for n in made["notes"]), made["notes"]
        assert verified(target, made["backup_id"])["ok"]
        assert restores_equal(target, made["backup_id"], tmp_path / "r")

    @pytest.mark.parametrize("damage", [flip, truncate])
    @pytest.mark.fault(DAMAGED_OBJECT)
    def test_incremental_on_a_damaged_chain_is_a_full(self, chain, tmp_path, damage):
        target, full, inc = chain
        run("ingest", str(more_sessions(tmp_path, seed=61)), "--json")
        oid = manifest(target, full)["segments"][0][2]
        damage(object_path(target, oid))
        made = create(target)
        assert made["type"] == "full" and "made a full backup instead" in made["notes"][0]
        assert oid in made["notes"][0]
        assert verified(target, made["backup_id"])["ok"]
        assert restores_equal(target, made["backup_id"], tmp_path / "r")


class TestDamagedManifest:
    """Issue item 2: a damaged manifest is listed as damaged; `restore --at` refuses rather
    than restore an older backup than asked."""

    @pytest.mark.parametrize("damage", ["garbled", "truncated"])
    @pytest.mark.fault(DAMAGED_MANIFEST)
    def test_listed_as_damaged(self, chain, damage, monkeypatch):
        monkeypatch.delenv("COLUMNS", raising=False)  # xdist workers set 80: ids would be cut
        target, full, inc = chain
        path = target / "manifests" / f"{inc}.json"
        if damage == "garbled":  # a value changed, the JSON still valid: its checksum fails
            path.write_text(path.read_text().replace('"tool_version": "', '"tool_version": "x', 1))
        else:
            truncate(path)
        r = run_proc("backup", "list", "--target", str(target), "--json")
        assert r.code == 0
        rows = json.loads(r.stdout)
        assert [b["backup_id"] for b in rows] == [full, inc]
        assert rows[0]["damaged"] is None and rows[1]["damaged"]
        assert f"backup {inc} is damaged" in r.stderr
        human = run_proc("backup", "list", "--target", str(target))
        assert inc in human.stdout and "damaged" in human.stdout + human.stderr

    @pytest.mark.fault(DAMAGED_MANIFEST)
    def test_restore_at_refuses_past_a_damaged_manifest(self, chain, tmp_path):
        target, full, inc = chain
        truncate(target / "manifests" / f"{inc}.json")
        r = run_proc("backup", "restore", "--at", "2999-01-01", "--target", str(target),
                     "--into", str(tmp_path / "r"))
        assert r.code == 13, r.stderr
        assert inc in r.stderr and full in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "r" / "memory.db").exists()
        # a time before the damaged backup was made still picks the full backup
        at = manifest(target, full)["created_at"]
        run("backup", "restore", "--at", at, "--target", str(target), "--into",
            str(tmp_path / "r2"))
        assert status_at(tmp_path / "r2")["messages"] > 0

    @pytest.mark.fault(DAMAGED_MANIFEST)
    def test_next_backup_does_not_build_on_a_damaged_manifest(self, chain, tmp_path):
        target, full, inc = chain
        truncate(target / "manifests" / f"{inc}.json")
        made = create(target)
        assert made["parent"] in (None, full)
        assert any(inc in n and "damaged" in n for n in made["notes"]), made["notes"]
        assert verified(target, made["backup_id"])["ok"]
        assert restores_equal(target, made["backup_id"], tmp_path / "r")


class TestKilledBackupLeftovers:
    """Also found: a killed backup's lock is stale as soon as its process is gone."""

    @pytest.mark.fault("backup: leftovers of a killed backup (work files, lock, temp objects)")
    def test_prune_removes_a_dead_process_lock(self, chain, tmp_path):
        target, full, inc = chain
        run("ingest", str(more_sessions(tmp_path, seed=62)), "--json")
        r = run_proc("backup", "create", "--type", "full", "--target", str(target),
                     env={"MEMORY_FAILPOINT": "backup:objects-stored"})
        assert r.code == -signal.SIGKILL
        assert list((target / "locks").iterdir()), "the killed run left no lock"
        used = {o for b in (full, inc) for o in manifest(target, b)["objects"]}
        leftover = {p.name for p in (target / "objects").rglob("*") if p.is_file()} - used
        assert leftover, "the killed run stored no object: nothing to prune"
        temp = object_path(target, next(iter(used))).with_name(".x.tmp-1-dead")
        temp.write_bytes(b"half")  # what a writer killed mid-object leaves
        out = run("backup", "prune", "--keep-daily", "100", "--target", str(target),
                  "--json").json()
        assert out["objects_deleted"] == len(leftover), out["notes"]
        assert any("its process is gone" in n for n in out["notes"])
        assert not list((target / "locks").iterdir()) and not temp.exists()
        assert verified(target, inc)["ok"]

    @pytest.mark.fault("backup: prune while a backup is being made (a live lock)")
    def test_prune_waits_for_a_live_lock(self, chain, tmp_path):
        target, full, inc = chain
        (target / "locks").mkdir(exist_ok=True)
        lock = {"ms": 0, "pid": os.getpid(), "host": socket.gethostname()}  # old, but alive
        (target / "locks" / "20990101T000000000Z-abcdef").write_text(json.dumps(lock))
        stray = object_path(target, "ab" * 32)
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(b"being written")
        out = run("backup", "prune", "--keep-daily", "100", "--target", str(target), "--json").json()
        assert out["objects_deleted"] == 0 and "being made" in out["notes"][0]
        assert stray.exists()


class TestMissingConfig:
    """Also found: a repository whose config.json is gone is never initialised again over
    its backups (a new salt would make every encrypted backup unreadable)."""

    @pytest.mark.fault(NO_CONFIG)
    def test_encrypted(self, chain, tmp_path, monkeypatch):
        target, _, _ = chain
        monkeypatch.setenv("MEMORY_BACKUP_KEY", "trust key")
        enc = tmp_path / "enc"
        made = create(enc, "--type", "full")
        saved = (enc / "config.json").read_bytes()
        (enc / "config.json").unlink()
        for args in (["create"], ["list"], ["verify", made["backup_id"]]):
            r = run_proc("backup", *args, "--target", str(enc))
            assert r.code == 13, r.stderr
            assert "config.json is missing" in r.stderr and "encrypted" in r.stderr
            assert len(r.stderr.strip().splitlines()) == 1
        assert not (enc / "config.json").exists(), "re-initialised over encrypted backups"
        (enc / "config.json").write_bytes(saved)
        assert verified(enc, made["backup_id"])["ok"]

    @pytest.mark.fault(NO_CONFIG)
    def test_unencrypted_is_rebuilt(self, chain, tmp_path):
        """Nothing in an unencrypted repository depends on config.json: it is written again."""
        target, full, inc = chain
        (target / "config.json").unlink()
        assert listed(target) == [full, inc]
        made = create(target)
        assert (target / "config.json").exists()
        assert verified(target, made["backup_id"])["ok"] and verified(target, inc)["ok"]

    @pytest.mark.fault(NO_CONFIG)
    def test_a_key_for_an_unencrypted_repository_without_config(self, chain, monkeypatch):
        target, _, _ = chain
        (target / "config.json").unlink()
        monkeypatch.setenv("MEMORY_BACKUP_KEY", "a key")
        r = run_proc("backup", "create", "--target", str(target))
        assert r.code == 13 and "config.json is missing" in r.stderr
        assert not (target / "config.json").exists()


SEEDS = range(10)


@pytest.mark.fault("backup: random byte flipped in, or truncation of, a random object or manifest")
@pytest.mark.parametrize("seed", SEEDS)
def test_random_damage_is_caught_and_not_built_on(chain, tmp_path, seed):
    """Property: flip a random byte in (or truncate) a random object or manifest of the
    chain. `verify` of the newest backup fails, unless the damage left the manifest's
    meaning intact (a space turned into a tab); the next backup verifies and restores equal.
    An incremental first, so the next one has a record of verified objects to trust."""
    target, full, inc = chain
    run("ingest", str(more_sessions(tmp_path, seed=90 + seed, sessions=1)), "--json")
    newest = create(target)["backup_id"]
    rng = random.Random(seed)
    files = sorted(target.glob("manifests/*.json")) + sorted(
        object_path(target, oid) for b in (full, inc, newest) for oid in manifest(target, b)["objects"])
    victim = rng.choice(files)
    damage = rng.choice([flip, truncate])
    kind = "manifest" if victim.parent.name == "manifests" else "object"
    before = victim.read_bytes()
    damage(victim, rng)
    benign = kind == "manifest" and _same_json(before, victim.read_bytes())
    v = verified(target, newest, deep=False)
    assert (v["ok"] if benign else v["code"] == 13 and not v["ok"]), \
        f"{damage.__name__} of {kind} {victim.name}: verify said {v}"
    made = create(target)
    assert verified(target, made["backup_id"])["ok"], \
        f"{damage.__name__} of {kind} {victim.name}: the next backup {made} built on it"
    assert restores_equal(target, made["backup_id"], tmp_path / "r")


def test_trusted_objects_are_skipped_until_rewritten(chain):
    """The record an incremental trusts: an object whose fingerprint is unchanged is not
    read again; one rewritten (here, a flipped byte) is, and is found damaged."""
    target, full, inc = chain
    repo = Repository(LocalTarget(target)).load()
    chain_ = repo.chain(inc)
    problems, read = repo.check_objects(chain_)
    assert not problems and read > 0
    trusted = repo.object_fingerprints()
    assert repo.check_objects(chain_, trusted=trusted) == ({}, 0)
    oid = manifest(target, full)["segments"][0][2]
    flip(object_path(target, oid))
    problems, read = repo.check_objects(chain_, trusted=trusted)
    assert list(problems) == [oid] and 0 < read < 10 << 20


def _same_json(a: bytes, b: bytes) -> bool:
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return False


@pytest.mark.parametrize("seed", range(6))
def test_sigkill_at_a_random_instant(chain, tmp_path, seed):
    """SIGKILL `backup create` (full or incremental) at a random instant: no half backup is
    listed, what is listed verifies, and the next backup verifies and restores equal. A run
    that ends before its kill is not counted as a try."""
    target, full, inc = chain
    run("ingest", str(more_sessions(tmp_path, seed=100 + seed, sessions=3)), "--json")
    rng = random.Random(seed)
    kind = rng.choice(["full", "incremental"])
    proc = subprocess.Popen([sys.executable, "-m", "coditect_memory", "backup", "create", "--type",
                             kind, "--target", str(target)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(rng.uniform(0.1, 1.0))
        killed = False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        killed = proc.wait(30) == -signal.SIGKILL
    with trial(SIGKILL) if killed else contextlib.nullcontext():
        after = listed(target)
        assert after[:2] == [full, inc] and len(after) <= 3
        for bid in after:
            assert verified(target, bid, deep=False)["ok"], bid
        made = create(target)
        assert verified(target, made["backup_id"])["ok"]
        assert restores_equal(target, made["backup_id"], tmp_path / "r")
