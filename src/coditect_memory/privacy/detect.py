"""Detectors: rules as data (rules.toml, plus the user's), one combined pre-filter, findings.

Speed: a message is first screened in one pass by Hyperscan (SIMD multi-pattern matching)
against every rule's literal keywords, or its own `screen` regex for rules whose words are
common ("token" is in every usage record); the pass says which rules may match, and only
those run their (Python) regex. Measured on generated transcripts: ~900 MB/s for the screen;
Python's `re` tries every alternative at every position (4 MB/s for the keyword alternation,
100 lines/s with the screens) and RE2 reached ~30-80 MB/s: hence the dependency.

Hashes and ids: provider rules match fixed prefixes (`ghp_`, `AKIA`, `sk-ant-`), which a hex
hash or UUID never has; the generic rules only look at values next to a credential word and
then refuse bare hex strings (git SHAs, sha256), UUIDs, placeholders and values without
both letters and digits, and require a minimum Shannon entropy.
"""

from __future__ import annotations

import math
import re
import threading
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import hyperscan

SECRET, PII = "secret", "pii"
_HEX = re.compile(r"^(?:[0-9a-fA-F]{7,40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128})$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PLACEHOLDER = re.compile(
    r"^(?:\$\{?[\w.]+\}?|\{\{.*\}\}|<[^>]*>|%[\w]+%|\*+|x{4,}|X{4,}|\.{3,}|(?i:your[_\-]?\w*|"
    r"changeme|example\w*|placeholder|redacted|dummy|password|secret|token|none|null|"
    r"undefined|true|false|string|test\w*|sample\w*|fake\w*|xxx\w*))$")
_MASKED = "…#"  # a value we masked before: never masked again


def entropy(s: str) -> float:
    """Shannon entropy in bits per character."""
    if not s:
        return 0.0
    counts: dict[str, int] = {}
    for ch in s:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def luhn(digits: str) -> bool:
    nums = [int(c) for c in digits if c.isdigit()]
    if not 13 <= len(nums) <= 19 or len(set(nums)) == 1:
        return False
    total = 0
    for i, d in enumerate(reversed(nums)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    try:
        return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
    except ValueError:
        return False


def _public_ip(ip: str) -> bool:
    """Loopback, unspecified and version-like numbers (x.0.0.0) are not a person's address."""
    parts = [int(p) for p in ip.split(".")]
    return not (parts[0] in (0, 127) or parts == [255, 255, 255, 255])


def _placeholder(value: str) -> bool:
    """A template, variable or documentation example (AWS's `...EXAMPLE` keys), or a mask."""
    return bool(_PLACEHOLDER.match(value)) or _MASKED in value or "example" in value.lower()


def _credential(value: str) -> bool:
    """A value next to a credential word that looks like one: not a hash, id, placeholder
    or code (letters and digits both, or punctuation a password would have)."""
    v = value.rstrip(".=")
    if len(v) < 8 or _placeholder(v) or _HEX.match(v) or _UUID.match(v):
        return False
    if v.startswith(("/", "./", "../", "~/")):  # a path
        return False
    has_alpha = any(c.isalpha() for c in v)
    has_digit = any(c.isdigit() for c in v)
    return has_alpha and has_digit


CHECKS: dict[str, Callable[[str], bool]] = {
    "luhn": luhn,
    "iban": iban_ok,
    "public_ip": _public_ip,
    "not_placeholder": lambda v: not _placeholder(v),
    "credential": _credential,
    "mixed": lambda v: any(c.isalpha() for c in v) and any(c.isdigit() for c in v),
}


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    regex: re.Pattern[str]
    keywords: tuple[str, ...] = ()
    hint: str = ""
    entropy: float = 0.0
    check: str | None = None
    sensitive: bool = False
    allow: tuple[re.Pattern[str], ...] = ()
    screen: str | None = None  # a Hyperscan (PCRE-like) regex, matched caseless; None: the keywords

    def screen_regex(self) -> str | None:
        """This rule's part of the combined screen (None: it always runs)."""
        if self.screen:
            return self.screen
        if not self.keywords:
            return None
        return "(?:" + "|".join(re.escape(k) for k in self.keywords) + ")"

    def accepts(self, value: str) -> bool:
        if self.entropy and entropy(value) < self.entropy:
            return False
        if self.check and not CHECKS[self.check](value):
            return False
        if _MASKED in value:
            return False
        return not any(a.search(value) for a in self.allow)


@dataclass(frozen=True)
class Finding:
    rule: str
    kind: str
    start: int
    end: int
    value: str


def parse_rule(item: dict[str, Any], check_screen: bool = True) -> Rule:
    """One rule from TOML; ValueError names what is wrong. `check_screen=False` when the
    rule was checked already (settings check a user's rules; the shipped ones are tested):
    compiling a screen on its own costs ~50 ms, and the detector compiles it anyway."""
    try:
        rid = str(item["id"])
        kind = str(item.get("kind", SECRET))
        if kind not in (SECRET, PII):
            raise ValueError(f"kind must be {SECRET!r} or {PII!r}")
        check = item.get("check")
        if check is not None and check not in CHECKS:
            raise ValueError(f"check must be one of {', '.join(CHECKS)}")
        return Rule(id=rid, kind=kind, regex=re.compile(item["regex"]),
                    keywords=tuple(str(k).lower() for k in item.get("keywords", [])),
                    hint=str(item.get("hint", ""))[:7], entropy=float(item.get("entropy", 0.0)),
                    check=check, sensitive=bool(item.get("sensitive", False)),
                    allow=tuple(re.compile(a) for a in item.get("allow", [])),
                    screen=_screen(item.get("screen"), check_screen))
    except KeyError as e:
        raise ValueError(f"missing {e.args[0]!r}") from None
    except re.error as e:
        raise ValueError(f"bad regex: {e}") from None


_FLAGS = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
_SPANS = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_ALLOWEMPTY
BEFORE, AFTER = 80, 320  # a screened rule's regex runs this many characters around a screen match
MAX_SPANS = 256  # past this many screen matches in one text, the rule reads all of it


def _compile(patterns: list[str], flags: int = _FLAGS) -> Any:
    db = hyperscan.Database()
    db.compile(expressions=[p.encode() for p in patterns], ids=list(range(len(patterns))),
               elements=len(patterns), flags=[flags] * len(patterns))
    return db


def _screen(value: Any, check: bool) -> str | None:
    if value is None or not check:
        return None if value is None else str(value)
    try:
        _compile([str(value)])
    except hyperscan.error as e:
        raise ValueError(f"bad screen regex: {e}") from None
    return str(value)


def shipped_rules() -> list[dict[str, Any]]:
    text = resources.files(__package__).joinpath("rules.toml").read_text()
    return list(tomllib.loads(text)["rules"])


@dataclass
class Detector:
    """Finds the spans of one kind of rule (secrets, or PII) in a text."""

    rules: list[Rule]
    _db: Any = field(init=False, default=None)
    _screened: list[int] = field(init=False, default_factory=list)  # rule index per pattern id
    _always: list[int] = field(init=False, default_factory=list)  # rules without a screen
    _spans: dict[int, Any] = field(init=False, default_factory=dict)  # rule -> its screen, with spans
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _joinable: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        patterns = []
        for i, rule in enumerate(self.rules):
            p = rule.screen_regex()
            if p is None:
                self._always.append(i)
            else:
                patterns.append(p)
                self._screened.append(i)
                if rule.screen:
                    self._spans[i] = _compile([p], _SPANS)
        self._db = _compile(patterns) if patterns else None
        self._joinable = not any(_anchored(p) for p in patterns)

    def _scan(self, db: Any, data: bytes, on: Any) -> None:
        """One Hyperscan pass (a scratch space per database: scans are serialised, which
        costs nothing in the one-thread ingest)."""
        with self._lock:
            db.scan(data, match_event_handler=on)

    def _which(self, data: bytes) -> set[int]:
        """The rules that may match here."""
        hit: set[int] = set()
        if self._db is not None:
            self._scan(self._db, data, lambda pid, *_: hit.add(self._screened[pid]))
        return hit

    def _where(self, rule: int, data: bytes) -> list[tuple[int, int]] | None:
        """The byte spans a common-word rule's screen matches (a second pass, rare); None
        past MAX_SPANS of them (the rule then reads the whole text)."""
        spans: list[tuple[int, int]] = []

        def on(pid: int, start: int, end: int, *_: Any) -> bool | None:
            spans.append((start, end))
            return len(spans) > MAX_SPANS or None  # True stops the pass

        try:
            self._scan(self._spans[rule], data, on)
        except hyperscan.ScanTerminated:
            return None
        return spans

    def candidates(self, text: str) -> bool:
        """The cheap screen: could any rule match here?"""
        return bool(self._always) or bool(text and self._which(text.encode("utf-8", "surrogatepass")))

    def may_match(self, data: bytes) -> bool:
        """`candidates` of UTF-8 bytes (texts joined by a newline: see `joinable`); the scan
        stops at the first screen that matches (ingest asks this of every record)."""
        if self._always:
            return True
        if not data or self._db is None:
            return False
        try:
            with self._lock:
                self._db.scan(data, match_event_handler=_stop)
        except hyperscan.ScanTerminated:
            return True
        return False

    @property
    def joinable(self) -> bool:
        """Whether screening texts joined by a newline finds every candidate each text alone
        has: true unless a screen is anchored (`^`, `$`, `\\A`, `\\Z`, `\\z`), which the join
        would move. A word boundary holds: the newline is not a word character, as the
        absent one at a text's end."""
        return self._joinable


    def find(self, text: str) -> list[Finding]:
        """Non-overlapping findings, in order (the earliest, then the longest, wins)."""
        if not text:
            return []
        data = text.encode("utf-8", "surrogatepass")
        which = self._which(data)
        if not which and not self._always:
            return []
        found: list[Finding] = []
        for i, rule in enumerate(self.rules):
            spans = self._where(i, data) if i in which and rule.screen else None
            if spans is not None:  # a common word: look only around its matches
                for pos, end in _windows(text, data, spans):
                    self._match(rule, text, found, pos, end)
            elif i in which or i in self._always:
                self._match(rule, text, found, 0, len(text))
        if len(found) < 2:
            return found
        found.sort(key=lambda f: (f.start, -(f.end - f.start)))
        out: list[Finding] = []
        for f in found:
            if not out or f.start >= out[-1].end:
                out.append(f)
        return out

    @staticmethod
    def _match(rule: Rule, text: str, found: list[Finding], pos: int, end: int) -> None:
        for m in rule.regex.finditer(text, pos, end):
            g = 1 if m.re.groups else 0
            value = m.group(g)
            if value and rule.accepts(value):
                found.append(Finding(rule.id, rule.kind, m.start(g), m.end(g), value))


def _stop(*_: Any) -> bool:
    """A scan's match handler that ends it (Hyperscan raises ScanTerminated)."""
    return True


def _anchored(pattern: str) -> bool:
    """Whether a (Hyperscan) regex has an anchor outside its character classes."""
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if not in_class and pattern[i + 1:i + 2] in ("A", "Z", "z", "G"):
                return True
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            i += 1
            if pattern[i:i + 1] == "^":  # a negated class
                i += 1
            if pattern[i:i + 1] == "]":  # a first ']' is literal
                i += 1
            continue
        elif c in "^$":
            return True
        i += 1
    return False


def _windows(text: str, data: bytes, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Character windows around byte spans of a screen's matches, merged."""
    ascii_ = len(data) == len(text)

    def char(off: int) -> int:
        return off if ascii_ else len(data[:off].decode("utf-8", "ignore"))

    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        lo, hi = max(0, char(start) - BEFORE), min(len(text), char(end) + AFTER)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


_BUILT: dict[tuple[str, str], Detector] = {}


def build(kind: str, extra: Iterable[dict[str, Any]] = ()) -> Detector:
    """The detector of `kind` from the shipped rules and the user's (which come first); made
    once per process and rules (compiling takes ~0.2 s; a Detector serialises its scans)."""
    extra = list(extra)
    key = (kind, repr(extra))
    if key not in _BUILT:
        rules = [parse_rule(r, check_screen=False) for r in [*extra, *shipped_rules()]]
        _BUILT[key] = Detector([r for r in rules if r.kind == kind])
    return _BUILT[key]
