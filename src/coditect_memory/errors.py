"""Errors a person can act on, each with a stable exit code.

Exit codes are mapped here and only here (restic's habit), so scripts can rely on them.
"""


class MemoryError_(Exception):
    """Base for user-facing errors: printed as one line, never as a traceback."""

    exit_code = 1


class UsageError(MemoryError_):
    exit_code = 2


class SourceMissing(MemoryError_):
    """The root to ingest does not exist or cannot be read."""

    exit_code = 3


class StoreLocked(MemoryError_):
    """Another writer holds the store for longer than we agreed to wait."""

    exit_code = 11


class StoreError(MemoryError_):
    """The store cannot be opened or is damaged."""

    exit_code = 12


class NotFound(MemoryError_):
    exit_code = 4


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


class ImportIncomplete(MemoryError_):
    """`memory import` left lines out: damaged, conflicting with stored messages, or the file
    was cut short. What was sound is stored; the lines left out are in `memory errors`."""

    exit_code = 17


EXIT_INTERRUPTED = 130
