"""The rules of derive/: pure functions every backend stores the answers of."""

from __future__ import annotations

from coditect_memory.derive import counted, is_prompt, prompt_title, row_facts, signature
from coditect_memory.derive.links import (
    LINK_EXACT_MS,
    LINK_NEAR_MS,
    Candidate,
    best_match,
    link_key,
)
from coditect_memory.derive.sessions import (
    HistoryLine,
    PromptLine,
    TitleLine,
    history_links,
    titles,
)


def test_a_prompt_is_typed_by_a_person_in_the_main_conversation():
    assert is_prompt("user", "transcript", False, False)
    assert is_prompt("user", "history", False, False)
    assert not is_prompt("user", "transcript", True, False)  # injected by the tool
    assert not is_prompt("user", "transcript", False, True)  # a subagent's chain
    assert not is_prompt("assistant", "transcript", False, False)
    assert not is_prompt("user", "debug", False, False)
    assert prompt_title("<command-name>/model</command-name><command-args>opus</command-args>") \
        == "/model opus"
    assert prompt_title("[Request interrupted by user]") is None


def test_a_row_counts_for_one_name_at_most():
    assert counted("debug", "MCP", True, "Bash") == ("component", "MCP")
    assert counted("assistant", None, True, None) == ("component", "API")
    assert counted("tool_use", None, False, "Bash") == ("tool", "Bash")
    assert counted("tool_result", None, True, "Bash") == ("tool", "Bash")
    assert counted("tool_result", None, False, "Bash") == (None, None)
    assert counted("user", None, False, None) == (None, None)
    assert row_facts("tool_result", "transcript", False, False, None, True, "Bash",
                     "Exit code 1\nerror: no such file") == \
        (0, "tool", "Bash", signature("Exit code 1\nerror: no such file"))


def test_signatures_group_the_same_failure():
    a = signature("Error: cannot open /home/ann/project/a.py at line 12 (id 3f2a9c1e88)")
    b = signature("Error: cannot open /home/bob/other/b.py at line 99 (id 77aa00bb11)")
    assert a == b and "<path>" in a
    assert signature("Exit code 1\n\nFAILED tests/x.py") != signature("Exit code 1\nlint: invalid")
    assert signature(None) == signature("") == "(empty)"


def test_a_history_line_links_to_the_same_text_first_then_the_nearest_moment():
    same = Candidate(1_000 + LINK_EXACT_MS - 1, "u1", "s", link_key("fix the build"))
    near = Candidate(1_000 + 10, "u2", "s", link_key("something else"))
    assert best_match(1_000, link_key("fix the build"), [same, near], set()) == same
    assert best_match(1_000, link_key("pasted [image]"), [same, near], set()) == near
    assert best_match(1_000, link_key("pasted [image]"), [same, near], {"u2"}) is None
    assert LINK_NEAR_MS < LINK_EXACT_MS
    hist = [HistoryLine(7, None, 3, 5_000, "hello"), HistoryLine(8, "s2", None, 9_000, "bye")]
    prompts = [PromptLine("p1", "s1", 3, 5_100, "hello", None),
               PromptLine("p2", "s2", None, 9_000, "bye", None)]
    links = history_links(hist, lambda h: prompts)
    assert [(link.prompt_uid, link.session_id, link.history_id) for link in links] == \
        [("p1", "s1", 7), ("p2", "s2", 8)]


def test_the_title_is_the_users_then_the_ais_then_a_summary_then_the_first_prompt():
    lines = [TitleLine("a", "user", "[Request interrupted", True),
             TitleLine("a", "user", "first words", True),
             TitleLine("a", "summary", "a summary", False),
             TitleLine("b", "user", "only a prompt", True),
             TitleLine("c", "ai-title", "AI", False), TitleLine("c", "custom-title", "Mine", False)]
    facts = {f.session_id: f for f in titles(["a", "b", "c", "d"], lines,
                                             [("a", "<synthetic>", 9), ("a", "opus", 2)])}
    assert (facts["a"].title, facts["a"].first_prompt, facts["a"].summary) == \
        ("a summary", "first words", "a summary")
    assert facts["a"].model == "opus"
    assert facts["b"].title == "only a prompt" and facts["c"].title == "Mine"
    assert facts["d"].title is None and facts["d"].model is None
