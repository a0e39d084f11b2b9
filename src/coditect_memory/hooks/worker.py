"""The detached capture worker a Stop/SessionEnd hook starts: ingest one transcript file
(incrementally), update search, extract memories; any failure is one line in hooks.log."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

QUEUE_WAIT_SECONDS = 600.0  # behind another ingest: wait this long for the lock, then give up


def main(argv: list[str]) -> int:
    from ..settings import load_settings
    from .runner import log, transcript_root

    event, path = argv[0], Path(argv[1])
    try:
        settings = load_settings()
    except Exception as e:  # noqa: BLE001 - a hook fails open
        print(f"{event}: cannot read settings: {e}", file=sys.stderr)
        return 0
    started = time.monotonic()
    try:
        from ..actions.ingest import ingest
        from ..store import open_store

        settings = replace(settings, ingest=replace(settings.ingest, lock_wait_seconds=QUEUE_WAIT_SECONDS))
        root, rel = transcript_root(path, settings.claude_root)
        with open_store(settings) as store:
            res = ingest(store, settings, root, only=rel, space_check=False)
        log(settings, event, f"ok {rel}: {res.stats.messages_new} new messages, "
            f"{res.memories.get('new', 0)} new memories in {time.monotonic() - started:.2f} s")
    except BaseException as e:  # noqa: BLE001 - a hook fails open, and says why
        log(settings, event, f"failed on {path}: {type(e).__name__}: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
