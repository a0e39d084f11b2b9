"""EPHEMERAL (issue 14): kept on this machine only. Stored by default (`store_ephemeral =
true`) and seen by its owner on the CLI, but never exported, synced, served to other tokens,
put in a context pack or given to a model through MCP (what a model reads leaves the machine
for its provider). `store_ephemeral = false` (not stored at all) is tested in
test_privacy.py. On both backends (`cli_backend`)."""

from __future__ import annotations

import json
import os
import sys
import uuid

import anyio
import pytest

from .conftest import run
from .privacy.backends import configure

MARKER = "qzvjephemeralotterword"


@pytest.fixture
def ephemeral(tmp_path, memory_home, cli_backend):
    """A sample whose first project is EPHEMERAL (set in config), one of its prompts holding
    MARKER; returns (project path, its session holding MARKER)."""
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "4")
    first = sorted((root / "projects").rglob("*.jsonl"))[0]
    cwd = next(json.loads(line)["cwd"] for line in first.read_text().splitlines() if '"cwd"' in line)
    lines = first.read_text().splitlines()
    lines.append(json.dumps({**json.loads(lines[-1]), "uuid": str(uuid.uuid4()), "type": "user",
                             "message": {"role": "user", "content": f"remember {MARKER} please"}}))
    first.write_text("\n".join(lines) + "\n")
    configure(memory_home, cli_backend, f'[privacy.levels]\n"{cwd}" = "EPHEMERAL"\n')
    run("ingest", str(root))
    [hit] = run("search", MARKER, "--json").json()["results"]  # the owner sees it here
    return cwd, hit["session_id"]


def test_ephemeral_is_kept_from_export_and_the_context_pack(ephemeral):
    cwd, sid = ephemeral
    assert MARKER not in run("export").stdout
    assert sid not in run("export").stdout
    pack = run("context", "--project", cwd, "--query", MARKER, "--json").json()
    assert MARKER not in pack["markdown"] + json.dumps(pack["items"])
    assert all(i["session_id"] != sid for i in pack["items"])
    assert all(i["section"] != "session" for i in pack["items"])  # the project's are all EPHEMERAL
    run("privacy", "set", cwd, "TEAM")  # the same pack once the level allows it
    pack = run("context", "--project", cwd, "--query", MARKER, "--json").json()
    assert any(i["session_id"] == sid for i in pack["items"])


def test_a_model_reading_through_mcp_sees_nothing_ephemeral(ephemeral, memory_home):
    cwd, sid = ephemeral

    async def calls():
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=sys.executable, args=["-m", "coditect_memory", "mcp"],
                                       env={**os.environ, "MEMORY_HOME": str(memory_home)})
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            return {
                "search": await s.call_tool("search", {"query": MARKER}),
                "session": await s.call_tool("get_session", {"session_id": sid}),
                "context": await s.call_tool("context", {"project": cwd, "query": MARKER}),
                "timeline": await s.call_tool("timeline", {"when": "2000-01-01..2100-01-01"}),
                "recall": await s.call_tool("recall", {"project": cwd}),
                "other": await s.call_tool("search", {"query": "the"}),
            }

    got = anyio.run(calls)
    assert got["session"].is_error and "EPHEMERAL" in got["session"].content[0].text
    for name in ("search", "context", "timeline", "recall"):
        assert not got[name].is_error, name
        content = got[name].structured_content
        content.pop("query", None)  # the question, as asked
        text = json.dumps(content)
        assert MARKER not in text and sid not in text, name
    others = got["other"].structured_content["results"]
    assert others and all(r["session_id"] != sid and r["project"] != cwd for r in others)


def test_a_backup_says_it_holds_ephemeral_messages(ephemeral, tmp_path):
    """A backup is an image of the whole store: it cannot leave EPHEMERAL rows out, so it
    says how many it holds and what keeps them out (store_ephemeral = false)."""
    cwd, _ = ephemeral
    made = run("backup", "create", "--target", str(tmp_path / "b"), "--json").json()
    [note] = [n for n in made["notes"] if "EPHEMERAL" in n]
    assert int(note.split()[0].replace(",", "")) > 0 and "store_ephemeral = false" in note
    run("privacy", "set", cwd, "TEAM")
    made = run("backup", "create", "--target", str(tmp_path / "b"), "--json").json()
    assert not any("EPHEMERAL" in n for n in made["notes"])
