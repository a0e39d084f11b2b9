"""`memory index --rebuild` leaves one file-versions marker row (`keyword-files:<index>`) in
search_state, the current index's: the rows of the indexes it replaced go with their folders."""

from __future__ import annotations

from coditect_memory.search import indexer
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .builders import conversation, sid, transcript_path, write_jsonl
from .conftest import ingest_json, run


def _index_id() -> str:
    with open_store(load_settings()) as store:
        st = store.index_state(indexer.ENGINE)
        assert st is not None and st["index_id"]
        return str(st["index_id"])


def _marker(index_id: str) -> bool:
    with open_store(load_settings()) as store:
        return store.index_state(indexer.files_engine(index_id)) is not None


def test_rebuild_keeps_only_the_current_marker(tmp_path, memory_home, cli_backend):
    root = tmp_path / "claude"
    write_jsonl(transcript_path(root, sid(1)), conversation(sid(1), 10))
    ingest_json(root)
    assert run("search", "step", "--json").code == 0  # the first search builds the index
    ids = [_index_id()]
    for _ in range(2):
        assert run("index", "--rebuild", "--json").json()["rebuilt"]
        ids.append(_index_id())
    assert len(set(ids)) == 3  # each rebuild a new index
    assert [_marker(i) for i in ids] == [False, False, True]


def test_drop_index_states_keeps_the_named_row(store):
    for name in ("keyword-files:a", "keyword-files:b", "keyword-files_x", "keyword@host"):
        store.put_index_state(name, "a", 1, 1, 0)
    assert store.drop_index_states("keyword-files:", keep="keyword-files:b") == 1
    assert [store.index_state(n) is not None for n in (
        "keyword-files:a", "keyword-files:b", "keyword-files_x", "keyword@host")] == [
        False, True, True, True]
