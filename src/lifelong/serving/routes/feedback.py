"""``POST /feedback``: a correction, appended to the project's feedback log before the 200."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from lifelong.data.sources import FeedbackRecord, append_feedback
from lifelong.serving.deps import FeedbackClientDep, ServicesDep, check_texts
from lifelong.serving.openapi import errors
from lifelong.serving.schemas import FeedbackRequest, FeedbackResponse

router = APIRouter(tags=["feedback"])


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    dependencies=[FeedbackClientDep],
    responses=errors(
        (401, "missing or wrong feedback token"),
        (403, "feedback is closed: no feedback token is configured on the server"),
        (404, "feedback is off: no feedback source in config.yml"),
        422,
        (429, "over server.feedback_rate from this client; retry after Retry-After seconds"),
        507,
    ),
)
async def feedback(body: FeedbackRequest, services: ServicesDep) -> FeedbackResponse:
    """Store the correct intent of a text for the continual loop to train on.

    The line is fsynced before the response, so an acknowledged correction survives a crash.
    With a ``prediction_id`` found in the prediction log (also after a restart, as long as
    retention keeps the row), ``predicted`` is what the server logged, whatever the client
    claims: a client must not be able to make the performance trigger see errors that never
    happened. The client's ``predicted`` is kept only when the log cannot answer. For a
    regression model's prediction ``predicted`` is the logged number (``repr``: it reads back
    exactly), which the performance trigger scores against ``intent``, the true number.
    """
    path = services.settings.feedback_log
    assert path is not None, "require_feedback_client refuses requests while feedback is off"
    check_texts([body.text], services.settings.server)
    predicted = body.predicted
    if body.prediction_id is not None:
        logged = await run_in_threadpool(services.prediction_log.find, body.prediction_id)
        if logged is not None:
            predicted = logged.intent if logged.value is None else repr(logged.value)
    record = FeedbackRecord(
        text=body.text, intent=body.intent, prediction_id=body.prediction_id, predicted=predicted
    )
    await run_in_threadpool(append_feedback, path, record)
    return FeedbackResponse(prediction_id=body.prediction_id)
