"""Knowledge distillation: a fast n-gram student trained on a slower teacher's soft targets.

A teacher that reads MiniLM vectors (``embeddings: minilm``) or runs a transformer is more
accurate than the n-gram pipeline, and slower per text: its encoder dominates inference. The
student is the default fast pipeline without embeddings, trained cold by :func:`train` with
one extra loss term, the teacher's softened distribution (Hinton et al. 2015; the
:class:`~lifelong.training.regularizers.Distillation` term an update uses against its parent,
here toward another model's logits). Softened outputs pass on how the teacher ranks the wrong
intents, which one hard label per text does not.

Texts without a label (from the prediction log) train with the teacher's top intent as their
hard label: the trainer's cross-entropy needs one for every row, and the soft targets carry the
rest of what the teacher knows about them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from lifelong.config import Pipeline, Training
from lifelong.core.types import Example
from lifelong.models import ModelBundle
from lifelong.training.api import TrainOutcome, train
from lifelong.training.regularizers import Distillation, Teacher


def nothing_to_distill(teacher: ModelBundle) -> str | None:
    """Why ``teacher`` cannot teach a fast n-gram student (``None``: it can)."""
    pipeline = teacher.pipeline
    if pipeline.name == "tabular" or teacher.regression is not None:
        return "distillation teaches a text classifier's intents, and this is a tabular model"
    if pipeline.name == "fast" and pipeline.embeddings is None:
        return (
            "it is a plain n-gram model already, as fast as the student would be: "
            "nothing to distill"
        )
    return None


def student_settings(storage: str, seed: int, epochs: int | None) -> tuple[Pipeline, Training]:
    """The student's pipeline and optimisation: the default fast pipeline and training (a
    teacher project's own settings were tuned for its encoder: a narrow n-gram bag and gentle
    rates that leave n-grams alone short of what they can do), with the project's table
    ``storage``, ``seed`` and, if given, ``epochs``."""
    pipeline = Pipeline.model_validate({"ngrams": {"storage": storage}})
    training = Training(seed=seed, **({} if epochs is None else {"epochs": epochs}))
    return pipeline, training


def teacher_logits(teacher: ModelBundle, texts: Sequence[str]) -> torch.Tensor:
    """The teacher's log-probabilities on normalized ``texts`` (its plain softmax: logits up
    to a constant per row, which no softened distribution sees)."""
    proba = teacher.proba_normalized(list(texts), calibrated=False)
    return torch.from_numpy(np.log(np.clip(proba, 1e-12, None)))


def distill(
    teacher: ModelBundle,
    labeled: Sequence[Example],
    valid: Sequence[Example],
    unlabeled: Sequence[str] = (),
    *,
    student: tuple[Pipeline, Training] | None = None,
    distillation: Distillation | None = None,
    progress: bool = False,
) -> TrainOutcome:
    """A fast n-gram student of ``teacher``, trained on ``labeled`` plus ``unlabeled``
    (normalized texts, labelled with the teacher's top intent), early-stopped on ``valid``.

    ``student`` is its pipeline and training (default: :func:`student_settings` of the
    default storage, seed 0 and epochs); ``distillation`` the soft-target term (default:
    weight 1 at temperature 2).

    Raises
    ------
    ValueError
        ``teacher`` has nothing to teach (see :func:`nothing_to_distill`).
    """
    why = nothing_to_distill(teacher)
    if why is not None:
        raise ValueError(why)
    texts = [e.text for e in labeled] + list(unlabeled)
    logits = teacher_logits(teacher, texts)
    tops = logits[len(labeled) :].argmax(dim=1).tolist()
    pseudo = [Example.make(t, teacher.labels[i]) for t, i in zip(unlabeled, tops, strict=True)]
    examples = [*labeled, *pseudo]
    pipeline, training = student or student_settings("compact", 0, None)
    soft = Teacher(tuple(teacher.labels), logits, distillation or Distillation())
    return train(
        examples,
        valid,
        pipeline=pipeline,
        training=training,
        progress=progress,
        teacher=soft,
    )
