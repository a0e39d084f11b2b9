"""The query language: what a person can guess parses as they meant it, and any input at all
parses without an exception (it is searched as text, or a note says what was ignored)."""

from __future__ import annotations

import random

from coditect_memory.search.query import MAX_CLAUSES, MAX_QUERY_CHARS, Clause, parse


class TestSyntax:
    """Each construct of the documented syntax yields the clause or filter it names."""

    def test_words_are_all_required(self):
        p = parse("auth token refresh")
        assert p.groups == [[Clause("word", "auth")], [Clause("word", "token")], [Clause("word", "refresh")]]

    def test_phrase_prefix_exclude(self):
        p = parse('"token refresh" migrat* -test -"flaky run"')
        assert p.groups == [[Clause("phrase", "token refresh")], [Clause("prefix", "migrat")]]
        assert p.excluded == [Clause("word", "test"), Clause("phrase", "flaky run")]

    def test_or_joins_neighbours(self):
        p = parse("alembic OR migration upgrade")
        assert p.groups == [[Clause("word", "alembic"), Clause("word", "migration")],
                            [Clause("word", "upgrade")]]

    def test_inline_filters(self):
        p = parse('enoent project:billing-api tool:Bash level:error after:2025-11-01 '
                  'before:2025-12-01 session:abc component:"LSP MANAGER"')
        assert p.groups == [[Clause("word", "enoent")]]
        assert p.filters == {"project": ["billing-api"], "tool": ["Bash"], "level": ["error"],
                             "since": ["2025-11-01"], "until": ["2025-12-01"], "session": ["abc"],
                             "component": ["LSP MANAGER"]}

    def test_unknown_field_is_text(self):
        p = parse("title:foo")
        assert p.positive == [Clause("word", "title:foo")] and not p.filters

    def test_text_for_embedding_keeps_the_words(self):
        assert parse('what did we "decide" project:x about -y').text() == "what did we decide about"


class TestHostileInput:
    """No input raises; what had to be ignored is said in a note."""

    NASTY = ['"unbalanced', 'a "b', "((((", "))", "*", "-", "--", "+", '""', "OR", "OR OR a",
             "a AND OR NOT", "NOT", "'; DROP TABLE messages; --", 'x" OR 1=1 --', "\\", "\x00",
             '+-&&||!(){}[]^"~*?:\\/', "field:", "project:", ":", "a:b:c", "认证 令牌", "🎉 émoji",
             "\ud800 lone surrogate", "title:(a OR b)", "id:1 TO *]", "*prefix", "a*b*", "-\"x",
             "project:\"unterminated"]

    def test_nasty_inputs_parse(self):
        for q in self.NASTY:
            p = parse(q)
            assert all(c.text for c in p.positive + p.excluded), q

    def test_unbalanced_quote_is_noted_and_words_kept(self):
        p = parse('"token refresh')
        assert any("unbalanced" in n for n in p.notes)
        assert [c.text for c in p.positive] == ["token", "refresh"]

    def test_long_queries_are_cut_with_a_note(self):
        p = parse("word " * 5000)
        assert sum(len(g) for g in p.groups) <= MAX_CLAUSES
        assert any(str(MAX_QUERY_CHARS) in n for n in p.notes)

    def test_random_strings_never_raise(self):
        rng = random.Random(5)
        alphabet = 'ab "*-:()OR\\\'\t\n認🎉\x00%_;'
        for _ in range(3000):
            q = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
            p = parse(q)
            assert len(p.positive) + len(p.excluded) <= MAX_CLAUSES
