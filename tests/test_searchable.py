"""Everything Claude Code leaves is searchable (issue 18, item 3): file versions with their
real path, version and session, plans, todos and tasks, shell snapshots and session env, each
with its source kind as a facet, through every door (CLI, REST API, MCP, TUI); an index built
before file versions were indexed catches up without a rebuild; forget removes them.

Every test runs on both backends (`module_backend`: one store per backend; the tests that
change their store build their own: `own_store`)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import anyio
import pytest

from coditect_memory.actions.search import SearchRequest, search
from coditect_memory.errors import NotFound
from coditect_memory.search import indexer
from coditect_memory.search.index import KeywordIndex
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.tui import model

from . import builders as b
from .api_support import bearer, client, token
from .conftest import ingest_into, run, run_proc
from .test_mcp import _session

pytestmark = pytest.mark.usefixtures("on_module_backend")

S = b.sid(401)
PATH = "/home/dev/webapp/src/handler.py"
KEY = "aaaa1111bbbb2222"  # the backup's hash: every version of handler.py shares it
OLD = "def handle():\n    for attempt in range(3):  # zorblax retry loop\n        call()\n"
NEW = "def handle():\n    return call()\n"
# marker word -> (source kind, type) of the file that holds it
KINDS = {"plantmarker": ("plan", "plan"), "todomarker": ("todo", "todos"),
         "taskmarker": ("todo", "task"), "shellmarker": ("shell_snapshot", "shell_snapshot"),
         "envmarker": ("session_env", "session_env"), "zorblax": ("file_history", "file_version")}


def write_claude(root: Path) -> Path:
    """A small ~/.claude: one session that edited handler.py twice (two versions, the older
    with the retry loop), a binary file version, one past the indexed size, and one file of
    every other whole-file kind."""
    snap = {"type": "file-history-snapshot", "messageId": b.uid_of(S, 9), "isSnapshotUpdate": False,
            "snapshot": {"messageId": b.uid_of(S, 9), "timestamp": b.stamp(9),
                         "trackedFileBackups": {PATH: {"backupFileName": f"{KEY}@v2", "version": 2,
                                                       "backupTime": b.stamp(9)}}}}
    b.write_jsonl(b.transcript_path(root, S), [*b.conversation(S, 4), snap])
    fh = root / "file-history" / S
    fh.mkdir(parents=True)
    (fh / f"{KEY}@v1").write_text(OLD)
    (fh / f"{KEY}@v2").write_text(NEW)
    (fh / "cccc3333dddd4444@v1").write_bytes(b"\x00\x01binary\x00" * 10)
    (fh / "eeee5555ffff6666@v1").write_text("nearwordquux\n" + "filler line\n" * 10_000 + "farwordquux\n")
    (root / "plans").mkdir()
    (root / "plans" / "brave-green-otter.md").write_text("# Plan\nmigrate the plantmarker table\n")
    (root / "todos").mkdir()
    (root / "todos" / f"{S}-agent-{S}.json").write_text(json.dumps(
        [{"content": "todomarker write the tests", "status": "pending", "activeForm": "Writing"}]))
    (root / "tasks" / S).mkdir(parents=True)
    (root / "tasks" / S / "1.json").write_text(json.dumps(
        {"id": "1", "subject": "taskmarker subject", "description": "do it", "status": "pending",
         "blocks": [], "blockedBy": []}))
    (root / "shell-snapshots").mkdir()
    (root / "shell-snapshots" / "snapshot-zsh-1760000000000-abc123.sh").write_text("alias shellmarker='ls -la'\n")
    (root / "session-env" / S).mkdir(parents=True)
    (root / "session-env" / S / "sessionstart-hook-0.sh").write_text("export ENVMARKER=1\n")
    return root


@pytest.fixture(scope="module")
def home(tmp_path_factory, module_backend) -> Path:
    root = write_claude(tmp_path_factory.mktemp("claude"))
    home = tmp_path_factory.mktemp("home")
    assert ingest_into(home, root)["errors"] == 0
    return home


@pytest.fixture
def cli_home(home, monkeypatch) -> Path:
    monkeypatch.setenv("MEMORY_HOME", str(home))
    return home


def found(*args: str) -> dict:
    return run("search", *args, "--json").json()


def test_every_kind_is_found_with_its_kind_as_a_facet(cli_home):
    for word, (kind, rtype) in KINDS.items():
        out = found(word, "--source", kind)
        assert out["total"] == 1, (word, out)
        assert (out["results"][0]["source_kind"], out["results"][0]["type"]) == (kind, rtype)
        assert found(word)["total"] == 1  # without the filter too
        assert found(word, "--source", "debug")["total"] == 0
    facets = found(" OR ".join(KINDS), "--facets")["facets"]["source_kind"]
    assert facets == {"file_history": 1, "todo": 2, "plan": 1, "shell_snapshot": 1, "session_env": 1}
    assert "one of transcript" in found("zorblax", "--source", "files")["notes"][0]


def test_the_old_version_of_a_file_names_its_path_version_and_session(cli_home):
    [hit] = found("zorblax", "--source", "file_history")["results"]
    assert (hit["file_path"], hit["file_version"], hit["session_id"]) == (PATH, 1, S)
    assert "zorblax" in hit["snippet"] and hit["open"] == f"memory show version {hit['uid']}"
    versions = found("handler.py", "--source", "file_history")["results"]  # the path's words
    assert sorted(r["file_version"] for r in versions) == [1, 2]
    assert all(r["file_path"] == PATH for r in versions)
    assert all(r["file_path"] is None and r["file_version"] is None for r in found("fix")["results"])
    table = run("search", "zorblax", "--source", "file_history").stdout
    assert f"{PATH} @v1 · session {S[:8]}" in table and f"memory show version {hit['uid']}" in table
    rows = list(csv.DictReader(io.StringIO(run("search", "zorblax", "--source", "file_history", "--csv").stdout)))
    assert [(r["file_path"], r["file_version"]) for r in rows] == [(PATH, "1")]
    assert run("show", "version", hit["uid"]).stdout == OLD  # piped: the content alone
    shown = run("show", "version", hit["uid"], "--json").json()
    assert shown == {"uid": hit["uid"], "session_id": S, "file_path": PATH, "file_version": 1,
                     "backup": f"{KEY}@v1", "size": len(OLD), "binary": False, "content": OLD}
    with pytest.raises(NotFound, match="memory search --source file_history") as e:
        run("show", "version", "no-such-uid")
    assert e.value.exit_code == 4


def test_a_binary_version_is_found_by_name_and_a_huge_one_up_to_the_cap(cli_home):
    [binary] = found("cccc3333dddd4444", "--source", "file_history")["results"]
    assert binary["file_path"] is None and binary["snippet"] == ""
    assert run("show", "version", binary["uid"], "--json").json()["binary"] is True
    assert found("nearwordquux")["total"] == 1
    assert found("farwordquux")["total"] == 0  # past the first 100 kB: kept, not indexed
    [huge] = found("nearwordquux")["results"]
    assert run("show", "version", huge["uid"]).stdout.endswith("farwordquux\n")


def test_the_api_mcp_and_tui_show_the_new_kinds(home, cli_home):
    with client(home) as c:
        c.headers.update(bearer(token(home, "admin")))
        got = c.get("/api/v1/search", params={"q": "zorblax", "source": "file_history"}).json()
    assert got == found("zorblax", "--source", "file_history") | {"took_ms": got["took_ms"]}
    assert got["results"][0]["file_path"] == PATH and got["results"][0]["file_version"] == 1
    _, hits = anyio.run(_session, home, [("search", {"query": "zorblax OR shellmarker",
                                                      "source": "file_history"})])
    [hit] = hits.structured_content["results"]
    assert (hit["file_path"], hit["file_version"], hit["session_id"]) == (PATH, 1, S)
    with open_store(load_settings(home), readonly=True) as store:
        q = model.Query(text=" OR ".join(KINDS))
        res = search(store, load_settings(home), q.request())
        rows = {(f, v) for f, v, _, _ in model.facet_rows(res.facets, q.chosen)}
        assert {("source_kind", k) for k, _ in KINDS.values()} <= rows
        q.toggle("source_kind", "file_history")
        assert [r["type"] for r in search(store, load_settings(home), q.request()).results] == ["file_version"]


def own_home(tmp_path: Path) -> Path:
    root = write_claude(tmp_path / "claude")
    home = tmp_path / "home"
    assert ingest_into(home, root)["errors"] == 0
    return home


def test_an_index_built_before_catches_up_without_a_rebuild(own_store, tmp_path, monkeypatch):
    """An index that has no file versions and no record of them (what an index built before
    they were indexed is) gets them on the next search, with progress, in the same folder."""
    home = own_home(tmp_path)
    settings = load_settings(home)
    with open_store(settings) as store:
        ix, state = indexer.current_index(store, settings.search.index_dir, indexer.SearchCache())
        assert ix is not None and state is not None
        indexer.forget(store, settings.search.index_dir, store.file_version_ids(0, state["done_id"]))
        with store.tx() as db:
            db.execute("DELETE FROM search_state WHERE engine = ?", (indexer.files_engine(state["index_id"]),))
        zorblax = SearchRequest(query="zorblax", source=["file_history"])
        assert indexer.behind(store, store.index_state(indexer.ENGINE))
        steps: list[tuple[int, int]] = []
        out = search(store, settings, zorblax, progress=lambda done, total: steps.append((done, total)))
        assert out.total == 1 and out.results[0]["file_path"] == PATH
        assert steps and steps[-1] == (4, 4)  # the four file versions
        after = store.index_state(indexer.ENGINE)
        assert after is not None and after["index_id"] == state["index_id"]  # not rebuilt
        assert not indexer.behind(store, after)
        steps.clear()
        assert search(store, settings, zorblax, progress=lambda d, t: steps.append((d, t))).total == 1
        assert steps == []  # once


@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
def test_forget_removes_the_file_versions_of_a_session(own_store, tmp_path, monkeypatch, hard):
    home = own_home(tmp_path)
    monkeypatch.setenv("MEMORY_HOME", str(home))
    [hit] = found("zorblax", "--source", "file_history")["results"]
    run("forget", "--session", S, "--yes", *(["--hard"] if hard else []))
    assert found("zorblax")["total"] == 0 and found("handler.py", "--source", "file_history")["total"] == 0
    assert found("shellmarker")["total"] == 1  # not the session's: kept
    with pytest.raises(NotFound):
        run("show", "version", hit["uid"])
    [path] = (home / "index").glob("keyword-*")
    assert bool(KeywordIndex(path).searcher().terms_with_prefix("text", "zorblax")) is not hard


def test_an_unknown_version_is_one_line_that_says_what_to_run(cli_home):
    out = run_proc("show", "version", "no-such-uid")
    assert out.code == 4 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [
        "memory: error: no file version 'no-such-uid': `memory search --source file_history` finds them"]
