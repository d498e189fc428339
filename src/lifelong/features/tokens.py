"""Token ids for the ``transformer`` pipeline (the MiniLM tokenizer, loaded offline)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lifelong.features.base import Features


class Tokens:
    """Texts as ``input_ids`` and ``attention_mask`` padded to ``max_length``.

    Padding to the fixed length lets features be computed once per run; the model trims each
    batch to its longest row, so short texts do not pay for the padding.
    """

    def __init__(self, model_path: Path, max_length: int, name: str) -> None:
        self.model_path = model_path
        self.max_length = max_length
        self.name = name
        self._tokenizer: Any = None

    def spec(self) -> dict[str, Any]:
        return {"kind": "tokens", "model": self.name, "max_length": self.max_length}

    def transform(self, texts: Sequence[str]) -> Features:
        if self._tokenizer is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_path))
        encoded = self._tokenizer(
            list(texts),
            padding="max_length",
            truncation=True,
            max_length=self.max_length,
            return_tensors="np",
        )
        return Features(
            tokens={
                "input_ids": encoded["input_ids"].astype(np.int64),
                "attention_mask": encoded["attention_mask"].astype(np.int64),
            }
        )
