"""The intake screen in the loop: the champion reads the new examples before they are written.

Runs between collecting a cycle's new examples and writing them into the data, so what it holds
never trains: it goes to the review queue with the figures that made it suspicious (see
:mod:`lifelong.evaluation.screen`), where a person accepts it (it then trains like any reviewed
example) or rejects it. Every source passes through it: inbox, feedback, Redis.
"""

from __future__ import annotations

from lifelong.data import Dataset
from lifelong.evaluation import ScreenedIntent, screen_batch
from lifelong.pipelines.ingest import SUSPICIOUS, Ingested, review_spec
from lifelong.pipelines.session import load_bundle
from lifelong.project import Project
from lifelong.registry import ModelVersion, Registry


def hold_suspicious(
    project: Project,
    registry: Registry,
    found: Ingested,
    before: Dataset,
    champion: ModelVersion | None,
) -> tuple[ScreenedIntent, ...]:
    """Move the new examples the champion does not recognise from ``found.new`` to
    ``found.held``; return the per-intent figures (for the cycle history).

    Nothing is screened without a champion (a project's first data has nothing to be checked
    against), with ``policy.screen: null``, or when nothing is new. The champion's reference is
    its probabilities on the test split of the data before this cycle.
    """
    policy = project.config.policy.screen
    if policy is None or champion is None or not found.new:
        return ()
    bundle = load_bundle(project, registry, champion.label)
    reference = list(before.splits.test)
    labels = [e.label for e in found.new]
    # The plain softmax, not the calibrated one: policy.screen's ratios were set and measured
    # (bench/poison.py) on it, and a temperature below 1 would turn its 0.05 into ~0.25.
    screening = screen_batch(
        bundle.labels,
        labels,
        bundle.predict_proba([e.text for e in found.new], calibrated=False),
        [e.label for e in reference],
        bundle.predict_proba([e.text for e in reference], calibrated=False),
        policy,
    )
    why = screening.held(labels)
    if why:
        for i, example in enumerate(found.new):
            if i in why:
                origin = found.source_of.get(example.hash, "-")
                found.held.append(review_spec(example, origin, SUSPICIOUS, None, why[i]))
        found.new = [e for i, e in enumerate(found.new) if i not in why]
    return screening.intents
