"""Replay: a bounded, class-balanced sample of old examples mixed into an update.

Training only on new examples makes a network forget the old intents; replaying a few of
each keeps them. The sample is deterministic (a function of the seed and the examples'
content hashes, not of their order) so a run can be repeated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from lifelong.core.hashing import sha256_text
from lifelong.core.types import Example


def replay_sample(
    examples: Sequence[Example], size: int, seed: int = 0, *, balanced: bool = True
) -> list[Example]:
    """Up to ``size`` distinct examples, as evenly spread over labels as the data allows.

    Labels with fewer examples than their share give all they have and the rest of the budget
    goes to the others (round robin, labels in sorted order). ``balanced=False`` draws
    uniformly instead: a regression's labels are numbers, nearly one example each, and a
    round robin over them in sorted order would keep only the smallest targets.

    >>> data = [Example.make(f"a {i}", "a") for i in range(10)] + [Example.make("b", "b")]
    >>> sorted(e.label for e in replay_sample(data, 4))
    ['a', 'a', 'a', 'b']
    """
    by_label: dict[str, list[Example]] = defaultdict(list)
    for example in {e.hash: e for e in examples}.values():
        by_label[example.label if balanced else ""].append(example)
    queues = [
        sorted(group, key=lambda e: sha256_text(f"{seed}:{e.hash}"), reverse=True)
        for _, group in sorted(by_label.items())
    ]
    chosen: list[Example] = []
    while len(chosen) < size and any(queues):
        for queue in queues:
            if queue and len(chosen) < size:
                chosen.append(queue.pop())
    return chosen
