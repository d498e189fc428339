"""The OpenAPI document says what the server does: the statuses each route answers (with their
body schema and headers), what the request schemas refuse, and the config's limits.

The schemathesis run against a real server (``tests/integration/serving``) generates requests
from the document; these tests pin the document itself and check each error the server gives
against it, in-process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.serving.schemas import NO_NUL, NOT_BLANK, ErrorBody, _valid_not_blank

ADMIN = {"Authorization": "Bearer s3cret-token"}  # conftest's TOKEN
FEEDBACK = {"Authorization": "Bearer feedback-token"}  # conftest's FEEDBACK_TOKEN

DOCUMENTED = {
    ("post", "/predict"): {200, 400, 413, 422, 500, 503, 504},
    ("post", "/model/parse"): {200, 400, 413, 422, 500, 503, 504},
    ("get", "/status"): {200, 503},
    ("get", "/version"): {200},
    ("post", "/feedback"): {200, 400, 401, 403, 404, 413, 422, 429, 507},
    ("get", "/health"): {200},
    ("get", "/ready"): {200, 503},
    ("get", "/models"): {200, 401},
    ("get", "/metrics"): {200},
    ("post", "/admin/promote"): {200, 400, 401, 404, 409, 413, 422, 507},
    ("post", "/admin/rollback"): {200, 400, 401, 404, 409, 413, 422, 507},
    ("post", "/admin/reload"): {200, 400, 401, 404, 413},
}


def _document(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def test_every_route_documents_the_statuses_it_answers(client: TestClient) -> None:
    paths = _document(client)["paths"]
    found = {
        (method, path): {int(code) for code in operation["responses"]}
        for path, operations in paths.items()
        for method, operation in operations.items()
    }
    # the API's routes; pages mounted beside them (the UI) document themselves
    assert {key: found.get(key) for key in DOCUMENTED} == DOCUMENTED


def test_every_error_has_the_error_body_schema(client: TestClient) -> None:
    paths = _document(client)["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)


def test_security_says_which_token_and_that_models_needs_none(client: TestClient) -> None:
    paths = _document(client)["paths"]
    assert paths["/feedback"]["post"]["security"] == [{"FeedbackToken": []}]
    assert paths["/admin/promote"]["post"]["security"] == [{"HTTPBearer": []}]
    assert {} in paths["/models"]["get"]["security"]  # anonymous callers are answered
    assert "security" not in paths["/predict"]["post"]


def test_the_config_limits_are_in_the_document(client: TestClient) -> None:
    """conftest's server: max_text_chars=50, max_batch=8."""
    schemas = _document(client)["components"]["schemas"]
    predict = schemas["PredictRequest"]["properties"]
    assert predict["text"]["maxLength"] == 50
    assert predict["texts"]["items"]["maxLength"] == 50
    assert predict["texts"]["maxItems"] == 8
    assert schemas["FeedbackRequest"]["properties"]["text"]["maxLength"] == 50
    assert schemas["ParseRequest"]["properties"]["text"]["maxLength"] == 50


def test_a_tabular_projects_server_documents_row_or_rows(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(task="tabular")
    schema = _document(client)["components"]["schemas"]["PredictRequest"]
    assert schema["oneOf"] == [{"required": ["row"]}, {"required": ["rows"]}]
    assert schema["properties"]["row"]["type"] == "object"
    assert schema["properties"]["rows"]["maxItems"] == 8


def test_text_or_texts_is_one_of_and_never_null(client: TestClient) -> None:
    """A text project's server documents text / texts only; rows are a 422 all the same."""
    schema = _document(client)["components"]["schemas"]["PredictRequest"]
    assert schema["oneOf"] == [{"required": ["text"]}, {"required": ["texts"]}]
    assert set(schema["properties"]) == {"text", "texts", "top_k"}
    assert schema["properties"]["text"]["type"] == "string"
    assert schema["properties"]["texts"]["type"] == "array"
    bad = [{"text": "hi", "texts": ["hi"]}, {"text": "hi", "row": {"a": 1}}, {"row": {"a": 1}}, {}]
    for body in [*bad, *({name: None} for name in ("text", "texts", "row", "rows"))]:
        assert client.post("/predict", json=body).status_code == 422, body
    assert client.post("/predict", json={"text": "hi", "top_k": None}).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "headers", "field"),
    [
        ("/feedback", {"text": "play a song", "intent": "  "}, FEEDBACK, "body.intent"),
        ("/feedback", {"text": " ", "intent": "music"}, FEEDBACK, "body.text"),
        ("/admin/promote", {"version": "2.0", "reason": ""}, ADMIN, "body.reason"),
        ("/admin/rollback", {"reason": "\t"}, ADMIN, "body.reason"),
    ],
)
def test_blank_intents_texts_and_reasons_are_refused_as_documented(
    client: TestClient, path: str, body: dict[str, str], headers: dict[str, str], field: str
) -> None:
    """They are recorded (training data, the alias history), so blank is refused, and the
    document's ``pattern`` says so."""
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 422
    assert f"{field}: Value error, text must not be empty" in response.json()["message"]
    schemas = _document(client)["components"]["schemas"]
    name = {"/feedback": "FeedbackRequest", "/admin/promote": "PromoteRequest"}.get(
        path, "ReasonRequest"
    )
    assert schemas[name]["properties"][field.split(".")[1]]["pattern"] == NOT_BLANK


@given(st.text(st.characters(codec="utf-8"), max_size=12))
@settings(deadline=None, max_examples=300)
def test_the_documented_patterns_accept_what_the_validators_accept(text: str) -> None:
    """The document's patterns and the checks the server runs agree on every string JSON can
    send whose UTF-8 exists (a lone surrogate is refused by both, but no pattern can say so)."""
    try:
        _valid_not_blank(text)
        accepted = True
    except ValueError:
        accepted = False
    assert (re.search(NOT_BLANK, text) is not None) == accepted
    assert (re.search(NO_NUL, text) is not None) == ("\x00" not in text)


def _answer(client: TestClient, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    response = client.request(method.upper(), path, **kwargs)
    documented = _document(client)["paths"][path][method]["responses"][str(response.status_code)]
    ErrorBody.model_validate(response.json())
    for header in documented.get("headers", {}):
        assert header in response.headers, (path, response.status_code, header)
    return response.status_code, response.json()


def test_the_errors_answered_are_documented_with_their_body_and_headers(
    client: TestClient, make_client: Callable[..., TestClient]
) -> None:
    cases: list[tuple[TestClient, str, str, dict[str, Any], int]] = [
        (client, "post", "/predict", {"json": {"text": ""}}, 422),
        (client, "post", "/predict", {"json": {"texts": ["hi"] * 9}}, 422),  # a limit: str
        (client, "post", "/predict", {"content": b"\xff"}, 400),
        (client, "post", "/predict", {"content": b"x" * 1_100_000}, 413),
        (client, "post", "/model/parse", {"json": {}}, 422),
        (client, "post", "/feedback", {"json": {"text": "a", "intent": "b"}}, 401),
        (client, "get", "/models", {"headers": {"Authorization": "Bearer wrong"}}, 401),
        (client, "post", "/admin/reload", {}, 401),
        (client, "post", "/admin/promote", {"json": {"version": "9.9", "reason": "r"}}, 404),
        (client, "post", "/admin/promote", {"json": {"version": "2.0", "reason": "r"}}, 409),
        (client, "post", "/admin/rollback", {}, 409),
    ]
    closed = make_client(feedback_token=None)
    off = make_client(feedback_log=None, admin_token=None)
    limited = make_client(server={"feedback_burst": 1, "feedback_rate": 0.001})
    cases += [
        (closed, "post", "/feedback", {"json": {"text": "a", "intent": "b"}}, 403),
        (off, "post", "/feedback", {"json": {"text": "a", "intent": "b"}}, 404),
        (off, "post", "/admin/reload", {}, 404),
        (limited, "post", "/feedback", {"json": {"text": "a", "intent": "b"}}, 200),
        (limited, "post", "/feedback", {"json": {"text": "a", "intent": "b"}}, 429),
    ]
    for where, method, path, kwargs, expected in cases:
        headers = {
            **(ADMIN if path.startswith("/admin") else FEEDBACK),
            **kwargs.pop("headers", {}),
        }
        if (path, expected) in {("/feedback", 401), ("/admin/reload", 401)}:
            headers.pop("Authorization")
        if expected == 200:
            assert where.request(method.upper(), path, headers=headers, **kwargs).is_success
            continue
        code, _ = _answer(where, method, path, headers=headers, **kwargs)
        assert code == expected, (path, kwargs)
