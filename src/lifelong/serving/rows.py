"""Tabular rows in requests: checked against the model's columns and made canonical texts.

A tabular model scores, logs and shadows canonical row texts (see
:mod:`lifelong.data.schema`), so once a request's rows are encoded here, ``/predict`` serves
them on the path texts take: the batcher, the prediction log, drift and the shadow model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi import HTTPException, status

from lifelong.data.schema import ValueProblem, encode_row
from lifelong.features import TabularFeaturizer
from lifelong.models import ModelBundle


def request_texts(
    bundle: ModelBundle, texts: list[str], rows: Sequence[Mapping[str, object]] | None
) -> list[str]:
    """The texts to score for a request of ``texts`` or of ``rows``.

    A row sent to a text model, a text sent to a tabular one, a column the model lacks or a
    value that is not a number in a numeric column is a 422 naming the row and the column.
    """
    featurizer = bundle.featurizer
    if not isinstance(featurizer, TabularFeaturizer):
        if rows is not None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                'the served model reads text: send "text" or "texts", not rows',
            )
        return texts
    if rows is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            'the served model reads tabular rows: send "row" (an object of column values) '
            'or "rows"',
        )
    encoded = []
    for index, row in enumerate(rows):
        try:
            encoded.append(encode_row(featurizer.columns, row))
        except ValueProblem as error:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"row {index}: {error}"
            ) from None
    return encoded


def warm_up_inputs(bundle: ModelBundle, texts: Sequence[str]) -> list[str]:
    """``texts`` for a text model; for a tabular one as many rows of missing values."""
    featurizer = bundle.featurizer
    if not isinstance(featurizer, TabularFeaturizer):
        return list(texts)
    return [encode_row(featurizer.columns, {})] * len(texts)
