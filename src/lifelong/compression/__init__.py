"""Compression of trained models: per-row quantization and row pruning of the n-gram table,
structured pruning of the hidden units.

Each method (:data:`METHODS`) turns a :class:`~lifelong.models.ModelBundle` into a smaller one
whose spec names its weights format; :mod:`lifelong.models.compact` loads every format, so
serving never needs to know how a model was made smaller. The recipe that measures, registers
and gates the result is :mod:`lifelong.pipelines.compress`.
"""

from lifelong.compression.methods import METHODS, Method, Prune, PruneNeurons, Quantize, applied
from lifelong.compression.neurons import hidden_units, importance, kept_units, prune_neurons
from lifelong.compression.prune import by_magnitude, prune_bag, touched_buckets
from lifelong.compression.quantize import quantize_bag, quantize_rows, stored_rows
from lifelong.compression.storage import compact_table, trained_rows

__all__ = [
    "METHODS",
    "Method",
    "Prune",
    "PruneNeurons",
    "Quantize",
    "applied",
    "by_magnitude",
    "compact_table",
    "hidden_units",
    "importance",
    "kept_units",
    "prune_bag",
    "prune_neurons",
    "quantize_bag",
    "quantize_rows",
    "stored_rows",
    "touched_buckets",
    "trained_rows",
]
