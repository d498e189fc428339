from __future__ import annotations

import pytest

from lifelong.config import NGrams, Pipeline
from lifelong.core.errors import IncompatibleModel
from lifelong.features import make_featurizer
from lifelong.models import BundleSpec
from lifelong.training import check_compatible, plan_labels


def _spec(pipeline: Pipeline, **changes: object) -> BundleSpec:
    fields = {
        "pipeline": pipeline.model_dump(mode="json"),
        "labels": ["a", "b"],
        "featurizer": make_featurizer(pipeline).spec(),
        **changes,
    }
    return BundleSpec(**fields)  # type: ignore[arg-type]


def test_every_changed_key_is_listed_with_the_cold_command() -> None:
    old = Pipeline(ngrams=NGrams(buckets=1024, dim=16))
    new = Pipeline(ngrams=NGrams(buckets=2048, dim=16, char=(3, 5)), hidden=64)
    expected = r"pipeline\.ngrams\.buckets: 1024 -> 2048"
    with pytest.raises(IncompatibleModel, match=expected) as error:
        check_compatible(_spec(old), new, make_featurizer(new).spec())
    message = str(error.value)
    for key in ("pipeline.ngrams.char", "pipeline.hidden", "featurizer.parts"):
        assert key in message
    assert "`lifelong train` (without --finetune)" in message


def test_training_only_keys_may_change() -> None:
    old = Pipeline(ngrams=NGrams(buckets=1024, dim=16))
    new = old.model_copy(update={"dropout": 0.5, "label_smoothing": 0.0})
    check_compatible(_spec(old), new, make_featurizer(new).spec())


def test_a_foreign_bundle_format_cannot_be_fine_tuned() -> None:
    pipeline = Pipeline(ngrams=NGrams(buckets=1024, dim=16))
    with pytest.raises(IncompatibleModel, match="bundle format 0"):
        check_compatible(_spec(pipeline, format_version=0), pipeline, {})


def test_label_plan() -> None:
    plan = plan_labels(["a", "b", "c"], ["d", "a", "b", "a"], strict=False)
    assert (plan.labels, plan.added, plan.removed) == (["a", "b", "d"], ["d"], ["c"])
    assert plan_labels(["a"], ["a"], strict=True).labels == ["a"]
    with pytest.raises(IncompatibleModel, match=r"added \['d'\]"):
        plan_labels(["a"], ["a", "d"], strict=True)


def test_a_changed_embeddings_runtime_is_named() -> None:
    """A model trained on fp32 vectors cannot be fine-tuned on int8 ones: they differ."""
    old = Pipeline(ngrams=NGrams(buckets=1024, dim=16), embeddings="minilm")
    new = old.model_copy(update={"embeddings_runtime": "onnx-int8"})
    expected = r"pipeline\.embeddings_runtime: 'torch' -> 'onnx-int8'"
    with pytest.raises(IncompatibleModel, match=expected):
        check_compatible(_spec(old), new, make_featurizer(new).spec())


def test_a_parent_recorded_before_a_key_existed_compares_at_its_default() -> None:
    pipeline = Pipeline(ngrams=NGrams(buckets=1024, dim=16), embeddings="minilm")
    recorded = pipeline.model_dump(mode="json")
    del recorded["embeddings_runtime"]
    parent = BundleSpec(recorded, ["a", "b"], make_featurizer(pipeline).spec())
    check_compatible(parent, pipeline, make_featurizer(pipeline).spec())
    int8 = pipeline.model_copy(update={"embeddings_runtime": "torch-int8"})
    with pytest.raises(IncompatibleModel, match="embeddings_runtime"):
        check_compatible(parent, int8, make_featurizer(int8).spec())
