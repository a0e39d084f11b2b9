"""Where things live and what the user configured.

MEMORY_HOME holds the store and config.toml (default: the platform's user data dir);
the Claude root is $CLAUDE_CONFIG_DIR or ~/.claude.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .errors import UsageError

# (regex, component). Matched against a debug entry's text, first match wins.
DEFAULT_COMPONENT_RULES: list[tuple[str, str]] = [
    (r"^\[LSP|\bLSP\b|language server", "LSP"),
    (r"(?i)^\[?hooks?\b|\bhooks?\b|PreToolUse|PostToolUse|SessionStart|UserPromptSubmit|\bStop hook", "Hooks"),
    (r"(?i)permission", "Permissions"),
    (r"(?i)\bskills?\b", "Skills"),
    (r"(?i)\bMCP\b|mcp__|mcp server", "MCP"),
    (r"(?i)\bstream(ing)?\b|Stream started|stream_event", "Streaming"),
    (r"(?i)\bplugins?\b|marketplace", "Plugins"),
    (r"(?i)ripgrep|\brg\b", "Ripgrep"),
    (r"(?i)shell snapshot|snapshot file|\bshell\b", "Shell"),
    (r"(?i)\bgit\b", "Git"),
    (r"(?i)session index|\bsessions?\b", "Sessions"),
    (r"(?i)\bAPI\b|anthropic|request id|rate limit|\b5\d\d\b", "API"),
    (r"(?i)auto-?update|updater|\bversion\b", "Updater"),
    (r"(?i)telemetry|statsig|metrics", "Telemetry"),
    (r"(?i)writing to temp file|renamed temp|\bfile (write|read)|atomic write", "Files"),
    (r"(?i)\btools?\b", "Tools"),
    (r"(?i)\bcompact", "Compaction"),
    (r"(?i)\bconfig|settings", "Config"),
]

_TAG = re.compile(r"^\[([A-Za-z][\w .:-]{0,40})\]")


@dataclass
class Config:
    home: Path
    max_line_bytes: int = 64 << 20
    batch_size: int = 20000
    lock_wait_seconds: float = 30.0
    ignore_dirs: list[str] = field(default_factory=list)
    component_rules: list[tuple[str, str]] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return self.home / "memory.db"

    @cached_property
    def _compiled(self) -> list[tuple[re.Pattern[str], str]]:
        return [(re.compile(p), name) for p, name in self.component_rules]

    def component_of(self, text: str) -> str:
        """The component of a debug entry: rule table first, then its [TAG], else General."""
        head = text[:300]
        name = self._seen.get(head)  # debug logs repeat the same lines all day
        if name is None:
            name = self._seen[head] = self._match(head)
            if len(self._seen) > 20_000:
                self._seen.clear()
        return name

    @cached_property
    def _seen(self) -> dict[str, str]:
        return {}

    def _match(self, head: str) -> str:
        for pattern, name in self._compiled:
            if pattern.search(head):
                return name
        m = _TAG.match(head)
        return m.group(1).strip().title() if m else "General"


def memory_home() -> Path:
    env = os.environ.get("MEMORY_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("coditect-memory", appauthor=False))


def claude_root() -> Path:
    env = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(env).expanduser() if env else Path.home() / ".claude"


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError) as e:
        raise UsageError(f"cannot read config {path}: {e}") from None


def load_config(home: Path | None = None) -> Config:
    home = home or memory_home()
    default = _read_toml(Path(__file__).with_name("default_config.toml"))
    user = _read_toml(Path(os.environ.get("MEMORY_CONFIG", home / "config.toml")))
    ingest = {**default.get("ingest", {}), **user.get("ingest", {})}
    rules: list[tuple[str, str]] = []
    for item in user.get("components", []):
        try:
            re.compile(item["pattern"])
            rules.append((item["pattern"], item["name"]))
        except (KeyError, TypeError, re.error) as e:
            raise UsageError(f"bad [[components]] rule {item!r} in config: {e}") from None
    return Config(
        home=home,
        max_line_bytes=int(float(ingest.get("max_line_mb", 64)) * (1 << 20)),
        batch_size=int(ingest.get("batch_size", 20000)),
        lock_wait_seconds=float(ingest.get("lock_wait_seconds", 30)),
        ignore_dirs=list(ingest.get("ignore_dirs", [])),
        component_rules=rules + DEFAULT_COMPONENT_RULES,
    )
