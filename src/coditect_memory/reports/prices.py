"""List prices per model, and the cost of token counts at those prices.

Defaults ship in prices.toml (with their source); a user's `[prices."model-prefix"]` tables
in $MEMORY_HOME/config.toml override or extend them. A model no key matches costs nothing
and is listed as unpriced, so a missing price shows instead of hiding in a total.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError

KINDS = ("input", "output", "cache_read", "cache_write")
TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_read: float
    cache_write: float

    def cost(self, row: Mapping[str, Any]) -> float:
        """USD for a row holding input/output/cache_read/cache_write _tokens."""
        return sum(getattr(self, k) * (row.get(t) or 0) for k, t in zip(KINDS, TOKEN_KEYS, strict=True)) / 1e6


def _table(path: Path, required: bool) -> dict[str, Any]:
    """The [prices] of a TOML file (the shipped defaults)."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f).get("prices", {})
    except FileNotFoundError:
        if required:
            raise UsageError(f"the default price table {path} is missing from this installation;"
                             " reinstall, or give [prices] in config.toml") from None
        return {}
    except (tomllib.TOMLDecodeError, OSError) as e:
        raise UsageError(f"cannot read prices from {path}: {e}") from None


class PriceTable:
    """Model id -> Price, by the longest matching prefix."""

    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices
        self._keys = sorted(prices, key=len, reverse=True)
        self._found: dict[str, Price | None] = {}  # a handful of models per report

    @classmethod
    def load(cls, user: dict[str, Any]) -> PriceTable:
        """The shipped table overridden by the user's `[prices]` (Settings.prices)."""
        merged = {**_table(Path(__file__).with_name("prices.toml"), True), **user}
        prices = {}
        for model, p in merged.items():
            try:
                prices[model] = Price(*(float(p.get(k, 0)) for k in KINDS))
            except (TypeError, ValueError, AttributeError):
                raise UsageError(f"bad [prices.{model!r}] in config: expect numbers for "
                                 f"{', '.join(KINDS)} (USD per million tokens)") from None
        return cls(prices)

    def find(self, model: str | None) -> Price | None:
        if not model:
            return None
        if model not in self._found:
            self._found[model] = next((self.prices[k] for k in self._keys if model.startswith(k)),
                                      None)
        return self._found[model]

    def cost(self, model: str | None, row: Mapping[str, Any]) -> float | None:
        price = self.find(model)
        return None if price is None else price.cost(row)
