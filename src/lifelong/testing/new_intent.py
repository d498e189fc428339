"""A new intent with few examples, as a user adds one: for the update policy's tests and
``bench/new_intent.py``.

:data:`LOYALTY` holds varied, realistic requests of an online shop's loyalty programme (an
intent the sample project does not have). :func:`few_examples` picks the case an update must
handle with the defaults: 14 examples of which the project's stable split sends 3 to test, so
the gate sees the new intent in its test split as a user's project would.

>>> from lifelong.config import Splits
>>> rows = few_examples(Splits(valid=0.1, test=0.15, salt="demo"))
>>> len(rows), sum(r["split"] == "test" for r in rows)
(14, 3)
"""

from __future__ import annotations

from lifelong.config import Splits
from lifelong.core.types import normalize_text
from lifelong.data import split_of

LABEL = "loyalty"

LOYALTY = (
    "how many loyalty points do i have",
    "check my rewards points balance",
    "can i use my points to pay for this order",
    "how do i join the rewards program",
    "my loyalty points didn't show up after my purchase",
    "when do my reward points expire",
    "what tier am i in the membership program",
    "redeem 500 points for a discount",
    "i want to sign up for the loyalty club",
    "why did my points balance go down",
    "how do i get to gold status",
    "are points earned on sale items",
    "transfer my reward points to my partner's account",
    "do i earn double points this weekend",
    "i forgot to scan my member card, can i still get the points",
    "what perks come with silver membership",
    "how much is one reward point worth",
    "my points from last month are missing",
    "can i combine points with a coupon",
    "is there a birthday bonus for members",
    "cancel my rewards membership",
    "how long until my points are credited",
    "do points expire if i don't shop for a year",
    "link my loyalty card to my online account",
    "what do i need to spend to reach platinum",
    "got charged full price, should have used my points",
    "show me my rewards history",
    "can i gift my points to a friend",
    "loyalty program terms and conditions",
    "points weren't added for my return exchange",
    "how do members get free shipping",
    "my member number isn't recognised at checkout",
    "earn points on gift card purchases?",
    "which rewards can i get for 2000 points",
    "does the rewards scheme cost anything to join",
    "i reached gold last year, why am i back to silver",
    "add the points from my in-store receipt",
    "what's my current points total",
    "can i pay partly with points and partly with card",
    "how do i opt out of the loyalty emails but keep my points",
    "are there any members only sales coming up",
    "my rewards card was lost, can i get a new one",
    "double check that my points were applied to order 5521",
    "how many points do i get per dollar",
    "convert my points into store credit",
    "my partner and i want to merge our rewards accounts",
    "the app shows zero points but i had 1200 yesterday",
    "what happens to my points if i return something",
    "is the vip tier worth it",
    "refer a friend for bonus points",
    "points balance please",
    "i'd like to use my reward voucher",
    "when does the membership year reset",
    "do you have a points program for students",
    "my member discount didn't apply",
    "can i see which purchases earned points",
    "upgrade my membership to premium",
    "why can't i redeem my points on this item",
    "how do i claim my welcome bonus points",
    "will my points carry over to the new rewards app",
)


def few_examples(
    splits: Splits, *, n: int = 14, n_test: int = 3, n_valid: int = 1
) -> list[dict[str, str]]:
    """``n`` rows of :data:`LOYALTY` of which exactly ``n_test`` fall in the test split and
    ``n_valid`` in valid under ``splits`` (the project's salt), the rest in train.

    Each row is ``{"text", "intent", "split"}``. Raises ``ValueError`` when the pool has too
    few texts of a split for this salt.
    """
    by_split: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for text in LOYALTY:
        by_split[split_of(normalize_text(text), splits)].append(text)
    wanted = {"test": n_test, "valid": n_valid, "train": n - n_test - n_valid}
    if any(len(by_split[name]) < count for name, count in wanted.items()):
        found = {name: len(texts) for name, texts in by_split.items()}
        raise ValueError(f"the pool splits as {found} under this salt; wanted {wanted}")
    return [
        {"text": text, "intent": LABEL, "split": name}
        for name, count in wanted.items()
        for text in by_split[name][:count]
    ]


def held_out(chosen: list[dict[str, str]]) -> list[str]:
    """The pool's texts not in ``chosen``: unseen examples for a new-intent recall figure."""
    taken = {row["text"] for row in chosen}
    return [text for text in LOYALTY if text not in taken]
