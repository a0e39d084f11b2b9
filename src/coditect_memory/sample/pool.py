"""Plausible source code per language: the stuff file contents and tool outputs are cut from."""

from __future__ import annotations

import random
from collections.abc import Callable

from . import vocab as V

# The shapes of a line of code: (indent, three identifiers, the language's keywords, the
# random stream for any further draw) -> the line.
_Form = Callable[[str, str, str, str, list[str], random.Random], str]
_FORMS: tuple[_Form, ...] = (
    lambda i, a, b, c, kw, r: "",
    lambda i, a, b, c, kw, r: f"{i}{r.choice(kw)} {a}_{b}({a}, {c}):",
    lambda i, a, b, c, kw, r: f"{i}{a} = {b}.get({c!r}) or {r.randint(0, 500)}",
    lambda i, a, b, c, kw, r: f"{i}# {a} must be set before {b} is computed ({c})",
    lambda i, a, b, c, kw, r: f"{i}return {a}_{b}({c}, timeout={r.randint(1, 60)})",
    lambda i, a, b, c, kw, r: f"{i}if {a} is None or {b} > {c}.{a}:",
    lambda i, a, b, c, kw, r: f"{i}{r.choice(kw)} {a}.{b}({c})",
    lambda i, a, b, c, kw, r: f"{i}log.info(\"{a} {b}\", extra={{\"{c}\": {c}}})",
    lambda i, a, b, c, kw, r: f"{i}{a}s = [{b} for {b} in {c}s if {b}.{a}]",
    lambda i, a, b, c, kw, r: f"{i}raise {a.title()}Error(f\"bad {b}: {{{c}}}\")",
)


def code_pool(lang: str) -> list[str]:
    """~3000 lines of plausible code in `lang`, sliced to make file contents and outputs."""
    r = random.Random(f"pool-{lang}")
    ids, kw = V.IDENTS, V.LANG[lang]["kw"]
    out = []
    for _ in range(3000):
        a, b, c = r.choice(ids), r.choice(ids), r.choice(ids)
        indent = " " * (4 * r.randint(0, 3))
        out.append(_FORMS[r.randint(0, 9)](indent, a, b, c, kw, r))
    return out
