"""The ``transformer`` pipeline's network as an int8 ONNX Runtime graph (``onnx-int8``).

``lifelong compress VERSION --method int8`` on a transformer version exports the fine-tuned
encoder, pooling and head as one graph and quantizes it with ONNX Runtime's dynamic int8
(weights int8 per channel, the word-embedding table included; activations quantized on the
fly). It was chosen over PyTorch dynamic quantization of the Linear layers by measurement
(single text, one thread, MiniLM-L6: fp32 PyTorch 11.5 ms, PyTorch int8 3.7 ms, ONNX Runtime
fp32 3.7 ms, ONNX Runtime int8 1.3 ms): the Linear layers are only part of the time, and
ONNX Runtime also removes PyTorch's per-operator overhead, which dominates a short text; and
PyTorch's quantized Linear cannot be saved without pickle, while the ONNX file can.

The graph is stored as its own file in the bundle folder (:data:`GRAPH_FILE`), listed in the
bundle's sha256 manifest like the weights, and loaded into a session on load. It cannot be
trained: fine-tuning starts from the fp32 version it was made from.
"""

from __future__ import annotations

import torch
from torch import nn

from lifelong.features import Features
from lifelong.features.encoders import onnx_session, require_onnx
from lifelong.models.transformer import token_inputs

ONNX_INT8 = "onnx-int8"
"""Weights format of a transformer bundle whose network is an int8 ONNX Runtime graph."""
GRAPH_FILE = "model.onnx"


class OnnxTransformer(nn.Module):
    """Stands in for a :class:`~lifelong.models.TransformerClassifier`: same inputs, same
    logits (up to int8 rounding), computed by ONNX Runtime.

    Parameters
    ----------
    graph
        The ONNX graph (inputs ``input_ids``, ``attention_mask``; output ``logits``).
    """

    def __init__(self, graph: bytes) -> None:
        super().__init__()
        require_onnx("an int8 transformer model", "serve the fp32 version it was compressed from")
        self.graph = graph
        self._session = onnx_session(graph)

    def forward(self, features: Features) -> torch.Tensor:
        """Logits of shape ``(len(features), n_classes)``."""
        ids, mask = token_inputs(features)
        (logits,) = self._session.run(["logits"], {"input_ids": ids, "attention_mask": mask})
        return torch.from_numpy(logits)

    def bundle_files(self) -> dict[str, bytes]:
        """Files :meth:`ModelBundle.save` writes beside the (empty) weights."""
        return {GRAPH_FILE: self.graph}
