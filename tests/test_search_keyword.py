"""`memory search` in keyword mode on a generated store with known content: the JSON
contract, exact match counts, every filter, sorting, facets, typo tolerance, synonyms, stop
words, per-session collapsing, and hostile input answered without a traceback."""

from __future__ import annotations

import csv
import io
import re

import pytest

from coditect_memory.sample import generate
from coditect_memory.search.index import SKIP_TYPES
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .conftest import ingest_json, run, run_proc

SESSIONS = 12


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One ingested sample store for the whole module (the ingest hook builds the index)."""
    root = tmp_path_factory.mktemp("claude")
    generate(root, sessions=SESSIONS, seed=7)
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        ingest_json(root)
    return home


@pytest.fixture(autouse=True)
def shared_home(home, monkeypatch):
    monkeypatch.setenv("MEMORY_HOME", str(home))
    return home


def every_message(home) -> list:
    """Every message of the store at `home`, as the Store gives them to the indexer."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        with open_store(load_settings()) as store:
            return [r for rows in store.rows_to_index(0, store.max_message_id()) for r in rows]


def message_count(home) -> int:
    return len(every_message(home))


@pytest.fixture(scope="module")
def rows(home):
    """Every searchable row: (uid, type, source_kind, content, session, project name, path,
    tool, level, component, ts)."""
    messages = every_message(home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        with open_store(load_settings()) as store:
            projects = store.project_labels({m.project_id for m in messages if m.project_id})
    out = []
    for m in messages:
        if m.content and m.deleted_at is None and m.linked_uid is None and m.type not in SKIP_TYPES:
            path, name = projects.get(m.project_id or 0, (None, None))
            out.append((m.uid, m.type, m.source_kind, m.content, m.session_id, name, path,
                        m.tool_name, m.level, m.component, m.ts))
    return out


def word(w: str) -> re.Pattern:
    return re.compile(rf"(?<![A-Za-z0-9]){w}(?![A-Za-z0-9])", re.I)


def search(*args: str) -> dict:
    return run("search", *args, "--json").json()


def count(rows, *patterns) -> int:
    return sum(1 for r in rows if all(p.search(r[3]) for p in patterns))


class TestContract:
    """The documented JSON shape: total, took_ms, results with provenance as `show session`."""

    def test_shape_and_provenance(self):
        out = search("alembic", "--limit", "5")
        assert isinstance(out["total"], int) and out["total"] >= len(out["results"]) == 5
        assert isinstance(out["took_ms"], float) and out["took_ms"] >= 0
        assert out["mode"] == "keyword"
        for r in out["results"]:
            assert set(r) >= {"uid", "session_id", "project", "timestamp", "source_kind", "source_file",
                              "source_line", "type", "role", "snippet", "score"}
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["timestamp"])
            assert "alembic" in r["snippet"].lower()
            shown = run("show", "session", r["session_id"], "--json").json()
            same = [m for m in shown["messages"] if m["uid"] == r["uid"]]
            assert len(same) == 1
            m = same[0]
            assert (m["source_file"], m["source_line"], m["timestamp"], m["type"]) == \
                (r["source_file"], r["source_line"], r["timestamp"], r["type"])

    def test_highlights_point_at_the_matches(self):
        for r in search("refresh", "--limit", "10")["results"]:
            assert r["highlights"]
            for a, b in r["highlights"]:
                assert r["snippet"][a:b].lower().startswith("refresh")

    def test_csv(self):
        text = run("search", "alembic", "--limit", "3", "--csv").stdout
        table = list(csv.reader(io.StringIO(text)))
        assert table[0][:3] == ["timestamp", "project", "session_id"] and len(table) == 4


class TestMatching:
    """Totals equal a count made independently with regular expressions over the store."""

    def test_word(self, rows):
        assert search("alembic")["total"] == count(rows, word("alembic"))

    def test_words_any_match_all_first(self, rows):
        # A ranked disjunction: any word matches, messages with every word come first.
        out = search("alembic", "upgrade", "--limit", "200")
        both = count(rows, word("alembic"), word("upgrade"))
        assert out["total"] == sum(1 for r in rows if word("alembic").search(r[3]) or word("upgrade").search(r[3]))
        assert 0 < both < out["total"]
        texts = [r["snippet"] for r in out["results"]]
        assert all(word("alembic").search(t) and word("upgrade").search(t) for t in texts[:both])

    def test_words_next_to_each_other_rank_higher(self):
        # "upgrade head" appears as typed in `alembic upgrade head`; the pair boost puts a
        # message with the two words together above one with both far apart.
        top = search("head", "upgrade", "--limit", "5")["results"]
        assert re.search(r"(?i)upgrade\W+head", top[0]["snippet"])

    def test_phrase(self, rows):
        phrase = re.compile(r"no\W+such\W+file\W+or\W+directory", re.I)
        assert search('"no such file or directory"')["total"] == count(rows, phrase)

    def test_exclude(self, rows):
        expected = sum(1 for r in rows if word("alembic").search(r[3]) and not word("upgrade").search(r[3]))
        assert search("alembic -upgrade")["total"] == expected

    def test_or(self, rows):
        expected = sum(1 for r in rows if word("alembic").search(r[3]) or word("dockerfile").search(r[3]))
        assert search("alembic OR dockerfile")["total"] == expected

    def test_prefix(self):
        out = search("migrat*", "--limit", "50")
        assert out["total"] > 0
        assert all(re.search(r"(?i)(?<![a-z0-9])migrat", r["snippet"]) for r in out["results"])

    def test_history_copies_are_not_returned_twice(self, home):
        linked = {m.uid for m in every_message(home) if m.linked_uid is not None}
        assert linked, "the sample has history prompts linked to their transcripts"
        out = search("fix", "--limit", "1000", "--type", "user")
        assert not linked & {r["uid"] for r in out["results"]}


class TestFilters:
    """Every filter restricts the results to what it names, as an option or inline."""

    def test_project_by_name_or_path(self, rows):
        name, path = max({(r[5], r[6]) for r in rows if r[5]},
                         key=lambda p: sum(1 for r in rows if r[5] == p[0]))
        by_name = search("alembic", "--project", name, "--limit", "1000")
        by_path = search("alembic", "--project", path, "--limit", "1000")
        inline = search(f"alembic project:{name}", "--limit", "1000")
        expected = sum(1 for r in rows if r[5] == name and word("alembic").search(r[3]))
        assert expected > 0
        assert by_name["total"] == by_path["total"] == inline["total"] == expected
        assert {r["uid"] for r in by_name["results"]} == {r["uid"] for r in inline["results"]}
        assert {r["project_name"] for r in by_name["results"]} == {name}

    @pytest.mark.parametrize("option,value,key", [
        ("--source", "debug", "source_kind"), ("--type", "tool_use", "type"),
        ("--tool", "bash", "tool_name"), ("--level", "ERROR", "level"),
        ("--component", "lsp", "component"), ("--role", "user", "role")])
    def test_term_filters_ignore_case(self, option, value, key):
        out = search(option, value, "--limit", "200")
        assert out["total"] > 0, (option, value)
        assert {r[key].lower() for r in out["results"]} == {value.lower()}

    def test_level_error_inline(self, rows):
        out = search("level:error", "--limit", "1000")
        assert out["total"] == sum(1 for r in rows if r[8] == "error")

    def test_session_prefix(self, rows):
        sid = next(r[4] for r in rows if r[4])
        out = search("--session", sid[:8], "--limit", "1000")
        assert out["total"] > 0 and {r["session_id"] for r in out["results"]} == {sid}

    def test_time_range(self, rows):
        out = search("alembic", "--since", "2025-12-01", "--until", "2025-12-31", "--limit", "1000")
        assert out["total"] > 0
        assert all("2025-12-01" <= r["timestamp"][:10] <= "2025-12-31" for r in out["results"])
        lo, hi = 1764547200000, 1767225599999  # 2025-12-01T00:00Z .. 2025-12-31T23:59:59.999Z
        assert out["total"] == sum(1 for r in rows if r[10] is not None and lo <= r[10] <= hi
                                   and word("alembic").search(r[3]))

    def test_bad_date_is_one_line(self):
        r = run_proc("search", "x", "--since", "last tuesday")
        assert r.code == 2 and "not a date" in r.stderr and "Traceback" not in r.stderr

    def test_unknown_project_finds_nothing_and_says_so(self):
        out = search("token", "--project", "no-such-project")
        assert out["total"] == 0 and any("no project" in n for n in out["notes"])


class TestOrderAndFacets:
    """Sorting, paging, facets and the per-session cap."""

    def test_newest_and_oldest(self):
        new = [r["timestamp"] for r in search("token", "--sort", "newest", "--limit", "50")["results"]]
        old = [r["timestamp"] for r in search("token", "--sort", "oldest", "--limit", "50")["results"]]
        assert new == sorted(new, reverse=True) and old == sorted(old)

    def test_paging_is_consistent(self):
        whole = [r["uid"] for r in search("token", "--limit", "20")["results"]]
        first = [r["uid"] for r in search("token", "--limit", "10")["results"]]
        second = [r["uid"] for r in search("token", "--limit", "10", "--offset", "10")["results"]]
        assert first + second == whole

    def test_facets_count_the_matches(self, rows):
        out = search("alembic", "--facets")
        f = out["facets"]
        assert sum(f["source_kind"].values()) == out["total"]
        expected_projects: dict[str, int] = {}
        for r in rows:
            if word("alembic").search(r[3]) and r[5]:
                expected_projects[r[5]] = expected_projects.get(r[5], 0) + 1
        assert f["project"] == expected_projects
        assert set(f) >= {"project", "source_kind", "component", "level", "tool"}

    def test_one_session_does_not_fill_the_terminal_page(self, home):
        from coditect_memory.actions.search import SearchRequest
        from coditect_memory.actions.search import search as action

        with open_store(load_settings()) as store:
            req = SearchRequest(query="the", limit=20, group_sessions=True)  # as the terminal asks
            grouped = action(store, load_settings(), req)
        sessions = [r["session_id"] for r in grouped.results]
        assert max(sessions.count(s) for s in set(sessions)) <= 3
        # --json gets the ranked list as ranked: best first, no session pushed down.
        plain = search("the", "--limit", "20")["results"]
        scores = [r["score"] for r in plain]
        assert scores == sorted(scores, reverse=True)
        assert {r["uid"] for r in plain} != {r["uid"] for r in grouped.results}

    def test_prompts_outrank_tool_output(self):
        top = search("auth token refresh", "--limit", "5")["results"]
        assert top[0]["type"] == "user"


class TestTolerance:
    """Typos, synonyms and stop words from the settings."""

    def test_one_typo_still_finds(self, rows):
        out = search("alembik")
        assert out["total"] >= count(rows, word("alembic"))
        assert any("typo" in n for n in out["notes"])

    def test_synonym_from_defaults(self):
        out = search("language server", "--limit", "100")
        texts = [r["snippet"] for r in out["results"]]
        assert any(re.search(r"\bLSP\b", t) and "language server" not in t.lower() for t in texts)

    def test_synonyms_and_stop_words_from_config(self, tmp_path, monkeypatch, rows):
        cfg = tmp_path / "config.toml"
        cfg.write_text('[search]\nstop_words = ["please"]\nsynonyms = [["zzfrob", "alembic"]]\n')
        monkeypatch.setenv("MEMORY_CONFIG", str(cfg))
        assert search("please zzfrob")["total"] == count(rows, word("alembic"))

    def test_stop_words_are_dropped(self):
        assert search("the alembic")["total"] == search("alembic")["total"]

    def test_natural_question_ranks_messages_with_most_words(self):
        out = search("what did we decide about the auth token refresh?", "--limit", "5")
        assert out["total"] > 0 and out["results"]
        top = out["results"][0]["snippet"].lower()
        assert sum(w in top for w in ("decide", "auth", "token", "refresh")) >= 3

    def test_typo_only_for_words_found_nowhere(self):
        # "here" is in the index: it is not widened to its neighbours ("hero", "her").
        assert not any("typo" in n for n in search("here")["notes"])


class TestHostileQueries:
    """Any query at all returns results or a one-line explanation, never a traceback, and
    never reaches the engine or SQL as syntax."""

    @pytest.mark.parametrize("query", [
        '"unbalanced', "((((", "*", "-", '""', "OR", "a AND OR NOT", "'; DROP TABLE messages; --",
        'x" OR 1=1 --', '+-&&||!(){}[]^"~*?:\\/', "title:(a OR b)", "id:[1 TO *]", "认证 令牌",
        "🎉 émoji", "x" * 5000, "alembic^10", "alembic~2", "/regex.*/", "NOT alembic"])
    def test_query_is_safe(self, query, home):
        before = message_count(home)
        r = run("search", query, "--json", check=False)
        assert r.code == 0, r.stderr
        out = r.json()
        assert isinstance(out["total"], int)
        after = message_count(home)
        assert after == before

    def test_engine_syntax_is_text(self, rows):
        # Tantivy would read `alembic^10` as a boost; here it is text: the words alembic and
        # 10 next to each other (as any word with punctuation inside, like auth.token).
        assert search("alembic^10")["total"] == count(rows, re.compile(r"(?i)\balembic\W+10\b"))
        assert search("alembic:10")["total"] == search('"alembic 10"')["total"]
