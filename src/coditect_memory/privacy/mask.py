"""Masks: a hint of the format and a short keyed fingerprint, never the value.

`sk-ant-api03-…` becomes `sk-ant-…#3f9a2c`: the same secret gets the same mask everywhere
(recognisable across messages and sessions), and the fingerprint is an HMAC under a key
kept only in $MEMORY_HOME (0600), so a guessed secret cannot be confirmed from a mask
without that key. The hint is at most 7 characters, all of them a fixed prefix of the format.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .detect import PII, Detector, Finding

KEY_FILE = "privacy.key"
FP_CHARS = 6


def load_key(home: Path, create: bool = True) -> bytes:
    """The store's fingerprint key, made (32 random bytes, mode 0600) on first use."""
    path = home / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        if not create:
            return b""
    except ValueError:
        pass  # damaged: a new key (old masks keep their fingerprints, new ones differ)
    home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex())
    os.replace(tmp, path)
    return key


def map_strings(obj: Any, fn: Callable[[str], str]) -> Any:
    """`obj` (parsed JSON) with `fn` applied to every string value."""
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: map_strings(v, fn) for k, v in obj.items()}
    if isinstance(obj, list):
        return [map_strings(v, fn) for v in obj]
    return obj


def strings(obj: Any, out: list[str]) -> list[str]:
    """Every string `map_strings` would map, in `out`."""
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            strings(v, out)
    elif isinstance(obj, list):
        for v in obj:
            strings(v, out)
    return out


def fingerprint(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:FP_CHARS]


def mask_of(f: Finding, hint: str, key: bytes) -> str:
    fp = fingerprint(key, f.value)
    if f.kind == PII:
        return f"‹{hint or f.rule}#{fp}›"
    return f"{f.value[:len(hint)]}…#{fp}"


class Masker:
    """Replaces what a detector finds with masks."""

    def __init__(self, detector: Detector, key: bytes) -> None:
        self.detector = detector
        self.key = key
        self.hints = {r.id: r.hint for r in detector.rules}

    def findings(self, text: str) -> list[Finding]:
        return self.detector.find(text)

    def apply(self, text: str, found: list[Finding] | None = None) -> str:
        found = self.detector.find(text) if found is None else found
        if not found:
            return text
        parts, at = [], 0
        for f in found:
            parts.append(text[at:f.start])
            parts.append(mask_of(f, self.hints.get(f.rule, ""), self.key))
            at = f.end
        parts.append(text[at:])
        return "".join(parts)
