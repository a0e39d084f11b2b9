"""Who may see what: every endpoint against every kind of bad token (401, 403, never data),
and tokens scoped to submodules seeing only their projects everywhere.

Every test here runs on both backends (`module_backend`: one shared sample store per backend;
`test_submodule_cli` gets a new database of its own on PostgreSQL: `own_store`)."""

from __future__ import annotations

import time

import jwt
import pytest

from coditect_memory.actions import auth
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .api_support import bearer, client, sample_home, token
from .conftest import run, run_proc

pytestmark = pytest.mark.usefixtures("on_module_backend")

# (method, path, the least scope that may call it)
ENDPOINTS = [
    ("GET", "/api/v1/search?q=error", "read"),
    ("GET", "/api/v1/sessions", "read"),
    ("GET", "/api/v1/sessions/{sid}", "read"),
    ("PATCH", "/api/v1/sessions/{sid}", "write"),
    ("DELETE", "/api/v1/sessions/{sid}?gdpr_request=true", "admin"),
    ("GET", "/api/v1/messages", "read"),
    ("GET", "/api/v1/projects", "read"),
    ("GET", "/api/v1/reports/project-activity", "read"),
    ("GET", "/api/v1/timeline/{day}", "read"),
    ("GET", "/api/v1/backups", "read"),
    ("POST", "/api/v1/backups", "admin"),
    ("POST", "/api/v1/backups/nothing/verify", "admin"),
    ("POST", "/api/v1/ingest", "write"),
    ("GET", "/api/v1/metrics", "metrics"),
    ("GET", "/api/v1/context?project=auth-service", "read"),
    ("GET", "/api/v1/memories", "read"),
    ("GET", "/api/v1/memories/1", "read"),
    ("POST", "/api/v1/memories", "write"),
    ("POST", "/api/v1/patterns/search", "read"),
    ("GET", "/api/v1/checkpoints", "read"),
    ("GET", "/api/v1/checkpoints/c0", "read"),
    ("POST", "/api/v1/checkpoints", "write"),
    ("POST", "/api/v1/sync/push?machine=m1", "write"),
    ("GET", "/api/v1/sync/pull?machine=m1", "read"),
    ("POST", "/api/v1/sync/tombstones?machine=m1", "write"),
    ("GET", "/api/v1/sync/tombstones?machine=m1", "read"),
    ("GET", "/api/v1/sync/status", "read"),
    ("POST", "/api/v1/sync/mutable/push?machine=m1", "write"),
    ("GET", "/api/v1/sync/mutable/pull?machine=m1", "read"),
]
TOO_LOW = {"read": "metrics", "write": "read", "admin": "write", "metrics": "read"}


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_backend):
    home, _ = sample_home(tmp_path_factory.mktemp("auth"))
    settings = load_settings(home)
    tokens = {scope: token(home, scope) for scope in auth.SCOPES}
    tokens["expired"] = token(home, "admin", ttl="1s")
    tokens["revoked"] = token(home, "admin")
    with open_store(settings) as store:
        rid = jwt.decode(tokens["revoked"], options={"verify_signature": False})["jti"]
        auth.revoke(store, rid)
    tokens["forged"] = jwt.encode({"jti": "x", "sub": "evil", "scope": "admin", "subm": [],
                                   "iat": int(time.time())}, b"not-the-secret" * 3, algorithm="HS256")
    tokens["src"] = token(home, "admin", "src")
    tokens["invoices"] = token(home, "read", "invoices")
    time.sleep(1.2)  # the 1 s token has expired
    with client(home) as c:
        c.headers.update(bearer(tokens["admin"]))
        sessions = c.get("/api/v1/sessions", params={"limit": 500}).json()["sessions"]
        day = c.get("/api/v1/timeline/" + sessions[0]["started_at"][:10]).json()["days"][0]["date"]
        yield c, home, tokens, sessions, day


def _call(c, method, path, tok, sessions, day):
    sid = next(s["session_id"] for s in sessions if s["project"].startswith("/home/dev/work/"))
    url = path.format(sid=sid, day=day)
    headers = {} if tok is None else bearer(tok) if not tok.startswith("RAW ") else {"Authorization": tok[4:]}
    kw = {"json": {"title": "x"}} if method == "PATCH" else {}
    return c.request(method, url, headers=headers, **kw)


def _no_data(r) -> None:
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}


@pytest.mark.parametrize("method,path,need", ENDPOINTS)
@pytest.mark.parametrize("who", ["none", "malformed", "basic", "forged", "expired", "revoked"])
def test_bad_tokens_are_401(world, method, path, need, who):
    c, _, tokens, sessions, day = world
    tok = {"none": None, "malformed": "RAW Bearer not.a.jwt", "basic": "RAW Basic dXNlcjpwYXNz",
           "forged": tokens["forged"], "expired": tokens["expired"],
           "revoked": tokens["revoked"]}[who]
    c.headers.pop("Authorization", None)
    try:
        r = _call(c, method, path, tok, sessions, day)
    finally:
        c.headers.update(bearer(tokens["admin"]))
    assert r.status_code == 401, r.text
    assert r.headers.get("www-authenticate") == "Bearer"
    _no_data(r)


@pytest.mark.parametrize("method,path,need", ENDPOINTS)
def test_too_low_a_scope_is_403(world, method, path, need):
    c, _, tokens, sessions, day = world
    r = _call(c, method, path, tokens[TOO_LOW[need]], sessions, day)
    assert r.status_code == 403, r.text
    _no_data(r)


def test_revoking_takes_effect_on_the_next_request(world):
    c, home, _, _, _ = world
    tok = token(home, "read")
    assert c.get("/api/v1/projects", headers=bearer(tok)).status_code == 200
    run_home = {"MEMORY_HOME": str(home)}
    tid = jwt.decode(tok, options={"verify_signature": False})["jti"]
    mp = pytest.MonkeyPatch()
    mp.setenv("MEMORY_HOME", run_home["MEMORY_HOME"])
    try:
        assert run("auth", "revoke", tid, "--json").json() == {"id": tid, "revoked": True}
        listed = {t["id"]: t for t in run("auth", "list", "--json").json()}
    finally:
        mp.undo()
    assert listed[tid]["revoked_at"] is not None
    r = c.get("/api/v1/projects", headers=bearer(tok))
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]


# --- submodules --------------------------------------------------------------------------

def _mine(project: str | None, prefixes: tuple[str, ...]) -> bool:
    return project is not None and project.startswith(prefixes)


def test_scoped_token_sees_only_its_projects_everywhere(world):
    c, _, tokens, sessions, day = world
    h = bearer(tokens["src"])
    src = ("/home/dev/src/", "/home/dev/oss/")
    everything = c.get("/api/v1/search", params={"q": "error", "limit": 200, "facets": "true"}).json()
    scoped = c.get("/api/v1/search", params={"q": "error", "limit": 200, "facets": "true"},
                   headers=h).json()
    assert 0 < scoped["total"] < everything["total"]
    assert scoped["results"] and all(_mine(x["project"], src) for x in scoped["results"])
    assert sum(scoped["facets"]["source_kind"].values()) == scoped["total"]
    for name in scoped["facets"]["project"]:
        assert not name.startswith("/home/dev/work") and name not in ("invoices", "auth-service")
    listed = c.get("/api/v1/sessions", params={"limit": 500}, headers=h).json()["sessions"]
    assert listed and all(_mine(s["project"], src) for s in listed)
    assert len(listed) == sum(_mine(s["project"], src) for s in sessions)
    msgs = c.get("/api/v1/messages", params={"limit": 1000}, headers=h).json()["messages"]
    assert msgs and all(_mine(m["project"], src) for m in msgs)
    projects = c.get("/api/v1/projects", headers=h).json()
    assert projects and {p["submodule"] for p in projects} == {"src"}
    rows = c.get("/api/v1/reports/project-activity", headers=h).json()["rows"]
    assert rows and all(_mine(r["project"], src) for r in rows)
    timeline = c.get(f"/api/v1/timeline/{day}", headers=h).json()
    assert all(_mine(r["project"], src) for r in timeline["rows"])


def test_another_submodules_session_is_404(world):
    c, _, tokens, sessions, _ = world
    other = next(s["session_id"] for s in sessions if s["project"].startswith("/home/dev/work/"))
    for path in (f"/api/v1/sessions/{other}", f"/api/v1/sessions/{other[:4]}",
                 f"/api/v1/reports/session?session={other}"):
        r = c.get(path, headers=bearer(tokens["src"]))
        assert r.status_code == 404, (path, r.text)
        _no_data(r)
        assert other not in r.text or path.endswith(other)  # nothing of it but what was asked
    r = c.patch(f"/api/v1/sessions/{other}", json={"title": "mine now"}, headers=bearer(tokens["src"]))
    assert r.status_code == 404
    assert c.get("/api/v1/sessions", params={"project": "/home/dev/work/auth-service"},
                 headers=bearer(tokens["src"])).status_code == 404
    assert c.get("/api/v1/reports/project-activity", params={"project": "auth-service"},
                 headers=bearer(tokens["src"])).status_code == 404


def test_the_longest_prefix_decides(world):
    c, _, tokens, _, _ = world
    h = bearer(tokens["invoices"])
    projects = c.get("/api/v1/projects", headers=h).json()
    assert [p["path"] for p in projects] == ["/home/dev/work/billing-api/services/invoices"]
    res = c.get("/api/v1/search", params={"q": "the", "limit": 100}, headers=h).json()
    assert all(x["project"] == projects[0]["path"] for x in res["results"])


def test_scoped_writes_record_who(world):
    c, home, tokens, sessions, _ = world
    mine = next(s["session_id"] for s in sessions if s["project"].startswith("/home/dev/src/"))
    r = c.patch(f"/api/v1/sessions/{mine}", json={"tags": ["reviewed"]}, headers=bearer(tokens["src"]))
    assert r.status_code == 200 and r.json()["tags"] == ["reviewed"]
    with open_store(load_settings(home), readonly=True) as store:
        cur = store.db.execute("SELECT updated_by, submodule FROM session_notes WHERE session_id = ?",  # type: ignore[attr-defined]
                               (mine,)).fetchone()
        audit = store.db.execute("SELECT token_name, submodule, action FROM api_writes"  # type: ignore[attr-defined]
                                 " ORDER BY id DESC LIMIT 1").fetchone()
    assert tuple(cur) == ("test-admin", "src")
    assert tuple(audit) == ("test-admin", "src", "patch-session")
    # a scoped token may not back up everything
    assert c.post("/api/v1/backups", headers=bearer(tokens["src"])).status_code == 403
    assert c.get("/api/v1/reports/extraction-progress", headers=bearer(tokens["src"])).status_code == 403


def test_token_cli(world, monkeypatch):
    _, home, _, _, _ = world
    monkeypatch.setenv("MEMORY_HOME", str(home))
    out = run("auth", "token", "--name", "ci", "--scope", "read", "--submodule", "src",
              "--ttl", "12h", "--json").json()
    assert set(out) >= {"token", "id"} and out["submodules"] == ["src"]
    assert (home / "api-secret").stat().st_mode & 0o777 == 0o600
    assert out["token"] not in (home / "api-secret").read_text()
    bad = run_proc("auth", "token", "--name", "x", "--scope", "read", "--ttl", "soon")
    assert bad.code == 2 and "--ttl" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_proc("auth", "token", "--name", "x", "--scope", "read", "--submodule", "nope")
    assert bad.code == 4 and "submodule" in bad.stderr
    assert run_proc("auth", "revoke", "nope").code == 4


def test_submodule_cli(own_store, tmp_path, monkeypatch):
    monkeypatch.setenv("MEMORY_HOME", str(tmp_path / "h"))
    run("submodule", "add", "app", "--path", "/work/app/", "--path", "/srv/app",
        "--git-url", "git@example.com:app.git")
    rows = run("submodule", "list", "--json").json()
    assert rows[0]["name"] == "app" and rows[0]["paths"] == ["/srv/app", "/work/app"]
    assert run_proc("submodule", "add", "x", "--path", "relative").code == 2
    assert run("submodule", "remove", "app", "--json").json() == {"name": "app", "removed": True}
    assert run_proc("submodule", "remove", "app").code == 4
    assert run("submodule", "list", "--json").json() == []
