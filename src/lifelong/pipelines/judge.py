"""Champion against challenger: score both on the current test split, decide, record, promote.

Both models are scored on the same, current test split (stable splits make it a superset of
every earlier one) and on the trusted set, if the project has one. Each test example is
``old`` when the champion was judged on it too, else ``new``: the new ones are labelled by the
data being judged, so the gate lets only the old and trusted ones veto (see
:mod:`lifelong.evaluation.backward`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from lifelong.core.errors import LifelongError
from lifelong.core.types import Example, files_snapshot_id
from lifelong.evaluation import (
    AnyVerdict,
    EvalReport,
    ForgettingReport,
    RegressionReport,
    SliceName,
    choose_threshold,
    decide,
    decide_regression,
    evaluate_predictions,
    evaluate_regression,
    first_model_verdict,
    first_regression_verdict,
    measure_forgetting,
    rank_challengers,
)
from lifelong.models import ModelBundle
from lifelong.pipelines.data_view import DataView, data_view, judged_test_hashes
from lifelong.pipelines.session import load_bundle, resolve_model
from lifelong.project import Project
from lifelong.registry import CHALLENGER, CHAMPION, ModelVersion, Registry
from lifelong.registry import promote as promote_version


@dataclass(frozen=True)
class Scored:
    """A model's predictions on a test split, their confidences, and the report."""

    predictions: list[str]
    confidences: list[float]
    report: EvalReport

    def reference_window(self) -> dict[str, object]:
        """What the drift trigger compares live traffic with: this model's confidences and
        predicted-intent counts on the test split."""
        counts: dict[str, int] = {}
        for label in self.predictions:
            counts[label] = counts.get(label, 0) + 1
        return {
            "confidences": [round(c, 4) for c in self.confidences],
            "label_counts": dict(sorted(counts.items())),
        }

    def headline(self) -> dict[str, float]:
        """The figures stored at the top of a version's metrics."""
        return {"accuracy": self.report.accuracy, "macro_f1": self.report.macro_f1}


@dataclass(frozen=True)
class ScoredValues:
    """A regression model's predictions on a test split, and the report."""

    values: list[float]
    report: RegressionReport

    def reference_window(self) -> dict[str, object]:
        """What the drift trigger compares live traffic with: this model's predicted values on
        the test split (6 significant digits: a drift test needs no more, the metrics stay
        small)."""
        return {"values": [float(f"{v:.6g}") for v in self.values]}

    def headline(self) -> dict[str, float]:
        """The figures stored at the top of a version's metrics."""
        return {"mae": self.report.mae, "rmse": self.report.rmse, "r2": self.report.r2}


def measure(bundle: ModelBundle, test: list[Example]) -> Scored | ScoredValues:
    """Score ``bundle`` on ``test`` as what it is: a classifier or a regression model."""
    return score(bundle, test) if bundle.regression is None else score_values(bundle, test)


def score_values(bundle: ModelBundle, test: list[Example]) -> ScoredValues:
    """Predict the test examples' numbers (timed, for the latency figure) and evaluate."""
    started = time.perf_counter()
    values = bundle.predict_values([e.text for e in test]).tolist()
    elapsed = time.perf_counter() - started
    report = evaluate_regression(
        [float(e.label) for e in test],
        values,
        latency_ms_per_example=1000 * elapsed / max(1, len(test)),
    )
    return ScoredValues(values, report)


def score(
    bundle: ModelBundle,
    test: list[Example],
    *,
    oos_label: str | None = None,
    oos_threshold: float | None = None,
) -> Scored:
    """Predict the test examples (timed, for the latency figure) and evaluate a classifier."""
    if bundle.regression is not None:
        raise LifelongError(
            "this is a regression model; it is scored by its errors, not by classes",
            hint="`lifelong models show VERSION` has its test MAE, RMSE and R2",
        )
    started = time.perf_counter()
    predicted, probabilities = bundle.predict([e.text for e in test])
    elapsed = time.perf_counter() - started
    report = evaluate_predictions(
        [e.label for e in test],
        predicted,
        probabilities,
        bundle.labels,
        latency_ms_per_example=1000 * elapsed / max(1, len(test)),
        oos_label=oos_label,
        oos_threshold=oos_threshold,
    )
    return Scored(predicted, [float(c) for c in probabilities.max(axis=1)], report)


def _predict(bundle: ModelBundle, examples: list[Example]) -> list[str]:
    """Predicted intents of ``examples`` (none: no model call)."""
    return bundle.predict([e.text for e in examples])[0] if examples else []


@dataclass(frozen=True)
class Judgement:
    """The gate's verdict on a challenger, its forgetting figures, and what was done."""

    challenger: str
    verdict: AnyVerdict
    forgetting: ForgettingReport | None
    promoted: bool
    champion_before: str | None


def _forgetting(
    project: Project,
    registry: Registry,
    data: DataView,
    challenger: ModelVersion,
    scored: Scored,
    cache: dict[str, Scored],
    judged: dict[str, set[str]],
) -> ForgettingReport | None:
    if challenger.parent is None:
        return None
    parent = registry.resolve(challenger.parent)
    if parent.status != "candidate":
        return None
    test = data.test
    if parent.label not in cache:
        cache[parent.label] = score(load_bundle(project, registry, parent.label), test)
    if parent.label not in judged:
        judged[parent.label] = judged_test_hashes(registry, project, data, parent)
    return measure_forgetting(
        judged[parent.label],
        [e.hash for e in test],
        [e.label for e in test],
        scored.predictions,
        cache[parent.label].predictions,
    )


@dataclass(frozen=True)
class _Gated:
    """What the gate found: the verdict, forgetting against the parent (classes only) and the
    drift trigger's reference window (confidences and intents, or predicted values)."""

    verdict: AnyVerdict
    forgetting: ForgettingReport | None
    reference: dict[str, object] | None


def _gate(
    project: Project,
    registry: Registry,
    data: DataView,
    challenger: ModelVersion,
    bundle: ModelBundle,
    champion: str | None,
) -> _Gated:
    """The gate for the challenger's kind: classes (McNemar) or numbers (Wilcoxon)."""
    if bundle.regression is not None:
        return _gate_values(project, registry, data, challenger, bundle, champion)
    return _gate_classes(project, registry, data, challenger, bundle, champion)


def _slices(
    registry: Registry, project: Project, data: DataView, champion: str, trusted: int
) -> list[SliceName]:
    """Each judged example's slice: the test split (``old`` when the champion was judged on it,
    else ``new``), then ``trusted`` ones."""
    judged = judged_test_hashes(registry, project, data, registry.resolve(champion))
    old: list[SliceName] = ["old" if e.hash in judged else "new" for e in data.test]
    return old + ["trusted"] * trusted


def _trusted(data: DataView) -> list[Example]:
    trusted = data.dataset.trusted
    return [] if trusted is None else trusted.sorted_examples()


def _gate_classes(
    project: Project,
    registry: Registry,
    data: DataView,
    challenger: ModelVersion,
    bundle: ModelBundle,
    champion: str | None,
) -> _Gated:
    policy = project.config.policy.gate
    test = data.test
    trusted = _trusted(data)
    cache: dict[str, Scored] = {}
    judged: dict[str, set[str]] = {}  # test hashes per version: the parent is often the champion
    scored = score(bundle, test)
    verdict: AnyVerdict
    if champion is None:
        verdict = first_model_verdict(scored.report, policy, version=challenger.label)
    else:
        champion_bundle = load_bundle(project, registry, champion)
        cache[champion] = score(champion_bundle, test)
        judged[champion] = judged_test_hashes(registry, project, data, registry.resolve(champion))
        verdict = decide(
            cache[champion].predictions + _predict(champion_bundle, trusted),
            scored.predictions + _predict(bundle, trusted),
            [e.label for e in [*test, *trusted]],
            policy,
            champion_version=champion,
            challenger_version=challenger.label,
            slices=_slices(registry, project, data, champion, len(trusted)),
            champion_latency_ms=cache[champion].report.latency_ms_per_example,
            challenger_latency_ms=scored.report.latency_ms_per_example,
            seed=project.config.training.seed,
        )
    forgetting = _forgetting(project, registry, data, challenger, scored, cache, judged)
    return _Gated(verdict, forgetting, scored.reference_window())


def _gate_values(
    project: Project,
    registry: Registry,
    data: DataView,
    challenger: ModelVersion,
    bundle: ModelBundle,
    champion: str | None,
) -> _Gated:
    policy = project.config.policy.gate
    test = data.test
    scored = score_values(bundle, test)
    if champion is None:
        first = first_regression_verdict(scored.report, policy, version=challenger.label)
        return _Gated(first, None, scored.reference_window())
    trusted = _trusted(data)
    champion_bundle = load_bundle(project, registry, champion)
    if champion_bundle.regression is None:
        raise LifelongError(
            f"champion {champion} predicts classes and {challenger.label} numbers: "
            "the gate cannot compare them",
            hint="train the regression project's first model cold and promote it: "
            f"`lifelong models promote {challenger.label} --force --reason ...`",
        )
    theirs = score_values(champion_bundle, test)
    texts = [e.text for e in trusted]
    verdict = decide_regression(
        theirs.values + (champion_bundle.predict_values(texts).tolist() if texts else []),
        scored.values + (bundle.predict_values(texts).tolist() if texts else []),
        [float(e.label) for e in [*test, *trusted]],
        policy,
        champion_version=champion,
        challenger_version=challenger.label,
        slices=_slices(registry, project, data, champion, len(trusted)),
        champion_latency_ms=theirs.report.latency_ms_per_example,
        challenger_latency_ms=scored.report.latency_ms_per_example,
    )
    return _Gated(verdict, None, scored.reference_window())


def judge(
    project: Project,
    registry: Registry,
    ref: str,
    *,
    promote: bool,
    command: str,
    dry_run: bool = False,
) -> Judgement:
    """Run the gate for one challenger; record the verdict; promote when asked and allowed.

    A project's first model (no champion yet) is judged against ``policy.gate.floor`` (a
    regression model: ``policy.gate.regression.min_r2``) alone and becomes champion when it
    clears it, whatever ``promote`` says. Otherwise a ``promote``
    verdict moves the ``champion`` alias only with ``promote=True``; else the version becomes
    ``challenger``. ``dry_run`` records and moves nothing. The alias moves through
    :func:`lifelong.registry.promote`, the rules every door shares (the verdict just recorded
    is against the champion read here, so a champion moved meanwhile refuses the move).
    """
    challenger = registry.resolve(ref)
    champion = registry.store.aliases().get(CHAMPION)
    if champion == challenger.label:
        raise LifelongError(
            f"version {challenger.label} is the champion already; nothing to compare it with",
            hint="name a challenger: `lifelong challenge VERSION`",
        )
    data = data_view(project)
    challenger_bundle = load_bundle(project, registry, challenger.label)
    gated = _gate(project, registry, data, challenger, challenger_bundle, champion)
    verdict, forgetting = gated.verdict, gated.forgetting
    promoted = verdict.promoted and (promote or champion is None)
    if not dry_run:
        registry.set_verdict(challenger.label, verdict.to_dict())
        extra: dict[str, object] = {}
        if gated.reference is not None:
            extra["reference"] = gated.reference
        if forgetting is not None:
            extra["forgetting"] = forgetting.to_dict()
        registry.update_metrics(challenger.label, extra)
        reason = verdict.reasons[0] if verdict.reasons else verdict.decision
        if verdict.promoted:
            alias = CHAMPION if promoted else CHALLENGER
            promote_version(registry, challenger.label, reason=reason, command=command, alias=alias)
    return Judgement(challenger.label, verdict, forgetting, promoted and not dry_run, champion)


def judge_competing(
    project: Project, registry: Registry, labels: list[str], *, command: str
) -> list[Judgement]:
    """Gate several challengers against one champion and promote at most the best one.

    With more than one, dry verdicts rank them first. The others are recorded before the best,
    so their verdicts compare them with this champion, not with the one the best is about to
    become. The best one's judgement comes first in the list.
    """
    best = labels[0]
    if len(labels) > 1:
        trials = [
            judge(project, registry, label, promote=False, command=command, dry_run=True)
            for label in labels
        ]
        best = rank_challengers([t.verdict for t in trials])[0].challenger_version
    others = [
        judge(project, registry, label, promote=False, command=command)
        for label in labels
        if label != best
    ]
    return [judge(project, registry, best, promote=True, command=command), *others]


FALLBACK_NAMES = ("oos", "out_of_scope", "nlu_fallback", "fallback")


def fallback_label(project: Project, labels: list[str]) -> str | None:
    """The out-of-scope intent: ``oos_label`` from config, else a conventional name found in
    the data (``oos``, ``out_of_scope``, ``nlu_fallback``, ``fallback``)."""
    if project.config.oos_label is not None:
        return project.config.oos_label if project.config.oos_label in labels else None
    return next((name for name in FALLBACK_NAMES if name in labels), None)


def evaluate_version(
    project: Project, registry: Registry, ref: str
) -> EvalReport | RegressionReport:
    """Evaluate a version on the current test split and store the result on it.

    A regression model is evaluated by its errors. For a classifier with an out-of-scope intent
    in the data, a confidence threshold is chosen on the valid split (below it a prediction
    becomes the fallback) and the report gives the resulting out-of-scope recall and precision
    on the test split. When the valid split lacks either in-scope or out-of-scope examples, no
    threshold is chosen (``oos.threshold`` is None).
    """
    version = resolve_model(registry, ref)
    view = data_view(project)  # a streamed project: its valid and test samples
    bundle = load_bundle(project, registry, version.label)
    test = view.test
    report = (
        _evaluate_classes(project, view, bundle, test)
        if bundle.regression is None
        else score_values(bundle, test).report
    )
    snapshot = view.dataset.pool.id if view.source is None else files_snapshot_id(view.manifests)
    registry.update_metrics(
        version.label, {"evaluation": {**report.to_dict(), "snapshot": snapshot}}
    )
    return report


def _evaluate_classes(
    project: Project, view: DataView, bundle: ModelBundle, test: list[Example]
) -> EvalReport:
    oos = fallback_label(project, sorted(view.intents))
    threshold = None
    valid = list(view.dataset.splits.valid)
    # A threshold needs both kinds in valid; without, oos is still scored from the model's own
    # predictions of the fallback intent (threshold None in the report).
    if oos is not None and len({e.label == oos for e in valid}) == 2:
        predicted, probabilities = bundle.predict([e.text for e in valid])
        threshold = choose_threshold(
            probabilities.max(axis=1),
            [e.label == oos for e in valid],
            correct=[p == e.label for p, e in zip(predicted, valid, strict=True)],
        ).threshold
    return score(bundle, test, oos_label=oos, oos_threshold=threshold).report
