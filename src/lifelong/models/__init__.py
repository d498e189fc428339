"""Torch networks, heads that grow, and the ``ModelBundle`` that saves and serves them."""

from lifelong.models.bundle import (
    FEATURIZER_STATE,
    FORMAT_VERSION,
    PRUNED_HIDDEN,
    READABLE_VERSIONS,
    BundleSpec,
    ModelBundle,
    described,
    read_spec,
)
from lifelong.models.classifier import IntentClassifier
from lifelong.models.compact import (
    LEVELS,
    CompactBag,
    WeightsFormat,
    pack_int4,
    stored_row_count,
    table,
    trainable_copy,
    unpack_int4,
    weights_format,
    with_bag,
)
from lifelong.models.factory import build_model
from lifelong.models.surgery import head_inputs, imprint_rows, remap_head
from lifelong.models.transformer import TransformerClassifier

__all__ = [
    "FEATURIZER_STATE",
    "FORMAT_VERSION",
    "LEVELS",
    "PRUNED_HIDDEN",
    "READABLE_VERSIONS",
    "BundleSpec",
    "CompactBag",
    "IntentClassifier",
    "ModelBundle",
    "TransformerClassifier",
    "WeightsFormat",
    "build_model",
    "described",
    "head_inputs",
    "imprint_rows",
    "pack_int4",
    "read_spec",
    "remap_head",
    "stored_row_count",
    "table",
    "trainable_copy",
    "unpack_int4",
    "weights_format",
    "with_bag",
]
