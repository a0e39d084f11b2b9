"""Backups on a local target: create, list, verify, restore, incrementals, encryption,
retention, schedule, and a backup taken while ingest writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coditect_memory.backup.retention import plan

from .conftest import run, run_proc
from .test_backup_support import build_store, install_store, more_sessions, status_at


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("backup-store"))


@pytest.fixture
def store(template, memory_home) -> Path:
    install_store(template, memory_home)
    return memory_home


def create(target: Path | str, *extra: str) -> dict:
    return run("backup", "create", "--target", str(target), "--json", *extra).json()


def objects(target: Path) -> list[Path]:
    return sorted(p for p in (target / "objects").rglob("*") if p.is_file())


class TestFullRoundTrip:
    """A full backup restores to a store whose `status --json` equals the source's."""

    def test_create_list_verify_restore(self, store, tmp_path):
        target = tmp_path / "target"
        before = run("status", "--json").json()
        made = create(target, "--type", "full")
        assert made["type"] == "full" and made["bytes"] > 0 and made["parent"] is None
        on_disk = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
        assert made["bytes"] <= on_disk
        listed = run("backup", "list", "--target", str(target), "--json").json()
        assert [(b["backup_id"], b["type"], b["parent"]) for b in listed] == \
            [(made["backup_id"], "full", None)]
        assert listed[0]["created_at"].endswith("Z")
        checked = run("backup", "verify", made["backup_id"], "--target", str(target), "--deep",
                      "--json").json()
        assert checked["ok"] is True and checked["problems"] == [] and checked["objects"] >= 2
        into = tmp_path / "restored"
        run("backup", "restore", made["backup_id"], "--target", str(target), "--into", str(into))
        assert status_at(into) == before
        assert run("doctor", "--json").json()["ok"]

    def test_restore_refuses_an_existing_store_unless_replace(self, store, tmp_path):
        target = tmp_path / "target"
        made = create(target, "--type", "full")
        r = run_proc("backup", "restore", made["backup_id"], "--target", str(target),
                     "--into", str(store))
        assert r.code == 1 and "already exists" in r.stderr and "--replace" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        run("ingest", str(more_sessions(tmp_path, seed=11)), "--json")
        grown = run("status", "--json").json()["messages"]
        out = run("backup", "restore", made["backup_id"], "--target", str(target), "--into",
                  str(store), "--replace", "--json").json()
        assert out["previous_store"] and Path(out["previous_store"]).exists()
        assert run("status", "--json").json()["messages"] < grown
        assert status_at_file(Path(out["previous_store"]))["messages"] == grown


class TestBackendInManifest:
    """A manifest names the store backend that restores it (`store.backend`); one written
    before it was recorded is SQLite's, and one of a backend this version lacks is refused."""

    @staticmethod
    def _rewrite(target: Path, backup_id: str, backend: str | None) -> None:
        from coditect_memory.backup.repository import Repository
        from coditect_memory.backup.targets import LocalTarget

        repo = Repository(LocalTarget(target)).load()
        m = repo.manifest(backup_id)
        if backend is None:
            del m["store"]["backend"]
        else:
            m["store"]["backend"] = backend
        repo.commit(m)  # a valid checksum again: only the backend differs

    def test_old_manifest_is_sqlite_and_unknown_is_refused(self, store, tmp_path):
        target = tmp_path / "target"
        made = create(target, "--type", "full")
        assert json.loads(next((target / "manifests").iterdir()).read_text())["store"][
            "backend"] == "sqlite"
        self._rewrite(target, made["backup_id"], None)
        v = run("backup", "verify", made["backup_id"], "--target", str(target), "--deep",
                "--json").json()
        assert v["ok"], v["problems"]
        run("backup", "restore", made["backup_id"], "--target", str(target), "--into",
            str(tmp_path / "r"))
        assert status_at(tmp_path / "r") == run("status", "--json").json()
        self._rewrite(target, made["backup_id"], "cassandra")
        r = run_proc("backup", "restore", made["backup_id"], "--target", str(target), "--into",
                     str(tmp_path / "r2"))
        assert r.code == 1 and "cassandra store" in r.stderr and "Traceback" not in r.stderr
        assert not (tmp_path / "r2").exists()


def status_at_file(db: Path) -> dict:
    """`status` of a store file kept aside (copied into a home of its own)."""
    home = db.parent / "aside-home"
    home.mkdir()
    os.link(db, home / "memory.db")
    return status_at(home)


class TestIncremental:
    """An incremental stores only the rows that changed, and its chain restores the store
    exactly as it was when it was made; --at picks the newest backup at or before a time."""

    def test_chain_costs_the_change_and_restores_each_point(self, store, tmp_path):
        target = tmp_path / "target"
        first = create(target, "--type", "full")
        status_first = run("status", "--json").json()
        same = create(target)
        assert same["type"] == "incremental" and same["parent"] == first["backup_id"]
        assert same["rows_stored"] == 0, "an unchanged store has nothing to store"
        run("ingest", str(more_sessions(tmp_path, seed=21)), "--json")
        status_second = run("status", "--json").json()
        assert status_second["messages"] > status_first["messages"]
        second = create(target)
        assert second["type"] == "incremental" and second["parent"] == same["backup_id"]
        assert second["bytes"] < first["bytes"] * 0.6, (second, first)
        v = run("backup", "verify", second["backup_id"], "--target", str(target), "--deep",
                "--json").json()
        assert v["ok"] and v["chain"] == [first["backup_id"], same["backup_id"], second["backup_id"]]
        run("backup", "restore", second["backup_id"], "--target", str(target), "--into",
            str(tmp_path / "r2"))
        assert status_at(tmp_path / "r2") == status_second
        listed = run("backup", "list", "--target", str(target), "--json").json()
        at = listed[1]["created_at"]
        run("backup", "restore", "--at", at, "--target", str(target), "--into", str(tmp_path / "r1"))
        assert status_at(tmp_path / "r1") == status_first

    def test_a_long_chain_starts_over_with_a_full(self, store, tmp_path):
        (store / "config.toml").write_text("[backup]\nfull_every = 2\n")
        target = tmp_path / "target"
        kinds = [create(target) for _ in range(4)]
        assert [k["type"] for k in kinds] == ["full", "incremental", "incremental", "full"]
        assert "full_every = 2" in kinds[3]["notes"][0]
        (store / "config.toml").write_text("[backup]\nfull_every = 'often'\n")
        r = run_proc("backup", "create", "--target", str(target))
        assert r.code == 2 and "full_every" in r.stderr

    def test_at_before_any_backup_is_a_clear_error(self, store, tmp_path):
        target = tmp_path / "target"
        create(target)
        r = run_proc("backup", "restore", "--at", "2001-01-01", "--target", str(target),
                     "--into", str(tmp_path / "r"))
        assert r.code == 1 and "no backup" in r.stderr and "Traceback" not in r.stderr


class TestEncryption:
    """With a key, objects are encrypted (no plaintext on the target) and a missing or
    wrong key is a one-line error with exit code 14, never garbage."""

    def test_key_file(self, store, tmp_path, monkeypatch):
        key = tmp_path / "backup.key"
        key.write_text("correct horse battery staple\n")
        monkeypatch.setenv("MEMORY_BACKUP_KEY_FILE", str(key))
        target = tmp_path / "target"
        made = create(target, "--type", "full")
        assert made["encrypted"] is True
        sample_uid = json.loads(run("export").stdout.splitlines()[0])["uid"].encode()
        for path in objects(target):
            data = path.read_bytes()
            assert b"SQLite format 3" not in data and sample_uid not in data
        monkeypatch.delenv("MEMORY_BACKUP_KEY_FILE")
        r = run_proc("backup", "verify", made["backup_id"], "--target", str(target))
        assert r.code == 14 and "encrypted" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        r = run_proc("backup", "restore", made["backup_id"], "--target", str(target), "--into",
                     str(tmp_path / "r"), env={"MEMORY_BACKUP_KEY": "wrong"})
        assert r.code == 14 and "wrong backup key" in r.stderr
        assert not (tmp_path / "r" / "memory.db").exists()
        listed = run("backup", "list", "--target", str(target), "--json").json()
        assert [b["backup_id"] for b in listed] == [made["backup_id"]]
        monkeypatch.setenv("MEMORY_BACKUP_KEY", "correct horse battery staple")
        run("backup", "restore", made["backup_id"], "--target", str(target), "--into",
            str(tmp_path / "r"))
        assert status_at(tmp_path / "r") == run("status", "--json").json()

    def test_encrypted_chain(self, store, tmp_path, monkeypatch):
        """Incrementals are sealed like full backups: no plaintext row on the target, and
        the chain restores under the key."""
        monkeypatch.setenv("MEMORY_BACKUP_KEY", "chain key")
        target = tmp_path / "target"
        create(target, "--type", "full")
        run("ingest", str(more_sessions(tmp_path, seed=71)), "--json")
        inc = create(target)
        assert inc["type"] == "incremental" and inc["encrypted"] and inc["rows_stored"] > 0
        newest = json.loads(run("export").stdout.splitlines()[-2])["uid"].encode()
        assert not any(newest in p.read_bytes() for p in objects(target))
        v = run("backup", "verify", inc["backup_id"], "--target", str(target), "--deep", "--json").json()
        assert v["ok"], v["problems"]
        run("backup", "restore", inc["backup_id"], "--target", str(target), "--into", str(tmp_path / "r"))
        assert status_at(tmp_path / "r") == run("status", "--json").json()

    def test_equal_objects_are_written_once(self, tmp_path, monkeypatch):
        """Equal segments in one snapshot are one object, written once: two encrypted
        writes of it would differ by their nonce, and the manifest could name the other."""
        from coditect_memory.backup.create import _Writer
        from coditect_memory.backup.repository import Repository, object_key
        from coditect_memory.backup.targets import LocalTarget

        repo = Repository(LocalTarget(tmp_path / "t"), key="k").load(create=True)
        writer = _Writer(repo, {}, workers=4)
        plain = b"\0" * (4 << 20)
        oid = repo.codec.object_id("segment", plain)
        for _ in range(8):
            writer.submit(writer.store, oid, "segment", plain)
        writer.drain()
        writer.close()
        stored = (tmp_path / "t" / object_key(oid)).read_bytes()
        assert writer.written == 1 and writer.objects[oid]["size"] == len(stored)
        assert repo.fetch(oid, writer.objects[oid], "test") == stored
        assert repo.get(oid, writer.objects[oid], "test") == plain

    def test_key_on_an_unencrypted_repository_is_refused_for_new_backups(self, store, tmp_path,
                                                                         monkeypatch):
        target = tmp_path / "target"
        create(target)
        monkeypatch.setenv("MEMORY_BACKUP_KEY", "k")
        r = run_proc("backup", "create", "--target", str(target))
        assert r.code == 14 and "not encrypted" in r.stderr


class TestDefaultTarget:
    """The target comes from [backup] target in $MEMORY_HOME/config.toml when not given."""

    def test_config_target(self, store, tmp_path):
        target = tmp_path / "from-config"
        (store / "config.toml").write_text(f'[backup]\ntarget = "{target}"\n')
        made = run("backup", "create", "--json").json()
        assert made["target"] == str(target) and (target / "manifests").is_dir()
        assert run("backup", "list", "--json").json()[0]["backup_id"] == made["backup_id"]

    def test_no_target_is_a_usage_error(self, store):
        r = run_proc("backup", "create")
        assert r.code == 2 and "no backup target" in r.stderr


class TestBackupWhileIngesting:
    """A backup taken while an ingest writes is a consistent snapshot: it verifies, and the
    restored store passes SQLite's checks and matches its manifest's digest and counts."""

    def test_snapshot_during_ingest(self, store, tmp_path):
        root = more_sessions(tmp_path, seed=31, sessions=14)
        (store / "config.toml").write_text("[ingest]\nbatch_size = 200\n")  # many commits
        target = tmp_path / "target"
        proc = subprocess.Popen([sys.executable, "-m", "coditect_memory", "ingest", str(root), "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
        made, during = [], 0
        try:
            while proc.poll() is None or not made:
                made.append(create(target))
                during += proc.poll() is None
                if len(made) >= 4:
                    break
        finally:
            out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert during >= 1, "no backup overlapped the ingest: nothing was tested"
        made.append(create(target))
        last = made[-1]
        v = run("backup", "verify", last["backup_id"], "--target", str(target), "--deep",
                "--json").json()
        assert v["ok"], v["problems"]
        for i, b in enumerate(made[:-1]):
            into = tmp_path / f"r{i}"
            run("backup", "restore", b["backup_id"], "--target", str(target), "--into", str(into))
        assert status_at(tmp_path / "r0")["messages"] <= status_at(into)["messages"]
        run("backup", "restore", last["backup_id"], "--target", str(target), "--into",
            str(tmp_path / "final"))
        assert status_at(tmp_path / "final") == run("status", "--json").json()


class TestRetention:
    """prune keeps the newest backup per day/week/month bucket and every ancestor of a kept
    incremental, and deletes only objects no remaining backup uses."""

    @staticmethod
    def _m(bid: str, day: int, parent: str | None = None, hour: int = 12) -> dict:
        ms = (1_700_000_000 + day * 86400 + hour * 3600) * 1000
        return {"backup_id": bid, "created_ms": ms, "parent": parent}

    def test_plan(self):
        ms = [self._m("f1", 0), self._m("i1", 0, "f1", 20), self._m("i2", 1, "i1"),
              self._m("f2", 2), self._m("i3", 3, "f2"), self._m("i4", 3, "i3", 18)]
        kept, removed = plan(ms, {"daily": 2, "weekly": 0, "monthly": 0})
        assert kept == ["i4", "i3", "f2"], "i3 is kept: i4 needs it"
        assert removed == ["i2", "i1", "f1"]
        kept, removed = plan(ms, {"daily": 3, "weekly": 0, "monthly": 0})
        assert removed == [] and len(kept) == 6, "i2 (day 1) keeps i1 and f1"
        with pytest.raises(Exception, match="needs a rule"):
            plan(ms, {"daily": 0, "weekly": 0, "monthly": 0})

    def test_prune_deletes_unused_objects_and_the_rest_restores(self, store, tmp_path):
        target = tmp_path / "target"
        old = create(target, "--type", "full")
        run("ingest", str(more_sessions(tmp_path, seed=41)), "--json")
        new = create(target, "--type", "full")
        (target / "objects" / "ab").mkdir(parents=True, exist_ok=True)
        (target / "objects" / "ab" / ".leftover.tmp-1-x").write_bytes(b"half")
        before = set(objects(target))
        out = run("backup", "prune", "--keep-daily", "1", "--target", str(target), "--json").json()
        assert out["kept"] == [new["backup_id"]] and out["removed"] == [old["backup_id"]]
        after = set(objects(target))
        gone = {p for p in before - after if ".tmp-" not in p.name}
        assert out["objects_deleted"] == len(gone) > 0
        assert not any(".tmp-" in p.name for p in after)
        assert run("backup", "verify", new["backup_id"], "--target", str(target), "--deep",
                   "--json").json()["ok"]


class TestSchedule:
    """schedule prints a cron line or systemd units that run `backup create`, and installs
    the units only where asked."""

    def test_cron_and_systemd(self, tmp_path, monkeypatch):
        out = run("backup", "schedule", "--target", "s3://b/p", "--at", "04:05", "--json").json()
        assert out["cron"].startswith("5 4 * * * ") and "backup create" in out["cron"]
        assert "--target s3://b/p" in out["cron"]
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        out = run("backup", "schedule", "--systemd", "--install", "--target", str(tmp_path / "b"),
                  "--json").json()
        timer = tmp_path / "xdg" / "systemd" / "user" / "memory-backup.timer"
        assert str(timer) in out["installed"] and "OnCalendar=*-*-* 03:17:00" in timer.read_text()
        r = run_proc("backup", "schedule", "--at", "25:00")
        assert r.code == 2 and "HH:MM" in r.stderr
