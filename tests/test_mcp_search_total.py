"""MCP search's `total` counts only what the model is given: the matches of an EPHEMERAL
project or session are left out of the search itself, not hidden from its page afterwards
(a count of 120 over a page of 3 results tells a model what it may not read). Through a real
`memory mcp` subprocess, on both backends (`cli_backend`)."""

from __future__ import annotations

import json
import os
import sys

import anyio

from .conftest import run
from .privacy.backends import configure

QUERY = "the"


def _mcp_search(home, args: dict) -> dict:
    async def call():
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=sys.executable, args=["-m", "coditect_memory", "mcp"],
                                       env={**os.environ, "MEMORY_HOME": str(home)})
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            return await s.call_tool("search", args)

    res = anyio.run(call)
    assert not res.is_error, res.content
    return res.structured_content


def _total(*args: str) -> int:
    return run("search", QUERY, "--mode", "keyword", "--json", *args).json()["total"]


def test_mcp_search_total_leaves_out_ephemeral_projects_and_sessions(tmp_path, memory_home, cli_backend):
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "6")
    cwds = sorted({json.loads(line)["cwd"] for f in (root / "projects").rglob("*.jsonl")
                   for line in f.read_text().splitlines() if '"cwd"' in line})
    assert len(cwds) >= 2, cwds
    hidden_project = cwds[0]
    configure(memory_home, cli_backend, f'[privacy.levels]\n"{hidden_project}" = "EPHEMERAL"\n')
    run("ingest", str(root))
    owner = run("search", QUERY, "--mode", "keyword", "--json", "--project", cwds[1], "--limit", "1").json()
    hidden_session = owner["results"][0]["session_id"]
    run("privacy", "set", hidden_session, "ephemeral", "--session")

    everything = _total()
    in_project = _total("--project", hidden_project)
    in_session = _total("--session", hidden_session)
    assert everything > in_project > 0 and in_session > 0

    got = _mcp_search(memory_home, {"query": QUERY, "limit": 100})
    assert got["total"] == everything - in_project - in_session
    assert got["results"], "the visible matches are still found"
    assert all(r["project"] != hidden_project and r["session_id"] != hidden_session
               for r in got["results"])
    if got["total"] <= 100:  # the whole list fits in one page: the count is the list
        assert got["total"] == len(got["results"])
