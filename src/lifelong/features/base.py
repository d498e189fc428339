"""The featurizer contract and the ``Features`` a featurizer produces.

A featurizer turns normalized texts into model inputs. Features are computed once per run and
then sliced into batches, so ``Features`` holds whole-data-set arrays and knows how to take rows.
``spec()`` is what the compatibility check compares between a parent model and a new config: two
featurizers with equal specs map every text to the same input space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray


def murmur_bucket(key: str, buckets: int) -> int:
    """``abs(murmurhash3_32(key, seed=0)) % buckets``, scikit-learn's signed 32-bit hash.

    scikit-learn (and scipy.stats with it) is imported on the first call, not with this
    module: it took a second of every ``lifelong train``, whose n-grams the compiled core
    hashes itself. Only the Python n-gram path and tabular categories call this.
    """
    from sklearn.utils import murmurhash3_32

    return abs(int(murmurhash3_32(key, seed=0))) % buckets


@dataclass(frozen=True)
class Features:
    """Model inputs of ``n`` texts; every part present has ``n`` rows.

    Parameters
    ----------
    sparse
        Hashed n-gram weights, a CSR matrix of shape ``(n, buckets)``.
    dense
        Fixed-size vectors (sentence embeddings), float32 of shape ``(n, d)``.
    tokens
        Token arrays of shape ``(n, max_length)`` (``input_ids``, ``attention_mask``).
    """

    sparse: sp.csr_matrix | None = None
    dense: NDArray[np.float32] | None = None
    tokens: dict[str, NDArray[np.int64]] = field(default_factory=dict)

    def __len__(self) -> int:
        if self.sparse is not None:
            return int(self.sparse.shape[0])
        if self.dense is not None:
            return len(self.dense)
        return len(next(iter(self.tokens.values()))) if self.tokens else 0

    def rows(self, index: NDArray[np.int64]) -> Features:
        """The features of the texts at ``index`` (a batch)."""
        return Features(
            sparse=None if self.sparse is None else self.sparse[index],
            dense=None if self.dense is None else self.dense[index],
            tokens={name: array[index] for name, array in self.tokens.items()},
        )

    def merge(self, other: Features) -> Features:
        """Combine the parts of two featurizations of the same texts."""
        return Features(
            sparse=other.sparse if self.sparse is None else self.sparse,
            dense=other.dense if self.dense is None else self.dense,
            tokens={**self.tokens, **other.tokens},
        )


@runtime_checkable
class Featurizer(Protocol):
    """Turns normalized texts into :class:`Features`; stateless, so nothing to fit."""

    def spec(self) -> dict[str, Any]:
        """A JSON-safe description; equal specs mean the same input space."""
        ...

    def transform(self, texts: Sequence[str]) -> Features:
        """Featurize ``texts`` (already normalized, see ``core.normalize_text``)."""
        ...


class Stack:
    """Several featurizers applied to the same texts, their parts merged.

    The fast pipeline stacks hashed n-grams and (optionally) sentence embeddings.
    """

    def __init__(self, featurizers: Sequence[Featurizer]) -> None:
        self.featurizers = list(featurizers)

    def spec(self) -> dict[str, Any]:
        return {"kind": "stack", "parts": [f.spec() for f in self.featurizers]}

    def transform(self, texts: Sequence[str]) -> Features:
        result = Features()
        for featurizer in self.featurizers:
            result = result.merge(featurizer.transform(texts))
        return result
