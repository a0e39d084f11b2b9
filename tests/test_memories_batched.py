"""put_memories: the same drafts leave the same memories on both backends (PostgreSQL folds a
call's drafts in Python and writes them in a few statements; SQLite looks each one up)."""

from __future__ import annotations

from coditect_memory.store.protocol.memories import MemoryDraft


def _draft(norm: str, *, status: str = "active", importance: float = 0.5, project: int = 0,
           evidence: list[tuple[str, str | None, int | None]] | None = None,
           entities: list[tuple[str, str]] | None = None) -> MemoryDraft:
    return MemoryDraft(type="fact", text=f"text of {norm}", norm=norm, project_id=project,
                       importance=importance, status=status, evidence=evidence or [],
                       entities=entities or [])


def _state(store) -> list[tuple]:
    rows = store.db.execute(
        "SELECT id, project_id, type, text, norm, importance, status, seen_count, first_seen,"
        " last_seen, session_id FROM memories ORDER BY id").fetchall()
    ev = store.db.execute("SELECT memory_id, uid, session_id, ts FROM memory_evidence"
                          " ORDER BY memory_id, uid").fetchall()
    ents = store.db.execute("SELECT me.memory_id, e.kind, e.name FROM memory_entities me JOIN"
                            " entities e ON e.id = me.entity_id ORDER BY 1, 2, 3").fetchall()
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows] + \
        [tuple(r) for r in ev] + [tuple(r) for r in ents]


def test_a_call_s_drafts_fold_as_one_at_a_time(store) -> None:
    """New, reinforced in the same call, stored then seen again, forgotten, a todo done
    then open, undated evidence, another project: each key's end state as SQLite's rules
    leave it, ids in order of first sight."""
    assert store.put_memories([
        _draft("a", evidence=[("u1", "s1", 100)], entities=[("file", "a.py")]),
        _draft("b", importance=0.7, evidence=[("u2", "s1", 200)]),
        _draft("gone", evidence=[("u3", None, None)]),
    ], watermark=5) == 3
    gone = store.db.execute("SELECT id FROM memories WHERE norm = 'gone'").fetchone()[0]
    store.update_memory(gone, status="forgotten")
    new = store.put_memories([
        _draft("c", evidence=[("u4", "s2", 50), ("u5", "s2", 400)], entities=[("file", "c.py")]),
        _draft("a", importance=0.9, evidence=[("u6", "s3", 90)], entities=[("file", "a.py")]),
        _draft("c", status="done", evidence=[("u7", None, None)]),
        _draft("gone", evidence=[("u8", "s4", 900)]),
        _draft("b", evidence=[]),
        _draft("c", project=3, evidence=[("u9", "s5", 10)], entities=[("command", "make")]),
        _draft("c", status="active", importance=1.0, evidence=[("u10", "s6", 300)]),
        _draft("a", evidence=[("u11", None, 50)]),
    ], watermark=3)
    assert new == 2  # c, and c of project 3
    rows = _state(store)
    memories = {r[4] + str(r[1]): r for r in rows if len(r) == 11}
    assert [m[0] for m in sorted(memories.values())] == sorted(m[0] for m in memories.values())
    a, b, c, c3, g = (memories[k] for k in ("a0", "b0", "c0", "c3", "gone0"))
    assert a[5:] == (round(min(1.0, 0.9 + 0.1 * 0.25) + (1 - min(1.0, 0.9 + 0.1 * 0.25)) * 0.25, 9),
                     "active", 3, 100, 100, "s3")
    assert c[5:] == (1.0, "active", 4, 50, 400, "s6") and c3[6:8] == ("active", 1)
    assert g[6] == "forgotten" and g[7] == 2 and g[9] == 900
    assert b[7] == 2 and b[10] == "s1"
    assert c[0] < c3[0]  # first sight order
    assert [store.memory(m[0])["entities"] for m in (a, c, c3, b)] == [
        ["file:a.py"], ["file:c.py"], ["command:make"], []]
    assert {e["uid"] for e in store.memory_evidence(c[0])} == {"u4", "u5", "u7", "u10"}
    assert store.memory_watermark() == 5  # the larger watermark stays


def test_the_same_drafts_leave_the_same_rows_on_both_backends(store, tmp_path) -> None:
    """Many drafts with repeats within and across calls: the table contents are those of the
    rules applied one draft at a time (computed here in Python, independent of either backend)."""
    import random

    rnd = random.Random(11)
    calls = [[_draft(f"k{rnd.randint(0, 40)}", project=rnd.randint(0, 2),
                     status=rnd.choice(["active", "done"]), importance=rnd.choice([0.3, 0.5, 0.8]),
                     evidence=[(f"u{i}-{j}", rnd.choice([None, "s1", "s2"]),
                                rnd.choice([None, rnd.randint(1, 10**6)])) for j in range(rnd.randint(0, 3))],
                     entities=[("file", f"f{rnd.randint(0, 5)}.py")] * rnd.randint(0, 1))
              for i in range(rnd.randint(1, 60))] for _ in range(6)]
    expect: dict[tuple, dict] = {}
    order: list[tuple] = []
    for drafts in calls:
        store.put_memories(drafts)
        for d in drafts:
            ts = [e[2] for e in d.evidence if e[2] is not None]
            first, last = (min(ts), max(ts)) if ts else (None, None)
            session = d.evidence[-1][1] if d.evidence else None
            key = (d.project_id, d.type, d.norm)
            m = expect.get(key)
            if m is None:
                expect[key] = {"importance": d.importance, "status": d.status, "first": first,
                               "last": last, "session": session, "seen": max(1, len(d.evidence))}
                order.append(key)
                continue
            m["status"] = m["status"] if m["status"] == "forgotten" else d.status
            base = max(m["importance"], d.importance)
            m["importance"] = min(1.0, base + (1.0 - base) * 0.25)
            m["last"] = m["last"] if last is None else max(m["last"] or 0, last)
            m["session"] = session if session is not None else m["session"]
            m["seen"] += max(1, len(d.evidence))
    got = store.db.execute("SELECT project_id, type, norm, importance, status, first_seen,"
                           " last_seen, session_id, seen_count FROM memories ORDER BY id").fetchall()
    assert [(r[0], r[1], r[2]) for r in got] == order
    for r in got:
        m = expect[(r[0], r[1], r[2])]
        assert (round(r[3], 9), r[4], r[5], r[6], r[7], r[8]) == (
            round(m["importance"], 9), m["status"], m["first"], m["last"], m["session"], m["seen"])
