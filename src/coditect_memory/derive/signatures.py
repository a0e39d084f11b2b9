"""What an error says: a signature that groups the same failure with different details.

A signature keeps the words of an error and masks what varies (numbers, hex ids, quoted
values, paths). When the first line says only "Exit code 1", the first line that looks like
the reason is added, so failed test runs and lint failures do not collapse into one group.
Only the head is read: errors can be megabytes of test output. Computed once per error row,
when it is written.
"""

from __future__ import annotations

import re

HEAD = 800
_TAGS = re.compile(r"</?[a-z_]+>")
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\w.~-]*/)+[\w.@-]+")
_HEX = re.compile(r"\b(?=[0-9a-f-]*\d)[0-9a-f]{8,}(?:-[0-9a-f]{4,})*\b", re.I)
_QUOTED = re.compile(r"'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|`[^`\n]{0,200}`")
_NUM = re.compile(r"\d+(?:\.\d+)?")
_LETTER = re.compile(r"[A-Za-z]")
_SPACE = re.compile(r"\s+")
_REASON = re.compile(r"error|fail|panic|exception|denied|not found|no such|refused|timed? ?out|"
                     r"\bE\d{3}\b|invalid|cannot|unable", re.I)
_BARE = re.compile(r"^(exit code|error|failed|command failed)\W*\d*\W*$", re.I)


def _path(m: re.Match[str]) -> str:
    return "<path>" if _LETTER.search(m.group()) else m.group()


def normalise(line: str) -> str:
    line = _TAGS.sub(" ", line[:240])
    if "/" in line:
        line = _PATH.sub(_path, line)
    line = _HEX.sub("<id>", line)
    line = _QUOTED.sub("'…'", line)
    line = _NUM.sub("N", line)
    return _SPACE.sub(" ", line).strip()[:160]


def signature(text: str | None) -> str:
    head = (text or "")[:HEAD].lstrip()
    if not head:
        return "(empty)"
    first, _, rest = head.partition("\n")
    first = first.strip()
    sig = normalise(first)
    if _BARE.match(first) or len(sig) < 12:
        reason = next((ln.strip() for ln in rest.split("\n")[:12] if _REASON.search(ln[:200])), None)
        if reason:
            sig = f"{sig} · {normalise(reason)}"
    return sig
