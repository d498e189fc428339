"""``POST /predict``: one text or a batch (``/model/parse``, Rasa's shape, is in ``rasa.py``).

Both score with the model read once at the start of the request (see ``deps.serving_model``),
queue their log rows for the background writer, and hand the texts to the shadow model as a
background task that runs after the response is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, BackgroundTasks, HTTPException, status
from fastapi.responses import Response

from lifelong.serving.deps import ModelDep, ServicesDep, check_texts
from lifelong.serving.holder import LoadedModel
from lifelong.serving.inference import Served, log_rows
from lifelong.serving.openapi import errors
from lifelong.serving.rows import request_texts
from lifelong.serving.schemas import (
    BatchPredictResponse,
    BatchValueResponse,
    PredictRequest,
    PredictResponse,
    ValueResponse,
)
from lifelong.serving.services import PRIMARY, Services

router = APIRouter(tags=["predict"])


async def serve(
    services: Services,
    model: LoadedModel,
    texts: list[str],
    top_k: int,
    background: BackgroundTasks,
) -> Served:
    """Score ``texts`` within ``server.timeout``, log them, schedule the shadow."""
    server = services.settings.server
    check_texts(texts, server)
    try:
        served = await asyncio.wait_for(services.batcher.score(model, texts, top_k), server.timeout)
    except TimeoutError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            f"prediction took longer than server.timeout={server.timeout}s",
        ) from None
    services.prediction_log.add(log_rows(served, texts, keep_text=server.log_text))
    services.metrics.confidence.observe_many(served.top_confidences, PRIMARY)
    if services.shadow_runner is not None:
        background.add_task(services.shadow_runner.submit, texts, served.prediction_ids)
    return served


def _predictions(served: Served) -> list[dict[str, Any]]:
    """Each prediction of ``served`` as the JSON object ``Prediction`` documents (a
    regression model's: ``prediction_id`` and ``value``)."""
    if served.values is not None:
        return [
            {"prediction_id": prediction_id, "value": value}
            for prediction_id, value in zip(
                served.prediction_ids, served.values.tolist(), strict=True
            )
        ]
    return [
        {
            "prediction_id": prediction_id,
            "intent": intents[0],
            "confidence": confidences[0],
            "ranking": [
                {"intent": i, "confidence": c} for i, c in zip(intents, confidences, strict=True)
            ],
        }
        for prediction_id, intents, confidences in zip(
            served.prediction_ids, served.ranked_intents, served.ranked_confidences, strict=True
        )
    ]


def answer_json(served: Served, *, single: bool) -> bytes:
    """The body of ``/predict``'s answer: a ``PredictResponse`` for one text (``single``),
    else a ``BatchPredictResponse``."""
    predictions = _predictions(served)
    if single:
        return orjson.dumps({**predictions[0], "version": served.version})
    return orjson.dumps({"version": served.version, "predictions": predictions})


@router.post(
    "/predict",
    response_model=PredictResponse | BatchPredictResponse | ValueResponse | BatchValueResponse,
    responses=errors(422, 500, 503, 504),
)
async def predict(
    body: PredictRequest, services: ServicesDep, model: ModelDep, background: BackgroundTasks
) -> Response:
    """Intent (class), confidence and top-k ranking of ``text`` or ``row``, or of each of
    ``texts`` or ``rows``.

    The answer is plain dicts encoded by orjson (the response models document its shape): for
    a batch of hundreds of texts, response-model objects, their validation and the standard
    encoder cost more than the scoring.
    """
    top_k = body.top_k or services.settings.server.top_k
    texts = request_texts(model.bundle, body.all_texts, body.all_rows)
    served = await serve(services, model, texts, top_k, background)
    content = answer_json(served, single=body.single)
    return Response(content, media_type="application/json", background=background)
