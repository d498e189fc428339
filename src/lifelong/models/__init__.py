"""Torch networks, heads that grow, and the ``ModelBundle`` that saves and serves them."""

from lifelong.models.bundle import FORMAT_VERSION, BundleSpec, ModelBundle, read_spec
from lifelong.models.classifier import IntentClassifier
from lifelong.models.factory import build_model
from lifelong.models.surgery import head_inputs, imprint_rows, remap_head
from lifelong.models.transformer import TransformerClassifier

__all__ = [
    "FORMAT_VERSION",
    "BundleSpec",
    "IntentClassifier",
    "ModelBundle",
    "TransformerClassifier",
    "build_model",
    "head_inputs",
    "imprint_rows",
    "read_spec",
    "remap_head",
]
