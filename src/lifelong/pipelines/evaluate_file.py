"""``lifelong evaluate --file F``: score a model on any labeled file, outside the splits; and
``lifelong evaluate --prequential F``: test-then-train an online learner over a file's rows.

The file is read and validated like training data (any supported format, the project's
``columns``), so a bad line is reported with its file:line before anything is scored. The
result is not stored on the version: only the test split's figures are comparable across
versions, and the gate reads those.
"""

from __future__ import annotations

from pathlib import Path

from lifelong.core.errors import ConfigError
from lifelong.data import check, read_paths
from lifelong.data.schema import parse_row
from lifelong.evaluation import EvalReport, RegressionReport
from lifelong.evaluation.prequential import PrequentialResult, prequential
from lifelong.models import ModelBundle
from lifelong.online import OnlineClassifier, OnlineLearner, OnlineRegressor
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


def prequential_file(
    project: Project,
    path: Path,
    *,
    batch_size: int = 32,
    forget: float = 1.0,
    window: int = 1000,
) -> PrequentialResult:
    """Test-then-train a fresh :class:`~lifelong.online.OnlineClassifier` (or, for
    ``columns.kind: regression``, :class:`~lifelong.online.OnlineRegressor`, scored by MAE and
    RMSE) over ``path``'s rows in file order (a ``task: tabular`` project; duplicates are kept,
    they are the stream). ``batch_size`` and ``forget`` are the learner's (see its docstring).

    Raises
    ------
    ConfigError
        The project is not ``task: tabular``.
    ValidationFailed
        The file has errors (every one listed with file:line), or no rows.
    """
    config = project.config
    if config.task != "tabular":
        raise ConfigError(
            f"evaluate --prequential reads rows of a table, and this project has task: "
            f"{config.task}",
            hint="set task: tabular and columns.target in config.yml",
        )
    read = read_paths([Path(path)], config.columns)
    check(read, allow_conflicts=True)  # raises on every error; the stream keeps duplicates
    regression = config.columns.kind == "regression"
    kind: type[OnlineLearner] = OnlineRegressor if regression else OnlineClassifier
    learner = kind(batch_size=batch_size, forget=forget, seed=config.training.seed)
    stream = ((parse_row(e.text), float(e.label) if regression else e.label) for e in read.examples)
    return prequential(learner, stream, window=window, block=batch_size, regression=regression)
