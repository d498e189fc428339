"""Serving: an HTTP API over the champion with hot swap, feedback, prediction log and shadow.

``create_app(ServeSettings.from_project(project))`` gives the FastAPI app; ``lifelong serve``
runs it with uvicorn. See :mod:`lifelong.serving.app` for the pieces.
"""

from lifelong.serving.app import create_app
from lifelong.serving.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]
