"""The methods ``lifelong compress --method`` offers, each behind one small contract.

A method says why it cannot compress a bundle (:meth:`Method.refusal`: another pipeline, a
table already in that form) before any work, and :meth:`Method.apply` returns a new bundle:
same labels, featurizer and pipeline, a smaller n-gram table, its weights format in the spec
and the method appended to ``meta["compression"]``. The originals are never changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from torch import nn

from lifelong.compression import structured
from lifelong.compression.prune import prune_bag, touched_buckets
from lifelong.compression.quantize import quantize_bag
from lifelong.compression.transformer import quantize_transformer
from lifelong.compression.transformer import refusal as transformer_refusal
from lifelong.models import (
    FORMAT_VERSION,
    CompactBag,
    ModelBundle,
    WeightsFormat,
    table,
    weights_format,
    with_bag,
)
from lifelong.models.compact import CodeType

BITS: dict[str, int] = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4}


class Method(Protocol):
    """One compression method."""

    @property
    def name(self) -> str:
        """What ``--method`` calls it."""
        ...

    @property
    def needs_texts(self) -> bool:
        """Whether :meth:`apply` reads the training texts (row pruning)."""
        ...

    def refusal(self, bundle: ModelBundle) -> str | None:
        """Why ``bundle`` cannot be compressed this way (``None``: it can)."""
        ...

    def apply(
        self, bundle: ModelBundle, options: dict[str, Any], texts: Iterable[str]
    ) -> ModelBundle:
        """The compressed bundle (``texts``: the normalized training texts, when needed; read
        once, as a stream: they may be more than memory holds)."""
        ...


def applied(bundle: ModelBundle) -> list[str]:
    """Names of the methods already applied to ``bundle``, oldest first."""
    return [str(step.get("method")) for step in bundle.spec.meta.get("compression", [])]


def _fast_only(bundle: ModelBundle, name: str) -> str | None:
    if bundle.pipeline.name != "fast" or not isinstance(
        table(bundle.module), nn.EmbeddingBag | CompactBag
    ):
        return (
            f"method {name} compresses the fast pipeline's n-gram table, and this model is "
            f"a {bundle.pipeline.name} pipeline"
        )
    return None


def _table(bundle: ModelBundle) -> nn.Module:
    bag = table(bundle.module)
    assert bag is not None, "refusal() lets only fast-pipeline networks through"
    return bag


def _rebuilt(
    bundle: ModelBundle, bag: CompactBag, name: str, options: dict[str, Any]
) -> ModelBundle:
    module = with_bag(bundle.module, bag)
    module.eval()
    steps = [*bundle.spec.meta.get("compression", []), {"method": name, "options": options}]
    spec = replace(
        bundle.spec,
        meta={**bundle.spec.meta, "compression": steps},
        weights_format=bag.fmt.name,
        format_version=FORMAT_VERSION,
    )
    return ModelBundle(spec, module, bundle.featurizer, bundle.replay)


@dataclass(frozen=True)
class Quantize:
    """Every stored row to ``code`` (fp16, or int8 / int4 with a scale per row); ``int8`` of a
    transformer-pipeline model is its network as an int8 ONNX Runtime graph instead."""

    code: CodeType

    def _transformer(self, bundle: ModelBundle) -> bool:
        return self.code == "int8" and bundle.pipeline.name == "transformer"

    @property
    def name(self) -> str:
        return self.code

    @property
    def needs_texts(self) -> bool:
        return False

    def refusal(self, bundle: ModelBundle) -> str | None:
        if self._transformer(bundle):
            return transformer_refusal(bundle)
        why = _fast_only(bundle, self.name)
        if why is not None:
            return why
        current = WeightsFormat.parse(weights_format(bundle.module)).code
        if current not in ("fp32", "fp16") or BITS[current] <= BITS[self.code]:
            return (
                f"its n-gram table is {current} already: {self.name} would round rounded "
                "values again or gain nothing"
            )
        return None

    def apply(
        self, bundle: ModelBundle, options: dict[str, Any], texts: Iterable[str]
    ) -> ModelBundle:
        if self._transformer(bundle):
            return quantize_transformer(bundle, options)
        bag = quantize_bag(_table(bundle), self.code)
        return _rebuilt(bundle, bag, self.name, options)


@dataclass(frozen=True)
class Prune:
    """Keep only the rows the training texts touch (then the largest ``keep`` by norm); of a
    transformer-pipeline model, remove attention heads and FFN neurons instead
    (:mod:`lifelong.compression.structured`)."""

    @property
    def name(self) -> str:
        return "prune"

    @property
    def needs_texts(self) -> bool:
        return True

    def refusal(self, bundle: ModelBundle) -> str | None:
        if bundle.pipeline.name == "transformer":
            return structured.refusal(bundle, self.name in applied(bundle))
        why = _fast_only(bundle, self.name)
        if why is None and self.name in applied(bundle):
            why = "it is pruned already"
        return why

    def apply(
        self, bundle: ModelBundle, options: dict[str, Any], texts: Iterable[str]
    ) -> ModelBundle:
        if bundle.pipeline.name == "transformer":
            return structured.prune_transformer(bundle, options, list(texts))
        kept = touched_buckets(bundle.featurizer, texts)
        bag = prune_bag(_table(bundle), kept, float(options.get("keep", 1.0)))
        return _rebuilt(bundle, bag, self.name, options)


METHODS: dict[str, Method] = {
    method.name: method
    for method in (Quantize("int8"), Quantize("int4"), Quantize("fp16"), Prune())
}
