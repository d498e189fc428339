"""Scoring: top-k rankings equal a full stable sort, log rows hash the normalized text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lifelong.core.hashing import TextHasher, sha256_text
from lifelong.core.types import normalize_text
from lifelong.models import ModelBundle
from lifelong.serving.holder import LoadedModel
from lifelong.serving.ids import TimeOrderedIds
from lifelong.serving.inference import log_rows, score, top_k_columns

HASHER = TextHasher(b"a test key of the scoring")


@pytest.mark.parametrize("rows", [1, 3, 23, 24, 64, 200])
@pytest.mark.parametrize("k", [1, 5, 10, 12])
def test_top_k_columns_equal_a_stable_argsort(rows: int, k: int) -> None:
    rng = np.random.default_rng(rows * 100 + k)
    smooth = rng.random((rows, 12)).astype(np.float32)
    tied = rng.integers(0, 3, (rows, 12)).astype(np.float32)  # ties everywhere, incl. at k
    saturated = np.zeros((rows, 12), dtype=np.float32)  # softmax underflow: all but one 0
    saturated[:, 7] = 1.0
    for proba in (smooth, tied, saturated):
        expected = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(top_k_columns(proba, k), expected)


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(st.integers(1, 80), st.integers(1, 60)).flatmap(
        lambda shape: st.tuples(
            arrays(np.float32, shape, elements=st.sampled_from([0.0, 1e-30, 0.25, 0.5, 1.0]))
            | arrays(np.float32, shape, elements=st.floats(-1e6, 1e6, width=32)),
            st.integers(1, shape[1] + 5),
        )
    )
)
def test_top_k_columns_equal_a_stable_argsort_on_any_matrix(
    case: tuple[np.ndarray, int],
) -> None:
    proba, k = case  # k beyond the columns, and beyond the rounds' limit of 32, included
    expected = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(top_k_columns(proba, k), expected)


def test_score_ranks_like_predict_proba_and_logs_keyed_hashes_of_normalized_texts(
    trained_bundles: list[Path],
) -> None:
    bundle = ModelBundle.load(trained_bundles[0])
    model = LoadedModel("1.0", bundle, datetime.now(UTC))
    texts = ["Play  some MUSIC", "wake me up at 7", "\uff42ook a table", "rain tomorrow?"]
    served = score(model, texts, 3, TimeOrderedIds(), HASHER)
    proba = bundle.predict_proba(texts)
    assert served.version == "1.0"
    assert len(served) == len(texts)
    rankings = served.rankings()
    for ranking, row in zip(rankings, proba, strict=True):
        order = np.argsort(-row, kind="stable")[:3]
        assert ranking == [(bundle.labels[i], float(row[i])) for i in order]
    assert served.intents == [ranking[0][0] for ranking in rankings]
    assert served.top_confidences == [ranking[0][1] for ranking in rankings]
    rows = log_rows(served, texts, keep_text=True)
    assert [r.text_hash for r in rows] == [HASHER(normalize_text(t)) for t in texts]
    assert not {r.text_hash for r in rows} & {sha256_text(normalize_text(t)) for t in texts}
    assert [r.text for r in rows] == texts
    assert [r.prediction_id for r in rows] == served.prediction_ids
    assert [(r.intent, r.confidence) for r in rows] == [ranking[0] for ranking in rankings]
    assert {r.version for r in rows} == {"1.0"}
    assert sum(r.latency_ms for r in rows) == pytest.approx(served.latency_ms)
    shadow = log_rows(served, texts, keep_text=False, shadow_of=["a", "b", "c", "d"])
    assert [(r.text, r.shadow_of) for r in shadow] == [(None, x) for x in "abcd"]


def test_rows_slice_an_answer_and_its_latency(trained_bundles: list[Path]) -> None:
    model = LoadedModel("1.0", ModelBundle.load(trained_bundles[0]), datetime.now(UTC))
    served = score(
        model, ["play music", "wake me up", "rain", "book a table"], 3, TimeOrderedIds(), HASHER
    )
    part = served.rows(1, 3, 2)
    assert part.prediction_ids == served.prediction_ids[1:3]
    assert part.text_hashes == served.text_hashes[1:3]
    assert part.rankings() == [ranking[:2] for ranking in served.rankings()[1:3]]
    assert part.latency_ms == pytest.approx(served.latency_ms / 2)


@pytest.mark.parametrize("texts", [1, 30])  # both top-k paths
def test_score_refuses_non_finite_probabilities(
    trained_bundles: list[Path], monkeypatch: pytest.MonkeyPatch, texts: int
) -> None:
    bundle = ModelBundle.load(trained_bundles[0])
    real = bundle.proba_normalized

    def broken(normalized: list[str], batch_size: int = 256) -> np.ndarray:
        proba = real(normalized, batch_size)
        proba[-1, -1] = np.nan  # anywhere, not only in the top k
        return proba

    monkeypatch.setattr(bundle, "proba_normalized", broken)
    model = LoadedModel("1.0", bundle, datetime.now(UTC))
    with pytest.raises(RuntimeError, match=r"1\.0 returned non-finite"):
        score(model, ["play music"] * texts, 2, TimeOrderedIds(), HASHER)
