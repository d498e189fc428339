"""lifelong: keep machine-learning models fresh as new data arrives.

Subpackages follow the data flow: ``data`` -> ``features`` -> ``models`` -> ``training`` ->
``evaluation`` -> ``registry`` -> ``serving``, with ``monitoring`` closing the loop through
``pipelines``. See DESIGN.md for the layering rules.

``lifelong.load(model, project=...)`` loads a model to predict with (see :mod:`lifelong.api`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "load"]

if TYPE_CHECKING:
    from lifelong.api import load


def __getattr__(name: str) -> Any:
    # ``lifelong.load`` imports torch: only when asked, so ``import lifelong`` (the CLI reads
    # ``__version__``) stays instant.
    if name == "load":
        from lifelong.api import load

        return load
    raise AttributeError(f"module 'lifelong' has no attribute {name!r}")
