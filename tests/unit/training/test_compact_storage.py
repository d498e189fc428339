"""Compact storage by default: a training keeps only the table rows it touched, in fp16."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.compression import compact_table, trained_rows
from lifelong.config import NGrams, Pipeline, Training
from lifelong.core import Example
from lifelong.features import HashedNGrams, make_featurizer
from lifelong.models import (
    BundleSpec,
    CompactBag,
    ModelBundle,
    build_model,
    stored_row_count,
    table,
)
from lifelong.training import check_compatible, train

MakeExamples = Callable[..., list[Example]]


def _train(
    pipeline: Pipeline, training: Training, data: list[Example], parent: ModelBundle | None = None
) -> ModelBundle:
    return train(
        data, [], pipeline=pipeline, training=training, parent=parent, progress=False
    ).bundle


def _size(bundle: ModelBundle, folder: Path) -> int:
    bundle.save(folder)
    return sum(p.stat().st_size for p in folder.iterdir())


def test_a_training_stores_the_rows_its_texts_touched_and_predicts_them_alike(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: MakeExamples,
    old_labels: list[str],
    tmp_path: Path,
) -> None:
    data = make_examples(old_labels, 20, 0)
    full_pipeline = small_pipeline.model_copy(
        update={"ngrams": small_pipeline.ngrams.model_copy(update={"storage": "full"})}
    )
    compact = _train(small_pipeline, small_training, data)
    full = _train(full_pipeline, small_training, data)
    assert compact.spec.pipeline["ngrams"]["storage"] == "compact"
    touched = np.unique(compact.featurizer.transform([e.text for e in data]).sparse.indices)  # type: ignore[union-attr]
    assert stored_row_count(compact.module) == len(touched) < 1024
    assert stored_row_count(full.module) == 1024
    texts = [e.text for e in data]
    # the same training (seed), the touched rows rounded to fp16: the same answers on its texts
    np.testing.assert_allclose(compact.predict_proba(texts), full.predict_proba(texts), atol=2e-3)
    assert _size(compact, tmp_path / "c") < _size(full, tmp_path / "f")
    loaded = ModelBundle.load(tmp_path / "c")
    assert loaded.spec.weights_format == "sparse-fp16"
    np.testing.assert_allclose(loaded.predict_proba(texts), compact.predict_proba(texts), atol=1e-6)


def test_an_update_of_a_compact_parent_keeps_the_parent_rows(
    parent: ModelBundle,
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: MakeExamples,
) -> None:
    bag = table(parent.module)
    assert isinstance(bag, CompactBag)
    child = _train(small_pipeline, small_training, make_examples(["balance"], 10, 3), parent)
    child_bag = table(child.module)
    assert isinstance(child_bag, CompactBag)
    assert set(bag.row_ids.tolist()) <= set(child_bag.row_ids.tolist())
    assert child.spec.weights_format == "sparse-fp16"


def test_an_update_of_a_full_parent_stays_full(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: MakeExamples,
    old_labels: list[str],
) -> None:
    full = small_pipeline.model_copy(
        update={"ngrams": small_pipeline.ngrams.model_copy(update={"storage": "full"})}
    )
    parent = _train(full, small_training, make_examples(old_labels, 10, 0))
    child = _train(small_pipeline, small_training, make_examples(old_labels, 10, 1), parent)
    assert stored_row_count(child.module) == 1024  # the parent's trained rows are unknown
    assert child.spec.weights_format == "fp32"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(alphabet="abc xyz", min_size=1, max_size=12), min_size=1, max_size=6))
def test_compact_table_answers_like_the_full_one_on_its_rows(texts: list[str]) -> None:
    """Texts whose n-grams were all kept: the compact network equals the full one (fp16)."""
    pipeline = Pipeline(ngrams=NGrams(buckets=1024, dim=16), hidden=8)
    torch.manual_seed(0)
    module = build_model(pipeline, 3).eval()
    features = HashedNGrams(1024, (1, 2), (2, 5)).transform(texts)
    kept = trained_rows(features, None)
    assert kept is not None
    compact = compact_table(module, kept)
    with torch.inference_mode():
        np.testing.assert_allclose(compact(features), module(features), atol=2e-2)
    assert table(module) is not table(compact)  # the original is left as it was


def test_storage_may_change_between_parent_and_update() -> None:
    old = Pipeline(ngrams=NGrams(buckets=1024, dim=16, storage="full"))
    new = Pipeline(ngrams=NGrams(buckets=1024, dim=16))
    spec = BundleSpec(old.model_dump(mode="json"), ["a"], make_featurizer(old).spec())
    check_compatible(spec, new, make_featurizer(new).spec())
    with pytest.raises(ValueError, match="storage"):
        NGrams(storage="zip")  # type: ignore[arg-type]
