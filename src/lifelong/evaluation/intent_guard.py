"""The gate's per-intent guard: no intent may lose a significant share of its recall.

A poisoned batch (paraphrases of one intent labelled as another) breaks one intent while the
accuracy over all intents barely moves, so the guard looks at every intent on its own. Small
intents matter most here: a project with 14 intents and 100 test examples has about 7 per
intent. The test is exact (a one-sided binomial test on the intent's discordant examples), and
the correction for testing many intents is Holm's over only the intents that could be
significant at all (Tarone's refinement, :func:`lifelong.evaluation.stats.tarone_holm`): an
intent that lost 6 of its 8 examples is caught, while 150 intents that each lose a chance
example or two are not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lifelong.config import Gate
from lifelong.evaluation._records import Record
from lifelong.evaluation.stats import tarone_holm

# Rates are ratios of counts; this absorbs float noise when a drop equals its allowance exactly.
EPS = 1e-9
# The guard's two families of tests, sharing ``per_intent.alpha``.
FAMILIES = ("recall", "absorb")


@dataclass(frozen=True)
class IntentDelta(Record):
    """Recall of one intent under both models, on the examples the guard checks.

    ``violated`` when recall fell more than allowed, the intent lost at least
    ``per_intent.min_lost`` examples net, and (with ``per_intent.alpha``) the loss is
    significant after the Holm-Tarone correction over the intents checked (``p_value`` is the
    intent's one-sided exact test): on a small test set one or two flips move recall by many
    points, and across many intents some lose a few examples by chance; that noise must not
    block updates.
    """

    label: str
    support: int
    champion_recall: float
    challenger_recall: float
    allowed_drop: float
    lost: int
    p_value: float
    violated: bool

    @property
    def change(self) -> float:
        """Challenger minus champion recall (negative: the challenger got worse)."""
        return self.challenger_recall - self.champion_recall

    def describe(self) -> str:
        """One sentence, e.g. ``intent 'refund' recall fell 0.92 -> 0.70 (-22.0 pts > ...)``."""
        verb = "fell" if self.change < 0 else "rose" if self.change > 0 else "stayed at"
        values = f"{self.champion_recall:.2f} -> {self.challenger_recall:.2f}"
        limit = f" > {100 * self.allowed_drop:.1f} allowed" if self.violated else ""
        lost = f"{self.lost} of " if self.lost > 0 else ""
        significance = f", p = {self.p_value:.3g}" if self.violated and self.p_value < 1 else ""
        return (
            f"intent {self.label!r} recall {verb} {values} "
            f"({pts(self.change)} pts{limit}, {lost}{self.support} test examples"
            f"{' lost' if self.lost > 0 else ''}{significance})"
        )


@dataclass(frozen=True)
class IntentAbsorption(Record):
    """Old examples of *other* intents that the challenger newly predicts as ``label``.

    The signature of a poisoned label: a batch teaching "these texts are ``label``" makes the
    model answer ``label`` for examples it used to get right, from whichever intents the
    poison resembles. ``taken`` counts examples the challenger wrongly predicts as ``label``
    where the champion did not; ``released`` the reverse. ``sources`` names the true intents
    taken from, largest first. Only intents with examples of their own among those judged are
    checked (a new intent's confusions show as the other intents' recall). ``violated`` when
    ``taken - released`` reaches ``per_intent.min_lost`` and (with ``per_intent.alpha``) the
    one-sided exact test is significant after a Holm-Tarone correction over the intents that
    took examples.
    """

    label: str
    taken: int
    released: int
    sources: dict[str, int]
    p_value: float
    violated: bool

    def describe(self) -> str:
        """One sentence, e.g. ``intent 'greet' took 6 old examples of other intents (...)``."""
        sources = ", ".join(f"{name} {count}" for name, count in self.sources.items())
        significance = f", p = {self.p_value:.3g}" if self.p_value < 1 else ""
        return (
            f"intent {self.label!r} took {self.taken} examples of other intents "
            f"({sources or 'none'}) that the champion did not give it, and released "
            f"{self.released}{significance}"
        )


def guard_intents(
    truth: npt.NDArray[np.str_],
    champion: npt.NDArray[np.str_],
    challenger: npt.NDArray[np.str_],
    policy: Gate,
) -> tuple[tuple[IntentDelta, ...], tuple[IntentAbsorption, ...]]:
    """The per-intent guard's two checks, as one family of tests.

    Recall: every intent with ``per_intent.min_support`` examples; a loss must exceed
    ``max_recall_drop`` and ``min_lost`` examples and, with ``per_intent.alpha`` set, be
    significant: a one-sided exact test on the intent's own discordant examples (the champion
    right and the challenger wrong, or the reverse). Absorption: every intent the challenger
    newly predicts for others' examples (see :class:`IntentAbsorption`). Each kind is one
    family, corrected by Holm-Tarone at half of ``per_intent.alpha`` (Bonferroni over the two
    families, so a clean update trips the guard at most ``alpha`` of the time): one poisoned
    label shows in both (the intent it steals from loses recall, the one it names takes
    examples), and one family would count the same flips twice against each other.
    """
    from scipy.stats import binomtest

    champ, chall = champion == truth, challenger == truth
    labels, index = np.unique(truth, return_inverse=True)

    def per_label(values: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        counts = np.bincount(index, weights=values.astype(np.float64), minlength=len(labels))
        return counts.astype(np.float64)

    def one_sided(worse: int, better: int) -> float:
        if worse == 0:
            return 1.0
        return float(binomtest(worse, worse + better, 0.5, alternative="greater").pvalue)

    support = np.bincount(index, minlength=len(labels))
    champ_hits, chall_hits = per_label(champ), per_label(chall)
    only_champ, only_chall = per_label(champ & ~chall), per_label(chall & ~champ)
    guard = policy.per_intent
    checked = [int(i) for i in np.flatnonzero(support >= guard.min_support)]
    p_values: dict[tuple[str, str], float] = {}
    # The smallest p-value each test could give: all its discordant examples against it.
    min_p: dict[tuple[str, str], float] = {}
    for i in checked:
        key = ("recall", str(labels[i]))
        p_values[key] = one_sided(int(only_champ[i]), int(only_chall[i]))
        min_p[key] = 0.5 ** int(only_champ[i] + only_chall[i])
    taken = (challenger != truth) & (challenger != champion)
    released = (champion != truth) & (challenger != champion)
    # An intent with no examples here is new to the champion, which never predicts it, so
    # "released" is 0 by construction and a one-sided test would flag any new intent's
    # teething confusion; the intents it takes from still have their recall checked.
    known = set(labels.tolist())
    predicted = sorted((set(challenger[taken].tolist()) | set(champion[released].tolist())) & known)
    counts = {}
    for label in predicted:
        took, gave = (
            int((taken & (challenger == label)).sum()),
            int((released & (champion == label)).sum()),
        )
        counts[label] = (took, gave)
        key = ("absorb", label)
        p_values[key] = one_sided(took, gave)
        min_p[key] = 0.5 ** (took + gave)
    significant: set[tuple[str, str]] = set(p_values)
    if guard.alpha is not None:
        significant = set()
        for family in FAMILIES:
            members = {key: p for key, p in p_values.items() if key[0] == family}
            significant |= tarone_holm(members, min_p, guard.alpha / len(FAMILIES))
    deltas = []
    for i in checked:
        before, after = champ_hits[i] / support[i], chall_hits[i] / support[i]
        lost = round(champ_hits[i] - chall_hits[i])
        deltas.append(
            IntentDelta(
                label=str(labels[i]),
                support=int(support[i]),
                champion_recall=float(before),
                challenger_recall=float(after),
                allowed_drop=guard.max_recall_drop,
                lost=lost,
                p_value=p_values[("recall", str(labels[i]))],
                violated=bool(
                    before - after > guard.max_recall_drop + EPS
                    and lost >= guard.min_lost
                    and ("recall", str(labels[i])) in significant
                ),
            )
        )
    absorptions = []
    for label, (took, gave) in counts.items():
        if took == 0:
            continue
        sources = truth[taken & (challenger == label)]
        names, amounts = np.unique(sources, return_counts=True)
        order = sorted(zip(names.tolist(), amounts.tolist(), strict=True), key=lambda x: -x[1])
        absorptions.append(
            IntentAbsorption(
                label=label,
                taken=took,
                released=gave,
                sources={str(name): int(amount) for name, amount in order},
                p_value=p_values[("absorb", label)],
                violated=took - gave >= guard.min_lost and ("absorb", label) in significant,
            )
        )
    return tuple(deltas), tuple(absorptions)


def guard_note(
    deltas: tuple[IntentDelta, ...],
    absorptions: tuple[IntentAbsorption, ...],
    policy: Gate,
    where: str,
) -> str:
    """The guard's summary sentence for the verdict's reasons."""
    guard = policy.per_intent
    tested = "significant (Holm-Tarone, one-sided exact) " if guard.alpha is not None else ""
    if deltas:
        worst = min(deltas, key=lambda delta: (delta.change, delta.label))
        recall = (
            f"{len(deltas)} intents with >= {guard.min_support} checked, "
            f"{sum(d.violated for d in deltas)} lost a {tested}share of recall over "
            f"{100 * guard.max_recall_drop:.1f} pts; largest change: {worst.describe()}"
        )
    else:
        recall = f"no intent has >= {guard.min_support} examples to check recall on"
    taken = (
        f"; largest intake of other intents' examples: {max(absorptions, key=_by_net).describe()}"
        if absorptions
        else "; no intent took examples of others"
    )
    return f"per-intent guard on {where} examples: {recall}{taken}"


def _by_net(absorption: IntentAbsorption) -> tuple[int, str]:
    return absorption.taken - absorption.released, absorption.label


def pts(rate: float) -> str:
    """A rate difference in signed percentage points: ``-0.22`` -> ``-22.0``."""
    return f"{100 * rate:+.1f}"
