"""``POST /feedback``: a correction, appended to the project's feedback log before the 200."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from lifelong.data.sources import FeedbackRecord, append_feedback
from lifelong.serving.deps import ServicesDep, check_texts
from lifelong.serving.schemas import FeedbackRequest, FeedbackResponse

router = APIRouter(tags=["feedback"])


@router.post("/feedback", response_model=FeedbackResponse)
async def feedback(body: FeedbackRequest, services: ServicesDep) -> FeedbackResponse:
    """Store the correct intent of a text for the continual loop to train on.

    The line is fsynced before the response, so an acknowledged correction survives a crash.
    ``predicted`` is filled from the prediction log when the client gives only the
    ``prediction_id`` (so it survives a restart, as long as retention keeps the row).
    """
    path = services.settings.feedback_log
    if path is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "feedback is off: add {feedback: true} to sources in config.yml",
        )
    check_texts([body.text], services.settings.server)
    predicted = body.predicted
    if predicted is None and body.prediction_id is not None:
        logged = await run_in_threadpool(services.prediction_log.find, body.prediction_id)
        predicted = None if logged is None else logged.intent
    record = FeedbackRecord(
        text=body.text, intent=body.intent, prediction_id=body.prediction_id, predicted=predicted
    )
    await run_in_threadpool(append_feedback, path, record)
    return FeedbackResponse(prediction_id=body.prediction_id)
