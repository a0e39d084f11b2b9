"""Sync of mutable records: session titles and tags, privacy levels, memories (issue 17 item 4).

sync-core's push, pull and status call these three. Push sends every record changed here
since its base (in batches); the server accepts it or answers with its own version, which
wins (the local one is kept as a conflict). Pull applies what other machines changed since
this store's cursor, with the same rule (sync/mutable_merge.py). Titles and memories of
PRIVATE and EPHEMERAL sessions and projects never leave the machine (as their messages).
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

import orjson

from ..failpoints import failpoint
from ..privacy.levels import TEAM, TEAM_AUDIENCE, Levels, PiiRedactor, redact_for, visible
from ..privacy.mask import map_strings
from ..settings import PrivacySettings
from ..store.base import Store
from ..store.protocol.sync_mutable import (
    ACCEPT,
    APPLY,
    CONFLICT,
    REJECT,
    SAME,
    CentralRecord,
    LocalRecord,
)
from .mutable_merge import accepted_rule, pull_rule, rejected_rule

BATCH = 500  # records a push or pull request carries


class Client(Protocol):
    """What these functions use of sync/client.py's SyncClient (which names the machine in
    every request's query)."""

    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def get_json(self, path: str, params: dict[str, Any]) -> dict[str, Any]: ...


def central(d: dict[str, Any]) -> CentralRecord:
    """A central record as the server's answers carry it."""
    return CentralRecord(kind=str(d["kind"]), key=str(d["key"]), revision=int(d["revision"]),
                         value=d.get("value"), machine=str(d.get("machine") or ""),
                         project=d.get("project"), seq=int(d.get("seq") or 0))


def wire(c: CentralRecord) -> dict[str, Any]:
    return {"kind": c.kind, "key": c.key, "revision": c.revision, "value": c.value,
            "machine": c.machine, "project": c.project, "seq": c.seq}


def _levels(store: Store, privacy: PrivacySettings | None) -> Levels:
    """`privacy`: the settings' levels and default; without it, the default is TEAM."""
    return Levels.load(privacy or PrivacySettings(default_level=TEAM), store.privacy_levels())


def pending(store: Store, privacy: PrivacySettings | None = None,
            levels: Levels | None = None) -> list[LocalRecord]:
    """The records changed here since they were last synced that may leave the machine: as
    for messages, a title or memory of a PRIVATE or EPHEMERAL session or project stays here."""
    levels = levels or _levels(store, privacy)
    return [r for r in store.mutable_records() if r.dirty and (
        r.kind == "level" or visible(levels.level(r.project, r.session), TEAM_AUDIENCE))]


def outgoing(r: LocalRecord, levels: Levels, pii: PiiRedactor | None) -> Any:
    """A record's value as the team may have it: a title's, tags' or memory's text with its
    PII masked by its level, as a message's text is on its way out (levels carry no text)."""
    if pii is None or r.kind == "level":
        return r.value
    level = levels.level(r.project, r.session)
    return map_strings(r.value, lambda text: redact_for(level, TEAM_AUDIENCE, text, pii) or text)


def push_mutable(client: Client, store: Store, privacy: PrivacySettings | None = None,
                 pii: PiiRedactor | None = None) -> dict[str, int]:
    """Send what changed here, PII masked by level when given `pii` (the push's redactor);
    returns {"sent", "accepted", "conflicts"}."""
    levels = _levels(store, privacy)
    mark = fingerprint(store, privacy)
    todo = [] if _unchanged(store, mark) else pending(store, levels=levels)
    out = {"sent": 0, "accepted": 0, "conflicts": 0}
    for i in range(0, len(todo), BATCH):
        part = todo[i:i + BATCH]
        answer = client.post_json("mutable/push", {"records": [
            {"kind": r.kind, "key": r.key, "base": r.base, "value": outgoing(r, levels, pii),
             "project": r.project}
            for r in part]})
        failpoint("sync-mutable:push-answered")  # accepted there, not yet known here
        sent = {(r.kind, r.key): r for r in part}
        won: list[tuple[CentralRecord, LocalRecord | None]] = []
        lost: list[tuple[CentralRecord, LocalRecord | None]] = []
        for res in answer.get("results", []):
            c = central(res)
            local = sent.get((c.kind, c.key))
            if local is None or res["status"] not in (ACCEPT, SAME, REJECT):
                continue  # refused (outside the token's submodules): stays pending
            (won if res["status"] in (ACCEPT, SAME) else lost).append((c, local))
        out["sent"] += len(part)
        out["accepted"] += len(won)
        store.mutable_settle(won, accepted_rule)
        counts = store.mutable_settle(lost, rejected_rule)
        out["conflicts"] += counts[CONFLICT]
    if todo:  # settled (or refused): left pending?
        mark = fingerprint(store, privacy)
        if pending(store, privacy):
            return out
    if store.sync_state() is not None:
        store.set_sync_state(mutable_digest=mark)
    return out


def fingerprint(store: Store, privacy: PrivacySettings | None) -> int:
    """What `pending` reads, as a number a store keeps (63 bits): the store's aggregates
    and the settings' levels."""
    cfg = privacy or PrivacySettings(default_level=TEAM)
    raw = orjson.dumps([store.mutable_fingerprint(), cfg.default_level, cfg.levels])
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big") >> 1


def _unchanged(store: Store, mark: int) -> bool:
    """Nothing changed since a push left no record pending: no record needs reading."""
    state = store.sync_state()
    return state is not None and state["mutable_digest"] == mark


def pull_mutable(client: Client, store: Store) -> dict[str, int]:
    """Apply what other machines changed; returns {"received", "applied" (cleanly),
    "conflicts" (applied over a local change, which is kept)}."""
    out = {"received": 0, "applied": 0, "conflicts": 0}
    cursor = store.mutable_cursor()
    while True:
        answer = client.get_json("mutable/pull", {"after": cursor, "limit": BATCH})
        failpoint("sync-mutable:pull-received")
        records = [central(d) for d in answer.get("records", [])]
        cursor = int(answer.get("next", cursor))
        counts = store.mutable_settle([(c, None) for c in records], pull_rule, cursor=cursor)
        out["received"] += len(records)
        out["applied"] += counts[APPLY]
        out["conflicts"] += counts[CONFLICT]
        if not answer.get("more"):
            return out


def mutable_status(store: Store, privacy: PrivacySettings | None = None) -> dict[str, int]:
    """{"pending": records changed here not pushed yet, "conflicts": kept local versions}."""
    waiting = 0 if _unchanged(store, fingerprint(store, privacy)) else len(pending(store, privacy))
    return {"pending": waiting, "conflicts": len(store.mutable_conflicts())}
