"""The Store methods sync adds for held rows, a new server and the mutable fingerprint, on
every backend of the `store` fixture (SQLite and a real PostgreSQL)."""

from __future__ import annotations

from .test_store_conformance import ROOT, conversation_batch


def _two_sessions(store):
    run_id = store.begin_run(ROOT, "claude")
    for session in ("s1", "s2"):
        store.write_batch(conversation_batch(store, run_id, session, 4))
    store.derive_sessions()
    return sorted(d["id"] for d in store.sync_push_rows(0, store.max_message_id(), 100))


def test_held_rows_are_found_by_session_and_released(store):
    ids = _two_sessions(store)
    store.sync_hold(ids[:6])  # s1's four and two of s2's
    store.sync_hold(ids[:1])  # held twice: once
    assert store.sync_held_sessions() == [("s1", "/home/dev/webapp"), ("s2", "/home/dev/webapp")]
    rows = store.sync_held_rows(["s2"], 0, 100)
    assert [r["id"] for r in rows] == ids[4:6] and {r["session_id"] for r in rows} == {"s2"}
    assert [r["id"] for r in store.sync_held_rows(["s1", "s2"], ids[2], 2)] == ids[3:5]
    assert store.sync_held_rows([], 0, 100) == []
    store.sync_release(ids[4:6])
    assert store.sync_held_sessions() == [("s1", "/home/dev/webapp")]


def test_a_new_server_forgets_held_rows_sent_tombstones_and_mutable_revisions(store):
    ids = _two_sessions(store)
    store.set_sync_state(server="http://a", machine_id="m", hostname="h")
    store.sync_hold(ids[:2])
    store.sync_tombstones_sent(["u1"])
    store.sync_unlink()
    store.mutable_unlink()
    assert store.sync_held_sessions() == [] and store.mutable_cursor() == 0
    assert store.sync_state()["levels_digest"] is None


def test_the_mutable_fingerprint_moves_with_every_change_and_only_then(store):
    _two_sessions(store)
    before = store.mutable_fingerprint()
    assert store.mutable_fingerprint() == before
    store.set_privacy_level("project", "/home/dev/webapp", "TEAM", 1_000)
    after_level = store.mutable_fingerprint()
    assert after_level != before
    store.set_privacy_level("project", "/home/dev/webapp", "PUBLIC", 1_000)  # same time
    assert store.mutable_fingerprint() != after_level


def test_the_servers_own_forgets_are_adopted_once_in_order(store):
    _two_sessions(store)
    store.add_tombstones(["s2/1", "s1/0"], 1_000)
    store.sync_add_tombstones(["s1/0"], "m1", 1_000)  # pushed by a machine first
    assert store.sync_adopt_tombstones("server", 2_000) == 1
    assert store.sync_adopt_tombstones("server", 3_000) == 0
    assert [u for _, u in store.sync_tombstones_after(0, "m2", 10)] == ["s1/0", "s2/1"]
    assert [u for _, u in store.sync_tombstones_after(0, "m1", 10)] == ["s2/1"]
