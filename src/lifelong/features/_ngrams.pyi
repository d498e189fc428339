"""Types of the compiled featurizer core (``_ngrams.pyx``)."""

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

def hashed_rows(
    texts: Sequence[str],
    buckets: int,
    word_low: int,
    word_high: int,
    char_low: int,
    char_high: int,
    weight_of: NDArray[np.float32],
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]] | None: ...
