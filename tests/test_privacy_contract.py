"""The contract of issue 14: after `memory ingest`, no planted credential, whole or any
8-character piece of it, is anywhere under $MEMORY_HOME (WAL and index segments included), in
search results, `show session --json`, `export`, a backup or what a restore writes; the
messages that held them are still there, masked.

Every test here runs on both backends (`cli_backend`); on PostgreSQL, "anywhere" is every
file under MEMORY_HOME (the keyword index, the key) and every row of every table."""

from __future__ import annotations

import json
from pathlib import Path

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
