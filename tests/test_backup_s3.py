"""Backups on S3: a real S3-protocol server (moto_server) on loopback, reached through
boto3 exactly as an S3-compatible store would be."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from .conftest import run, run_proc
from .s3server import CREDENTIALS, MotoServer, Relay
from .test_backup_support import build_store, install_store, more_sessions, status_at


@pytest.fixture(scope="module")
def s3():
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("s3-store"))


@pytest.fixture
def store(template, memory_home, monkeypatch) -> Path:
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("MEMORY_S3_ENDPOINT", raising=False)
    install_store(template, memory_home)
    return memory_home


@pytest.fixture
def bucket(s3) -> str:
    name = f"b{secrets.token_hex(6)}"
    s3.make_bucket(name)
    return name


class TestS3RoundTrip:
    """Full and incremental backups to s3://bucket/prefix list, verify and restore to the
    store as it was; the endpoint comes from --endpoint-url or MEMORY_S3_ENDPOINT."""

    def test_full_and_incremental(self, store, s3, bucket, tmp_path, monkeypatch):
        target = f"s3://{bucket}/memory/laptop"
        full = run("backup", "create", "--type", "full", "--target", target, "--endpoint-url",
                   s3.url, "--json").json()
        at_full = run("status", "--json").json()
        keys = s3.keys(bucket)
        assert f"memory/laptop/manifests/{full['backup_id']}.json" in keys
        assert all(k.startswith("memory/laptop/") for k in keys)
        run("ingest", str(more_sessions(tmp_path, seed=61)), "--json")
        monkeypatch.setenv("MEMORY_S3_ENDPOINT", s3.url)
        inc = run("backup", "create", "--target", target, "--json").json()
        assert inc["type"] == "incremental" and inc["bytes"] < full["bytes"]
        rows = run("backup", "list", "--target", target, "--json").json()
        assert [(r["backup_id"], r["parent"]) for r in rows] == \
            [(full["backup_id"], None), (inc["backup_id"], full["backup_id"])]
        v = run("backup", "verify", inc["backup_id"], "--target", target, "--deep", "--json").json()
        assert v["ok"] and v["problems"] == []
        run("backup", "restore", inc["backup_id"], "--target", target, "--into", str(tmp_path / "r"))
        assert status_at(tmp_path / "r") == run("status", "--json").json()
        run("backup", "restore", full["backup_id"], "--target", target, "--into", str(tmp_path / "f"))
        assert status_at(tmp_path / "f") == at_full

    @pytest.mark.fault("backup: damaged object (byte flipped, truncated), then verify, restore, create")
    def test_encrypted_and_damaged(self, store, s3, bucket, tmp_path, monkeypatch):
        monkeypatch.setenv("MEMORY_BACKUP_KEY", "s3 secret")
        monkeypatch.setenv("MEMORY_S3_ENDPOINT", s3.url)
        target = f"s3://{bucket}/enc"
        made = run("backup", "create", "--target", target, "--json").json()
        assert made["encrypted"]
        m = json.loads(s3.client().get_object(Bucket=bucket, Key=f"enc/manifests/{made['backup_id']}.json")["Body"].read())
        oid = m["segments"][0][2]
        key = f"enc/objects/{oid[:2]}/{oid}"
        data = bytearray(s3.client().get_object(Bucket=bucket, Key=key)["Body"].read())
        data[-1] ^= 1
        s3.client().put_object(Bucket=bucket, Key=key, Body=bytes(data))
        r = run_proc("backup", "verify", made["backup_id"], "--target", target, "--json")
        assert r.code == 13 and oid in json.loads(r.stdout)["problems"][0]
        r = run_proc("backup", "restore", made["backup_id"], "--target", target, "--into",
                     str(tmp_path / "r"))
        assert r.code == 13 and oid in r.stderr
        # the next backup's record trusts the objects it wrote, until their ETag changes
        again = run("backup", "create", "--target", target, "--json").json()
        assert again["type"] == "full" and oid in again["notes"][0]
        assert any("written again" in n for n in again["notes"]), again["notes"]
        assert run("backup", "verify", again["backup_id"], "--target", target, "--deep",
                   "--json").json()["ok"]

    def test_missing_bucket_is_one_line(self, store, s3):
        r = run_proc("backup", "create", "--target", "s3://no-such-bucket-here/x",
                     "--endpoint-url", s3.url)
        assert r.code == 15 and "no-such-bucket-here" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


class TestServerGoesAway:
    """The S3 server going away mid-upload: a clear error (exit 15), nothing committed, the
    earlier backups intact, and a later run succeeds."""

    @pytest.mark.fault("backup: S3 connection cut mid-upload")
    def test_cut_mid_upload(self, store, s3, bucket, tmp_path):
        target = f"s3://{bucket}/p"
        first = run("backup", "create", "--target", target, "--endpoint-url", s3.url, "--json").json()
        run("ingest", str(more_sessions(tmp_path, seed=71, sessions=6)), "--json")
        relay = Relay(s3.port, cut_after=150_000)
        r = run_proc("backup", "create", "--type", "full", "--target", target,
                     "--endpoint-url", relay.url, timeout=120)
        assert relay.cut_done.is_set(), "the relay was never cut: nothing was tested"
        assert r.code == 15, r.stderr
        assert "nothing was committed" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        rows = run("backup", "list", "--target", target, "--endpoint-url", s3.url, "--json").json()
        assert [b["backup_id"] for b in rows] == [first["backup_id"]]
        assert run("backup", "verify", first["backup_id"], "--target", target, "--endpoint-url",
                   s3.url, "--json").json()["ok"]
        again = run("backup", "create", "--type", "full", "--target", target, "--endpoint-url",
                    s3.url, "--json").json()
        v = run("backup", "verify", again["backup_id"], "--target", target, "--endpoint-url",
                s3.url, "--deep", "--json").json()
        assert v["ok"], v["problems"]
