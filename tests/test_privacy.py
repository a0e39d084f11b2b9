"""Detectors, masks, privacy levels on export, scan and apply on what is already stored.

The tests that store (levels on export, scan and apply, the default level) run on both
backends (`cli_backend`); the detector and mask tests need no store."""

from __future__ import annotations

import json
import uuid

import pytest

from coditect_memory.errors import UsageError
from coditect_memory.privacy.detect import PII, SECRET, build
from coditect_memory.privacy.levels import (
    EXPORT,
    OWNER,
    TEAM_AUDIENCE,
    PiiRedactor,
    redact_for,
    visible,
)
from coditect_memory.privacy.mask import Masker, fingerprint
from coditect_memory.settings import load_settings

from .conftest import run
from .privacy.backends import configure
from .privacy.corpus import block, pieces, pii, plant, secrets
from .test_privacy_contract import stored_leaks

KEY = b"k" * 32


@pytest.mark.parametrize("item", secrets(), ids=lambda p: p.kind)
def test_every_planted_secret_kind_is_found_whole(item):
    found = build(SECRET).find(item.text)
    assert [f.rule for f in found] == [item.kind]
    masked = Masker(build(SECRET), KEY).apply(item.text)
    assert not any(piece in masked.lower() for piece in pieces(item.parts))
    assert "…#" + fingerprint(KEY, found[0].value) in masked


@pytest.mark.parametrize("item", pii(), ids=lambda p: p.kind)
def test_every_planted_pii_kind_is_found(item):
    assert [f.rule for f in build(PII).find(f"contact: {item.text} (x)")] == [item.kind]


@pytest.mark.parametrize("text", [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b fixed it",
    "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    f"session {uuid.uuid4()} resumed, request_id={uuid.uuid4()}",
    '"usage": {"input_tokens": 1234, "cache_read_input_tokens": 99, "output_tokens": 12}',
    "token = os.environ['GITHUB_TOKEN']",
    "password: str = Field(..., min_length=8)",
    "API_KEY=${API_KEY}", "SECRET_KEY=changeme", "api_key: <your-api-key>",
    "the tokenizer splits tokens; max_tokens=4096",
    "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "postgres://user:${DB_PASSWORD}@localhost/db",
    "src/api.ts:90:if token is None or user > logger.token:\n/home/dev/src/app.v2/src/x.ts:387:x",
    "auth_token: /home/dev/.config/app2/token.json",
])
def test_hashes_ids_and_placeholders_are_not_secrets(text):
    assert build(SECRET).find(text) == []


def test_a_text_with_many_screen_matches_is_masked_whole():
    """A common-word rule looks around its screen's matches; past MAX_SPANS of them it stops
    that pass early and reads the whole text: a secret after them is still found."""
    item = secrets()[-2]  # DB_PASSWORD=...
    text = "\n".join(f"token_{i} = value{i:04d}abcdef" for i in range(400)) + "\n" + item.text
    found = build(SECRET).find(text)
    assert any(f.rule == "credential-assignment" and f.value == item.parts[0] for f in found)


def test_the_same_secret_gets_the_same_mask_and_a_mask_is_not_masked_again():
    m = Masker(build(SECRET), KEY)
    item = secrets()[0]
    once = m.apply(item.text + " and again " + item.text)
    a, b = once.split(" and again ")
    assert a == b and m.apply(once) == once


def test_user_rules_extend_the_shipped_ones(memory_home):
    memory_home.mkdir(parents=True)
    (memory_home / "config.toml").write_text(
        "[[privacy.rules]]\nid = 'acme'\nregex = '''\\b(acme_[a-z0-9]{16})\\b'''\n"
        "keywords = ['acme_']\nhint = 'acme_'\n")
    cfg = load_settings(memory_home).privacy
    found = build(SECRET, cfg.rules).find("use acme_0123456789abcdef now")
    assert [f.rule for f in found] == ["acme"]
    (memory_home / "config.toml").write_text("[[privacy.rules]]\nid = 'x'\nregex = '(('\n")
    with pytest.raises(UsageError, match="privacy.rules"):
        load_settings(memory_home)
    (memory_home / "config.toml").write_text("[[privacy.rules]]\nid = 'x'\nregex = 'x'\nscreen = '(('\n")
    with pytest.raises(UsageError, match="bad screen regex"):  # checked once, where settings load
        load_settings(memory_home)
    (memory_home / "config.toml").write_text("[privacy]\nsecrets = 'sometimes'\n")
    with pytest.raises(UsageError, match="secrets"):
        load_settings(memory_home)


def test_levels_decide_who_sees_what():
    red = PiiRedactor(KEY)
    text = "mail jo@example.org, card 4111 1111 1111 1111"
    assert redact_for("PUBLIC", EXPORT, text, red) == red.redact(text, "all")
    assert "jo@example.org" not in red.redact(text, "all")
    team = redact_for("TEAM", TEAM_AUDIENCE, text, red)
    assert "jo@example.org" in team and "4111" not in team
    assert redact_for("PRIVATE", EXPORT, text, red) == text
    assert redact_for("PRIVATE", TEAM_AUDIENCE, text, red) is None
    assert redact_for("EPHEMERAL", EXPORT, text, red) is None
    assert visible("EPHEMERAL", OWNER) and redact_for("PUBLIC", OWNER, text, red) == text


@pytest.fixture
def sample_with_pii(tmp_path, memory_home, cli_backend):
    configure(memory_home, cli_backend)
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "3")
    plant(root, block(pii()))
    run("ingest", str(root))
    return root


def _export() -> str:
    return run("export").stdout


def test_export_applies_the_project_level(sample_with_pii):
    email = pii()[0].text
    assert email in _export()  # PRIVATE by default: the owner's own export, as stored
    projects = {json.loads(line).get("project") for line in _export().splitlines()
                if email in line} - {None}
    for p in projects:
        run("privacy", "set", p, "PUBLIC", "--reason", "open source")
    mine = [line for line in _export().splitlines() if json.loads(line).get("project") in projects]
    assert mine and not any(email in line for line in mine)
    assert any("‹email#" in line for line in mine)
    for p in projects:
        run("privacy", "set", p, "EPHEMERAL")
    assert not any(json.loads(line).get("project") in projects for line in _export().splitlines())
    levels = run("privacy", "levels", "--json").json()
    assert set(levels["projects"].values()) == {"EPHEMERAL"}
    actions = [e["action"] for e in run("audit", "list", "--json").json()["entries"]]
    assert "privacy.set" in actions and "export" in actions


def test_scan_and_apply_on_data_captured_before(tmp_path, memory_home, cli_backend):
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "3")
    items = secrets()
    plant(root, block(items))
    configure(memory_home, cli_backend, '[privacy]\nsecrets = "keep"\n')
    run("ingest", str(root))
    all_pieces = set().union(*(pieces(p.parts) for p in items))
    assert stored_leaks(memory_home, all_pieces)
    scan = run("privacy", "scan", "--json").json()
    assert {p.kind for p in items} <= set(scan["findings"])
    assert not any(piece in json.dumps(scan).lower() for piece in all_pieces)  # never the value
    done = run("privacy", "apply", "--yes", "--json").json()
    assert done["rewritten"] > 0 and done["blobs_rewritten"] > 0
    assert stored_leaks(memory_home, all_pieces) == []
    assert run("privacy", "scan", "--json").json()["messages_with_findings"] == 0
    assert run("search", "ANTHROPIC_API_KEY", "--json").json()["total"] > 0


def test_default_level_in_config_covers_rows_without_a_project(sample_with_pii, memory_home,
                                                               cli_backend):
    configure(memory_home, cli_backend, '[privacy]\ndefault_level = "PUBLIC"\n')
    out = _export()
    assert not any(p.text in out for p in pii())


def test_ephemeral_is_not_stored_at_all_when_configured(tmp_path, memory_home, cli_backend):
    """`store_ephemeral = false`: the records of an EPHEMERAL project are never written (no
    row, no index document, no byte under MEMORY_HOME); other projects are stored as usual.
    By default (true) they are stored, and kept from export."""
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "4")
    first = sorted((root / "projects").rglob("*.jsonl"))[0]
    cwd = next(json.loads(line)["cwd"] for line in first.read_text().splitlines()
               if '"cwd"' in line)
    marker = "qzvjephemeralwombatmarker"
    lines = first.read_text().splitlines()
    lines.append(json.dumps({**json.loads(lines[-1]), "uuid": str(uuid.uuid4()), "type": "user",
                             "message": {"role": "user", "content": f"note {marker}"}}))
    first.write_text("\n".join(lines) + "\n")
    config = f'[privacy]\nstore_ephemeral = false\n[privacy.levels]\n"{cwd}" = "EPHEMERAL"\n'
    configure(memory_home, cli_backend, config)
    run("ingest", str(root))
    sessions = run("sessions", "--json").json()
    assert sessions and all(s["project"] != cwd for s in sessions)
    assert run("search", marker, "--json").json()["total"] == 0
    assert stored_leaks(memory_home, {marker}) == []
    configure(memory_home, cli_backend, config.replace("false", "true"))
    first.write_text("\n" + first.read_text())  # a changed first line: the file is read again
    run("ingest", str(root))  # now stored, on this machine only
    assert run("search", marker, "--json").json()["total"] == 1
    assert any(s["project"] == cwd for s in run("sessions", "--json").json())
    assert marker not in _export()


def _plant_in_metadata(root, text: str) -> None:
    """`text` in a field of a transcript line that only the row's metadata keeps."""
    path = sorted((root / "projects").rglob("*.jsonl"))[0]
    lines = path.read_text().splitlines()
    obj = json.loads(lines[0])
    obj["toolUseResult"] = {"stdout": text}
    lines[0] = json.dumps(obj)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("secrets_mode", ["mask", "keep"])
def test_a_metadata_secret_behind_json_escapes_is_masked_and_found(tmp_path, memory_home,
                                                                     cli_backend, secrets_mode):
    """A tab and a quote around the value: the JSON of the metadata holds `=\\t\\"`, which the
    rule's screen did not match, so capture and `privacy scan` kept the value in the clear."""
    key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    root = tmp_path / "claude"
    run("sample", str(root), "--sessions", "1")
    _plant_in_metadata(root, f'export aws_secret_access_key=\t"{key}"\n')
    configure(memory_home, cli_backend, f'[privacy]\nsecrets = "{secrets_mode}"\n')
    run("ingest", str(root))
    found = run("privacy", "scan", "--json").json()
    if secrets_mode == "keep":
        assert stored_leaks(memory_home, {key.lower()[:16]})
        assert found["messages_with_findings"] == 1 and "aws-secret-access-key" in found["findings"]
        run("privacy", "apply", "--yes")
    else:
        assert found["messages_with_findings"] == 0  # masked on capture
    assert stored_leaks(memory_home, {key.lower()[:16]}) == []
