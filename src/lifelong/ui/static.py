"""The dashboard's static files: its stylesheet and script, and plotly.js from the installed
``plotly`` package (no CDN: the pages work offline).

The URLs carry the package's version, so the files are cached for a year and a new release
is fetched at once.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from lifelong import __version__

router = APIRouter()
_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_OWN = ("ui.css", "ui.js")


@functools.cache
def _file(name: str) -> tuple[bytes, str]:
    if name == "plotly.min.js":
        from plotly.offline import get_plotlyjs  # ~5 MB, read once

        body = get_plotlyjs().encode()
    elif name in _OWN:
        body = resources.files("lifelong.ui").joinpath("static", name).read_bytes()
    else:
        raise KeyError(name)
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def static_url(name: str) -> str:
    """The versioned URL of a static file (``plotly.min.js``, ``ui.css``, ``ui.js``)."""
    if name == "plotly.min.js":
        from importlib.metadata import version

        return f"/ui/static/{name}?v={version('plotly')}"
    return f"/ui/static/{name}?v={__version__}"


@router.get("/static/{name}")
def static_file(name: str, request: Request) -> Response:
    try:
        body, etag = _file(name)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no static file {name!r}") from None
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    suffix = name[name.rfind(".") :]
    return Response(body, media_type=_TYPES[suffix], headers=headers)
