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
def row_adam_moments(
    rows: NDArray[np.int64],
    grads: NDArray[np.float32],
    exp_avg: NDArray[np.float32],
    exp_avg_sq: NDArray[np.float32],
    keep1: float,
    keep2: float,
    numer: NDArray[np.float32],
    square: NDArray[np.float32],
) -> None: ...
def row_adam_apply(
    rows: NDArray[np.int64],
    numer: NDArray[np.float32],
    root: NDArray[np.float32],
    param: NDArray[np.float32],
    eps: float,
    neg_step: float,
) -> None: ...
