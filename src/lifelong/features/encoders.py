"""The MiniLM sentence encoder in one of four runtimes (``pipeline.embeddings_runtime``).

Embedding new texts is the largest part of an update with ``embeddings: minilm``, so the encoder
can run quantized: ``torch`` (fp32, sentence-transformers), ``torch-int8`` (PyTorch dynamic
int8 quantization of the Linear layers), ``onnx`` (the same graph exported to ONNX Runtime) and
``onnx-int8`` (ONNX Runtime dynamic int8). Every runtime yields mean-pooled, unit-norm vectors
of the same model, but not bit-identical ones: they are different encoders, so the embedding
cache keeps them apart (:func:`encoder_id`) and a bundle records which one it was trained with.

``pipeline.embeddings_layers`` picks the layers whose mean-pooled vectors (each unit-norm) are
concatenated: ``[6]``, the default, is the model's own sentence vector; several layers are
another encoder again, with their own cache and their own ONNX graph (it outputs those layers).

The ONNX graphs are built from the shipped MiniLM files at run time (never downloaded) and kept
in the cache folder under a name keyed by the sha256 of the source weights and the tool
versions; each file's own sha256 is written next to it and checked on load, and a file that
fails the check is rebuilt.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, get_args

import numpy as np
from numpy.typing import NDArray

from lifelong.config import EmbeddingsRuntime
from lifelong.core.atomic import atomic_write_bytes, atomic_write_text
from lifelong.core.errors import LifelongError
from lifelong.core.hashing import sha256_bytes, sha256_file, sha256_text

RUNTIMES: tuple[str, ...] = get_args(EmbeddingsRuntime)
DEFAULT_RUNTIME: EmbeddingsRuntime = "torch"
MAX_LENGTH = 256  # all-MiniLM-L6-v2's max_seq_length: longer texts are truncated as ST does
DEFAULT_LAYERS: tuple[int, ...] = (6,)  # the last of MiniLM's six: its own sentence vector

Encoder = Callable[[list[str]], NDArray[np.float32]]


def encoder_id(name: str, runtime: str, layers: Sequence[int] = DEFAULT_LAYERS) -> str:
    """The identity of an encoder: its model name, plus the runtime and the pooled layers
    unless they are the defaults.

    The defaults keep the bare name so caches and bundles written before runtimes and layers
    existed keep their meaning (they were all fp32 PyTorch, last layer).
    """
    runtime_part = "" if runtime == DEFAULT_RUNTIME else f"@{runtime}"
    layers_part = "" if tuple(layers) == DEFAULT_LAYERS else "#" + "-".join(map(str, layers))
    return f"{name}{runtime_part}{layers_part}"


@contextmanager
def quiet_loading() -> Iterator[None]:
    """transformers without its "Loading weights" progress bar, which every command that loads
    MiniLM would otherwise print (to a log, a pipe, the quickstart); restored after."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def _unit(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def torch_encoder(
    model_path: Path, *, int8: bool, layers: Sequence[int] = DEFAULT_LAYERS, batch_size: int = 64
) -> Encoder:
    """sentence-transformers' encoder, with its Linear layers int8-quantized when ``int8``;
    for layers other than the last, the transformers model they are pooled from."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    quantize = torch.ao.quantization.quantize_dynamic
    if tuple(layers) != DEFAULT_LAYERS:
        from transformers import AutoModel

        with quiet_loading():
            bert: Any = AutoModel.from_pretrained(str(model_path)).eval()
        if int8:
            bert = quantize(bert, {torch.nn.Linear}, torch.qint8)  # type: ignore[no-untyped-call]

        def hidden(feed: dict[str, NDArray[np.int64]]) -> list[NDArray[np.float32]]:
            with torch.inference_mode():
                tensors = {k: torch.from_numpy(v) for k, v in feed.items()}
                states = bert(**tensors, output_hidden_states=True).hidden_states
            return [states[i].numpy() for i in layers]

        return pooled_encoder(model_path, hidden, batch_size)
    from sentence_transformers import SentenceTransformer

    with quiet_loading():
        model = SentenceTransformer(str(model_path), device="cpu")
    if int8:
        model = quantize(model, {torch.nn.Linear}, torch.qint8)  # type: ignore[no-untyped-call]

    def encode(texts: list[str]) -> NDArray[np.float32]:
        vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    return encode


def pooled_encoder(
    model_path: Path,
    hidden: Callable[[dict[str, NDArray[np.int64]]], list[NDArray[np.float32]]],
    batch_size: int,
) -> Encoder:
    """Texts tokenized in length-sorted batches (little padding), fed to ``hidden`` (token
    ids -> the hidden states of the chosen layers), each layer mean-pooled over its tokens and
    made unit-norm, the layers concatenated: how the ONNX graphs and the torch layers run."""
    from transformers import AutoTokenizer

    tokenizer: Any = AutoTokenizer.from_pretrained(str(model_path))

    def encode(texts: list[str]) -> NDArray[np.float32]:
        out: NDArray[np.float32] | None = None
        order = np.argsort([-len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            tokens = tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=MAX_LENGTH,
                return_tensors="np",
            )
            feed = {k: tokens[k].astype(np.int64) for k in ("input_ids", "attention_mask")}
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
            mask = feed["attention_mask"][..., None].astype(np.float32)
            count = np.maximum(mask.sum(axis=1), 1e-9)
            vectors = [_unit((h * mask).sum(axis=1) / count) for h in hidden(feed)]
            if out is None:
                out = np.zeros((len(texts), sum(v.shape[-1] for v in vectors)), dtype=np.float32)
            out[rows] = np.concatenate(vectors, axis=1)
        return np.zeros((0, 0), dtype=np.float32) if out is None else out

    return encode


def require_onnx(what: str, instead: str) -> None:
    """Fail with the install hint when onnx or ONNX Runtime is missing (an optional extra);
    ``what`` names what needs them, ``instead`` what to do without them."""
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import onnxruntime  # noqa: F401
    except ImportError:
        raise LifelongError(
            f"{what} needs onnx and ONNX Runtime",
            hint=f"pip install 'lifelong[onnx]', or {instead}",
        ) from None


@contextmanager
def _quiet_export() -> Iterator[None]:
    """The exporter's tracer warnings and the quantizer's root-logger advice (about graph
    pre-processing this model does not need) kept out of the command's output."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def export_onnx(module: Any, inputs: dict[str, Any], outputs: list[str], *, int8: bool) -> bytes:
    """``module`` (called with the tensors of ``inputs``, in order) as an ONNX graph whose
    inputs and outputs vary in their first two axes (batch, tokens); int8 weights when
    ``int8`` (ONNX Runtime's dynamic quantization, per channel: per-tensor scales lose more
    accuracy). Shared by the MiniLM encoder and the transformer pipeline's int8 compression.
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    names = list(inputs)
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "tokens"} for n in [*names, *outputs]}
    with tempfile.TemporaryDirectory() as tmp, _quiet_export():
        fp32, quantized = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        with torch.no_grad():
            torch.onnx.export(
                module.eval(),
                tuple(inputs.values()),
                fp32,
                input_names=names,
                output_names=outputs,
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        if not int8:
            return fp32.read_bytes()
        quantize_dynamic(fp32, quantized, weight_type=QuantType.QInt8, per_channel=True)
        return quantized.read_bytes()


def onnx_session(graph: bytes) -> Any:
    """An ONNX Runtime CPU session of ``graph`` running on as many threads as torch uses, so
    ``server.threads`` (``torch.set_num_threads``) caps both."""
    import onnxruntime
    import torch

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def layer_outputs(layers: Sequence[int]) -> list[str]:
    """The output names of the ONNX graph of ``layers`` (the default graph's, as it always was)."""
    if tuple(layers) == DEFAULT_LAYERS:
        return ["last_hidden_state"]
    return [f"hidden_state_{i}" for i in layers]


def _build_onnx(model_path: Path, int8: bool, layers: Sequence[int]) -> bytes:
    """MiniLM (token ids -> hidden states of ``layers``) as an ONNX graph; int8 weights when
    ``int8``."""
    import torch
    from transformers import AutoModel

    class HiddenStates(torch.nn.Module):
        """The encoder called by keyword: its positional order differs across transformers."""

        def __init__(self) -> None:
            super().__init__()
            with quiet_loading():
                self.bert = AutoModel.from_pretrained(str(model_path)).eval()

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            if tuple(layers) == DEFAULT_LAYERS:
                out = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)
                return out.last_hidden_state
            out = self.bert(
                input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True
            )
            return tuple(out.hidden_states[i] for i in layers)

    dummy = torch.ones((1, 8), dtype=torch.long)
    types = torch.zeros_like(dummy)
    inputs = {"input_ids": dummy, "attention_mask": dummy, "token_type_ids": types}
    return export_onnx(HiddenStates(), inputs, layer_outputs(layers), int8=int8)


def onnx_graph(
    model_path: Path,
    *,
    int8: bool,
    cache_dir: Path | None,
    layers: Sequence[int] = DEFAULT_LAYERS,
) -> bytes:
    """The ONNX graph of MiniLM's ``layers`` (int8 when ``int8``), built once and cached in
    ``cache_dir``.

    The file name is keyed by the sha256 of the source weights, the runtime, the layers (unless
    the default, so graphs cached before layers existed are reused) and the versions of the
    tools that build it, so a new model or a new exporter never reuses a stale graph. A
    cached file whose sha256 no longer matches its ``.sha256`` record is rebuilt.
    """
    import onnxruntime
    import torch

    source = sha256_file(model_path / "model.safetensors")
    recipe = f"{source}:{'int8' if int8 else 'fp32'}:{torch.__version__}:{onnxruntime.__version__}"
    if tuple(layers) != DEFAULT_LAYERS:
        recipe += ":layers=" + ",".join(map(str, layers))
    key = sha256_text(recipe)[:16]
    path = None if cache_dir is None else cache_dir / f"minilm-{key}.onnx"
    record = None if path is None else path.with_suffix(".sha256")
    if path is not None and record is not None and path.is_file() and record.is_file():
        graph = path.read_bytes()
        if sha256_bytes(graph) == record.read_text(encoding="utf-8").strip():
            return graph
    graph = _build_onnx(model_path, int8, layers)
    if path is not None and record is not None:
        atomic_write_bytes(path, graph)
        atomic_write_text(record, sha256_bytes(graph) + "\n")
    return graph


def onnx_encoder(
    model_path: Path,
    *,
    int8: bool,
    cache_dir: Path | None,
    layers: Sequence[int] = DEFAULT_LAYERS,
    batch_size: int = 64,
) -> Encoder:
    """MiniLM on ONNX Runtime: tokenized in length-sorted batches, mean-pooled, unit-norm."""
    require_onnx(
        "pipeline.embeddings_runtime onnx / onnx-int8", "set pipeline.embeddings_runtime: torch"
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    graph = onnx_graph(model_path, int8=int8, cache_dir=cache_dir, layers=layers)
    session = onnx_session(graph)
    outputs = layer_outputs(layers)

    def hidden(feed: dict[str, NDArray[np.int64]]) -> list[NDArray[np.float32]]:
        return list(session.run(outputs, feed))

    return pooled_encoder(model_path, hidden, batch_size)


def make_encoder(
    model_path: Path,
    runtime: str,
    cache_dir: Path | None,
    batch_size: int = 64,
    layers: Sequence[int] = DEFAULT_LAYERS,
) -> Encoder:
    """The encoder of ``runtime`` (one of :data:`RUNTIMES`) for the model in ``model_path``,
    pooling ``layers``."""
    if runtime not in RUNTIMES:
        raise LifelongError(
            f"unknown embeddings runtime {runtime!r}",
            hint=f"pipeline.embeddings_runtime is one of {', '.join(RUNTIMES)}",
        )
    int8 = runtime.endswith("-int8")
    if runtime.startswith("onnx"):
        return onnx_encoder(
            model_path, int8=int8, cache_dir=cache_dir, layers=layers, batch_size=batch_size
        )
    return torch_encoder(model_path, int8=int8, layers=layers, batch_size=batch_size)
