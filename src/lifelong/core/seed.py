"""Seeding: every random draw takes its seed from config, so one seed gives one model."""

from __future__ import annotations

import random

import numpy as np


def set_seed(seed: int) -> int:
    """Seed Python, NumPy and (when installed) torch; return the seed for logging."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return seed
    torch.manual_seed(seed)
    return seed
