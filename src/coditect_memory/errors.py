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


EXIT_INTERRUPTED = 130
