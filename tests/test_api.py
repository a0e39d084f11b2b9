"""The REST API's contract: each route answers what the CLI's --json prints for the same
question, pages that hold while ingest writes, edits, errors in one shape, the cache.

Every test here runs on both backends (`module_backend`: one shared sample store per backend;
the tests that build their own store get a new database on PostgreSQL: `own_store`)."""

from __future__ import annotations

import pytest

from coditect_memory.ingest.lock import IngestLock

from .api_support import bearer, client, ingest_new_prompt, sample_home, token
from .conftest import run

pytestmark = pytest.mark.usefixtures("on_module_backend")


@pytest.fixture(scope="module")
def home(tmp_path_factory, module_backend):
    return sample_home(tmp_path_factory.mktemp("api"))[0]


@pytest.fixture(scope="module")
def api(home):
    with client(home) as c:
        c.headers.update(bearer(token(home, "admin")))
        yield c


@pytest.fixture
def cli_home(home, monkeypatch):
    monkeypatch.setenv("MEMORY_HOME", str(home))
    return home


def test_health_needs_no_token_and_counts(home, module_backend):
    with client(home) as c:
        r = c.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["store"]["kind"] == ("postgresql" if module_backend else "sqlite") and body["store"]["schema_version"] >= 8
    assert body["store"]["messages"] > 1000 and body["index"]["docs"] > 0


def test_search_is_the_cli_search(api, cli_home):
    r = api.get("/api/v1/search", params={"q": "error", "limit": 15, "facets": "true"})
    assert r.status_code == 200
    got = r.json()
    want = run("search", "error", "--limit", "15", "--facets", "--json").json()
    assert got["total"] == want["total"] > 0
    assert isinstance(got["took_ms"], float)
    assert [x["uid"] for x in got["results"]] == [x["uid"] for x in want["results"]]
    for x in got["results"]:
        assert x["session_id"] and x["source_file"] and isinstance(x["source_line"], int | None)
    assert got["facets"] == want["facets"]


def test_search_filters_as_query_parameters(api, cli_home):
    params = {"q": "test", "type": ["user", "assistant"], "sort": "newest", "limit": 7}
    got = api.get("/api/v1/search", params=params).json()
    want = run("search", "test", "--type", "user", "--type", "assistant", "--sort", "newest",
               "--limit", "7", "--json").json()
    assert [x["uid"] for x in got["results"]] == [x["uid"] for x in want["results"]]
    assert {x["type"] for x in got["results"]} <= {"user", "assistant"}


def test_sessions_pages_cover_every_session_once(api, cli_home):
    seen, cursor = [], None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/sessions", params=params).json()
        seen += [s["session_id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    status = run("status", "--json").json()
    assert len(seen) == len(set(seen)) == status["sessions"]


def test_one_session_is_the_cli_show_session(api, cli_home):
    sid = api.get("/api/v1/sessions", params={"limit": 1}).json()["sessions"][0]["session_id"]
    got = api.get(f"/api/v1/sessions/{sid}").json()
    want = run("show", "session", sid, "--json").json()
    assert got == want and len(got["messages"]) > 0


def test_patch_sets_title_and_tags_and_is_seen_at_once(api, home):
    first = api.get("/api/v1/sessions", params={"limit": 3}).json()["sessions"][2]
    sid = first["session_id"]
    api.get(f"/api/v1/sessions/{sid}")  # cached now
    r = api.patch(f"/api/v1/sessions/{sid}", json={"title": "Renamed by a person", "tags": ["b", "a"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"session_id": sid, "title": "Renamed by a person", "tags": ["a", "b"]}
    again = api.get(f"/api/v1/sessions/{sid}").json()  # not the stale cached answer
    assert again["title"] == "Renamed by a person" and again["tags"] == ["a", "b"]
    listed = api.get("/api/v1/sessions", params={"limit": 3}).json()["sessions"][2]
    assert listed["title"] == "Renamed by a person"
    reader = token(home, "read")
    r = api.patch(f"/api/v1/sessions/{sid}", json={"title": "x"}, headers=bearer(reader))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert api.patch(f"/api/v1/sessions/{sid}", json={}).status_code == 422
    assert api.patch(f"/api/v1/sessions/{sid}", json={"tags": "notalist"}).status_code == 422


def test_messages_pages_hold_while_ingest_writes(own_store, tmp_path, monkeypatch):
    home, root = sample_home(tmp_path, sessions=4)
    with client(home) as c:
        c.headers.update(bearer(token(home, "read")))
        first = c.get("/api/v1/messages", params={"limit": 500}).json()
        ids = [m["id"] for m in first["messages"]]
        # new lines land while the reader is between pages
        ingest_new_prompt(home, root, 1, "a line written between two pages")  # another door
        cursor = first["next_cursor"]
        while cursor:
            page = c.get("/api/v1/messages", params={"limit": 500, "cursor": cursor}).json()
            ids += [m["id"] for m in page["messages"]]
            cursor = page["next_cursor"] if page["messages"] else None
        monkeypatch.setenv("MEMORY_HOME", str(home))
        total = run("status", "--json").json()["messages"]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert len(ids) == total  # the new line too, nothing twice, nothing skipped


def test_messages_filters(api):
    sid = api.get("/api/v1/sessions", params={"limit": 1}).json()["sessions"][0]["session_id"]
    page = api.get("/api/v1/messages", params={"session": sid, "limit": 1000}).json()
    assert page["messages"] and {m["session_id"] for m in page["messages"]} == {sid}
    page = api.get("/api/v1/messages", params={"source": "history", "limit": 50}).json()
    assert {m["source_kind"] for m in page["messages"]} == {"history"}
    r = api.get("/api/v1/messages", params={"cursor": "!!not-ours"})
    assert r.status_code == 422 and "cursor" in r.json()["error"]["message"]


@pytest.mark.parametrize("name", ["project-activity", "timeline", "component-usage",
                                  "error-analysis", "usage", "extraction-progress"])
def test_reports_are_the_cli_reports(api, cli_home, name):
    got = api.get(f"/api/v1/reports/{name}")
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    assert got.json() == run("report", name, "--json").json()


def test_report_formats(api):
    for fmt, media, start in (("csv", "text/csv", ""), ("md", "text/markdown", "#"),
                              ("html", "text/html", "<!doctype html")):
        r = api.get("/api/v1/reports/project-activity", params={"format": fmt})
        assert r.status_code == 200 and r.headers["content-type"].startswith(media)
        assert r.text.lower().startswith(start) and len(r.text) > 200


def test_timeline_and_projects(api, cli_home):
    want = run("timeline", "--json").json()
    day = want["days"][0]["date"]
    got = api.get(f"/api/v1/timeline/{day}").json()
    assert got == run("timeline", day, "--json").json()
    projects = api.get("/api/v1/projects").json()
    owners = {p["path"]: p["submodule"] for p in projects}
    assert owners["/home/dev/work/billing-api/services/invoices"] == "invoices"  # longest match
    assert owners["/home/dev/work/auth-service"] == "work"
    assert owners["/home/dev/src/ml-pipeline"] == "src"


def test_errors_have_one_shape(api):
    for path, status in (("/api/v1/sessions/no-such-session", 404),
                         ("/api/v1/reports/no-such-report", 422),
                         ("/api/v1/search?limit=5000", 422), ("/api/v1/search?sort=sideways", 422),
                         ("/api/v1/search?since=not-a-date", 422),
                         ("/api/v1/timeline/not-a-day", 422), ("/api/v1/nothing-here", 404)):
        r = api.get(path)
        assert r.status_code == status, (path, r.text)
        body = r.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        assert "Traceback" not in r.text and "\n" not in body["error"]["message"]


def test_hostile_queries_are_safe(api):
    for q in ('"unclosed', "a AND OR NOT", "*", "field:", "\x00\x01", "x" * 1900, "((((((",
              "project:'; DROP TABLE messages; --"):
        r = api.get("/api/v1/search", params={"q": q})
        assert r.status_code in (200, 422), (q, r.text)
    assert api.get("/api/v1/health").json()["store"]["messages"] > 0


def test_ingest_is_409_while_another_runs(api, home):
    with IngestLock(home, 0):
        r = api.post("/api/v1/ingest")
    assert r.status_code == 409 and r.json()["error"]["code"] == "busy"


def test_ingest_runs_and_is_recorded(own_store, tmp_path, monkeypatch):
    home, root = sample_home(tmp_path, sessions=3)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    with client(home) as c:
        r = c.post("/api/v1/ingest", headers=bearer(token(home, "write")))
    assert r.status_code == 200, r.text
    assert r.json()["messages_new"] == 0 and r.json()["run_id"] >= 2


def test_cache_hits_and_a_cli_ingest_makes_it_fresh(own_store, tmp_path, monkeypatch):
    home, root = sample_home(tmp_path, sessions=3)
    with client(home) as c:
        c.headers.update(bearer(token(home, "admin")))
        before = c.get("/api/v1/search", params={"q": "zebracorn"}).json()
        assert before["total"] == 0
        c.get("/api/v1/search", params={"q": "zebracorn"})
        metrics = c.get("/api/v1/metrics").text
        assert 'memory_api_cache_total{result="hit"} 1.0' in metrics
        ingest_new_prompt(home, root, 2, "the zebracorn escaped")  # another door
        after = c.get("/api/v1/search", params={"q": "zebracorn"}).json()
    assert after["total"] == 1


def test_metrics_expose_the_store(api):
    text = api.get("/api/v1/metrics").text
    for name in ("memory_api_requests_total", "memory_api_request_seconds_bucket",
                 'memory_store_rows{what="messages"}', "memory_ingest_runs",
                 "memory_last_backup_age_seconds"):
        assert name in text


def test_openapi_and_docs(home):
    with client(home) as c:
        spec = c.get("/api/v1/openapi.json").json()
        assert c.get("/api/v1/docs").status_code == 200
    for path in ("/api/v1/search", "/api/v1/sessions", "/api/v1/sessions/{session_id}",
                 "/api/v1/messages", "/api/v1/projects", "/api/v1/reports/{name}",
                 "/api/v1/timeline/{date}", "/api/v1/backups", "/api/v1/backups/{backup_id}/verify",
                 "/api/v1/ingest", "/api/v1/metrics", "/api/v1/health"):
        assert path in spec["paths"], path
