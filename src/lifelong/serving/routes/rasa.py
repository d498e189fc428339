"""Rasa's HTTP API as far as a Rasa client needs it: ``POST /model/parse``, ``GET /status``,
``GET /version``, in Rasa's shapes, filled with lifelong's values.

Rasa's server (Sanic) reads ``request.json`` whatever the ``Content-Type`` says, so its users
send ``curl -XPOST :5005/model/parse -d '{"text": "hi"}'``, which says
``application/x-www-form-urlencoded``; FastAPI would refuse that body as not an object. These
routes read every body as JSON (:class:`JsonBodyRoute`). A blank ``text`` is answered as Rasa
answers an empty one: no intent, confidence 0, no ranking, and nothing scored or logged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from lifelong import __version__
from lifelong.models.bundle import READABLE_VERSIONS
from lifelong.serving.deps import ModelDep, ServicesDep, check_texts
from lifelong.serving.openapi import errors
from lifelong.serving.routes.predict import serve
from lifelong.serving.schemas import (
    Fingerprint,
    ParseRequest,
    ParseResponse,
    RasaIntent,
    StatusResponse,
    VersionResponse,
)

RASA_RANKING = 10  # Rasa returns at most ten ranked intents

MINIMUM_COMPATIBLE_VERSION = "0.1.0"
"""The oldest lifelong whose bundles this one loads: 0.1.0 wrote bundle format 1, which is still
among ``models.bundle.READABLE_VERSIONS``; raise it when the oldest readable format goes."""

_JSON = (b"content-type", b"application/json")


class JsonBodyRoute(APIRoute):
    """A route that parses its body as JSON whatever its ``Content-Type``, as Rasa's does."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def as_json(request: Request) -> Response:
            headers = [pair for pair in request.scope["headers"] if pair[0] != _JSON[0]]
            scope = {**request.scope, "headers": [*headers, _JSON]}
            return await handler(Request(scope, request.receive))

        return as_json


router = APIRouter(tags=["rasa"], route_class=JsonBodyRoute)


@router.post(
    "/model/parse",
    response_model=ParseResponse,
    responses=errors(422, 500, 503, 504),
)
async def parse(
    body: ParseRequest, services: ServicesDep, model: ModelDep, background: BackgroundTasks
) -> ParseResponse:
    """Rasa NLU's parse: clients written for a Rasa server work unchanged.

    The body is read as JSON whatever its ``Content-Type`` (``curl -d`` sends
    form-urlencoded), as Rasa reads it. A blank ``text`` gets Rasa's answer to an empty one:
    ``intent`` ``{"name": null, "confidence": 0.0}`` and an empty ranking.
    """
    if not body.text.strip():
        check_texts([body.text], services.settings.server)
        nothing = RasaIntent(name=None, confidence=0.0)
        return ParseResponse(text=body.text, intent=nothing, intent_ranking=[], entities=[])
    served = await serve(services, model, [body.text], RASA_RANKING, background)
    ranking = served.rankings()[0]
    return ParseResponse(
        text=body.text,
        intent=RasaIntent(name=ranking[0][0], confidence=ranking[0][1]),
        intent_ranking=[RasaIntent(name=i, confidence=c) for i, c in ranking],
        entities=[],
    )


@router.get("/version", response_model=VersionResponse)
async def version() -> VersionResponse:
    """This server's version and the oldest lifelong whose models it loads (Rasa's
    ``/version``)."""
    return VersionResponse(
        version=__version__,
        minimum_compatible_version=MINIMUM_COMPATIBLE_VERSION,
        bundle_format_version=max(READABLE_VERSIONS),
    )


@router.get("/status", response_model=StatusResponse, responses=errors(503))
def status(services: ServicesDep, model: ModelDep) -> StatusResponse:
    """The served model (Rasa's ``/status``): its version, artifact id and fingerprint.

    Open to anyone, like ``/health``: versions and content hashes, nothing ``/models`` keeps
    for the admin.
    """
    record = services.registry.resolve(model.version)
    config = orjson.dumps(record.config, option=orjson.OPT_SORT_KEYS)
    return StatusResponse(
        model_file=model.version,
        model_id=record.artifact_id,
        num_active_training_jobs=0,
        fingerprint=Fingerprint(
            config=hashlib.sha256(config).hexdigest(),
            version=model.bundle.spec.lifelong_version,
            trained_at=record.created_at.timestamp(),
        ),
    )
