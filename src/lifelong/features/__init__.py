"""Featurizers: texts to fixed-size model inputs, behind one Protocol.

``HashedNGrams`` (fixed-width hashed word/char n-grams) and ``SentenceEmbeddings`` (frozen
MiniLM vectors cached on disk by text hash) make the ``fast`` pipeline; ``Tokens`` feeds the
``transformer`` pipeline; ``TabularFeaturizer`` the ``tabular`` one. ``make_featurizer`` builds
the one a config asks for.
"""

from lifelong.features.base import Features, Featurizer, Stack
from lifelong.features.cache import EmbeddingCache
from lifelong.features.embeddings import MINILM, MINILM_DIM, SentenceEmbeddings, minilm_path
from lifelong.features.factory import make_featurizer
from lifelong.features.hashing import HashedNGrams, bag_inputs
from lifelong.features.tabular import ColumnStats, TabularFeaturizer, infer_columns
from lifelong.features.tokens import Tokens

__all__ = [
    "MINILM",
    "MINILM_DIM",
    "ColumnStats",
    "EmbeddingCache",
    "Features",
    "Featurizer",
    "HashedNGrams",
    "SentenceEmbeddings",
    "Stack",
    "TabularFeaturizer",
    "Tokens",
    "bag_inputs",
    "infer_columns",
    "make_featurizer",
    "minilm_path",
]
