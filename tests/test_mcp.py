"""`memory mcp` over stdio, driven by the SDK's own client against a real subprocess.

The tools' calls (search, recall, remember, context) run on both backends (`cli_backend`);
the read-only listing and install run once."""

from __future__ import annotations

import os
import sys

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from .conftest import ingest_json, run
from .memeval import build


async def _session(home, calls):
    params = StdioServerParameters(command=sys.executable, args=["-m", "coditect_memory", "mcp"],
                                   env={**os.environ, "MEMORY_HOME": str(home)})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        out = [init]
        for name, args in calls:
            if name == "tools/list":
                out.append(await session.list_tools())
            else:
                out.append(await session.call_tool(name, args))
        return out


def test_initialize_list_and_search_name_their_sessions(cli_backend, tmp_path, memory_home) -> None:
    ingest_json(build(tmp_path / "claude").root)
    run("index")
    init, tools, found, recalled, missing, remembered, pack = anyio.run(_session, memory_home, [
        ("tools/list", None), ("search", {"query": "advisory locks"}),
        ("recall", {"query": "uv", "type": "preference"}),
        ("get_session", {"session_id": "no-such-session"}),
        ("remember", {"text": "Staging is reset every Monday", "project": "webapp", "pin": True}),
        ("context", {"project": "webapp", "budget": 400})])
    assert init.server_info.name == "coditect-memory"
    names = {t.name for t in tools.tools}
    assert {"search", "get_session", "timeline", "context", "recall", "related", "remember"} <= names
    assert not found.is_error
    results = found.structured_content["results"]
    assert results and all(r["session_id"] for r in results)
    assert "advisory locks" in results[0]["snippet"].lower()
    assert not recalled.is_error and "uv" in str(recalled.structured_content).lower()
    assert missing.is_error and "no session" in missing.content[0].text
    assert remembered.structured_content["pinned"] is True
    ctx = pack.structured_content
    assert ctx["tokens"] <= 400 and "Staging is reset every Monday" in ctx["markdown"]


def test_read_only_has_no_remember(tmp_path, memory_home) -> None:
    ingest_json(build(tmp_path / "claude").root)

    async def tools():
        params = StdioServerParameters(command=sys.executable,
                                       args=["-m", "coditect_memory", "mcp", "--read-only"],
                                       env={**os.environ, "MEMORY_HOME": str(memory_home)})
        async with stdio_client(params) as (r, w), ClientSession(r, w) as s:
            await s.initialize()
            return {t.name for t in (await s.list_tools()).tools}

    names = anyio.run(tools)
    assert "search" in names and "remember" not in names


def test_mcp_install_registers_and_keeps_the_rest(tmp_path, monkeypatch) -> None:
    import json

    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path))
    (tmp_path / ".claude.json").write_text(json.dumps({"numStartups": 3, "mcpServers": {"x": {"command": "y"}}}))
    assert run("mcp", "install", "--json").json()["action"] == "installed"
    doc = json.loads((tmp_path / ".claude.json").read_text())
    assert doc["numStartups"] == 3 and doc["mcpServers"]["x"] == {"command": "y"}
    assert doc["mcpServers"]["coditect-memory"]["args"] == ["mcp"]
    assert run("mcp", "install", "--json").json()["action"] == "already-installed"
    assert run("mcp", "uninstall", "--json").json()["action"] == "uninstalled"
    assert "coditect-memory" not in json.loads((tmp_path / ".claude.json").read_text())["mcpServers"]
