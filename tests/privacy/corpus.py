"""A labelled corpus: fake credentials and PII in the real formats (random, never real), and
a planter that puts them into every source kind of a sample ~/.claude folder.

Each planted item is (kind, text as written, secret parts): the parts are what must never
reach the store (any 8-character piece of them); the rest (`sk-ant-api03-`, `postgres://app:`)
is public format."""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass
from pathlib import Path

ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Planted:
    kind: str  # the rule id that must find it
    text: str
    parts: tuple[str, ...]


def _r(rng: random.Random, n: int, chars: str = ALNUM) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


def luhn_complete(prefix: str) -> str:
    digits = [int(c) for c in prefix]
    for check in range(10):
        total = 0
        for i, d in enumerate(reversed([*digits, check])):
            total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
        if total % 10 == 0:
            return prefix + str(check)
    raise AssertionError


def iban(rng: random.Random) -> str:
    bban = _r(rng, 4, string.ascii_uppercase) + _r(rng, 14, string.digits)
    n = int("".join(str(int(c, 36)) for c in bban + "GB00"))
    return f"GB{98 - n % 97:02d}{bban}"


def secrets(seed: int = 14) -> list[Planted]:
    rng = random.Random(seed)
    out: list[Planted] = []

    def add(kind: str, template: str, *parts: str) -> None:
        out.append(Planted(kind, template.format(*parts), parts))

    add("anthropic-api-key", "export ANTHROPIC_API_KEY=sk-ant-api03-{}AA", _r(rng, 93, ALNUM + "_-"))
    add("openai-api-key", "OPENAI_API_KEY: sk-proj-{}", _r(rng, 64, ALNUM + "_-"))
    add("aws-access-key-id", "aws_access_key_id = AKIA{}", _r(rng, 16, string.ascii_uppercase + "234567"))
    add("aws-secret-access-key", "aws_secret_access_key = {}", _r(rng, 40, ALNUM + "/+"))
    add("github-token", "git clone https://github.com/acme/x.git with ghp_{}", _r(rng, 36))
    add("github-token", "GH_TOKEN=github_pat_{}", _r(rng, 82, ALNUM + "_"))
    add("gitlab-token", "the gitlab token glpat-{}", _r(rng, 20, ALNUM + "-_"))
    add("slack-token", "SLACK_BOT_TOKEN=xoxb-{}", f"{_r(rng, 11, string.digits)}-{_r(rng, 12, string.digits)}-{_r(rng, 24)}")
    add("slack-webhook-url", "curl -X POST https://hooks.slack.com/services/{}",
        f"T{_r(rng, 8, string.ascii_uppercase + string.digits)}/B{_r(rng, 8, string.ascii_uppercase + string.digits)}/{_r(rng, 24)}")
    add("stripe-key", "stripe.api_key = 'sk_live_{}'", _r(rng, 24))
    add("google-api-key", "maps?key=AIza{}", _r(rng, 35, ALNUM + "_-"))
    add("npm-token", "//registry.npmjs.org/:_authToken=npm_{}", _r(rng, 36))
    add("pypi-token", "password = pypi-AgEIcHlwaS5vcmc{}", _r(rng, 60, ALNUM + "_-"))
    payload = base64.urlsafe_b64encode(json.dumps(
        {"sub": _r(rng, 12), "name": "Jo Tester", "iat": 1700000000}).encode()).decode().rstrip("=")
    add("jwt", "id_token: {}", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + payload + "." + _r(rng, 43, ALNUM + "_-"))
    body = [_r(rng, 64, ALNUM + "+/") for _ in range(4)]
    out.append(Planted("private-key", "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(body)
                       + "\n-----END RSA PRIVATE KEY-----", tuple(body)))
    add("url-credentials", "DATABASE_URL=postgres://app:{}@db.internal:5432/app", _r(rng, 18))
    add("http-auth-header", "curl -H 'Authorization: Bearer {}' https://api.acme.test/v1", _r(rng, 40))
    add("credential-assignment", "DB_PASSWORD={}", _r(rng, 6, string.ascii_letters) + _r(rng, 6, string.digits) + "!x")
    add("high-entropy-near-keyword", "my api key is {} keep it safe", _r(rng, 32))
    return out


def pii(seed: int = 15) -> list[Planted]:
    rng = random.Random(seed)
    card = luhn_complete("4" + _r(rng, 14, string.digits))
    items = [
        ("email", f"jo.tester{_r(rng, 4, string.digits)}@example.org"),
        ("phone", f"415-555-{_r(rng, 4, string.digits)}"),
        ("credit-card", f"{card[:4]} {card[4:8]} {card[8:12]} {card[12:]}"),
        ("ssn", f"{rng.randint(100, 599)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"),
        ("iban", iban(rng)),
        ("ip-address", f"203.0.113.{rng.randint(2, 250)}"),
    ]
    return [Planted(k, v, (v,)) for k, v in items]


def block(items: list[Planted]) -> str:
    return "\n".join(p.text for p in items)


SOURCE_KINDS = ("prompt", "tool_output", "thinking", "history", "debug", "shell_snapshot",
                "file_history", "session_env", "todos")


def plant(root: Path, text: str) -> dict[str, str]:
    """Put `text` into one record of every source kind under the sample folder `root`;
    returns {source kind: the file it went into}."""
    done: dict[str, str] = {}
    for path in sorted((root / "projects").rglob("*.jsonl")):
        lines = path.read_text().splitlines()
        changed = False
        for i, line in enumerate(lines):
            obj = json.loads(line)
            msg = obj.get("message") or {}
            content = msg.get("content")
            if "prompt" not in done and obj.get("type") == "user" and isinstance(content, str):
                msg["content"] = content + "\n" + text
                done["prompt"] = str(path)
            elif isinstance(content, list):
                for block_ in content:
                    if ("tool_output" not in done and block_.get("type") == "tool_result"
                            and isinstance(block_.get("content"), str)):
                        block_["content"] += "\n" + text
                        done["tool_output"] = str(path)
                    elif "thinking" not in done and block_.get("type") == "thinking":
                        block_["thinking"] += "\n" + text
                        done["thinking"] = str(path)
                    else:
                        continue
                    break
                else:
                    continue
            else:
                continue
            lines[i] = json.dumps(obj)
            changed = True
        if changed:
            path.write_text("\n".join(lines) + "\n")
    hist = root / "history.jsonl"
    lines = hist.read_text().splitlines()
    first = json.loads(lines[0])
    first["display"] += "\n" + text
    lines[0] = json.dumps(first)
    hist.write_text("\n".join(lines) + "\n")
    done["history"] = str(hist)
    debug = sorted((root / "debug").glob("*.txt"))[0]
    with debug.open("a") as f:
        f.write("2025-12-17T09:00:00.000Z [DEBUG] env dump: " + text.replace("\n", " ; ") + "\n")
    done["debug"] = str(debug)
    for kind, pattern in (("shell_snapshot", "shell-snapshots/*.sh"),
                          ("file_history", "file-history/*/*"),
                          ("session_env", "session-env/*/*")):
        target = sorted(root.glob(pattern))[0]
        with target.open("a") as f:
            f.write("\n" + text + "\n")
        done[kind] = str(target)
    todo = sorted((root / "todos").glob("*.json"), key=lambda p: -p.stat().st_size)[0]
    items = json.loads(todo.read_text())
    items[0]["content"] += "\n" + text
    todo.write_text(json.dumps(items, indent=2))
    done["todos"] = str(todo)
    missing = set(SOURCE_KINDS) - set(done)
    assert not missing, f"the sample has no place for {missing}"
    return done


def pieces(parts: tuple[str, ...], n: int = 8) -> set[str]:
    """Every n-character piece of the secret parts, lower-cased (the index lower-cases)."""
    return {p[i:i + n].lower() for p in parts for i in range(len(p) - n + 1)}
