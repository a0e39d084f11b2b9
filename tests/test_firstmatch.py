"""`firstmatch.FirstMatch`: the first regex that matches, found with one Hyperscan pass, is
the one a loop of `re.search` finds, for the default component rules and for patterns whose
syntax PCRE reads differently, on ASCII, non-ASCII and control-character texts."""

from __future__ import annotations

import pickle
import random
import re

import pytest

from coditect_memory.firstmatch import FirstMatch
from coditect_memory.sample import generate
from coditect_memory.settings import DEFAULT_COMPONENT_RULES, ComponentRules

from .conftest import FIXTURES

# Hyperscan compiles these (prefilter mode approximates the backreference and lookbehind)
PORTABLE = [r"\bKelvin", r"(?i)kelvin", r"x\sy", r"end\Z", r"(?P<w>ab)(?P=w)", r"(?<=pre)fix",
            r"^\[?hooks?\b", r"(?m)^line two$", r"(?s)a.b", r"(?i)strasse", r"\d{2,}", r""]
# and these it would read otherwise than `re`: the `re` loop
ODD = [r"(?i)\bſtream\b", r"a{,2}b", r"[[:alpha:]]+9", r"(?i)straße"]
TEXTS = ["[hooks] ran", "the stream started", "the ſtream", "aab", "b", "ab9", "x\x1cy", "x y",
         "KELVIN", "\u212aelvin", "the end", "the end\n", "abab", "prefix", "fix", "a\nb",
         "line one\nline two", "STRASSE", "Straße", "[LSP] ready", "", "\x00\x1f", "émigré hooks"]


def _loop(patterns: list[re.Pattern[str]], text: str) -> int | None:
    return next((i for i, p in enumerate(patterns) if p.search(text)), None)


def _debug_lines(tmp_path) -> list[str]:
    generate(tmp_path / "claude", sessions=12, messages=3000, seed=11)
    lines = [ln for f in sorted((tmp_path / "claude").rglob("debug/*.txt"))
             for ln in f.read_text(errors="replace").splitlines()]
    assert len(lines) > 1000  # generated alone: ../shared may be absent
    if FIXTURES.is_dir():  # real lines too, where ../shared is beside the clone
        lines += [ln for f in sorted(FIXTURES.rglob("*.jsonl"))
                  for ln in f.read_text(errors="replace").splitlines()[:200]]
    lines = [ln[:400] for ln in lines]  # ComponentRules reads a line's first 300 characters
    return lines


@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")  # [[:alpha:]], on purpose
def test_the_first_match_is_the_loops(tmp_path) -> None:
    lines = _debug_lines(tmp_path)
    rng = random.Random(5)
    mutated = ["".join(rng.choice((c.upper(), c.lower(), c)) for c in ln[:120]) for ln in lines[:3000]]
    for fast, patterns in ((True, [re.compile(p) for p, _ in DEFAULT_COMPONENT_RULES]),
                           (True, [re.compile(p) for p in PORTABLE]),
                           (True, [re.compile(p) for p in PORTABLE[::-1]]),
                           (False, [re.compile(p) for p in ODD + PORTABLE])):
        first = FirstMatch(patterns)
        for text in [*TEXTS, *lines, *mutated]:
            assert first.index(text) == _loop(patterns, text), (text, [p.pattern for p in patterns])
        assert (first._db is not None) == fast


def test_the_fast_path_is_taken_and_survives_a_pickle() -> None:
    rules = ComponentRules(DEFAULT_COMPONENT_RULES)
    assert rules("PreToolUse hook ran for Bash") == "Hooks" and rules("[Foo] bar") == "Foo"
    assert rules._first._db is not None  # the default rules compile: one pass, not a loop
    again = pickle.loads(pickle.dumps(rules))  # settings go to an ingest's helper processes
    assert again("a PostToolUse hook") == "Hooks" and again._first._db is not None
    assert FirstMatch([re.compile(r"(?i)ſ")])._db is None  # built on first use
    odd = FirstMatch([re.compile(r"(?i)ſ"), re.compile("a{,2}b")])
    assert odd.index("s") == 0 and odd.index("ab") == 1 and odd._db is None  # the `re` loop
