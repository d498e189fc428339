"""The outermost layer: body limits, UTF-8 check and request metrics, as plain ASGI.

Plain ASGI rather than ``BaseHTTPMiddleware`` because it sits on every request and costs a
fraction as much. The body is read here, at most ``max_body_bytes`` of it (checked against
``Content-Length`` first, then while streaming), so an oversized or non-UTF-8 body gets a clear
4xx before FastAPI parses anything; the buffered body is then replayed to the app.

Requests are counted by route template (``/predict``, not the path sent), which FastAPI's
routing puts in the scope. A body refused here never reaches routing, and Starlette's own
routes (``/openapi.json``, ``/docs``) do not say, so those are looked up in the router the way
routing does (:func:`route_template`): only a path no route takes counts as ``unmatched``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifelong.serving.metrics import ServerMetrics

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class _TooLarge(Exception):
    pass


class RequestGuard:
    """Limit and check request bodies; count and time every request by route template."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: ServerMetrics,
        max_body_bytes: int,
        routes: Sequence[BaseRoute],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if scope["method"] in _WITH_BODY:
                refusal = await self._read_body(scope, receive)
                if isinstance(refusal, JSONResponse):
                    await refusal(scope, receive, send_status)
                    return
                receive = _replay(refusal, receive)
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None)  # set by FastAPI's routes
            label = route or route_template(self.routes, scope) or "unmatched"
            self.metrics.requests.inc(label, str(status))
            self.metrics.latency.observe(time.perf_counter() - started, label)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | JSONResponse:
        """The whole body, or the 4xx response refusing it."""
        declared = dict(scope["headers"]).get(b"content-length")
        try:
            if declared is not None and int(declared) > self.max_body_bytes:
                raise _TooLarge
            chunks: list[bytes] = []
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise _TooLarge
                chunks.append(chunk)
                more = message.get("more_body", False)
        except _TooLarge:
            return JSONResponse(
                {"detail": f"request body is over server.max_body_bytes={self.max_body_bytes}"},
                status_code=413,
            )
        body = b"".join(chunks)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            return JSONResponse(
                {
                    "detail": f"request body is not valid UTF-8 (bad byte at {error.start}): "
                    "send JSON encoded as UTF-8"
                },
                status_code=400,
            )
        return body


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    """The path template of the route ``scope`` goes to, as routing would choose it: the first
    full match, else the first path match with another method (routing's 405); ``None`` when no
    route takes the path. ``iter_route_contexts`` walks the routes of included routers, as
    FastAPI's OpenAPI generator does."""
    other_method = None
    for candidate in iter_route_contexts(routes):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return getattr(candidate, "path", None)
        if match is Match.PARTIAL and other_method is None:
            other_method = getattr(candidate, "path", None)
    return other_method


def _replay(body: bytes, original: Receive) -> Receive:
    """A ``receive`` that hands the app the already-read body, then the server's messages."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
