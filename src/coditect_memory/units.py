"""Quantities as a person reads them, shared by every renderer (CLI, reports)."""

from __future__ import annotations


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def count(n: int, noun: str) -> str:
    """'1 session', '2 sessions', '1,204 errors' (nouns that take an s)."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
