"""``POST /predict`` (one text or a batch) and ``POST /model/parse`` (Rasa NLU's shape).

Both score with the model read once at the start of the request (see ``deps.serving_model``),
queue their log rows for the background writer, and hand the texts to the shadow model as a
background task that runs after the response is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, status
from fastapi.responses import JSONResponse

from lifelong.serving.deps import ModelDep, ServicesDep, check_texts
from lifelong.serving.holder import LoadedModel
from lifelong.serving.inference import Scored, Served, log_rows
from lifelong.serving.schemas import (
    BatchPredictResponse,
    ParseRequest,
    ParseResponse,
    PredictRequest,
    PredictResponse,
    RasaIntent,
)
from lifelong.serving.services import PRIMARY, Services

router = APIRouter(tags=["predict"])

RASA_RANKING = 10  # Rasa returns at most ten ranked intents


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
    services.recent.remember([(p.prediction_id, p.intent) for p in served.predictions])
    confidences = [p.confidence for p in served.predictions]
    services.metrics.confidence.observe_many(confidences, PRIMARY)
    if services.shadow_runner is not None:
        ids = [p.prediction_id for p in served.predictions]
        background.add_task(services.shadow_runner.submit, texts, ids)
    return served


def _prediction(scored: Scored) -> dict[str, Any]:
    ranking = [{"intent": i, "confidence": c} for i, c in scored.ranking]
    return {
        "prediction_id": scored.prediction_id,
        "intent": scored.intent,
        "confidence": scored.confidence,
        "ranking": ranking,
    }


@router.post("/predict", response_model=PredictResponse | BatchPredictResponse)
async def predict(
    body: PredictRequest, services: ServicesDep, model: ModelDep, background: BackgroundTasks
) -> JSONResponse:
    """Intent, confidence and top-k ranking of ``text``, or of each of ``texts``.

    The answer is built as plain JSON (the response models document it): for a batch of
    hundreds of texts, model objects and their validation would cost more than the scoring.
    """
    top_k = body.top_k or services.settings.server.top_k
    served = await serve(services, model, body.all_texts, top_k, background)
    predictions = [_prediction(p) for p in served.predictions]
    if body.text is not None:
        return JSONResponse({**predictions[0], "version": served.version}, background=background)
    return JSONResponse(
        {"version": served.version, "predictions": predictions}, background=background
    )


@router.post("/model/parse", response_model=ParseResponse)
async def parse(
    body: ParseRequest, services: ServicesDep, model: ModelDep, background: BackgroundTasks
) -> ParseResponse:
    """Rasa NLU's HTTP API: clients written for a Rasa server work unchanged."""
    served = await serve(services, model, [body.text], RASA_RANKING, background)
    scored = served.predictions[0]
    return ParseResponse(
        text=body.text,
        intent=RasaIntent(name=scored.intent, confidence=scored.confidence),
        intent_ranking=[RasaIntent(name=i, confidence=c) for i, c in scored.ranking],
        entities=[],
    )
