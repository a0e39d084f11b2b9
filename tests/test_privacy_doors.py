"""Every door applies the privacy levels through one function (privacy/levels.py): the local
CLI and MCP on the user's machine are the owner (everything as stored); on the REST API an
admin token, or one that sees the whole store, is the owner's, and a token restricted to
submodules is the team's: PRIVATE and EPHEMERAL are not served to it, TEAM has the sensitive
PII masked (cards, not emails), as export does. A TEAM and a PRIVATE session, each holding an
email and a card number; on both backends (`cli_backend`)."""

from __future__ import annotations

import json
import os
import sys
import uuid

import anyio
import pytest

from .api_support import bearer, client, token
from .conftest import run
from .privacy.backends import configure

EMAIL, CARD = "jo.doe@example.org", "4111 1111 1111 1111"
MARK = {"TEAM": "qzteamsharedwombat", "PRIVATE": "qzprivateownwombat"}


@pytest.fixture
def world(tmp_path, memory_home, cli_backend):
    configure(memory_home, cli_backend)
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "6")
    by_cwd: dict[str, object] = {}
    for path in sorted((root / "projects").rglob("*.jsonl")):
        cwd = next((json.loads(line)["cwd"] for line in path.read_text().splitlines()
                    if '"cwd"' in line), None)
        if cwd:
            by_cwd.setdefault(cwd, path)
    assert len(by_cwd) >= 2
    projects = dict(zip(("TEAM", "PRIVATE"), sorted(by_cwd), strict=False))
    for level, cwd in projects.items():
        path = by_cwd[cwd]
        lines = path.read_text().splitlines()  # type: ignore[attr-defined]
        last = json.loads(lines[-1])
        lines.append(json.dumps({**last, "uuid": str(uuid.uuid4()), "type": "user",
                                 "message": {"role": "user", "content":
                                             f"{MARK[level]}: mail {EMAIL}, card {CARD}"}}))
        path.write_text("\n".join(lines) + "\n")  # type: ignore[attr-defined]
    run("ingest", str(root))
    for level, cwd in projects.items():
        run("privacy", "set", cwd, level)
    run("submodule", "add", "both", *[a for cwd in projects.values() for a in ("--path", cwd)])
    sessions = {level: run("search", MARK[level], "--json").json()["results"][0]["session_id"]
                for level in projects}
    return memory_home, projects, sessions


def test_the_owner_sees_everything_as_stored_on_the_cli_and_mcp(world):
    home, projects, sessions = world
    for level, sid in sessions.items():
        text = json.dumps(run("show", "session", sid, "--json").json())
        assert EMAIL in text and CARD in text, level

    async def calls():
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=sys.executable, args=["-m", "coditect_memory", "mcp"],
                                       env={**os.environ, "MEMORY_HOME": str(home)})
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            return [await s.call_tool("get_session", {"session_id": sid, "limit": 100_000})
                    for sid in sessions.values()]

    for got in anyio.run(calls):
        text = json.dumps(got.structured_content)
        assert not got.is_error and EMAIL in text and CARD in text


def test_the_api_serves_a_team_token_only_what_its_level_allows(world):
    home, projects, sessions = world
    team, private = sessions["TEAM"], sessions["PRIVATE"]
    admin, everything, member = token(home, "admin"), token(home, "read"), token(home, "read", "both")
    with client(home) as c:
        for tok in (admin, everything):  # the owner's tokens: as stored
            for sid in (team, private):
                r = c.get(f"/api/v1/sessions/{sid}", headers=bearer(tok))
                assert r.status_code == 200 and EMAIL in r.text and CARD in r.text
        h = bearer(member)
        assert c.get(f"/api/v1/sessions/{private}", headers=h).status_code == 404
        r = c.get(f"/api/v1/sessions/{team}", headers=h)
        assert r.status_code == 200 and MARK["TEAM"] in r.text
        assert EMAIL in r.text and CARD not in r.text and "‹card" in r.text
        listed = c.get("/api/v1/sessions", headers=h, params={"limit": 500}).json()["sessions"]
        assert team in {s["session_id"] for s in listed} and private not in r.text
        assert all(s["project"] == projects["TEAM"] for s in listed)
        assert c.get("/api/v1/search", headers=h, params={"q": MARK["PRIVATE"]}).json()["total"] == 0
        found = c.get("/api/v1/search", headers=h, params={"q": MARK["TEAM"]})
        assert found.json()["total"] == 1 and CARD not in found.text
        msgs = c.get("/api/v1/messages", headers=h, params={"limit": 1000}).text
        assert MARK["TEAM"] in msgs and MARK["PRIVATE"] not in msgs and CARD not in msgs
        pack = c.get("/api/v1/context", headers=h,
                     params={"project": projects["TEAM"], "query": MARK["TEAM"]})
        assert pack.status_code == 200 and CARD not in pack.text
        md = c.get("/api/v1/context", headers=h, params={"project": projects["TEAM"],
                                                          "query": MARK["TEAM"], "format": "md"})
        assert md.status_code == 200 and CARD not in md.text
        assert c.get("/api/v1/context", headers=h,
                     params={"project": projects["PRIVATE"]}).status_code == 404
        run("privacy", "set", projects["TEAM"], "PRIVATE")  # a change is served at once
        assert c.get(f"/api/v1/sessions/{team}", headers=h).status_code == 404
        run("privacy", "set", projects["PRIVATE"], "PUBLIC")  # all PII masked, emails too
        r = c.get(f"/api/v1/sessions/{private}", headers=h)
        assert r.status_code == 200 and EMAIL not in r.text and CARD not in r.text
