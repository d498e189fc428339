"""int8 for the ``transformer`` pipeline: the fine-tuned network as an int8 ONNX Runtime graph.

The whole network (encoder, masked mean pooling, head) is exported once from the fp32 version
and quantized by ONNX Runtime's dynamic int8, so every Linear layer and the 30,522 x 384 word
embeddings are stored as int8 with per-channel scales (a file ~4x smaller); why ONNX Runtime
rather than PyTorch dynamic quantization is in :mod:`lifelong.models.onnx_transformer`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from lifelong.features.encoders import export_onnx, require_onnx
from lifelong.models import FORMAT_VERSION, ModelBundle, TransformerClassifier
from lifelong.models.onnx_transformer import ONNX_INT8, OnnxTransformer


class _Logits(torch.nn.Module):
    """The classifier called on token tensors (the exporter cannot trace ``Features``)."""

    def __init__(self, classifier: TransformerClassifier) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.classifier.logits(ids, mask)


def refusal(bundle: ModelBundle) -> str | None:
    """Why a transformer bundle cannot be made int8 (``None``: it can).

    Raises :class:`~lifelong.core.errors.LifelongError` naming the extra to install when
    onnx / ONNX Runtime are missing, before any work.
    """
    if isinstance(bundle.module, OnnxTransformer):
        return f"it is int8 already ({ONNX_INT8}: an int8 ONNX Runtime graph)"
    if not isinstance(bundle.module, TransformerClassifier):
        return f"its network is a {type(bundle.module).__name__}, not a TransformerClassifier"
    require_onnx("method int8 of a transformer model", "compress a fast-pipeline version")
    return None


def quantize_transformer(bundle: ModelBundle, options: dict[str, Any]) -> ModelBundle:
    """``bundle`` with its network as an int8 ONNX Runtime graph (the original is unchanged)."""
    module = bundle.module
    assert isinstance(module, TransformerClassifier), "refusal() lets only these through"
    module.eval()
    dummy = torch.ones((1, 8), dtype=torch.long)
    graph = export_onnx(
        _Logits(module), {"input_ids": dummy, "attention_mask": dummy}, ["logits"], int8=True
    )
    steps = [*bundle.spec.meta.get("compression", []), {"method": "int8", "options": options}]
    spec = replace(
        bundle.spec,
        meta={**bundle.spec.meta, "compression": steps},
        weights_format=ONNX_INT8,
        format_version=FORMAT_VERSION,
    )
    return ModelBundle(spec, OnnxTransformer(graph), bundle.featurizer, bundle.replay)
