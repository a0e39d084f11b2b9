"""The rough edges a person meets every day (issue 15): a short session id that several
sessions share, `--at` dates for restore, one backup size, what `show session` prints."""

from __future__ import annotations

from collections import Counter

import pytest

from coditect_memory.sample import generate

from .conftest import ingest_into, run, run_proc


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("claude")
    generate(root, sessions=12, seed=5)
    home = tmp_path_factory.mktemp("home")
    ingest_into(home, root)
    return home


@pytest.fixture
def stored(home, monkeypatch):
    monkeypatch.setenv("MEMORY_HOME", str(home))
    return home


class TestSessionPrefix:
    """`show session 5` when several sessions start with 5: a usage error listing them."""

    def _shared_prefix(self) -> tuple[str, list[dict]]:
        rows = run("sessions", "--json", "--limit", "1000").json()
        first, n = Counter(r["session_id"][0] for r in rows).most_common(1)[0]
        assert n >= 2, "the sample should have two sessions starting alike"
        return first, [r for r in rows if r["session_id"].startswith(first)]

    def test_ambiguous_prefix_lists_the_candidates(self, stored):
        prefix, matches = self._shared_prefix()
        for args in (("show", "session", prefix), ("report", "session", prefix)):
            r = run_proc(*args, env={"MEMORY_HOME": str(stored)})
            assert r.code == 2 and r.stdout == "" and "Traceback" not in r.stderr, args
            assert "ambiguous" in r.stderr and f"{len(matches)} sessions" in r.stderr
            for m in matches:
                assert m["session_id"] in r.stderr
                assert m["started_at"][:16].replace("T", " ") in r.stderr
                assert " ".join((m["title"] or "").split())[:40] in r.stderr

    def test_unique_prefix_and_unknown_id(self, stored):
        rows = run("sessions", "--json", "--limit", "1000").json()
        ids = [r["session_id"] for r in rows]
        sid = ids[0]
        short = next(sid[:n] for n in range(1, len(sid) + 1)
                     if sum(i.startswith(sid[:n]) for i in ids) == 1)
        assert run("show", "session", short, "--json").json()["session_id"] == sid
        r = run_proc("show", "session", "zz-none", env={"MEMORY_HOME": str(stored)})
        assert r.code == 4 and "no session 'zz-none'" in r.stderr

    def test_wildcards_are_not_prefixes(self, stored):
        r = run_proc("show", "session", "%", env={"MEMORY_HOME": str(stored)})
        assert r.code == 4 and "ambiguous" not in r.stderr
