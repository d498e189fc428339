"""The featurizer a pipeline config asks for."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lifelong.config import Pipeline
from lifelong.features.base import Featurizer, Stack
from lifelong.features.embeddings import MINILM, SentenceEmbeddings, minilm_path
from lifelong.features.hashing import HashedNGrams
from lifelong.features.tabular import TabularFeaturizer
from lifelong.features.tokens import Tokens


def make_featurizer(
    pipeline: Pipeline,
    cache_dir: Path | None = None,
    recorded: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
) -> Featurizer:
    """Build the featurizer of ``pipeline``.

    Parameters
    ----------
    pipeline
        The ``pipeline`` section of the config.
    cache_dir
        Folder of the sentence-embedding cache (e.g. ``.lifelong/cache/embeddings``); ``None``
        embeds without caching.
    recorded
        The spec and state a bundle recorded, for a featurizer that learns from data (the
        tabular one: its columns and statistics); without it that one is still to be fitted.
    """
    if pipeline.name == "tabular":
        if recorded is not None:
            return TabularFeaturizer.from_spec(*recorded)
        return TabularFeaturizer(pipeline.tabular.buckets)
    if pipeline.name == "transformer":
        return Tokens(minilm_path(), pipeline.transformer.max_length, MINILM)
    ngrams = pipeline.ngrams
    parts: list[Featurizer] = [HashedNGrams(ngrams.buckets, ngrams.word, ngrams.char)]
    if pipeline.embeddings == "minilm":
        parts.append(
            SentenceEmbeddings(
                cache_dir,
                runtime=pipeline.embeddings_runtime,
                layers=pipeline.embeddings_layers,
            )
        )
    return Stack(parts)
