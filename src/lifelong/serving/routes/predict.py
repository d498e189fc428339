"""``POST /predict`` (one text or a batch) and ``POST /model/parse`` (Rasa NLU's shape).

Both score with the model read once at the start of the request (see ``deps.serving_model``),
queue their log rows for the background writer, and hand the texts to the shadow model as a
background task that runs after the response is sent.
"""

from __future__ import annotations

import asyncio
import functools
import json

from fastapi import APIRouter, BackgroundTasks, HTTPException, status
from fastapi.responses import Response

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
    confidences = [p.confidence for p in served.predictions]
    services.metrics.confidence.observe_many(confidences, PRIMARY)
    if services.shadow_runner is not None:
        ids = [p.prediction_id for p in served.predictions]
        background.add_task(services.shadow_runner.submit, texts, ids)
    return served


_RANKED = '{"intent":%s,"confidence":%r}'
_PREDICTION = '{"prediction_id":"%s","intent":%s,"confidence":%r,"ranking":[%s]'


@functools.lru_cache(maxsize=4096)
def _json_string(value: str) -> str:
    """``value`` as a JSON string; intents recur in every answer, so each is encoded once."""
    return json.dumps(value, ensure_ascii=False)


def _prediction_json(scored: Scored) -> str:
    """One prediction as JSON, without its closing brace (a single answer adds ``version``).

    Formatted directly: for a batch, building a dict per prediction and per ranked intent and
    encoding them cost 1.5 times as much. The bytes are those ``JSONResponse`` would send
    (compact separators, UTF-8); ids are hex digits and dashes, and ``score`` refuses
    non-finite confidences, so nothing here needs escaping beyond the intents.
    """
    ranking = ",".join([_RANKED % (_json_string(i), c) for i, c in scored.ranking])
    intent = _json_string(scored.intent)
    return _PREDICTION % (scored.prediction_id, intent, scored.confidence, ranking)


@router.post("/predict", response_model=PredictResponse | BatchPredictResponse)
async def predict(
    body: PredictRequest, services: ServicesDep, model: ModelDep, background: BackgroundTasks
) -> Response:
    """Intent, confidence and top-k ranking of ``text``, or of each of ``texts``.

    The answer is formatted as JSON text directly (the response models document it): for a
    batch of hundreds of texts, model objects and their validation would cost more than the
    scoring.
    """
    top_k = body.top_k or services.settings.server.top_k
    served = await serve(services, model, body.all_texts, top_k, background)
    version = _json_string(served.version)
    if body.text is not None:
        content = f'{_prediction_json(served.predictions[0])},"version":{version}}}'
    else:
        predictions = "},".join([_prediction_json(p) for p in served.predictions])
        content = f'{{"version":{version},"predictions":[{predictions}}}]}}'
    return Response(content.encode(), media_type="application/json", background=background)


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
