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

``--fast`` answers the question for the real trainer instead of the proxy: the fast pipeline of
``MINILM_RECIPE`` (what ``lifelong init`` writes with the encoder) trains once per seed and
layer set (``pipeline.embeddings_layers``), with the sentence vectors of those layers (each
L2-normalized, concatenated) read from an embedding cache filled from the cached states, so
nothing is re-encoded (the states were pooled over at most 64 tokens where the encoder reads
256: no CLINC150 text is longer, a few BANKING77 ones are, up to 98)::

    HF_HUB_OFFLINE=1 PYTHONPATH=src python bench/encoder_layers.py --fast [--seeds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from finetune import load  # the sibling script (bench/ is sys.path[0])
from lifelong.config import Pipeline, Training
from lifelong.core.hashing import sha256_text
from lifelong.core.types import Example
from lifelong.features import minilm_path
from lifelong.features.cache import EmbeddingCache
from lifelong.features.embeddings import MINILM
from lifelong.features.encoders import DEFAULT_RUNTIME, encoder_id
from lifelong.scaffold import MINILM_RECIPE
from lifelong.training import train

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
OUT = Path(__file__).resolve().parent / "out" / "encoder_layers"
Layers = NDArray[np.float32]  # texts x (embeddings + 6 layers) x 384
# The layer sets ``--fast`` trains with: today's vector, the two concatenations the proxy liked.
LAYER_SETS: tuple[tuple[int, ...], ...] = ((6,), (4, 5, 6), (1, 2, 3, 4, 5, 6))

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


def concatenated(states: Layers, layers: Sequence[int]) -> NDArray[np.float32]:
    """The vector of ``layers``: each layer's mean-pooled state L2-normalized, concatenated."""
    return np.concatenate([normalize(states[:, i]) for i in layers], axis=1).astype(np.float32)


def encoded(name: str) -> tuple[dict[str, list[Example]], dict[str, Layers]]:
    """The train, valid and test examples of ``name`` and their cached hidden states."""
    train_set, valid, test = load(name, SHARED)
    examples = {"train": train_set, "valid": valid, "test": test}
    started = time.perf_counter()
    states = {
        split: cached(name, split, [e.text for e in part]) for split, part in examples.items()
    }
    print(
        f"{name}: encoded {sum(len(s) for s in states.values())} texts in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return examples, states


def bench(name: str) -> list[tuple[str, float, float]]:
    """(pooling, valid accuracy, test accuracy) for data set ``name``."""
    examples, states = encoded(name)
    labels = {split: [e.label for e in part] for split, part in examples.items()}
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


def fast(name: str, seeds: int) -> list[tuple[str, list[float], list[float]]]:
    """(layers, valid accuracies, test accuracies over ``seeds``) of the fast pipeline of
    ``MINILM_RECIPE`` trained with the real trainer on each of :data:`LAYER_SETS`.

    The trainer reads sentence vectors from its embedding cache, so a cache filled with the
    vectors of a layer set stands in for an encoder that gives them; a text missing from it
    would load the real encoder, which the run refuses (``computed`` must stay 0).
    """
    examples, states = encoded(name)
    recipe_pipeline = Pipeline.model_validate(MINILM_RECIPE["pipeline"])
    recipe = Training.model_validate(MINILM_RECIPE["training"])
    rows = []
    for layers in LAYER_SETS:
        valid_acc, test_acc = [], []
        pipeline = recipe_pipeline.model_copy(update={"embeddings_layers": list(layers)})
        with tempfile.TemporaryDirectory() as tmp:
            file = f"{encoder_id(MINILM, DEFAULT_RUNTIME, layers)}.sqlite"
            cache = EmbeddingCache(Path(tmp) / file)
            for split, part in examples.items():
                vectors = concatenated(states[split], layers)
                cache.put({sha256_text(e.text): v for e, v in zip(part, vectors, strict=True)})
            for seed in range(seeds):
                started = time.perf_counter()
                outcome = train(
                    examples["train"],
                    examples["valid"],
                    pipeline=pipeline,
                    training=recipe.model_copy(update={"seed": seed}),
                    cache_dir=Path(tmp),
                    progress=False,
                )
                scores = [
                    100 * accuracy(outcome.bundle.predict([e.text for e in part])[0], part)
                    for part in (examples["valid"], examples["test"])
                ]
                assert all(
                    getattr(part, "computed", 0) == 0
                    for part in getattr(outcome.bundle.featurizer, "featurizers", [])
                ), "a text was encoded instead of read from the filled cache"
                valid_acc.append(scores[0])
                test_acc.append(scores[1])
                print(
                    f"{name} layers {layers} seed {seed}: valid {scores[0]:.2f} "
                    f"test {scores[1]:.2f} ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
        rows.append((",".join(map(str, layers)), valid_acc, test_acc))
    return rows


def accuracy(predicted: Sequence[str], examples: Sequence[Example]) -> float:
    return float(np.mean([p == e.label for p, e in zip(predicted, examples, strict=True)]))


def spread(values: Sequence[float]) -> str:
    """Mean +- sample standard deviation (0 for one value)."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.2f} ± {sd:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"])
    parser.add_argument("--fast", action="store_true", help="the real trainer, MINILM_RECIPE")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per layer set (--fast)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.fast:
        tables = {name: fast(name, args.seeds) for name in args.datasets}
        for name, fast_rows in tables.items():
            print(f"\n{name}: fast pipeline (MINILM_RECIPE), {args.seeds} seed(s), mean ± sd")
            print("| layers | valid acc | test acc |\n|---|---:|---:|")
            for layers, valid_acc, test_acc in fast_rows:
                print(f"| {layers} | {spread(valid_acc)} | {spread(test_acc)} |")
        return
    for name in args.datasets:
        rows = bench(name)
        print(f"\n{name}: frozen MiniLM, LogisticRegression head (C=10)")
        print("| pooling | valid acc | test acc |\n|---|---:|---:|")
        for pooling, valid, test in rows:
            print(f"| {pooling} | {valid:.2f} | {test:.2f} |")


if __name__ == "__main__":
    main()
