"""Walk an ingested root: every file with its size and mtime, read-only.

Symlinked folders are followed once (a loop is reported, not followed forever); folders of
configuration and caches are listed but not entered.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class Entry:
    relpath: str
    path: str
    size: int
    mtime_ns: int


@dataclass(slots=True)
class WalkIssue:
    relpath: str
    reason: str


def text_path(name: str) -> str:
    """A path as valid text for the store and for JSON: bytes of a name that are not UTF-8
    (possible on Linux) are shown as \\xNN. The real path, kept apart, is what gets opened."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def walk(root: str, ignore_dirs: set[str]) -> Iterator[Entry | WalkIssue]:
    try:
        st = os.stat(root)
    except OSError as err:
        yield WalkIssue("", f"cannot read the root: {err.strerror}")
        return
    seen = {(st.st_dev, st.st_ino)}
    stack = [("", root)]
    while stack:
        rel, path = stack.pop()
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            yield WalkIssue(rel, f"cannot list folder: {err.strerror}")
            continue
        subdirs = []
        for e in entries:
            name = text_path(e.name)
            erel = f"{rel}/{name}" if rel else name
            try:
                est = e.stat(follow_symlinks=True)
            except OSError as err:
                if e.is_symlink():
                    why = "symlink loop" if err.errno == 40 else "broken symlink"
                    yield WalkIssue(erel, f"{why} ({err.strerror}); not followed")
                else:
                    yield WalkIssue(erel, f"cannot stat: {err.strerror}")
                continue
            if stat.S_ISDIR(est.st_mode):
                if e.name in ignore_dirs and not rel:
                    yield Entry(erel + "/", e.path, 0, est.st_mtime_ns)  # listed as not read
                    continue
                if e.name in (".git", "node_modules"):
                    continue
                key = (est.st_dev, est.st_ino)
                if key in seen:
                    yield WalkIssue(erel, "symlink loop: folder already visited; not followed")
                    continue
                seen.add(key)
                subdirs.append((erel, e.path))
            elif stat.S_ISREG(est.st_mode):
                yield Entry(erel, e.path, est.st_size, est.st_mtime_ns)
        stack.extend(reversed(subdirs))
