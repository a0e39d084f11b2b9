"""`memory mcp install|uninstall`: register the server with Claude Code, as `claude mcp add`
does: user scope in `~/.claude.json` (under $CLAUDE_CONFIG_DIR when set), project scope in
the project's `.mcp.json`. Every other key of the file is kept."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..hooks.install import memory_command

NAME = "coditect-memory"


def config_path(scope: str, project_dir: Path | None) -> Path:
    if scope == "project":
        return (project_dir or Path.cwd()) / ".mcp.json"
    base = os.environ.get("CLAUDE_CONFIG_DIR")
    return (Path(base).expanduser() if base else Path.home()) / ".claude.json"


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8") or "{}")
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as e:
        raise UsageError(f"cannot read {path}: {e}; fix it, or use `claude mcp add`") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("mcpServers", {}), dict):
        raise UsageError(f"{path}: expected an object with an 'mcpServers' object")
    return doc


def _save(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def install(scope: str, home: Path, project_dir: Path | None = None,
            dry_run: bool = False) -> dict[str, Any]:
    path = config_path(scope, project_dir)
    doc = _load(path)
    entry = {"type": "stdio", "command": memory_command(), "args": ["mcp"],
             "env": {"MEMORY_HOME": str(home)}}
    servers = doc.setdefault("mcpServers", {})
    action = "already-installed" if servers.get(NAME) == entry else "installed"
    servers[NAME] = entry
    if not dry_run and action == "installed":
        _save(path, doc)
    return {"path": str(path), "scope": scope, "action": action, "server": entry, "dry_run": dry_run}


def uninstall(scope: str, project_dir: Path | None = None, dry_run: bool = False) -> dict[str, Any]:
    path = config_path(scope, project_dir)
    doc = _load(path)
    found = doc.get("mcpServers", {}).pop(NAME, None) is not None
    if found and not dry_run:
        _save(path, doc)
    return {"path": str(path), "scope": scope, "action": "uninstalled" if found else "not-installed",
            "dry_run": dry_run}
