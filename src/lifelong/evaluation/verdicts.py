"""A stored verdict of either kind, read back as its record.

The registry keeps verdicts as JSON; a regression verdict says so in its ``task`` key (one
stored before regression existed has none and is a classification verdict).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lifelong.evaluation.gate import Verdict
from lifelong.evaluation.regression import RegressionVerdict

AnyVerdict = Verdict | RegressionVerdict


def verdict_from_dict(data: Mapping[str, Any]) -> AnyVerdict:
    """The verdict record ``data`` (from ``to_dict()``, after a JSON round trip) was made from."""
    if data.get("task") == "regression":
        return RegressionVerdict.from_dict(data)
    return Verdict.from_dict(data)
