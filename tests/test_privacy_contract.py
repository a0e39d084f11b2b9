"""The contract of issue 14: after `memory ingest`, no planted credential, whole or any
8-character piece of it, is anywhere under $MEMORY_HOME (WAL and index segments included), in
search results, `show session --json`, `export`, a backup or what a restore writes; the
messages that held them are still there, masked.

Every test here runs on both backends (`cli_backend`); on PostgreSQL, "anywhere" is every
file under MEMORY_HOME (the keyword index, the key) and every row of every table."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import run
from .privacy.backends import configure, database_url, db_leaks
from .privacy.corpus import SOURCE_KINDS, block, pieces, plant, secrets


def leaks(folder: Path, parts: set[str]) -> list[tuple[str, str]]:
    """(file, piece) for every piece found in any file under `folder` (bytes, lower-cased)."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        found += [(str(path), piece) for piece in parts if piece.encode() in data]
    return found


def stored_leaks(home: Path, parts: set[str]) -> list[tuple[str, str]]:
    """leaks() under `home`, and on PostgreSQL, in any row of any table of the store."""
    url = database_url()
    return leaks(home, parts) + (db_leaks(url, parts) if url else [])


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("claude")
    run("sample", str(root), "--sessions", "3")
    items = secrets()
    where = plant(root, block(items))
    return root, items, where


@pytest.fixture
def ingested(planted, memory_home, cli_backend):
    root, items, where = planted
    configure(memory_home, cli_backend)
    stats = run("ingest", str(root), "--json").json()
    assert stats["messages_new"] > 0
    return root, items, where


def session_of(where: dict[str, str]) -> str:
    return Path(where["prompt"]).stem


def test_no_planted_secret_is_anywhere_under_memory_home(ingested, memory_home, cli_backend):
    _, items, _ = ingested
    all_pieces = set().union(*(pieces(p.parts) for p in items))
    assert (memory_home / "memory.db").exists() == (cli_backend == "sqlite")
    assert any((memory_home / "index").rglob("*"))
    assert stored_leaks(memory_home, all_pieces) == []


def test_search_for_a_secret_finds_nothing_but_the_message_is_kept(ingested):
    _, items, _ = ingested
    for item in items:
        for part in item.parts:  # words over 40 characters are not indexed: a prefix of it
            out = run("search", f'"{part[:24]}"', "--json").json()
            assert out["total"] == 0, (item.kind, part)
    hits = run("search", "keep it safe", "--json").json()  # the words around a secret stay
    assert hits["total"] > 0


def test_show_session_and_export_show_the_masks(ingested, tmp_path):
    _, items, where = ingested
    shown = run("show", "session", session_of(where), "--json").stdout
    assert "sk-ant-…#" in shown and "AKIA…#" in shown and "-----…#" in shown
    exported = tmp_path / "out.jsonl"
    run("export", "--format", "jsonl", "--output", str(exported))
    text = exported.read_text()
    assert "sk-ant-…#" in text
    all_pieces = set().union(*(pieces(p.parts) for p in items))
    assert leaks(tmp_path, all_pieces) == []
    # one secret, one mask, wherever it appears (every source kind held the same block)
    masks = {line.split("ANTHROPIC_API_KEY=")[1][:15] for line in text.split("\\n")
             if "ANTHROPIC_API_KEY=" in line}
    assert len(masks) == 1, masks


def test_every_source_kind_kept_its_message_masked(ingested):
    _, _, where = ingested
    assert set(where) == set(SOURCE_KINDS)
    hits = run("search", '"ANTHROPIC_API_KEY"', "--json", "--limit", "100").json()
    kinds = {h["source_kind"] for h in hits["results"]}
    assert {"transcript", "history", "debug", "shell_snapshot", "session_env", "todo"} <= kinds


def test_backup_and_restore_hold_no_secret(ingested, tmp_path, memory_home):
    _, items, _ = ingested
    target, into = tmp_path / "backups", tmp_path / "restored"
    made = run("backup", "create", "--target", str(target), "--json").json()
    run("backup", "restore", made["backup_id"], "--target", str(target), "--into", str(into))
    all_pieces = set().union(*(pieces(p.parts) for p in items))
    assert leaks(target, all_pieces) == [] and leaks(into, all_pieces) == []
    assert (into / "memory.db").exists()


def test_keep_setting_stores_as_read(planted, memory_home, cli_backend):
    """[privacy] secrets = "keep" is the way out (and shows the test can fail: on PostgreSQL,
    the rows themselves hold it)."""
    root, items, _ = planted
    configure(memory_home, cli_backend, '[privacy]\nsecrets = "keep"\n')
    run("ingest", str(root), "--json")
    assert "messages" in {t for t, _ in stored_leaks(memory_home, pieces(items[0].parts))} \
        if database_url() else leaks(memory_home, pieces(items[0].parts)) != []


def test_masks_are_json_safe_and_keyed(ingested, memory_home):
    key = (memory_home / "privacy.key")
    assert key.stat().st_mode & 0o777 == 0o600
    out = run("search", "ANTHROPIC_API_KEY", "--json").json()
    assert json.dumps(out)  # the masks are plain text


def test_a_sync_push_sends_no_secret(planted, tmp_path):
    """What a sync push puts on the network (recorded by a relay in front of a real `memory
    serve`, its zstd batches decompressed) and what the server then stores hold no planted
    secret, whole or in pieces; the masked messages did go. (SQLite on both ends: the wire is
    the same whatever the server's backend.)"""
    import zstandard

    from .s3server import Relay
    from .sync_support import SyncServer, machine, memory

    class Recorder(Relay):
        def __init__(self, upstream_port: int) -> None:
            self.wire = bytearray()
            super().__init__(upstream_port)

        def _pipe(self, src: Any, dst: Any, upstream: bool) -> None:
            if not upstream:
                return super()._pipe(src, dst, upstream)
            try:
                while data := src.recv(65536):
                    with self.lock:
                        self.wire += data
                    dst.sendall(data)
            except OSError:
                pass

    def unzstd(data: bytes) -> bytes:
        out = bytearray()
        at = data.find(b"\x28\xb5\x2f\xfd")
        while at >= 0:
            with contextlib.suppress(zstandard.ZstdError):  # not a frame: magic bytes by chance
                out += zstandard.ZstdDecompressor().decompressobj().decompress(data[at:])
            at = data.find(b"\x28\xb5\x2f\xfd", at + 1)
        return bytes(out)

    root, items, _ = planted
    home = machine(tmp_path, "a", root)
    srv = SyncServer(tmp_path / "server").start()
    relay = Recorder(srv.port)
    try:
        token = srv.token()
        memory(home, "sync", "init", "--server", relay.url, "--token", token)
        pushed = memory(home, "sync", "push", "--json").json()
        assert pushed["batches"] > 0
        sent = bytes(relay.wire)
        plain = unzstd(sent)
        assert b"sk-ant-\xe2\x80\xa6#" in plain  # the masked messages went, decompressed here
        all_pieces = set().union(*(pieces(p.parts) for p in items))
        # the sync token is a JWT too: its header is every HS256 JWT's, the planted one's too
        wire = (sent + plain).replace(token.encode(), b"").lower()
        assert [p for p in all_pieces if p.encode() in wire] == []
        assert leaks(srv.home, all_pieces) == []
    finally:
        relay.cut()
        srv.stop()
