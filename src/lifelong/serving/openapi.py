"""The OpenAPI document says what the server does: every error a route answers, and the limits.

FastAPI documents a route's 200 and its schema's 422; the rest is declared here once: the
error answers (:func:`errors`, with the :class:`~lifelong.serving.schemas.ErrorBody` every 4xx
and 5xx has), the body guard's 400 and 413 on every route taking a body (the guard answers
before any route runs, so no route declares them), and the config's text and batch limits as
``maxLength`` / ``maxItems`` (:func:`server_openapi`): a request the document allows is one
the server takes, which ``schemathesis --checks all`` verifies against a running server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from lifelong.config import Server
from lifelong.serving.schemas import ErrorBody

Responses = dict[int | str, dict[str, Any]]

_MEANING = {
    400: "the body is not valid UTF-8",
    401: "missing or wrong bearer token",
    403: "no token is configured for this endpoint on the server",
    404: "not found",
    409: "the registry refused",
    413: "the body is over server.max_body_bytes",
    422: "the body does not match the schema, or a text or a batch is over a server limit",
    429: "over the rate limit; retry after Retry-After seconds",
    500: "scoring this request's texts failed (the message names the model and the error)",
    503: "no model is loaded yet",
    504: "scoring took longer than server.timeout",
    507: "the disk refused the write (full or read-only); nothing was stored",
}

_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}},
}

_GUARD = (400, 413)  # answered by serving.middleware.RequestGuard before routing
_WITH_BODY = ("post", "put", "patch")


def errors(*codes: int | tuple[int, str]) -> Responses:
    """The ``responses=`` of a route answering ``codes`` with an
    :class:`~lifelong.serving.schemas.ErrorBody`; ``(code, meaning)`` says what the code means
    on that route instead of the generic sentence."""
    responses: Responses = {}
    for item in codes:
        code, meaning = item if isinstance(item, tuple) else (item, _MEANING[item])
        responses[code] = {"model": ErrorBody, "description": meaning}
        if code in _HEADERS:
            responses[code]["headers"] = _HEADERS[code]
    return responses


def server_openapi(
    app: FastAPI, server: Server, task: str = "text"
) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` for a server with the limits of ``server``, whose project's ``task``
    says which inputs ``/predict`` takes: made once, on first ask."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _add_guard_answers(document)
            _add_limits(document, server)
            _keep_inputs(document, task)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def _add_guard_answers(document: dict[str, Any]) -> None:
    guarded = errors(*_GUARD)
    error_schema = {"$ref": "#/components/schemas/ErrorBody"}
    for operations in document["paths"].values():
        for method, operation in operations.items():
            if method not in _WITH_BODY:
                continue
            for code, response in guarded.items():
                operation["responses"].setdefault(
                    str(code),
                    {
                        "description": response["description"],
                        "content": {"application/json": {"schema": error_schema}},
                    },
                )


def _add_limits(document: dict[str, Any], server: Server) -> None:
    """``server.max_text_chars`` on every scored or learned text, ``server.max_batch`` on
    ``texts`` (the routes check them: see ``deps.check_texts``)."""
    schemas = document["components"]["schemas"]
    predict = schemas["PredictRequest"]["properties"]
    predict["text"]["maxLength"] = server.max_text_chars
    predict["texts"]["items"]["maxLength"] = server.max_text_chars
    predict["texts"]["maxItems"] = server.max_batch
    predict["rows"]["maxItems"] = server.max_batch
    schemas["FeedbackRequest"]["properties"]["text"]["maxLength"] = server.max_text_chars
    schemas["ParseRequest"]["properties"]["text"]["maxLength"] = server.max_text_chars


def _keep_inputs(document: dict[str, Any], task: str) -> None:
    """``/predict`` of a text project takes ``text`` / ``texts``, of a tabular one ``row`` /
    ``rows``: the document lists only those, so a request it allows is one the served model
    takes (the others are answered 422 all the same)."""
    predict = document["components"]["schemas"]["PredictRequest"]
    gone = ("text", "texts") if task == "tabular" else ("row", "rows")
    for name in gone:
        predict["properties"].pop(name, None)
    predict["oneOf"] = [one for one in predict["oneOf"] if one["required"][0] not in gone]
