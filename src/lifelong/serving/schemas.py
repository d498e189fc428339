"""Request and response bodies of the HTTP API (they also make the OpenAPI docs at /docs).

Limits that come from the config (text length, batch size) are checked in the routes, where the
settings are known; the schemas reject what is wrong whatever the config: unknown fields, empty
texts, both or neither of ``text`` and ``texts``, and strings the rest of the system cannot take
(a JSON-escaped lone surrogate, a NUL: see :mod:`lifelong.core.text_check`), so those are a 422
naming the field instead of a crash in the featurizer, the answer or a log.
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


Text = Annotated[str, AfterValidator(_valid_not_blank)]
"""A text to score or learn from: valid Unicode, no NUL, not blank."""

Name = Annotated[str, BeforeValidator(_valid_if_str)]
"""Any other string that is looked up, stored or logged (ids, intent names, versions)."""

Label = Annotated[Name, AfterValidator(_not_blank)]
"""An intent name a client sends."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PredictRequest(_Body):
    """One text (``text``) or a batch (``texts``), and how many ranked intents to return."""

    text: Text | None = Field(None, examples=["book a table for two"])
    texts: list[Text] | None = Field(None, min_length=1, examples=[["hi", "play some jazz"]])
    top_k: int | None = Field(None, ge=1, le=100, description="default: server.top_k")

    @model_validator(mode="after")
    def _one_of_text_or_texts(self) -> PredictRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError('give exactly one of "text" (a string) or "texts" (a list)')
        return self

    @property
    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


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
    """The answer to ``{"texts": [...]}``, in request order."""

    version: str
    predictions: list[Prediction]


class ParseRequest(BaseModel):
    """Rasa NLU's ``POST /model/parse`` body (``message_id`` accepted and ignored)."""

    text: Text
    message_id: str | None = None


class RasaIntent(BaseModel):
    name: str
    confidence: float


class ParseResponse(BaseModel):
    """Rasa NLU's parse result; this server finds no entities."""

    text: str
    intent: RasaIntent
    intent_ranking: list[RasaIntent]
    entities: list[dict[str, Any]] = []


class FeedbackRequest(_Body):
    """A correction: the text, its correct intent, and the prediction it corrects (if known)."""

    text: Text
    intent: Label = Field(max_length=255)
    prediction_id: Name | None = Field(None, max_length=64)
    predicted: Name | None = Field(None, max_length=255)


class FeedbackResponse(BaseModel):
    status: str = "stored"
    prediction_id: str | None


class PromoteRequest(_Body):
    version: Name = Field(examples=["1.3"])
    reason: Text
    force: bool = Field(
        False, description="Override a missing, rejecting or stale verdict (recorded as forced)."
    )


class ReasonRequest(_Body):
    reason: Name = "requested over HTTP"
