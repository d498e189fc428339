"""Request and response bodies of the HTTP API (they also make the OpenAPI document at /docs).

The schemas reject what is wrong whatever the config: unknown fields, blank texts and intents,
both or neither of ``text`` and ``texts``, and strings the rest of the system cannot take (a
JSON-escaped lone surrogate, a NUL: see :mod:`lifelong.core.text_check`), so those are a 422
naming the field instead of a crash in the featurizer, the answer or a log. The JSON Schema says
the same (a ``pattern`` per string, ``oneOf`` for ``text``/``texts``), so a client generated
from the document knows what is refused; limits that come from the config (text length, batch
size) are checked in the routes and written into the document by
:func:`lifelong.serving.openapi.server_openapi`.

The patterns are for the document only: the checks themselves are the validators (one scan in C
per text; a regular expression per text of a batch of hundreds would cost more than scoring).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from lifelong.core.text_check import text_problem


def _valid(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _valid_if_str(value: object) -> object:
    """Before pydantic's own checks: a constrained string (``max_length``) would otherwise
    fail on a lone surrogate with a vaguer message."""
    return _valid(value) if isinstance(value, str) else value


_BLANK = "text must not be empty or only white space"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(_BLANK)
    return value


def _valid_not_blank(value: str) -> str:
    """:func:`_valid` and :func:`_not_blank` in one call (a batch has hundreds of texts)."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    if not value.strip():
        raise ValueError(_BLANK)
    return value


NO_NUL = "^[^\\u0000]*$"
"""The document's pattern of a string without NUL (a lone surrogate cannot be written in it)."""

NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
"""... and with at least one character that is not white space."""

Text = Annotated[
    str, AfterValidator(_valid_not_blank), Field(json_schema_extra={"pattern": NOT_BLANK})
]
"""A text to score or learn from: valid Unicode, no NUL, not blank."""

Name = Annotated[str, BeforeValidator(_valid_if_str), Field(json_schema_extra={"pattern": NO_NUL})]
"""Any other string that is looked up, stored or logged (ids, intent names, versions)."""

Label = Annotated[
    str,
    BeforeValidator(_valid_if_str),
    AfterValidator(_not_blank),
    Field(json_schema_extra={"pattern": NOT_BLANK}),
]
"""An intent name or a reason a client sends: recorded, so never blank."""

AnyText = Annotated[str, AfterValidator(_valid), Field(json_schema_extra={"pattern": NO_NUL})]
"""A text Rasa's parse takes: valid Unicode and no NUL, but blank is allowed (and answered)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


_INPUTS = ("text", "texts", "row", "rows")

Value = AnyText | float | bool | None
"""A value of a tabular row: a number, a category (any valid string), or missing."""

Row = dict[AnyText, Value]
"""A tabular row: column name to value (a column left out is a missing value)."""


def _exactly_one_of_text_or_texts(schema: dict[str, Any]) -> None:
    """The document's ``oneOf``, and the inputs without their ``null`` (refused)."""
    schema["oneOf"] = [{"required": [name]} for name in _INPUTS]
    for name in _INPUTS:
        field = schema["properties"][name]
        (given,) = [branch for branch in field.pop("anyOf") if branch.get("type") != "null"]
        field.update(given)
        del field["default"]


class PredictRequest(_Body):
    """One text (``text``) or a batch (``texts``) for a text model, one row (``row``) or a
    batch (``rows``) for a tabular one, and how many ranked classes to return.

    Exactly one of the four, and not ``null``: the document says so with ``oneOf`` over which
    one is present, which a ``null`` would make ambiguous.
    """

    model_config = ConfigDict(json_schema_extra=_exactly_one_of_text_or_texts)

    text: Text | None = Field(None, examples=["book a table for two"])
    texts: list[Text] | None = Field(None, min_length=1, examples=[["hi", "play some jazz"]])
    row: Row | None = Field(None, examples=[{"age": 41, "branch": "north"}])
    rows: list[Row] | None = Field(None, min_length=1)
    top_k: int | None = Field(None, ge=1, le=100, description="default: server.top_k")

    @model_validator(mode="before")
    @classmethod
    def _one_of_text_or_texts(cls, data: object) -> object:
        """Before the fields: a ``null`` must be refused before it reads as "absent". A body
        with unknown fields is left to the fields' check, which names them (a typo of
        ``text``)."""
        if isinstance(data, dict) and not set(data) - set(cls.model_fields):
            given = [key for key in _INPUTS if key in data]
            if len(given) != 1:
                raise ValueError(
                    'give exactly one of "text" (a string) or "texts" (a list) for a text '
                    'model, "row" (an object) or "rows" (a list) for a tabular one'
                )
            if data[given[0]] is None:
                raise ValueError(f'"{given[0]}" must be {_KINDS[given[0]]}, not null')
        return data

    @property
    def single(self) -> bool:
        """One input (``text`` or ``row``), answered as one prediction."""
        return self.text is not None or self.row is not None

    @property
    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])

    @property
    def all_rows(self) -> list[dict[str, Any]] | None:
        """The rows given, or ``None`` for a request of texts."""
        if self.row is not None:
            return [self.row]
        return None if self.rows is None else list(self.rows)


_KINDS = {
    "text": "a string",
    "texts": "a list of strings",
    "row": "an object",
    "rows": "a list of objects",
}


class RankedIntent(BaseModel):
    intent: str
    confidence: float


class Prediction(BaseModel):
    """One text's answer; ``prediction_id`` is what ``/feedback`` refers to."""

    prediction_id: str
    intent: str
    confidence: float
    ranking: list[RankedIntent]


class PredictResponse(Prediction):
    """The answer to ``{"text": ...}``."""

    version: str


class BatchPredictResponse(BaseModel):
    """The answer to ``{"texts": [...]}`` (or ``rows``), in request order."""

    version: str
    predictions: list[Prediction]


class ValuePrediction(BaseModel):
    """A regression model's answer for one row: the predicted number."""

    prediction_id: str
    value: float


class ValueResponse(ValuePrediction):
    """A regression model's answer to ``{"row": ...}``."""

    version: str


class BatchValueResponse(BaseModel):
    """A regression model's answer to ``{"rows": [...]}``, in request order."""

    version: str
    predictions: list[ValuePrediction]


class ParseRequest(BaseModel):
    """Rasa NLU's ``POST /model/parse`` body (``message_id`` and other fields are ignored, as
    Rasa ignores them); a blank ``text`` is answered with no intent, as Rasa answers it."""

    text: AnyText = Field(examples=["book a table for two"])
    message_id: str | None = None


class RasaIntent(BaseModel):
    """An intent and its confidence; ``name`` is ``null`` (confidence 0) for a blank text."""

    name: str | None
    confidence: float


class ParseResponse(BaseModel):
    """Rasa NLU's parse result; this server finds no entities."""

    text: str
    intent: RasaIntent
    intent_ranking: list[RasaIntent]
    entities: list[dict[str, Any]] = []


class VersionResponse(BaseModel):
    """``GET /version``, in Rasa's shape."""

    version: str = Field(description="this lifelong's version")
    minimum_compatible_version: str = Field(
        description="the oldest lifelong whose model bundles this server loads"
    )
    bundle_format_version: int = Field(description="the model bundle format this server reads")


class Fingerprint(BaseModel):
    """What identifies how the served model was made (Rasa's fingerprint keys)."""

    config: str = Field(description="sha256 of the version's resolved training config")
    version: str = Field(description="the lifelong version that trained the model")
    trained_at: float = Field(description="when the version was registered (Unix seconds)")


class StatusResponse(BaseModel):
    """``GET /status``, in Rasa's shape, filled with the served version."""

    model_file: str = Field(description="the served version (what `lifelong models show` takes)")
    model_id: str = Field(description="the served version's artifact id (sha256 of its files)")
    num_active_training_jobs: int = Field(
        description="trainings this server runs: always 0 (lifelong trains outside the server)"
    )
    fingerprint: Fingerprint


class FeedbackRequest(_Body):
    """A correction: the text, its correct intent, and the prediction it corrects (if known)."""

    text: Text
    intent: Label = Field(max_length=255, examples=["booking"])
    prediction_id: Name | None = Field(None, max_length=64)
    predicted: Name | None = Field(None, max_length=255)


class FeedbackResponse(BaseModel):
    status: str = "stored"
    prediction_id: str | None


class PromoteRequest(_Body):
    version: Name = Field(examples=["1.3"])
    reason: Label = Field(examples=["better on the new intents"])
    force: bool = Field(
        False, description="Override a missing, rejecting or stale verdict (recorded as forced)."
    )


class ReasonRequest(_Body):
    reason: Label = Field("requested over HTTP", description="recorded with the alias move")


class ValidationProblem(BaseModel):
    """One problem of a request that does not match its schema (FastAPI's error item)."""

    type: str
    loc: list[str | int]
    msg: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer: what was wrong (``detail``: a sentence, or the problems of a
    request that did not match its schema, summed up in ``message``) and, for refusals of the
    registry, what to do (``hint``)."""

    detail: str | list[ValidationProblem]
    message: str | None = Field(None, description="422: one line per problem")
    hint: str | None = Field(None, description="registry refusals: what to do")
