"""The [backup] section of $MEMORY_HOME/config.toml: default target, key file, endpoint,
compression, how long a chain of incrementals grows."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..config import memory_home
from ..errors import UsageError


@dataclass
class BackupSettings:
    target: str | None = None  # a folder or s3://bucket/prefix
    key_file: str | None = None  # the encryption key (MEMORY_BACKUP_KEY_FILE overrides)
    endpoint_url: str | None = None  # S3 endpoint (MEMORY_S3_ENDPOINT overrides)
    compression_level: int = 1  # zstd level: 1 fastest (~5.6x here), 3 ~10% smaller, 2x slower
    full_every: int = 30  # incrementals on one full before the next backup is a full (0: never)


def load_settings(home: Path | None = None) -> BackupSettings:
    home = home or memory_home()
    path = Path(os.environ.get("MEMORY_CONFIG", home / "config.toml"))
    try:
        with open(path, "rb") as f:
            section = tomllib.load(f).get("backup", {})
    except FileNotFoundError:
        return BackupSettings()
    except (tomllib.TOMLDecodeError, OSError) as e:
        raise UsageError(f"cannot read config {path}: {e}") from None
    if not isinstance(section, dict):
        raise UsageError(f"[backup] in {path} must be a table")
    numbers = {}
    for name in ("compression_level", "full_every"):
        try:
            numbers[name] = int(section.get(name, getattr(BackupSettings, name)))
        except (TypeError, ValueError):
            raise UsageError(f"[backup] {name} in {path} must be a number") from None
    return BackupSettings(target=section.get("target"), key_file=section.get("key_file"),
                          endpoint_url=section.get("endpoint_url"), **numbers)


def resolve_target(given: str | None, settings: BackupSettings) -> str:
    target = given or os.environ.get("MEMORY_BACKUP_TARGET") or settings.target
    if not target:
        raise UsageError("no backup target: pass --target DIR|s3://bucket/prefix, or set "
                         "[backup] target in $MEMORY_HOME/config.toml")
    return str(target)
