"""Every source under ~/.claude is read into the store with its provenance: todos, tasks,
plans, debug logs (with components from a rule table the user can extend), file versions
stored once, shell snapshots, session env, large tool outputs, sub-agent sidecars; unknown
files are listed, secrets never opened."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .builders import all_messages, open_at
from .conftest import ingest_json, run

SID = "11111111-2222-4333-8444-555555555555"
SID2 = "66666666-2222-4333-8444-555555555555"


def _line(**kw) -> str:
    base = {"isSidechain": False, "userType": "external", "cwd": "/home/dev/src/alpha",
            "sessionId": SID, "version": "2.1.39", "gitBranch": "main"}
    return json.dumps({**base, **kw})


def make_root(root: Path) -> Path:
    proj = root / "projects" / "-home-dev-src-alpha"
    proj.mkdir(parents=True)
    (proj / f"{SID}.jsonl").write_text("\n".join([
        _line(type="user", uuid="u1", parentUuid=None, timestamp="2025-11-15T09:00:00.000Z",
              message={"role": "user", "content": "set up Alembic migrations"}),
        _line(type="assistant", uuid="a1", parentUuid="u1", timestamp="2025-11-15T09:00:05.000Z",
              requestId="r1", message={"id": "m1", "role": "assistant", "model": "claude-opus-4-6",
                                       "content": [{"type": "tool_use", "id": "t1", "name": "Bash",
                                                    "input": {"command": "alembic init"}}],
                                       "usage": {"input_tokens": 10, "output_tokens": 7}}),
        _line(type="user", uuid="u2", parentUuid="a1", timestamp="2025-11-15T09:00:09.000Z",
              message={"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                                     "content": "Output too large, see tool-results/t1.txt",
                                                     "is_error": True}]}),
        json.dumps({"type": "file-history-snapshot", "messageId": "u1", "isSnapshotUpdate": False,
                    "snapshot": {"messageId": "u1", "timestamp": "2025-11-15T09:00:10.000Z",
                                 "trackedFileBackups": {"/home/dev/src/alpha/env.py": {
                                     "backupFileName": "abcdef0123456789@v1", "version": 1,
                                     "backupTime": "2025-11-15T09:00:10.000Z"}}}}),
        json.dumps({"type": "custom-title", "customTitle": "Alembic setup", "sessionId": SID}),
        json.dumps({"type": "brand-new-type", "sessionId": SID, "timestamp": "2025-11-15T09:01:00Z",
                    "payload": {"note": "kept verbatim"}}),
    ]) + "\n")
    (proj / SID / "tool-results").mkdir(parents=True)
    (proj / SID / "tool-results" / "t1.txt").write_text("FAILED: alembic.ini missing\n" * 100)
    (proj / SID / "subagents").mkdir()
    (proj / SID / "subagents" / "agent-abc.meta.json").write_text(
        json.dumps({"agentType": "Explore", "description": "Survey the models", "toolUseId": "t9"}))
    # a resumed session: its first line continues the first session's last message
    (proj / f"{SID2}.jsonl").write_text(_line(
        type="user", uuid="v1", parentUuid="u2", sessionId=SID2, timestamp="2025-11-16T10:00:00.000Z",
        message={"role": "user", "content": "continue with the migrations"}) + "\n")
    (root / "todos").mkdir()
    (root / "todos" / f"{SID}-agent-{SID}.json").write_text(json.dumps([
        {"content": "write env.py", "status": "completed", "activeForm": "Writing env.py"},
        {"content": "run upgrade head", "status": "pending", "activeForm": "Running"}]))
    (root / "todos" / f"{SID2}-agent-{SID2}.json").write_text("[]")
    (root / "tasks" / SID).mkdir(parents=True)
    (root / "tasks" / SID / "1.json").write_text(json.dumps(
        {"id": "1", "subject": "Add alembic", "description": "init and first revision",
         "status": "in_progress", "blocks": [], "blockedBy": []}))
    (root / "plans").mkdir()
    (root / "plans" / "radiant-floating-music.md").write_text("# Plan\n1. alembic init\n")
    (root / "debug").mkdir()
    (root / "debug" / f"{SID}.txt").write_text(
        "2025-11-15T09:00:00.100Z [DEBUG] [LSP MANAGER] starting pyright\n"
        "2025-11-15T09:00:00.200Z [DEBUG] Executing hooks for PreToolUse:Bash\n"
        "2025-11-15T09:00:00.300Z [ERROR] Permission denied for tool Bash\n"
        "  at check (perm.js:10)\n  at run (main.js:20)\n"
        "2025-11-15T09:00:00.400Z [DEBUG] my-plugin: loaded 3 things\n")
    for v, text in ((1, "x = 1\n"), (2, "x = 2\n")):
        d = root / "file-history" / SID
        d.mkdir(parents=True, exist_ok=True)
        (d / f"abcdef0123456789@v{v}").write_text(text)
    d2 = root / "file-history" / SID2
    d2.mkdir(parents=True)
    (d2 / "abcdef0123456789@v1").write_text("x = 1\n")  # same content as SID's v1
    (root / "shell-snapshots").mkdir()
    (root / "shell-snapshots" / "snapshot-zsh-1763197200000-ab12cd.sh").write_text("alias gs='git status'\n")
    (root / "session-env" / SID).mkdir(parents=True)
    (root / "session-env" / SID / "hook-1.sh").write_text("export FOO=bar\n")
    (root / "session-env" / SID2).mkdir(parents=True)  # usually empty
    (root / ".credentials.json").write_text('{"token": "sk-ant-secret"}')
    (root / "settings.json").write_text("{}")
    (root / "mystery.bin").write_bytes(b"\x00\x01")
    (root / "plugins" / "marketplaces").mkdir(parents=True)
    (root / "plugins" / "marketplaces" / "x.json").write_text("{}")
    return root


def test_every_source_kind(tmp_path):
    out = ingest_json(make_root(tmp_path / "claude"))
    assert out["errors"] == 0, run("errors").stdout
    s = run("status", "--json").json()
    assert set(s["by_source"]) == {"transcript", "todo", "plan", "debug", "file_history",
                                   "shell_snapshot", "session_env"}
    assert s["by_source"]["debug"] == 4  # the multi-line entry is one
    assert s["by_source"]["todo"] == 2  # one non-empty list, one task; '[]' is nothing
    assert s["by_source"]["file_history"] == 3
    assert [p.rsplit("/", 1)[-1] for p in s["unknown_files"]] == ["mystery.bin"]
    assert s["files"]["not_read"]["files"] == 3  # credentials, settings, plugins/


def test_secrets_are_never_stored(tmp_path, memory_home):
    ingest_json(make_root(tmp_path / "claude"))
    data = (memory_home / "memory.db").read_bytes()
    assert b"sk-ant-secret" not in data


def test_session_view_of_every_kind(tmp_path):
    ingest_json(make_root(tmp_path / "claude"))
    show = run("show", "session", SID, "--json").json()
    assert show["title"] == "Alembic setup"
    assert show["project"] == "/home/dev/src/alpha" and show["git_branch"] == "main"
    by_type = {}
    for m in show["messages"]:
        by_type.setdefault(m["type"], []).append(m)
    # the tool result knows its tool and is marked as an error
    (result,) = by_type["tool_result"]
    assert result["tool_name"] == "Bash" and result["is_error"]
    (output,) = by_type["tool_output"]
    assert output["tool_name"] == "Bash" and output["source_line"] is None
    assert output["source_file"] == f"projects/-home-dev-src-alpha/{SID}/tool-results/t1.txt"
    assert "kept verbatim" in by_type["brand-new-type"][0]["content"]
    # debug entries: level, component by rule, continuation lines joined
    logs = by_type["log"]
    assert [m["component"] for m in logs][:3] == ["LSP", "Hooks", "Permissions"]
    err = logs[2]
    assert err["level"] == "error" and err["is_error"] and "main.js:20" in err["content"]
    assert err["source_line"] == 3 and err["source_file"] == f"debug/{SID}.txt"
    # file versions: content from the blob store, real path from the snapshot line
    versions = sorted(by_type["file_version"], key=lambda m: m["content"])
    assert [v["content"] for v in versions] == ["x = 1\n", "x = 2\n"]
    assert all(v["file_path"] == "/home/dev/src/alpha/env.py" for v in versions)
    assert by_type["todos"][0]["content"].startswith("[completed] write env.py")
    assert by_type["task"][0]["content"].startswith("[in_progress] Add alembic")
    assert by_type["session_env"][0]["content"] == "export FOO=bar\n"
    assert by_type["agent_meta"][0]["content"].startswith("Explore")
    assert by_type["agent_meta"][0]["agent_id"] == "abc"  # the sidecar's agent, not "abc.meta"


def test_file_versions_stored_once(tmp_path, memory_home):
    ingest_json(make_root(tmp_path / "claude"))
    assert run("status", "--json").json()["by_source"]["file_history"] == 3
    versions = [m for m in all_messages(memory_home) if m["source_kind"] == "file_history"]
    assert len(versions) == 3 and len({m["blob_sha256"] for m in versions}) == 2


def test_resumed_session_links_to_its_parent(tmp_path):
    ingest_json(make_root(tmp_path / "claude"))
    child = run("show", "session", SID2, "--json").json()
    assert child["parent_session_id"] == SID
    assert child["project"] == "/home/dev/src/alpha"
    assert child["title"] == "continue with the migrations"


def test_user_component_rules_come_first(tmp_path, memory_home):
    memory_home.mkdir(parents=True)
    (memory_home / "config.toml").write_text(
        '[[components]]\npattern = "my-plugin"\nname = "MyPlugin"\n'
        '[[components]]\npattern = "pyright"\nname = "Pyright"\n')
    ingest_json(make_root(tmp_path / "claude"))
    logs = [m for m in run("show", "session", SID, "--json").json()["messages"] if m["type"] == "log"]
    assert [m["component"] for m in logs] == ["Pyright", "Hooks", "Permissions", "MyPlugin"]


def test_bad_config_is_one_line(tmp_path, memory_home):
    from .conftest import run_proc

    memory_home.mkdir(parents=True)
    (memory_home / "config.toml").write_text('[[components]]\npattern = "(unclosed"\nname = "X"\n')
    r = run_proc("ingest", str(tmp_path), "--json")
    assert r.code == 2 and "components" in r.stderr and "Traceback" not in r.stderr


def test_tokens_and_models(tmp_path):
    ingest_json(make_root(tmp_path / "claude"))
    show = run("show", "session", SID, "--json").json()
    assert (show["input_tokens"], show["output_tokens"]) == (10, 7)
    assert show["model"] == "claude-opus-4-6"


def test_per_file_counts_add_up(tmp_path, memory_home):
    """Every new row is counted once, against the file it was first read from."""
    root = make_root(tmp_path / "claude")
    out = ingest_json(root)
    run("ingest", str(root), "--json", "--format", "claude")
    with open_at(memory_home) as store:
        files = store.files()
        assert sum(f["messages"] for f in files) == out["messages_new"]
        assert sum(f["messages_new"] for f in store.run_files(1)) == out["messages_new"]
    messages = all_messages(memory_home)
    assert len(messages) == out["messages_new"]
    per_file = Counter(m["source_file"] for m in messages)
    assert per_file == {f["path"]: f["messages"] for f in files if f["messages"]}


def test_uids_never_change():
    """uids are identities stored forever: these values were made by the code before
    `uid_key`/`keyed_uid` (a reader's per-line shortcut) and must stay as they are."""
    from coditect_memory.hashing import UID_SEP, keyed_uid, ts_prefix, uid, uid_key

    assert uid("s-1", "e-2", 0, ts=1765902592447) == "694189008c1d2d3142e587be9b82b222"
    assert uid("tx", None, "abc", 3, ts=None) == "000000004d999376f4aec272f9206103"
    assert uid("debug", "sé", 7, "x\udcff", ts=-5) == "0000000056e359322cb392c0f0153d0a"
    assert uid("a", ts=True) == "00000000ca978112ca1bbdcafac231b3"
    key = uid_key("s-1", "e-2") + UID_SEP
    assert keyed_uid(key + "0", ts_prefix(1765902592447)) == uid("s-1", "e-2", 0, ts=1765902592447)
