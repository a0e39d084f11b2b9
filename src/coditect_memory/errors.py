"""Errors a person can act on, each with a stable exit code.

Exit codes are mapped here and only here (restic's habit), so scripts can rely on them.
"""

import contextlib
import errno
import os
import re
import shutil


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


class Unauthorized(MemoryError_):
    """An API request without a valid token: missing, malformed, forged, expired or revoked."""

    exit_code = 18


class Forbidden(MemoryError_):
    """A valid token whose scope does not allow what was asked."""

    exit_code = 19


class SyncUnreachable(MemoryError_):
    """The sync server did not answer (refused, reset, timed out, cut mid-response): what was
    not sent stays queued and the next push sends it."""

    exit_code = 20


EXIT_INTERRUPTED = 130


class StorageIOError(MemoryError_):
    """A disk refused a read or write: full (ENOSPC, EDQUOT), failing (EIO), not ours to
    write (EACCES, EPERM) or read-only (EROFS). The message names what failed and what to do."""

    exit_code = 16


_ADVICE = {
    errno.ENOSPC: ("no space left on the device", "free some space on that disk (or use a "
                   "larger one) and run the command again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space and run the command again"),
    errno.EIO: ("I/O error: the disk may be failing", "check the disk (dmesg, smartctl), then "
                "run `memory doctor`"),
    errno.EACCES: ("permission denied", "check the owner and mode of the folder"),
    errno.EPERM: ("operation not permitted", "check the owner and mode of the folder"),
    errno.EROFS: ("read-only file system", "write to a writable disk (set MEMORY_HOME or pass "
                  "another path)"),
}
# SQLite's primary result codes for the same causes (`sqlite3.Error.sqlite_errorcode & 0xff`)
_SQLITE = {13: errno.ENOSPC, 10: errno.EIO, 8: errno.EACCES, 14: errno.EACCES}
_OS_ERROR = re.compile(r"os error (\d+)")  # how Rust libraries (Tantivy) report errno


def io_errno(e: BaseException) -> int | None:
    """The errno behind `e` when it is a disk's refusal we explain (an OSError, an sqlite3
    error, a Tantivy error carrying "os error N"), else None."""
    if isinstance(e, OSError):
        code = e.errno
    elif isinstance(getattr(e, "sqlite_errorcode", None), int):
        code = _SQLITE.get(e.sqlite_errorcode & 0xFF)  # type: ignore[attr-defined]
    else:
        m = _OS_ERROR.search(str(e))
        code = int(m.group(1)) if m else None
        if code is None and "io::Error" in str(e):  # Tantivy's writer thread died on I/O
            code = errno.EIO
    return code if code in _ADVICE else None


def io_error(e: BaseException, what: str, folder: str | os.PathLike[str] | None = None,
             ) -> StorageIOError | None:
    """`e` as one line ("<what> failed: <cause>; <what to do>"), or None when it is not an
    I/O error we know (let it go on). SQLite's codes are coarser than errno ("disk I/O
    error" where it could not grow a file, "unable to open" on a read-only disk): with the
    `folder` written to, a read-only or (nearly) full disk is the cause named."""
    code = io_errno(e)
    if code is None:
        return None
    if folder is not None and not isinstance(e, OSError):  # SQLite's codes are coarser
        with contextlib.suppress(OSError):
            if os.statvfs(folder).f_flag & os.ST_RDONLY:
                code = errno.EROFS
            elif code == errno.EIO and shutil.disk_usage(folder).free < 1 << 20:
                code = errno.ENOSPC
    cause, advice = _ADVICE[code]
    where = f" ({e.filename})" if isinstance(e, OSError) and e.filename else ""
    return StorageIOError(f"{what} failed: {cause}{where}; {advice}")
