"""A big ingest builds the keyword index in a second process while it reads
(`search.indexer.Follower`): the index it leaves is the one an ingest that indexes after
the run leaves, on both backends, first run and incremental; a killed run leaves no process
behind and nothing wrong in the index, and the next run catches up."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from coditect_memory.actions.ingest import ingest
from coditect_memory.sample import generate
from coditect_memory.search import indexer
from coditect_memory.search.index import KeywordIndex, index_path
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .builders import append, conversation, line, processes, sid, transcript_path, uids
from .conftest import run
from .test_crash_safety import kill, make_dataset, start_ingest, stored_messages

ALONGSIDE = "[ingest]\nindex_alongside_mb = 0\n"  # every run, however small
AFTER = "[ingest]\nindex_alongside_mb = -1\n"  # never: indexed after the run, as before


def make_home(path: Path, config: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.toml").write_text(config)
    return path


def ingest_at(home: Path, root: Path, url: str, monkeypatch) -> dict[str, Any]:
    """The ingest action in this process, on the store at `home` (or the database `url`):
    what it said about the index."""
    monkeypatch.setenv("MEMORY_HOME", str(home))
    if url:
        monkeypatch.setenv("MEMORY_DATABASE_URL", url)
    settings = load_settings()
    with open_store(settings) as store:
        return ingest(store, settings, root).search["index"]


def index_dump(home: Path, url: str, monkeypatch) -> dict[str, Any]:
    """Everything a search can see: each document's id and fast fields, the documents of each
    facet value and of a few words, the watermark and the debug tails."""
    import tantivy as T

    monkeypatch.setenv("MEMORY_HOME", str(home))
    if url:
        monkeypatch.setenv("MEMORY_DATABASE_URL", url)
    settings = load_settings()
    with open_store(settings) as store:
        st = store.index_state(indexer.ENGINE)
        assert st is not None and st["index_id"]
        tails = sorted(store.tail_message_ids(store.files_read_since(0)))
        watermark = (st["done_id"], st["last_run_id"], st["docs"], store.max_message_id())
    ix = KeywordIndex(index_path(settings.search.index_dir, st["index_id"]))
    s = ix.searcher()

    def ids(query) -> list[int]:
        hits = s.search(query, limit=max(s.num_docs, 1), count=False).hits
        return sorted(s.fast_field_values("id", [a for _, a in hits]))

    everything = [a for _, a in s.search(T.Query.all_query(), limit=max(s.num_docs, 1)).hits]
    fields = {f: s.fast_field_values(f, everything) for f in ("id", "project", "skey", "ts")}
    docs = sorted(zip(*fields.values(), strict=True))
    facets = {(f, v): ids(T.Query.term_query(ix.schema, f, v))
              for f, v in (("kind", "history"), ("kind", "file_history"), ("kind", "transcript"),
                           ("kind", "debug"), ("type", "tool_result"), ("tool", "Bash"),
                           ("tool", "Read"), ("tool", "Edit"))}
    words = {w: ids(ix.ix.parse_query(w, ["text", "hi", "mid"]))
             for w in ("test", "error", "fix", "retry", "step")}
    return {"docs": docs, "facets": facets, "words": words, "watermark": watermark,
            "tails": tails, "num_docs": s.num_docs}


def grow(root: Path) -> None:
    """What a day adds: lines appended to a session, a new session, a history line."""
    first = sorted(root.glob("projects/*/*.jsonl"))[0]
    s = sid(77)
    append(first, b"".join(line(r) for r in conversation(s, 12, start=500)))
    new = transcript_path(root, sid(78), slug="-home-dev-newproj")
    new.parent.mkdir(parents=True, exist_ok=True)
    new.write_bytes(b"".join(line(r) for r in conversation(sid(78), 30, cwd="/home/dev/newproj")))
    append(root / "history.jsonl", line({"display": "step 3: please fix the failing test",
                                         "pastedContents": {}, "timestamp": 1763571606000,
                                         "project": "/home/dev/newproj", "sessionId": sid(78)}))


def test_built_alongside_equals_built_after(tmp_path, cli_backend, request, monkeypatch):
    root = tmp_path / "claude"
    generate(root, sessions=12, messages=3000, seed=5)
    urls = ["", ""]
    if cli_backend == "postgresql":  # two stores: two databases
        urls = [request.getfixturevalue("pg_server").database() for _ in range(2)]
    along = make_home(tmp_path / "along", ALONGSIDE)
    after = make_home(tmp_path / "after", AFTER)
    for step in ("first run", "incremental run"):
        said = ingest_at(along, root, urls[0], monkeypatch)
        assert said.get("alongside") and said["indexed"] > 0, (step, said)
        # it ran [search] alongside_nice (10) nicer than this process (capped at 19)
        assert said["nice"] == min(19, os.nice(0) + 10), said
        assert not ingest_at(after, root, urls[1], monkeypatch).get("alongside")
        a, b = index_dump(along, urls[0], monkeypatch), index_dump(after, urls[1], monkeypatch)
        assert a["num_docs"] > 1000 and a["facets"][("kind", "history")], step
        assert a == b, step
        grow(root)


def _followers(home: Path) -> list[int]:
    """The follower processes of ingests into `home`."""
    return processes(home, b"follow_main")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds processes in /proc")
def test_a_killed_ingest_leaves_no_follower_and_the_next_run_catches_up(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "claude", sessions=60, lines=80)
    home = make_home(tmp_path / "killed", ALONGSIDE)
    p = start_ingest(home, root)
    deadline = time.monotonic() + 60
    while stored_messages(home) == 0 and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _followers(home), "the run did not start its follower"
    assert kill(p), "the run ended before the kill"
    deadline = time.monotonic() + 15
    while _followers(home) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _followers(home), "the follower outlived the killed ingest"
    monkeypatch.setenv("MEMORY_HOME", str(home))
    hits = run("search", "step", "--json", "--limit", "1000").json()["results"]  # sync catches up
    assert hits and {h["uid"] for h in hits} <= uids(home)  # only rows the store has
    run("ingest", str(root), "--json")
    clean = make_home(tmp_path / "clean", AFTER)
    p = start_ingest(clean, root)
    p.communicate(timeout=120)
    assert p.returncode == 0
    killed, whole = index_dump(home, "", monkeypatch), index_dump(clean, "", monkeypatch)
    for part in ("docs", "facets", "words", "tails", "num_docs"):
        assert killed[part] == whole[part], part
    assert json.loads(run("status", "--json").stdout)["messages"] == whole["watermark"][3]


def test_the_store_says_what_derivation_changed(tmp_path, cli_backend):
    """The Store methods the follower reads (IndexFollowStore), on each backend."""
    root = tmp_path / "claude"
    s = sid(5)
    path = transcript_path(root, s)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line(r) for r in conversation(s, 6, cwd="/home/dev/app")))
    run("ingest", str(root), "--json")
    with open_store(load_settings()) as store:
        top = store.max_message_id()
        rows = [r for batch in store.derived_columns(0, top, batch=4) for r in batch]
        assert [r[0] for r in rows] == sorted(r[0] for r in rows) and len(rows) == 6
        assert [r[0] for b in store.derived_columns(rows[2][0], top) for r in b] == [r[0] for r in rows[3:]]
        project = store.session_project_ids([s, "no-such-session"])
        assert project[s] is not None and "no-such-session" not in project
        assert {r[1] for r in rows} == {True} and {r[2] for r in rows} == {project[s]}
        assert store.sessions_between(0, top) == {s} and not store.sessions_between(top, top + 5)
