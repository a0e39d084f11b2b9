"""Backup errors: one line a person can act on, each with a stable exit code."""

from __future__ import annotations

from ..errors import MemoryError_


class BackupError(MemoryError_):
    """A backup could not be made, read or restored for a reason given in the message."""

    exit_code = 1


class BackupDamaged(BackupError):
    """An object or manifest failed its hash, or a restored store does not match its manifest."""

    exit_code = 13


class BackupKeyError(BackupError):
    """The repository is encrypted and no key, or the wrong key, was given."""

    exit_code = 14


class TargetError(BackupError):
    """The target cannot be reached or written (full disk, server gone, no permission)."""

    exit_code = 15
