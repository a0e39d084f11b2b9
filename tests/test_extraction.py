"""`memory ingest --format extraction FILE.jsonl`: generic JSONL exports (issue: robustness, 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .builders import all_messages, append, line, write_jsonl
from .conftest import ingest_json, run

# The behaviour is the backend's contract: every test runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("cli_backend")

ROWS = [
    # the usual names
    {"content": "how do I rotate the API keys?", "timestamp": "2025-01-02T03:04:05Z",
     "project": "/home/dev/billing", "session_id": "export-1", "role": "user",
     "tags": ["ops"], "score": 0.9},
    # other scripts' names for the same fields, epoch ms
    {"text": "Use the rotate-keys task.", "ts": 1735787046000, "cwd": "/home/dev/billing",
     "sessionId": "export-1", "speaker": "assistant", "tokens": {"in": 5, "out": 7}},
    # epoch seconds, naive ISO time, nested unknown fields
    {"message": "thanks", "created_at": "2025-01-02 03:05:00", "project_path": "/home/dev/billing",
     "conversation_id": "export-1", "author": "user", "custom": {"origin": "slack", "n": 1}},
    {"body": "yes", "time": 1735787200, "project_name": "billing", "session": "export-2",
     "message_type": "note"},
    {"prompt": "yes", "date": "2025-01-03", "project": "/home/dev/billing", "session_id": "export-2"},
]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "exports" / "chat-export.jsonl"
    path.parent.mkdir()
    write_jsonl(path, ROWS)
    append(path, line({"timestamp": "2025-01-04T00:00:00Z", "session_id": "export-2"})  # no text
           + b'{"content": "cut off\n')  # truncated
    return path


def _messages(session: str) -> list[dict]:
    return run("show", "session", session, "--json").json()["messages"]


class TestExtractionFormat:
    """Each object of an export is one `import` message with its provenance (file relative
    to the file's folder, 1-based line); fields we do not map are kept verbatim in metadata;
    bad lines are located errors."""

    def test_fields_under_their_usual_names(self, export):
        out = ingest_json(export, "--format", "extraction")
        assert (out["files_seen"], out["messages_new"], out["errors"]) == (1, 5, 2)
        one = _messages("export-1")
        assert [m["content"] for m in one] == ["how do I rotate the API keys?",
                                              "Use the rotate-keys task.", "thanks"]
        assert [m["timestamp"] for m in one] == ["2025-01-02T03:04:05.000Z",
                                                "2025-01-02T03:04:06.000Z",
                                                "2025-01-02T03:05:00.000Z"]
        assert [m["role"] for m in one] == ["user", "assistant", "user"]
        assert {m["source_kind"] for m in one} == {"import"}
        assert [(m["source_file"], m["source_line"]) for m in one] == [
            ("chat-export.jsonl", 1), ("chat-export.jsonl", 2), ("chat-export.jsonl", 3)]
        show = run("show", "session", "export-1", "--json").json()
        assert show["project"] == "/home/dev/billing"
        two = _messages("export-2")
        assert [(m["content"], m["source_line"], m["type"]) for m in two] == [
            ("yes", 4, "note"), ("yes", 5, "message")]
        assert run("status", "--json").json()["by_source"] == {"import": 5}

    def test_unknown_fields_kept_in_metadata(self, export, memory_home):
        ingest_json(export, "--format", "extraction")
        meta = {m["source_line"]: m["metadata"] and json.loads(m["metadata"])
                for m in all_messages(memory_home)}
        assert meta[1] == {"tags": ["ops"], "score": 0.9}
        assert meta[2] == {"tokens": {"in": 5, "out": 7}}
        assert meta[3] == {"custom": {"origin": "slack", "n": 1}}
        assert meta[4] is None  # every field was mapped

    def test_bad_lines_are_located_errors(self, export):
        out = ingest_json(export, "--format", "extraction")
        errs = run("errors", "--run", str(out["run_id"]), "--json").json()
        assert [(e["path"], e["line"], e["severity"]) for e in errs] == [
            ("chat-export.jsonl", 6, "error"), ("chat-export.jsonl", 7, "error")]
        assert "no content field" in errs[0]["reason"]
        assert "invalid JSON" in errs[1]["reason"]

    def test_reimport_and_append(self, export):
        ingest_json(export, "--format", "extraction")
        again = ingest_json(export, "--format", "extraction")
        assert (again["files_changed"], again["messages_new"]) == (0, 0)
        append(export, b"\n" + line({"content": "later", "ts": 1735790000000,
                                     "session_id": "export-1"}))
        out = ingest_json(export, "--format", "extraction")
        assert (out["messages_read"], out["messages_new"]) == (1, 1)
        assert _messages("export-1")[-1]["source_line"] == 9

    def test_only_the_named_file_is_read(self, export):
        """The folder around the file is not walked: siblings are not read or reported, and
        files imported earlier from the same folder are not marked as disappeared."""
        folder = export.parent
        other = write_jsonl(folder / "other.ndjson", [{"content": "from the other export",
                                                       "session_id": "export-3"}])
        write_jsonl(folder / "sibling.jsonl", [{"content": "not asked for"}])
        (folder / "loop").symlink_to(".", target_is_directory=True)
        first = ingest_json(other, "--format", "extraction")  # any file name, when named
        assert (first["files_seen"], first["messages_new"], first["errors"]) == (1, 1, 0)
        out = ingest_json(export, "--format", "extraction")
        assert (out["files_seen"], out["messages_new"]) == (1, 5)
        assert {e["path"] for e in run("errors", "--json").json()} == {"chat-export.jsonl"}
        status = run("status", "--json").json()
        assert status["missing_files"] == 0 and status["messages"] == 6

    def test_a_folder_of_exports(self, export):
        write_jsonl(export.parent / "more" / "b.jsonl", [{"content": "nested", "session_id": "x"}])
        out = ingest_json(export.parent, "--format", "extraction")
        assert out["messages_new"] == 6
        assert [(m["source_file"], m["source_line"]) for m in _messages("x")] == [("more/b.jsonl", 1)]
