"""Templates and the headers every page carries.

Autoescaping is on for every template, so intent names, notes and reasons written into a
version by anyone are shown as text, never run; chart figures go into the page as JSON
through ``tojson``, which escapes ``<``, ``>`` and ``&``. The Content-Security-Policy allows
scripts from the dashboard's own origin only, so even a missed escape could not run inline
script. Jinja2 is imported on the first page, so ``lifelong serve`` starts without it.
"""

from __future__ import annotations

import functools
import json
import math
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from lifelong.core.errors import LifelongError
from lifelong.ui import auth
from lifelong.ui.context import UiContext
from lifelong.ui.static import static_url

if TYPE_CHECKING:
    import jinja2

PREFIX = "/ui"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
NAV = (
    ("lineage", "Lineage"),
    ("metrics", "Metrics"),
    ("compare", "Compare"),
    ("cycles", "Cycles"),
    ("monitoring", "Monitoring"),
)


def fmt(value: Any) -> str:
    """A record's value as a short text: floats to 4 decimals, nothing as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4f}".rstrip("0").rstrip(".") or "0"
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, default=str)
        return text if len(text) <= 160 else text[:157] + "..."
    return str(value)


def signed(value: float | None) -> str:
    """A delta with its sign (``+0.0125``), or a dash."""
    return "-" if value is None else f"{value:+.4f}"


@functools.cache
def environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("lifelong.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["signed"] = signed
    env.globals["prefix"] = PREFIX
    env.globals["nav"] = NAV
    env.globals["static_url"] = static_url
    return env


def page(
    request: Request,
    context: UiContext,
    template: str,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Render ``template`` with the values every page uses (navigation, session, CSRF)."""
    nonce = auth.session_nonce(request, context.admin_token)
    csrf = (
        ""
        if nonce is None or context.admin_token is None
        else auth.csrf_token(context.admin_token, nonce)
    )
    html = (
        environment()
        .get_template(template)
        .render(
            request_path=request.url.path,
            current=request.url.path.removeprefix(PREFIX).strip("/").split("/")[0] or "lineage",
            logged_in=nonce is not None,
            actions_on=context.admin_token is not None,
            admin_token_env=context.admin_token_env,
            alias=context.alias,
            csrf=csrf,
            **values,
        )
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def error_page(
    request: Request, context: UiContext, status_code: int, title: str, error: LifelongError | str
) -> HTMLResponse:
    """A page saying what went wrong (and the hint, for a registry error)."""
    message = error.message if isinstance(error, LifelongError) else error
    hint = error.hint if isinstance(error, LifelongError) else ""
    return page(
        request,
        context,
        "error.html",
        status_code=status_code,
        title=title,
        message=message,
        hint=hint or "",
    )
