"""``create_app(settings)``: the FastAPI application serving a project's champion.

The lifespan starts :class:`~lifelong.serving.services.Services` (registry, model holders and
the thread following their aliases, prediction-log writer, shadow runner) and stops them on
shutdown, flushing the log. The first model loads in the background: ``/ready`` answers 503
until it is in. Errors are always 4xx with a message saying what was wrong, never a 500, for
anything a client can send: wrong schema, non-UTF-8 or oversized bodies, empty texts, strings
with a lone surrogate or a NUL.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lifelong import __version__, ui
from lifelong.core.errors import LifelongError, NotFound, StorageError
from lifelong.serving.batcher import ScoringFailed
from lifelong.serving.metrics import ServerMetrics
from lifelong.serving.middleware import RequestGuard
from lifelong.serving.openapi import server_openapi
from lifelong.serving.routes import admin, feedback, health, metrics, models, predict, rasa
from lifelong.serving.services import Services
from lifelong.serving.settings import ServeSettings


def create_app(settings: ServeSettings) -> FastAPI:
    """A FastAPI app serving ``settings.alias`` from ``settings.store_url``.

    Run it with uvicorn (one worker: the model, the log writer and the alias follower live in
    the process), or in tests with ``fastapi.testclient.TestClient`` used as a context manager
    so the lifespan runs.
    """
    server_metrics = ServerMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _freeze_startup_objects()
        services = Services.start(settings, server_metrics)
        app.state.services = services
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="lifelong",
        version=__version__,
        description="Serves the champion intent classifier and collects feedback.",
        lifespan=lifespan,
    )
    for module in (predict, rasa, feedback, health, models, metrics, admin):
        app.include_router(module.router)
    app.include_router(ui.router)  # the dashboard, under /ui
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(LifelongError, _lifelong_error)  # type: ignore[arg-type]
    app.add_middleware(
        RequestGuard,
        metrics=server_metrics,
        max_body_bytes=settings.server.max_body_bytes,
        routes=app.routes,
    )
    app.openapi = server_openapi(app, settings.server, settings.task)  # type: ignore[method-assign]
    return app


def _freeze_startup_objects() -> None:
    """Exclude the objects that exist at startup from the cyclic garbage collector's passes.

    The imports (torch, scikit-learn, SQLAlchemy, FastAPI) leave some 300k objects that live as
    long as the process; every full collection walked all of them, pausing the server for up
    to 200 ms several times a minute under load: the p99 latency. Frozen, they are skipped
    (they stay reachable anyway). Models load later and are not frozen, so a swapped-out model
    is still collected.
    """
    gc.collect()
    gc.freeze()


async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    """422 with FastAPI's error list plus one readable line per problem in ``message``."""
    errors = jsonable_encoder(error.errors(), exclude={"input", "url", "ctx"})
    lines = []
    for item in errors:
        where = ".".join(str(part) for part in item["loc"])
        lines.append(f"{where}: {item['msg']}")
    return JSONResponse(
        {"detail": errors, "message": "; ".join(lines)},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _lifelong_error(_request: Request, error: LifelongError) -> JSONResponse:
    """A registry refusal (unknown version, corrupt artifact, nothing to roll back): 404/409;
    a disk refusing a write (full, read-only): 507; a request whose own texts broke scoring
    (the others were answered): 500."""
    code = status.HTTP_404_NOT_FOUND if isinstance(error, NotFound) else status.HTTP_409_CONFLICT
    if isinstance(error, StorageError):
        code = status.HTTP_507_INSUFFICIENT_STORAGE
    if isinstance(error, ScoringFailed):
        code = status.HTTP_500_INTERNAL_SERVER_ERROR
    return JSONResponse({"detail": error.message, "hint": error.hint}, status_code=code)
