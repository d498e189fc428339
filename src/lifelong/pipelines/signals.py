"""What the triggers look at, gathered from the registry, the data, the feedback log and the
server's prediction log.

The drift trigger compares the champion's most recent ``DRIFT_WINDOW`` served predictions with
its reference window: its confidences and predicted intents on the test split, recorded by the
gate when it judged the model. For a tabular champion it also compares, column by column, the
rows it was asked about (logged when ``server.log_text`` is on: a tabular model logs canonical
rows) with up to ``REFERENCE_ROWS`` of the rows it trained on, the first by example hash (a
stable sample spread over the whole snapshot, read from the registry: nothing more is stored).

A regression champion's served rows also carry its predicted values (``PredictionRecord.value``),
compared with its predicted values on the test split (``reference.values``, recorded by the
gate); rows logged before the log kept values have none and are left out.

Feedback outcomes are right/wrong answers of a classifier. A regression champion's feedback is
scored by its absolute error instead: its predicted and true targets are numbers that almost
never match exactly, so counting them as right/wrong would read as an accuracy near 0. The
predicted number is the record's ``predicted``, as for a classifier: the server fills it from
the prediction log by the feedback's prediction id when it appends the record, so the trigger
reads one file and no join (and a row pruned from the log since is still scored). The
performance trigger compares the errors' MAE with the champion's test MAE.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from lifelong.core.types import FileManifest
from lifelong.data import Snapshot, diff
from lifelong.data.schema import parse_row
from lifelong.data.sources import FeedbackRecord, feedback_log
from lifelong.data.stream import diff_files
from lifelong.features.tabular import infer_columns
from lifelong.monitoring import TriggerContext
from lifelong.monitoring.feature_drift import Row
from lifelong.project import Project
from lifelong.registry import CHAMPION, ModelVersion, PredictionRecord, Registry

DRIFT_WINDOW = 1000
REFERENCE_ROWS = 5000

Score = TypeVar("Score", bool, float)


def champion_since(registry: Registry) -> datetime | None:
    """When the champion alias last moved (feedback before that judged another model)."""
    moves = registry.store.alias_history(CHAMPION)
    return moves[-1].at if moves else None


def feedback_outcomes(path: Path | None, since: datetime | None, limit: int = 2000) -> list[bool]:
    """Right/wrong outcomes of feedback on predictions made since ``since``, oldest first.

    Only records that say what was predicted count; malformed lines are skipped here (the
    feedback source reports them when it ingests the file).
    """
    return _scored_feedback(path, since, limit, lambda record: record.correct)


def feedback_errors(path: Path | None, since: datetime | None, limit: int = 2000) -> list[float]:
    """Absolute errors of regression feedback on predictions made since ``since``, oldest
    first; records without a predicted and a true number are skipped (as in
    :func:`feedback_outcomes`)."""
    return _scored_feedback(path, since, limit, lambda record: record.absolute_error)


def _scored_feedback(
    path: Path | None,
    since: datetime | None,
    limit: int,
    scored: Callable[[FeedbackRecord], Score | None],
) -> list[Score]:
    """The newest ``limit`` scores of the feedback since ``since`` that ``scored`` can score."""
    if path is None or not path.is_file():
        return []
    scores: list[Score] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = FeedbackRecord.from_mapping(json.loads(line))
        except (ValueError, TypeError, KeyError):
            continue
        score = scored(record)
        if score is None:
            continue
        if since is not None and record.timestamp is not None:
            try:
                if datetime.fromisoformat(record.timestamp) < since:
                    continue
            except ValueError:
                continue
        scores.append(score)
    return scores[-limit:]


def trigger_context(
    project: Project,
    registry: Registry,
    pool: Snapshot,
    champion: ModelVersion | None,
    now: datetime,
    files: Sequence[FileManifest] | None = None,
) -> TriggerContext:
    """Fill the trigger context: time since training, new data, feedback outcomes.

    Time and volume count from the newest training, whether its model was promoted or not:
    training is deterministic, so a rejected update retried on the same data would give the
    same model and the same verdict. Its examples are not lost: the next update, fired by
    more data or by time, trains on them too.

    A streamed project passes its data's ``files`` (the manifests of this cycle's snapshot):
    volume is then counted by file (:func:`file_volume`), never from the rows themselves.
    """
    versions = registry.versions()
    latest = max(versions, key=lambda v: v.created_at, default=None)
    last_trained = None if latest is None else latest.created_at
    if champion is None or latest is None:
        rows = len(pool) if files is None else sum(f.rows for f in files)
        return TriggerContext(now=now, last_trained_at=last_trained, n_new_examples=rows)
    if files is not None:
        new, trained = file_volume(registry, latest, files)
        served = served_predictions(registry, champion)
        context = _served_context(project, registry, champion, served, now, last_trained)
        return replace(context, n_new_examples=new, n_train_examples=trained)
    trained_on = Snapshot.of(registry.get_snapshot_examples(latest.snapshot_id))
    change = diff(trained_on, pool)
    served = served_predictions(registry, champion)
    context = _served_context(project, registry, champion, served, now, last_trained)
    reference_rows: list[Row] = []
    current_rows: list[Row] = []
    if project.config.task == "tabular":
        champion_rows = (
            trained_on.examples.values()
            if champion.snapshot_id == latest.snapshot_id
            else registry.get_snapshot_examples(champion.snapshot_id)
        )
        sample = sorted(champion_rows, key=lambda e: e.hash)[:REFERENCE_ROWS]
        reference_rows = _rows(e.text for e in sample)
        # served rows when the server logs them (server.log_text), else the labeled rows that
        # arrived since the newest training: the data drifts before the traffic is seen
        current_rows = _rows(p.text for p in served) or _rows(
            e.text for e in change.added[-DRIFT_WINDOW:]
        )
    columns = [(key, kind) for key, kind in infer_columns(reference_rows) if kind is not None]
    return replace(
        context,
        n_new_examples=len(change.added) + len(change.relabeled),
        n_train_examples=len(trained_on),
        feature_columns=columns,
        reference_rows=reference_rows,
        current_rows=current_rows,
    )


def file_volume(
    registry: Registry, latest: ModelVersion, files: Sequence[FileManifest]
) -> tuple[int, int]:
    """New rows since the newest training, by file, and the rows it trained on: the rows of
    files added since its snapshot plus what changed files grew by (see
    :func:`~lifelong.data.stream.diff_files`). A newest training on a snapshot of examples
    (trained in memory, before the project streamed) lists no files: every row counts as new."""
    change = diff_files(registry.get_snapshot_files(latest.snapshot_id), files)
    return int(change["rows_added"]), int(change["rows_before"])


def served_predictions(registry: Registry, champion: ModelVersion) -> list[PredictionRecord]:
    """The champion's most recent ``DRIFT_WINDOW`` served predictions (shadows left out)."""
    return [
        p
        for p in registry.store.recent_predictions(limit=DRIFT_WINDOW, version=champion.label)
        if p.shadow_of is None
    ]


def _served_context(
    project: Project,
    registry: Registry,
    champion: ModelVersion,
    served: Sequence[PredictionRecord],
    now: datetime,
    last_trained: datetime | None,
) -> TriggerContext:
    """The context's figures that do not depend on how the data is held: time, feedback and
    the champion's ``served`` predictions against its reference window."""
    reference = champion.metrics.get("reference", {})
    served_counts: dict[str, int] = {}
    for prediction in served:
        served_counts[prediction.intent] = served_counts.get(prediction.intent, 0) + 1
    regression = project.config.columns.kind == "regression"
    feedback_path, promoted_at = feedback_log(project), champion_since(registry)
    test_mae = champion.metrics.get("mae") if regression else None
    return TriggerContext(
        now=now,
        last_trained_at=last_trained,
        feedback=[] if regression else feedback_outcomes(feedback_path, promoted_at),
        feedback_errors=feedback_errors(feedback_path, promoted_at) if regression else [],
        test_mae=float(test_mae) if isinstance(test_mae, int | float) else None,
        reference_confidences=reference.get("confidences", []),
        current_confidences=[p.confidence for p in served],
        reference_label_counts=reference.get("label_counts", {}),
        current_label_counts=served_counts,
        reference_values=reference.get("values", []),
        current_values=[p.value for p in served if p.value is not None],
    )


def _rows(texts: Iterable[str | None]) -> list[Row]:
    """The typed rows of canonical row texts; a text not logged, or not a row (logged by a
    text model before the project became tabular), is skipped."""
    rows: list[Row] = []
    for text in texts:
        if text is not None and text.startswith("{"):
            try:
                rows.append(parse_row(text))
            except ValueError:
                continue
    return rows
