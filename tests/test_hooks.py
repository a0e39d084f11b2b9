"""Claude Code hooks: session-start prints the pack for the event's cwd, stop makes the
transcript searchable within seconds, every failure exits 0 with a line in hooks.log, and
install/uninstall keep settings.json exactly.

On both backends (`cli_backend`): session-start's pack, stop's capture (and the first capture
that makes the store), and the stop hooks that queue; the rest (bad input, settings.json)
does not reach a store and runs once."""

from __future__ import annotations

import json
import time

import pytest

from .builders import conversation, sid, transcript_path, write_jsonl
from .conftest import ingest_json, run, run_proc
from .memeval import build


def _hook(event: str, payload: object, home) -> tuple[int, str, str]:
    import os
    import subprocess
    import sys

    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    p = subprocess.run([sys.executable, "-m", "coditect_memory", "hook", event], input=data,
                       capture_output=True, env={**os.environ, "MEMORY_HOME": str(home)}, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_session_start_prints_the_pack_for_the_cwd(cli_backend, tmp_path, memory_home) -> None:
    ingest_json(build(tmp_path / "claude").root)
    run("memories", "add", "Ship behind a feature flag", "-p", "webapp", "--pin")
    event = {"session_id": "abc", "transcript_path": "/x.jsonl", "cwd": "/home/dev/webapp/src",
             "hook_event_name": "SessionStart", "source": "startup"}
    started = time.monotonic()
    code, out, err = _hook("session-start", event, memory_home)
    assert code == 0, err
    assert time.monotonic() - started < 5
    ctx = json.loads(out)["hookSpecificOutput"]
    assert ctx["hookEventName"] == "SessionStart"
    text = ctx["additionalContext"]
    assert "Ship behind a feature flag" in text and "# Memory of webapp" in text
    assert len(text) < 10_000


@pytest.mark.fault("hook: session-start given bad event JSON (garbage, a list, nothing)")
@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b""])
def test_session_start_fails_open(payload, tmp_path, memory_home) -> None:
    ingest_json(build(tmp_path / "claude").root)
    code, out, _ = _hook("session-start", payload, memory_home)
    assert code == 0
    if payload.strip():
        assert "session-start" in (memory_home / "hooks.log").read_text()


def test_an_unknown_event_is_a_log_line_not_an_error(memory_home) -> None:
    code, out, _ = _hook("user-prompt-submit", {"prompt": "hi"}, memory_home)
    assert (code, out) == (0, "")
    assert "unknown event" in (memory_home / "hooks.log").read_text()


def test_session_start_without_a_store_says_nothing(memory_home) -> None:
    code, out, _ = _hook("session-start", {"cwd": "/tmp"}, memory_home)
    assert (code, out) == (0, "")


def _logged(home, text: str, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = home / "hooks.log"
        if log.exists() and text in log.read_text():
            return True
        time.sleep(0.2)
    return False


def _searchable(word: str, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = run_proc("search", word, "--json")
        if r.code == 0 and r.json()["results"]:
            return True
        time.sleep(0.3)
    return False


def test_stop_makes_the_transcript_searchable_within_seconds(cli_backend, tmp_path, memory_home) -> None:
    root = tmp_path / "claude"
    ingest_json(build(root).root)
    session = sid(900)
    lines = conversation(session, 4)
    lines[0]["message"]["content"] = "the zanzibar migration keeps timing out"
    path = write_jsonl(transcript_path(root, session), lines)
    started = time.monotonic()
    code, _, err = _hook("stop", {"session_id": session, "transcript_path": str(path),
                                  "cwd": "/home/dev/webapp", "hook_event_name": "Stop"}, memory_home)
    assert code == 0, err
    assert time.monotonic() - started < 3  # returned before the work: it runs detached
    assert _searchable("zanzibar")
    assert _logged(memory_home, "ok projects/")  # the worker's line, once memories are extracted too


@pytest.mark.fault("hook: three Stop hooks at once (captures queue on the ingest lock)")
def test_stop_hooks_at_once_queue_and_all_land(cli_backend, tmp_path, memory_home) -> None:
    """Three sessions end together: three workers, one ingest at a time, none lost."""
    import os
    import subprocess
    import sys

    root = tmp_path / "claude"
    ingest_json(build(root).root)
    procs = []
    for n, word in enumerate(("quokka", "narwhal", "axolotl")):
        session = sid(910 + n)
        lines = conversation(session, 2)
        lines[0]["message"]["content"] = f"the {word} job is stuck"
        path = write_jsonl(transcript_path(root, session), lines)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "coditect_memory", "hook", "stop"], stdin=subprocess.PIPE,
            env={**os.environ, "MEMORY_HOME": str(memory_home)}))
        procs[-1].stdin.write(json.dumps({"transcript_path": str(path)}).encode())
        procs[-1].stdin.close()
    assert [p.wait(30) for p in procs] == [0, 0, 0]
    for word in ("quokka", "narwhal", "axolotl"):
        assert _searchable(word, 40), word


@pytest.mark.fault("hook: transcript gone before its capture")
def test_a_capture_that_fails_is_a_log_line_and_exit_0(tmp_path, memory_home) -> None:
    ingest_json(build(tmp_path / "claude").root)
    code, _, _ = _hook("session-end", {"transcript_path": str(tmp_path / "gone" / "x.jsonl")},
                       memory_home)
    assert code == 0
    assert _logged(memory_home, "failed")
    assert "session-end" in (memory_home / "hooks.log").read_text()


ORIGINAL = b"""{
  "model": "opus",
  "hooks": {
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh"}]}],
    "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]
  },
  "cleanupPeriodDays": 99
}
"""


def test_install_keeps_everything_and_uninstall_restores_byte_for_byte(tmp_path, monkeypatch) -> None:
    claude = tmp_path / "cc"
    claude.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    settings = claude / "settings.json"
    settings.write_bytes(ORIGINAL)
    dry = run("hooks", "install", "--dry-run", "--json").json()
    assert dry["action"] == "installed" and settings.read_bytes() == ORIGINAL
    assert run("hooks", "install", "--json").json()["action"] == "installed"
    doc = json.loads(settings.read_text())
    assert doc["model"] == "opus" and doc["cleanupPeriodDays"] == 99
    assert doc["hooks"]["PreToolUse"][0]["hooks"][0]["command"] == "./guard.sh"
    stops = [h["command"] for g in doc["hooks"]["Stop"] for h in g["hooks"]]
    assert "notify-send done" in stops and any(c.endswith("hook stop") for c in stops)
    assert doc["hooks"]["SessionStart"][0]["hooks"][0]["command"].endswith("hook session-start")
    once = settings.read_bytes()
    assert run("hooks", "install", "--json").json()["action"] == "already-installed"
    assert settings.read_bytes() == once
    assert run("hooks", "uninstall", "--json").json()["action"] == "restored"
    assert settings.read_bytes() == ORIGINAL


def test_uninstall_after_the_person_edited_removes_only_ours(tmp_path) -> None:
    project = tmp_path / "proj"
    run("hooks", "install", "--scope", "project", "--project-dir", str(project))
    path = project / ".claude" / "settings.json"
    doc = json.loads(path.read_text())
    doc["env"] = {"FOO": "1"}
    path.write_text(json.dumps(doc))
    assert run("hooks", "uninstall", "--scope", "project", "--project-dir", str(project),
               "--json").json()["action"] == "uninstalled"
    assert json.loads(path.read_text()) == {"env": {"FOO": "1"}}


@pytest.mark.fault("hooks install: settings.json is not valid JSON")
def test_install_refuses_a_broken_settings_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path))
    (tmp_path / "settings.json").write_text("{ not json")
    r = run_proc("hooks", "install")
    assert r.code == 2 and "not valid JSON" in r.stderr
    assert (tmp_path / "settings.json").read_text() == "{ not json"


def test_the_first_capture_makes_the_store(cli_backend, tmp_path, memory_home) -> None:
    root = tmp_path / "claude"
    session = sid(950)
    lines = conversation(session, 2)
    lines[0]["message"]["content"] = "the wombat deploy is red"
    path = write_jsonl(transcript_path(root, session), lines)
    code, _, err = _hook("stop", {"transcript_path": str(path)}, memory_home)
    assert code == 0, err
    assert _searchable("wombat")
