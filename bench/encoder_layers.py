"""Benchmark: does pooling several layers of the frozen MiniLM encoder beat its last layer?

Issue 20 asks whether the frozen encoder of ``embeddings: minilm`` is used well: a sentence
vector from the last layer only (mean-pooled, L2-normalized, as ``all-MiniLM-L6-v2`` is
trained to be read) against mean-pooled vectors of lower layers, averaged or concatenated.
Every text is encoded once with all hidden states; each pooling then trains the same
scikit-learn ``LogisticRegression`` head (a fast, deterministic proxy for the fast pipeline's
MLP head: the question is which vector carries more, not the head). The decision is read on the
valid split (BANKING77 has none: 10% of train by content hash, as ``bench/finetune.py`` does);
the test column only reports. Data sets are read by path from ``../shared/datasets``::

    HF_HUB_OFFLINE=1 PYTHONPATH=src python bench/encoder_layers.py [--datasets banking77 clinc150]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from finetune import load  # the sibling script (bench/ is sys.path[0])
from lifelong.features import minilm_path

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
OUT = Path(__file__).resolve().parent / "out" / "encoder_layers"
Layers = NDArray[np.float32]  # texts x (embeddings + 6 layers) x 384

POOLINGS: dict[str, Callable[[Layers], NDArray[np.float32]]] = {
    "last layer (raw)": lambda h: h[:, 6],
    "last layer, L2-normalized (what the encoder gives)": lambda h: normalize(h[:, 6]),
    "mean of layers 5-6": lambda h: normalize(h[:, 5:7].mean(axis=1)),
    "layers 4, 5, 6 concatenated": lambda h: np.concatenate(
        [normalize(h[:, i]) for i in (4, 5, 6)], axis=1
    ),
    "layers 1-6 concatenated": lambda h: np.concatenate(
        [normalize(h[:, i]) for i in range(1, 7)], axis=1
    ),
}


def hidden_states(texts: list[str], batch: int = 128) -> Layers:
    """Mean-pooled (attention-masked) vectors of every hidden state of MiniLM for ``texts``."""
    from transformers import AutoModel, AutoTokenizer

    path = str(minilm_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch):
            tokens = tokenizer(
                texts[start : start + batch],
                padding=True,
                truncation=True,
                max_length=64,
                return_tensors="pt",
            )
            states = model(**tokens, output_hidden_states=True).hidden_states
            mask = tokens["attention_mask"].unsqueeze(-1).float()
            pooled = [(h * mask).sum(1) / mask.sum(1) for h in states]
            out.append(torch.stack(pooled, dim=1).numpy())
    return np.concatenate(out).astype(np.float32)


def cached(name: str, split: str, texts: list[str]) -> Layers:
    """:func:`hidden_states` of ``texts``, kept in ``bench/out`` for the next run (encoding a
    data set takes minutes on 2 cores; the heads take seconds)."""
    path = OUT / f"{name}-{split}-{len(texts)}.npy"
    if path.is_file():
        return np.asarray(np.load(path), dtype=np.float32)
    states = hidden_states(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, states)
    return states


def bench(name: str) -> list[tuple[str, float, float]]:
    """(pooling, valid accuracy, test accuracy) for data set ``name``."""
    train, valid, test = load(name, SHARED)
    started = time.perf_counter()
    states = {
        split: cached(name, split, [e.text for e in examples])
        for split, examples in (("train", train), ("valid", valid), ("test", test))
    }
    print(
        f"{name}: encoded {sum(len(s) for s in states.values())} texts in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    labels = {
        "train": [e.label for e in train],
        "valid": [e.label for e in valid],
        "test": [e.label for e in test],
    }
    rows = []
    for pooling, pool in POOLINGS.items():
        head = LogisticRegression(C=10.0, max_iter=2000).fit(pool(states["train"]), labels["train"])
        rows.append(
            (
                pooling,
                100 * float(head.score(pool(states["valid"]), labels["valid"])),
                100 * float(head.score(pool(states["test"]), labels["test"])),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name in args.datasets:
        rows = bench(name)
        print(f"\n{name}: frozen MiniLM, LogisticRegression head (C=10)")
        print("| pooling | valid acc | test acc |\n|---|---:|---:|")
        for pooling, valid, test in rows:
            print(f"| {pooling} | {valid:.2f} | {test:.2f} |")


if __name__ == "__main__":
    main()
