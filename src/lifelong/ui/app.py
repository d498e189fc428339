"""``create_ui_app``: the dashboard alone, as ``lifelong ui`` serves it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from lifelong import __version__
from lifelong.ui.context import UiContext
from lifelong.ui.render import PREFIX
from lifelong.ui.routes import router


def create_ui_app(context: UiContext) -> FastAPI:
    """A FastAPI app with the dashboard under ``/ui`` (``/`` redirects there).

    The caller owns ``context.registry`` and closes it after the server stops.
    """
    app = FastAPI(title="lifelong dashboard", version=__version__, docs_url=None, redoc_url=None)
    app.state.ui = context
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/")

    return app
