"""Snippets: the part of a message that best shows why it matched, with the matches marked.

Words are found with the index's own analyzers (same stems as the index), so what is
highlighted is what matched: a stem (typo-corrected ones included) or a prefix.
"""

from __future__ import annotations

from .index import clean
from .keyword import Terms

WIDTH = 220
MAX_SCAN = 200_000  # characters of a message looked at for a snippet


def matches(text: str, terms: Terms, stem, plain) -> list[tuple[int, int, str]]:
    """(start, end, term) of every matching word in text (character offsets)."""
    if not (terms.stems or terms.prefixes):
        return []
    text = clean(text[:MAX_SCAN])
    out = []
    stems = stem.pre_tokenize(text).tokens
    plains = plain.pre_tokenize(text).tokens if terms.prefixes else [None] * len(stems)
    for st, pl in zip(stems, plains, strict=False):
        word = st.text
        if word in terms.stems or (terms.prefixes and (
                any(word.startswith(p) for p in terms.prefixes)
                or (pl is not None and any(pl.text.startswith(p) for p in terms.prefixes)))):
            out.append((st.char_offset_from, st.char_offset_to, word))
    return out


def snippet(text: str, spans: list[tuple[int, int, str]], width: int = WIDTH) -> tuple[str, list[list[int]]]:
    """(snippet, highlight ranges within it): the window of `width` characters holding the
    most distinct matched words, cut at word boundaries, whitespace folded."""
    if not text:
        return "", []
    start = 0
    if spans:
        best, best_score = 0, -1
        j = 0
        for i in range(len(spans)):
            while j < len(spans) and spans[j][1] - spans[i][0] <= width:
                j += 1
            score = len({s[2] for s in spans[i:j]}) * 1000 - spans[i][0] // 1000
            if score > best_score:
                best, best_score = i, score
        start = max(0, spans[best][0] - width // 5)
        while start > 0 and not text[start - 1].isspace() and spans[best][0] - start < width // 3:
            start -= 1
    end = min(len(text), start + width)
    while end < len(text) and end - start < width + 30 and not text[end].isspace():
        end += 1
    # Fold whitespace while mapping the highlight offsets into the folded string.
    out_chars: list[str] = []
    pos_map: dict[int, int] = {}
    prev_space = False
    for k in range(start, end):
        ch = text[k]
        pos_map[k] = len(out_chars)
        if ch.isspace():
            if not prev_space and out_chars:
                out_chars.append(" ")
            prev_space = True
        else:
            out_chars.append(ch)
            prev_space = False
    pos_map[end] = len(out_chars)
    body = "".join(out_chars).rstrip()
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix)
    ranges = [[pos_map[a] + shift, min(pos_map[b], len(body)) + shift]
              for a, b, _ in spans if a >= start and b <= end]
    return prefix + body + suffix, [r for r in ranges if r[1] > r[0]]
