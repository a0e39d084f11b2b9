"""Plausible source code per language: the stuff file contents and tool outputs are cut from."""

from __future__ import annotations

import random

from . import vocab as V


def code_pool(lang: str) -> list[str]:
    """~3000 lines of plausible code in `lang`, sliced to make file contents and outputs."""
    r = random.Random(f"pool-{lang}")
    ids, kw = V.IDENTS, V.LANG[lang]["kw"]
    out = []
    for _ in range(3000):
        a, b, c = r.choice(ids), r.choice(ids), r.choice(ids)
        indent = " " * (4 * r.randint(0, 3))
        form = r.randint(0, 9)
        if form == 0:
            out.append("")
        elif form == 1:
            out.append(f"{indent}{r.choice(kw)} {a}_{b}({a}, {c}):")
        elif form == 2:
            out.append(f"{indent}{a} = {b}.get({c!r}) or {r.randint(0, 500)}")
        elif form == 3:
            out.append(f"{indent}# {a} must be set before {b} is computed ({c})")
        elif form == 4:
            out.append(f"{indent}return {a}_{b}({c}, timeout={r.randint(1, 60)})")
        elif form == 5:
            out.append(f"{indent}if {a} is None or {b} > {c}.{a}:")
        elif form == 6:
            out.append(f"{indent}{r.choice(kw)} {a}.{b}({c})")
        elif form == 7:
            out.append(f"{indent}log.info(\"{a} {b}\", extra={{\"{c}\": {c}}})")
        elif form == 8:
            out.append(f"{indent}{a}s = [{b} for {b} in {c}s if {b}.{a}]")
        else:
            out.append(f"{indent}raise {a.title()}Error(f\"bad {b}: {{{c}}}\")")
    return out
