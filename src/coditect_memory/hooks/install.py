"""`memory hooks install|uninstall`: our entries in Claude Code's settings.json.

Every other setting and hook is kept. Install is idempotent and remembers, in a sidecar file
next to settings.json, the original bytes (or that there was no file) and a hash of what it
wrote: uninstall then puts the original back byte for byte when the file is still as we left
it, and otherwise removes only our entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError

EVENTS = {"SessionStart": ("session-start", 10), "Stop": ("stop", 10),
          "SubagentStop": ("subagent-stop", 10), "PreCompact": ("pre-compact", 10),
          "SessionEnd": ("session-end", 5)}
SIDECAR = ".coditect-memory-backup.json"


def memory_command() -> str:
    """The `memory` next to this Python (a venv's), else `memory` on PATH."""
    here = Path(sys.executable).parent / "memory"
    return str(here) if here.exists() else (shutil.which("memory") or "memory")


def _ours(hook: Any) -> bool:
    return isinstance(hook, dict) and " hook " in f" {hook.get('command', '')} " and any(
        str(hook.get("command", "")).endswith(f"hook {name}") for name, _ in EVENTS.values())


@dataclass
class HookChange:
    path: str
    scope: str
    action: str  # installed, already-installed, uninstalled, restored, not-installed
    events: list[str]
    dry_run: bool
    content: str | None = None  # the file as it would be (dry run)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "scope": self.scope, "action": self.action,
                "events": self.events, "dry_run": self.dry_run, "content": self.content}


def settings_path(scope: str, claude_root: Path, project_dir: Path | None) -> Path:
    if scope == "user":
        return claude_root / "settings.json"
    if scope == "project":
        return (project_dir or Path.cwd()) / ".claude" / "settings.json"
    raise UsageError(f"unknown scope {scope!r}: user or project")


def _load(path: Path) -> tuple[bytes | None, dict[str, Any]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, {}
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    try:
        doc = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as e:
        raise UsageError(f"{path} is not valid JSON ({e}); fix it before installing hooks") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("hooks", {}), dict):
        raise UsageError(f"{path}: expected an object with a 'hooks' object")
    return raw, doc


def _dump(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def install(path: Path, scope: str, dry_run: bool = False, command: str | None = None) -> HookChange:
    raw, doc = _load(path)
    command = command or memory_command()
    hooks = doc.setdefault("hooks", {})
    added = []
    for event, (name, timeout) in EVENTS.items():
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise UsageError(f"{path}: hooks.{event} must be a list")
        if any(_ours(h) for g in groups if isinstance(g, dict) for h in g.get("hooks", [])):
            continue
        groups.append({"matcher": "", "hooks": [{"type": "command", "command": f"{command} hook {name}",
                                                 "timeout": timeout}]})
        added.append(event)
    data = _dump(doc)
    change = HookChange(str(path), scope, "installed" if added else "already-installed", added, dry_run)
    if dry_run:
        change.content = data.decode()
        return change
    if added:
        sidecar = path.with_name(path.name + SIDECAR)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not sidecar.exists():  # the first install's original is the one to give back
            sidecar.write_text(json.dumps({"original": raw.decode("utf-8", "surrogateescape")
                                           if raw is not None else None}))
        _write(path, data)
        meta = json.loads(sidecar.read_text())
        meta["written_sha256"] = hashlib.sha256(data).hexdigest()
        sidecar.write_text(json.dumps(meta))
    return change


def uninstall(path: Path, scope: str, dry_run: bool = False) -> HookChange:
    raw, doc = _load(path)
    sidecar = path.with_name(path.name + SIDECAR)
    meta = json.loads(sidecar.read_text()) if sidecar.exists() else None
    removed = []
    for event, groups in list(doc.get("hooks", {}).items()):
        if not isinstance(groups, list):
            continue
        kept = []
        for g in groups:
            if isinstance(g, dict) and any(_ours(h) for h in g.get("hooks", [])):
                g = {**g, "hooks": [h for h in g["hooks"] if not _ours(h)]}
                removed.append(event)
                if not g["hooks"]:
                    continue
            kept.append(g)
        doc["hooks"][event] = kept
    if not removed:
        return HookChange(str(path), scope, "not-installed", [], dry_run)
    untouched = (meta is not None and raw is not None
                 and hashlib.sha256(raw).hexdigest() == meta.get("written_sha256"))
    if untouched and meta is not None:  # as we left it: the original back, byte for byte
        original = meta["original"]
        change = HookChange(str(path), scope, "restored", removed, dry_run, original)
        if not dry_run:
            if original is None:
                path.unlink()
            else:
                _write(path, original.encode("utf-8", "surrogateescape"))
            sidecar.unlink()
        return change
    for event in [e for e, g in doc["hooks"].items() if g == []]:
        del doc["hooks"][event]  # emptied by us (events the person had are not emptied)
    if not doc["hooks"]:
        del doc["hooks"]
    data = _dump(doc)
    change = HookChange(str(path), scope, "uninstalled", removed, dry_run, data.decode())
    if not dry_run:
        _write(path, data)
        if sidecar.exists():
            sidecar.unlink()
    return change
