"""The network a pipeline config asks for."""

from __future__ import annotations

from torch import nn

from lifelong.config import Pipeline
from lifelong.features import MINILM_DIM, minilm_path
from lifelong.models.classifier import IntentClassifier
from lifelong.models.transformer import TransformerClassifier


def build_model(pipeline: Pipeline, n_classes: int, bag: nn.Module | None = None) -> nn.Module:
    """A freshly initialised network for ``pipeline`` (seed torch first for a fixed init).

    ``bag`` replaces the fast pipeline's fresh n-gram table (a compact one being loaded).
    """
    if pipeline.name == "transformer":
        settings = pipeline.transformer
        return TransformerClassifier(
            minilm_path(), pipeline.dropout, n_classes, settings.freeze_layers
        )
    if pipeline.name == "tabular":
        table = pipeline.tabular
        return IntentClassifier(
            table.buckets, table.dim, 0, pipeline.hidden, pipeline.dropout, n_classes, bag=bag
        )
    return IntentClassifier(
        buckets=pipeline.ngrams.buckets,
        dim=pipeline.ngrams.dim,
        dense_dim=MINILM_DIM * len(pipeline.embeddings_layers) if pipeline.embeddings else 0,
        hidden=pipeline.hidden,
        dropout=pipeline.dropout,
        n_classes=n_classes,
        bag=bag,
    )
