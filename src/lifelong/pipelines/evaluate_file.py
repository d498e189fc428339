"""``lifelong evaluate --file F``: score a model on any labeled file, outside the splits.

The file is read and validated like training data (any supported format, the project's
``columns``), so a bad line is reported with its file:line before anything is scored. The
result is not stored on the version: only the test split's figures are comparable across
versions, and the gate reads those.
"""

from __future__ import annotations

from pathlib import Path

from lifelong.data import check, read_paths
from lifelong.evaluation import EvalReport, RegressionReport
from lifelong.models import ModelBundle
from lifelong.pipelines.judge import fallback_label, score, score_values
from lifelong.project import Project


def evaluate_file(
    project: Project, bundle: ModelBundle, path: Path
) -> EvalReport | RegressionReport:
    """Evaluate ``bundle`` on the labeled examples of ``path`` (a file or a folder).

    Raises
    ------
    DataError
        The path does not exist or is of an unknown type.
    ValidationFailed
        The file has errors (every one listed with file:line), or no examples.
    """
    config = project.config
    examples = check(
        read_paths([Path(path)], config.columns), allow_conflicts=config.allow_conflicts
    )
    if bundle.regression is not None:
        return score_values(bundle, examples).report
    labels = sorted({e.label for e in examples} | set(bundle.labels))
    return score(bundle, examples, oos_label=fallback_label(project, labels)).report
