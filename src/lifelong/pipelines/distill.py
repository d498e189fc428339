"""``lifelong compress TEACHER --method distill``: a fast n-gram student, registered and gated.

Read top to bottom in :func:`distill_version`. A teacher that cannot teach (a plain n-gram or a
tabular model, a distilled student, a removed or damaged artifact) and unknown options are
refused before any work, with nothing registered. The student trains cold on the teacher's
training texts still in the data (their labels and the teacher's softened outputs) plus, when
``server.log_text`` kept them, unlabeled texts of the prediction log (see :func:`log_texts`),
then is measured against its teacher and gated like any challenger by
:func:`~lifelong.pipelines.compress.register_smaller`.

The student's version records the student's own pipeline and training in its config (the
default fast pipeline, no embeddings), not its teacher's: what it is, for whoever serves,
evaluates or fine-tunes it later (``lifelong train --finetune`` refuses it while config.yml
still describes the teacher's pipeline, and says what to run instead).
"""

from __future__ import annotations

import time
from collections.abc import Collection

from lifelong.config import DistillStudent
from lifelong.core.errors import IncompatibleModel
from lifelong.core.text_check import text_problem
from lifelong.core.types import normalize_text
from lifelong.pipelines.compress import (
    DISTILL,
    CompressOptions,
    CompressResult,
    Made,
    parsed_options,
    register_smaller,
)
from lifelong.pipelines.data_view import data_view, trained_examples
from lifelong.pipelines.session import load_bundle
from lifelong.project import Project
from lifelong.registry import Registry
from lifelong.training.distill import distill, nothing_to_distill, student_settings
from lifelong.training.regularizers import Distillation


def log_texts(registry: Registry, limit: int, max_chars: int, known: Collection[str]) -> list[str]:
    """Up to ``limit`` distinct normalized texts of the prediction log, newest first.

    Only rows the server kept the text of (``server.log_text``); texts the server would refuse
    today (empty once normalized, over ``server.max_text_chars``, failing
    :func:`~lifelong.core.text_check.text_problem`) and texts in ``known`` (the
    labeled training, valid and test texts: a test text must stay unseen by the student)
    are left out.
    """
    if limit == 0:
        return []
    kept: dict[str, None] = {}
    for record in reversed(registry.store.recent_predictions(limit=4 * limit)):
        if record.text is None or len(record.text) > max_chars or text_problem(record.text):
            continue
        text = normalize_text(record.text)
        if text and text not in known:
            kept.setdefault(text)
            if len(kept) == limit:
                break
    return list(kept)


def distill_version(
    project: Project, registry: Registry, ref: str, options: CompressOptions
) -> CompressResult:
    """Distill version ``ref`` into a fast student, measure it against it, register, gate."""
    # 1. Options, then the teacher (sha256-checked on load): refused before any work.
    settings = parsed_options(project, DISTILL, options.options)
    assert isinstance(settings, DistillStudent)
    teacher = registry.resolve(ref)
    if teacher.edge == DISTILL:
        raise IncompatibleModel(
            f"cannot distill version {teacher.label}: it is a distilled student already "
            f"(of {teacher.parent}), as fast as another student would be",
            hint=f"distill its teacher instead: `lifelong compress {teacher.parent} "
            "--method distill`",
        )
    bundle = load_bundle(project, registry, teacher.label)
    why = nothing_to_distill(bundle)
    if why is not None:
        raise IncompatibleModel(
            f"cannot distill version {teacher.label}: {why}",
            hint="distill a version trained with `pipeline.embeddings: minilm` or the "
            "transformer pipeline (`lifelong models list` shows each version's pipeline)",
        )
    # 2. Data: the teacher's training texts still in the data, valid and test splits, and
    #    the prediction log's unlabeled texts.
    data = data_view(project)
    labeled = list(trained_examples(registry, data, teacher))
    valid, test = list(data.dataset.splits.valid), data.test
    known = {e.text for e in (*labeled, *valid, *test)}
    cap = settings.max_log_texts if settings.log_texts else 0
    unlabeled = log_texts(registry, cap, project.config.server.max_text_chars, known)
    # 3. Train the student.
    config = project.config
    student = student_settings(config.pipeline.ngrams.storage, config.training.seed,
                               settings.epochs)  # fmt: skip
    started = time.perf_counter()
    outcome = distill(
        bundle,
        labeled,
        valid,
        unlabeled,
        student=student,
        distillation=Distillation(settings.weight, settings.temperature),
    )
    distill_s = time.perf_counter() - started
    # 4-5. Measure both, register with the student's own config, gate.
    pipeline, training = student
    made = Made(
        outcome.bundle,
        "distill",
        {
            **teacher.config,
            "pipeline": pipeline.model_dump(mode="json"),
            "training": training.model_dump(mode="json"),
        },
        {
            **outcome.report,
            "kind": "distill",
            "method": DISTILL,
            "options": settings.model_dump(mode="json"),
            "teacher": teacher.label,
            "n_texts": len(labeled),
            "n_log_texts": len(unlabeled),
        },
        {"distill": round(distill_s, 4)},
    )
    return register_smaller(project, registry, teacher, bundle, test, made, options)
