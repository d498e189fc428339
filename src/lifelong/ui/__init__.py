"""The dashboard: lineage, versions and their verdicts, metrics along a line of versions,
comparisons, the loop's cycles, monitoring of the served traffic, and the champion's
promotion and rollback behind the admin token.

Rendered on the server (FastAPI routes, Jinja2 templates with autoescaping); charts are drawn
by plotly.js, served from the installed ``plotly`` package, so the pages work offline. It reads
through the registry's and monitoring's public APIs and moves aliases only through
:func:`lifelong.registry.promote` and the registry's rollback. ``lifelong serve`` mounts
:data:`router` under ``/ui``; ``lifelong ui`` serves :func:`create_ui_app` alone.
"""

from lifelong.ui.app import create_ui_app
from lifelong.ui.context import UiContext
from lifelong.ui.routes import router

__all__ = ["UiContext", "create_ui_app", "router"]
