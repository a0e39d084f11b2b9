"""What wins when a mutable record (a session's title and tags, a privacy level, a memory)
changed in two places: plain functions, run by the store inside its transaction.

The central version wins by default. A client's local value derives from a central revision
(its base); a local value changed since (dirty) that meets a newer central one is kept as a
conflict (`memory sync conflicts`) and the central one applied. The server accepts a pushed
value whose base is its current revision (or a record new to it) and keeps its own otherwise.
Equal values never conflict, so a push or pull repeated after a crash changes nothing more.
"""

from __future__ import annotations

from ..store.protocol.sync_mutable import (
    ACCEPT,
    ADOPT,
    APPLY,
    CONFLICT,
    REJECT,
    SAME,
    SKIP,
    CentralRecord,
    LocalRecord,
    Value,
)


def server_rule(current: CentralRecord | None, base: int, value: Value) -> str:
    """The server, given a pushed value derived from central revision `base`."""
    if current is None:
        return ACCEPT
    if current.value == value:
        return SAME  # the same push again, or the same change made on two machines
    return ACCEPT if base == current.revision else REJECT


def pull_rule(local: LocalRecord | None, central: CentralRecord) -> str:
    """A client, given a central version pulled from the server."""
    if local is None:
        return APPLY
    if local.base >= central.revision:
        return SKIP  # had it already (a pull re-applied after a crash)
    if local.value == central.value:
        return ADOPT
    return CONFLICT if local.dirty else APPLY


def accepted_rule(local: LocalRecord | None, central: CentralRecord) -> str:
    """A client, told its pushed value is the central one now."""
    return ADOPT


def rejected_rule(local: LocalRecord | None, central: CentralRecord) -> str:
    """A client, told the server kept its own version: central wins, the local one is kept."""
    if local is not None and local.value == central.value:
        return ADOPT
    return CONFLICT if local is not None and local.value is not None else APPLY
