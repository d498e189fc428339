"""One tiny trained transformer for every compression test that needs one (training it is
most of those tests' time)."""

from __future__ import annotations

import pytest

from lifelong.models import ModelBundle
from lifelong.testing.tiny_transformer import tiny_transformer


@pytest.fixture(scope="session")
def transformer_bundle() -> ModelBundle:
    """:func:`~lifelong.testing.tiny_transformer.tiny_transformer`; tests must not change it
    (compression methods return new bundles)."""
    return tiny_transformer()
