"""Settings: config.toml and the environment, read and validated once per command.

`load_settings()` is the only place that reads `config.toml` (the shipped defaults in
`default_config.toml`, then `$MEMORY_CONFIG` or `$MEMORY_HOME/config.toml`) or the
environment variables that name places (`MEMORY_HOME`, `CLAUDE_CONFIG_DIR`,
`MEMORY_DATABASE_URL`, `MEMORY_BACKUP_TARGET`, `MEMORY_S3_ENDPOINT`,
`MEMORY_BACKUP_KEY_FILE`, `MEMORY_REDIS_URL`). The result is passed down; nothing below it reads either.

Plain frozen dataclasses, validated by hand: Pydantic would do the same in ~90 ms of import
and class building, which every command (and the sub-second hooks) would pay at start.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .errors import UsageError
from .firstmatch import FirstMatch

T = TypeVar("T")

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

DEFAULT_STOP_WORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it",
    "its", "me", "my", "of", "on", "or", "our", "please", "should", "so", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "we",
    "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you",
    "your"])

DEFAULT_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("lsp", "language server"),
    ("error", "exception"),
    ("db", "database"),
    ("auth", "authentication"),
    ("config", "configuration"),
    ("repo", "repository"),
    ("pr", "pull request"),
    ("ci", "continuous integration"),
    ("env", "environment"),
)

_TAG = re.compile(r"^\[([A-Za-z][\w .:-]{0,40})\]")


class ComponentRules:
    """Names the component of a debug-log entry: the rule table first, then its [TAG], else
    General. Holds a per-instance cache (debug logs repeat the same lines all day)."""

    def __init__(self, rules: list[tuple[str, str]]) -> None:
        self.rules = rules
        self._first = FirstMatch([re.compile(p) for p, _ in rules])
        self._names = [name for _, name in rules]
        self._seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        head = text[:300]
        name = self._seen.get(head)
        if name is None:
            name = self._seen[head] = self._match(head)
            if len(self._seen) > 20_000:
                self._seen.clear()
        return name

    def _match(self, head: str) -> str:
        i = self._first.index(head)
        if i is not None:
            return self._names[i]
        m = _TAG.match(head)
        return m.group(1).strip().title() if m else "General"


@dataclass(frozen=True)
class IngestSettings:
    max_line_bytes: int = 64 << 20
    batch_size: int = 1000
    lock_wait_seconds: float = 30.0
    ignore_dirs: tuple[str, ...] = ()
    index_alongside_bytes: int = 32 << 20  # a run reading more builds the keyword index alongside
    write_behind_bytes: int = 32 << 20  # a run reading more writes its batches in a second process


@dataclass(frozen=True)
class SearchSettings:
    index_dir: Path
    stop_words: frozenset[str] = DEFAULT_STOP_WORDS
    synonyms: tuple[tuple[str, ...], ...] = DEFAULT_SYNONYMS
    per_session: int = 3
    index_on_ingest: bool = True
    embed_on_ingest: str = "auto"  # auto | true | false
    model: str = "auto"  # the embedding model (search/embedder.py MODELS); auto: vectors.active_model
    min_similarity: float = 0.3
    alongside_nice: int = 10  # the keyword index's process alongside an ingest: this much lower a priority


@dataclass(frozen=True)
class BackupSettings:
    target: str | None = None  # a folder or s3://bucket/prefix (MEMORY_BACKUP_TARGET overrides)
    key_file: str | None = None  # the encryption key (MEMORY_BACKUP_KEY_FILE overrides)
    key: str | None = field(default=None, repr=False)  # MEMORY_BACKUP_KEY: the key text itself
    endpoint_url: str | None = None  # S3 endpoint (MEMORY_S3_ENDPOINT overrides)
    compression_level: int = 1  # zstd level: 1 fastest (~5.6x here), 3 ~10% smaller, 2x slower
    full_every: int = 30  # incrementals on one full before the next backup is a full (0: never)

    def resolve_target(self, given: str | None) -> str:
        target = given or self.target
        if not target:
            raise UsageError("no backup target: pass --target DIR|s3://bucket/prefix, or set "
                             "[backup] target in $MEMORY_HOME/config.toml")
        return str(target)


DEFAULT_HALF_LIFE = {"preference": 730.0, "fact": 365.0, "decision": 180.0, "error_fix": 120.0,
                     "todo": 45.0, "pattern": 60.0}


@dataclass(frozen=True)
class MemorySettings:
    """[memories]: extraction after ingest, decay, the context pack's default budget."""

    extract_on_ingest: bool = True
    half_life_days: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_HALF_LIFE))
    archive_below: float = 0.05  # extracted, unpinned memories fading below this are archived
    pattern_min_seen: int = 3  # a command is a pattern once run this often
    budget: int = 1500  # tokens of `memory context` (cl100k): ~6,000 characters
    hook_budget: int = 1500  # tokens of the SessionStart pack (Claude Code previews > 10,000 chars)


def _memories(table: dict[str, Any], path: Path) -> MemorySettings:
    w = f"[memories] in {path}:"
    half = dict(DEFAULT_HALF_LIFE)
    raw = table.get("half_life_days", {})
    if not isinstance(raw, dict):
        raise UsageError(f"{w} half_life_days must be a table of type = days")
    for kind in raw:
        half[str(kind)] = _get(raw, kind, float, 0.0, w)
    return MemorySettings(
        extract_on_ingest=_get(table, "extract_on_ingest", bool, True, w),
        half_life_days=half,
        archive_below=_get(table, "archive_below", float, 0.05, w),
        pattern_min_seen=max(1, _get(table, "pattern_min_seen", int, 3, w)),
        budget=max(100, _get(table, "budget", int, 1500, w)),
        hook_budget=max(100, _get(table, "hook_budget", int, 1500, w)))


@dataclass(frozen=True)
class ApiSettings:
    """`memory serve`: its response cache (Redis when MEMORY_REDIS_URL is set)."""

    redis_url: str | None = None
    cache_ttl_seconds: float = 300.0
    cache_entries: int = 2048  # the in-process cache's size (LRU)
@dataclass(frozen=True)
class SyncSettings:
    """`memory sync`: batch size, patience with the server, when a queue is old."""

    batch_size: int = 2000  # messages a push or pull batch carries
    timeout_seconds: float = 600.0  # one request to the server (pushes may queue there)
    warn_pending_hours: float = 24.0  # `sync status` and `memory status` warn past this
    clock_skew_seconds: float = 0.0  # tests only (MEMORY_SYNC_CLOCK_SKEW): a machine's clock off
    token: str = field(default="", repr=False)  # MEMORY_SYNC_TOKEN (else MEMORY_HOME/sync-token)


LEVELS = ("PUBLIC", "TEAM", "PRIVATE", "EPHEMERAL")


@dataclass(frozen=True)
class PrivacySettings:
    secrets: str = "mask"  # mask: secrets masked before anything is written; keep: stored as read
    purge_after_days: int = 30  # soft-forgotten rows are purged (hard) after this many days
    default_level: str = "PRIVATE"  # the level of a project none is set for
    levels: tuple[tuple[str, str], ...] = ()  # (project path or name, level) from [privacy.levels]
    rules: tuple[dict[str, Any], ...] = ()  # the user's [[privacy.rules]] (privacy/rules.toml fields)
    audit_retention_days: int = 7 * 365
    store_ephemeral: bool = True  # false: ingest does not store EPHEMERAL projects' records


@dataclass(frozen=True)
class Settings:
    home: Path  # MEMORY_HOME: the store, its indexes, config.toml
    claude_root: Path  # what `memory ingest` reads by default
    config_file: Path
    database_url: str = ""  # MEMORY_DATABASE_URL; empty: SQLite in home
    ingest: IngestSettings = field(default_factory=IngestSettings)
    search: SearchSettings = field(default_factory=lambda: SearchSettings(Path("index")))
    backup: BackupSettings = field(default_factory=BackupSettings)
    components: ComponentRules = field(default_factory=lambda: ComponentRules(DEFAULT_COMPONENT_RULES))
    prices: dict[str, Any] = field(default_factory=dict)  # the user's [prices] tables
    api: ApiSettings = field(default_factory=ApiSettings)
    memories: MemorySettings = field(default_factory=MemorySettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    sync: SyncSettings = field(default_factory=SyncSettings)

    @property
    def db_path(self) -> Path:
        return self.home / "memory.db"


def memory_home() -> Path:
    env = os.environ.get("MEMORY_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("coditect-memory", appauthor=False))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError) as e:
        raise UsageError(f"cannot read config {path}: {e}") from None


def _table(doc: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise UsageError(f"[{name}] in {path} must be a table")
    return value


def _get(table: dict[str, Any], key: str, cast: Callable[[Any], T], default: T, where: str) -> T:
    if key not in table:
        return default
    try:
        return cast(table[key])
    except (TypeError, ValueError):
        raise UsageError(f"bad {where} {key} = {table[key]!r}: expected {cast.__name__}") from None


def _components(items: Any, path: Path) -> list[tuple[str, str]]:
    rules: list[tuple[str, str]] = []
    for item in items or []:
        try:
            re.compile(item["pattern"])
            rules.append((str(item["pattern"]), str(item["name"])))
        except (KeyError, TypeError, re.error) as e:
            raise UsageError(f"bad [[components]] rule {item!r} in {path}: {e}") from None
    return rules


def _search(table: dict[str, Any], home: Path, path: Path) -> SearchSettings:
    w = f"[search] setting in {path}:"
    stop = DEFAULT_STOP_WORDS
    synonyms = DEFAULT_SYNONYMS
    try:
        if "stop_words" in table:
            stop = frozenset(str(x).lower() for x in table["stop_words"])
        if "synonyms" in table:
            synonyms = tuple(tuple(str(x).lower() for x in group) for group in table["synonyms"]
                             if isinstance(group, list) and len(group) > 1)
    except TypeError as e:
        raise UsageError(f"bad {w} {e}") from None
    embed = _get(table, "embed_on_ingest", str, "auto", w).lower()
    if embed not in ("auto", "true", "false"):
        raise UsageError(f"[search] embed_on_ingest must be auto, true or false in {path}")
    from .search.embedder import AUTO, MODELS

    model = _get(table, "model", str, AUTO, w)
    if model not in (AUTO, *MODELS):
        raise UsageError(f"[search] model must be one of {', '.join((AUTO, *MODELS))} in {path}")
    return SearchSettings(
        index_dir=home / "index", stop_words=stop, synonyms=synonyms,
        per_session=max(1, _get(table, "per_session", int, 3, w)),
        index_on_ingest=_get(table, "index_on_ingest", bool, True, w),
        embed_on_ingest=embed, model=model,
        min_similarity=_get(table, "min_similarity", float, 0.3, w),
        alongside_nice=min(19, max(0, _get(table, "alongside_nice", int, 10, w))))


def _backup(table: dict[str, Any], path: Path) -> BackupSettings:
    w = f"[backup] in {path}:"
    return BackupSettings(
        target=os.environ.get("MEMORY_BACKUP_TARGET") or table.get("target"),
        key_file=os.environ.get("MEMORY_BACKUP_KEY_FILE") or table.get("key_file"),
        key=os.environ.get("MEMORY_BACKUP_KEY"),
        endpoint_url=os.environ.get("MEMORY_S3_ENDPOINT") or table.get("endpoint_url"),
        compression_level=_get(table, "compression_level", int, 1, w),
        full_every=_get(table, "full_every", int, 30, w))


def _privacy(table: dict[str, Any], path: Path) -> PrivacySettings:
    from .privacy.detect import parse_rule

    w = f"[privacy] in {path}:"
    secrets = _get(table, "secrets", str, "mask", w).lower()
    if secrets not in ("mask", "keep"):
        raise UsageError(f"[privacy] secrets must be \"mask\" or \"keep\" in {path}")
    levels = _table(table, "levels", path)
    for project, level in levels.items():
        if str(level).upper() not in LEVELS:
            raise UsageError(f"[privacy.levels] {project} = {level!r} in {path}: expected one "
                             f"of {', '.join(LEVELS)}")
    default = _get(table, "default_level", str, "PRIVATE", w).upper()
    if default not in LEVELS:
        raise UsageError(f"[privacy] default_level must be one of {', '.join(LEVELS)} in {path}")
    rules = table.get("rules", [])
    if not isinstance(rules, list):
        raise UsageError(f"[[privacy.rules]] in {path} must be an array of tables")
    for rule in rules:
        try:
            parse_rule(rule)
        except (ValueError, TypeError, AttributeError) as e:
            raise UsageError(f"bad [[privacy.rules]] {rule!r} in {path}: {e}") from None
    return PrivacySettings(
        secrets=secrets, purge_after_days=max(0, _get(table, "purge_after_days", int, 30, w)),
        default_level=default,
        levels=tuple((str(k), str(v).upper()) for k, v in levels.items()),
        rules=tuple(rules),
        audit_retention_days=max(1, _get(table, "audit_retention_days", int, 7 * 365, w)),
        store_ephemeral=_get(table, "store_ephemeral", bool, True, w))


def load_settings(home: Path | None = None) -> Settings:
    """Read the defaults, the user's config.toml and the environment; raise UsageError with
    the file and key on anything invalid."""
    home = home or memory_home()
    default_path = Path(__file__).with_name("default_config.toml")
    config_file = Path(os.environ.get("MEMORY_CONFIG", home / "config.toml")).expanduser()
    default = _read_toml(default_path)
    user = _read_toml(config_file)
    ingest = {**_table(default, "ingest", default_path), **_table(user, "ingest", config_file)}
    search = {**_table(default, "search", default_path), **_table(user, "search", config_file)}
    backup = {**_table(default, "backup", default_path), **_table(user, "backup", config_file)}
    w = f"[ingest] in {config_file}:"
    claude = os.environ.get("CLAUDE_CONFIG_DIR")
    return Settings(
        home=home,
        claude_root=Path(claude).expanduser() if claude else Path.home() / ".claude",
        config_file=config_file,
        database_url=os.environ.get("MEMORY_DATABASE_URL", "") or str(
            _table(user, "store", config_file).get("url", "")),
        ingest=IngestSettings(
            max_line_bytes=int(_get(ingest, "max_line_mb", float, 64.0, w) * (1 << 20)),
            batch_size=_get(ingest, "batch_size", int, 1000, w),
            lock_wait_seconds=_get(ingest, "lock_wait_seconds", float, 30.0, w),
            ignore_dirs=tuple(str(d) for d in ingest.get("ignore_dirs", [])),
            index_alongside_bytes=int(_get(ingest, "index_alongside_mb", float, 32.0, w) * (1 << 20)),
            write_behind_bytes=int(_get(ingest, "write_behind_mb", float, 32.0, w) * (1 << 20))),
        search=_search(search, home, config_file),
        backup=_backup(backup, config_file),
        components=ComponentRules(_components(user.get("components"), config_file)
                                  + DEFAULT_COMPONENT_RULES),
        prices=_table(user, "prices", config_file),
        api=_api({**_table(default, "api", default_path), **_table(user, "api", config_file)},
                 config_file),
        memories=_memories({**_table(default, "memories", default_path),
                            **_table(user, "memories", config_file)}, config_file),
        privacy=_privacy({**_table(default, "privacy", default_path),
                          **_table(user, "privacy", config_file)}, config_file),
        sync=_sync({**_table(default, "sync", default_path), **_table(user, "sync", config_file)},
                   config_file),
    )


def _sync(table: dict[str, Any], path: Path) -> SyncSettings:
    w = f"[sync] in {path}:"
    return SyncSettings(
        batch_size=max(1, _get(table, "batch_size", int, 2000, w)),
        timeout_seconds=_get(table, "timeout_seconds", float, 600.0, w),
        warn_pending_hours=_get(table, "warn_pending_hours", float, 24.0, w),
        clock_skew_seconds=_get({"skew": os.environ.get("MEMORY_SYNC_CLOCK_SKEW", "0")}, "skew",
                                float, 0.0, "MEMORY_SYNC_CLOCK_SKEW:"),
        token=os.environ.get("MEMORY_SYNC_TOKEN", "").strip())


def _api(table: dict[str, Any], path: Path) -> ApiSettings:
    w = f"[api] in {path}:"
    return ApiSettings(
        redis_url=os.environ.get("MEMORY_REDIS_URL") or table.get("redis_url") or None,
        cache_ttl_seconds=_get(table, "cache_ttl_seconds", float, 300.0, w),
        cache_entries=max(0, _get(table, "cache_entries", int, 2048, w)))
