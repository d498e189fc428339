"""The methods ``lifelong compress --method`` offers, each behind one small contract.

A method says why it cannot compress a bundle (:meth:`Method.refusal`: another pipeline, a
table already in that form) before any work, and :meth:`Method.apply` returns a new bundle:
same labels, featurizer and pipeline, a smaller n-gram table (its weights format in the spec)
or a narrower hidden layer (``pipeline.hidden`` in the spec), and the method appended to
``meta["compression"]``. The originals are never changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from torch import nn

from lifelong.compression import structured
from lifelong.compression.neurons import prune_neurons
from lifelong.compression.prune import prune_bag, touched_buckets
from lifelong.compression.quantize import quantize_bag
from lifelong.compression.transformer import quantize_transformer
from lifelong.compression.transformer import refusal as transformer_refusal
from lifelong.config import PruneNeurons as NeuronOptions
from lifelong.core.types import Example
from lifelong.models import (
    FORMAT_VERSION,
    PRUNED_HIDDEN,
    CompactBag,
    IntentClassifier,
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
        """Whether :meth:`apply` reads the training examples (pruning)."""
        ...

    def refusal(self, bundle: ModelBundle) -> str | None:
        """Why ``bundle`` cannot be compressed this way (``None``: it can)."""
        ...

    def apply(
        self, bundle: ModelBundle, options: dict[str, Any], examples: Iterable[Example]
    ) -> ModelBundle:
        """The compressed bundle (``examples``: the parent's training examples, when needed;
        read once, as a stream: they may be more than memory holds)."""
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
        self, bundle: ModelBundle, options: dict[str, Any], examples: Iterable[Example]
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
        self, bundle: ModelBundle, options: dict[str, Any], examples: Iterable[Example]
    ) -> ModelBundle:
        if bundle.pipeline.name == "transformer":
            return structured.prune_transformer(bundle, options, list(examples))
        kept = touched_buckets(bundle.featurizer, (e.text for e in examples))
        bag = prune_bag(_table(bundle), kept, float(options.get("keep", 1.0)))
        return _rebuilt(bundle, bag, self.name, options)


@dataclass(frozen=True)
class PruneNeurons:
    """Keep the most important hidden units of the head, then retrain it briefly (see
    :mod:`lifelong.compression.neurons`). A method of its own, not a ``prune`` option: it
    narrows the head rather than the table, so it applies to any table format (after
    ``prune`` or ``int8`` too) and to the tabular network, and it takes its own options."""

    @property
    def name(self) -> str:
        return "prune-neurons"

    @property
    def needs_texts(self) -> bool:
        return True

    def refusal(self, bundle: ModelBundle) -> str | None:
        if bundle.pipeline.name == "transformer" or not isinstance(bundle.module, IntentClassifier):
            return (
                f"method {self.name} compresses the fast pipeline's hidden layer (or the "
                f"tabular one's), and this model is a {bundle.pipeline.name} pipeline"
            )
        if bundle.regression is not None:
            return "its recovery retrains a classifier's head, and this model predicts numbers"
        if self.name in applied(bundle):
            return "its hidden layer is pruned already"
        return None

    def apply(
        self, bundle: ModelBundle, options: dict[str, Any], examples: Iterable[Example]
    ) -> ModelBundle:
        settings = NeuronOptions.model_validate(options)
        module, losses = prune_neurons(
            bundle, examples, settings.neurons, settings.criterion, settings.recover_epochs
        )
        width = module.hidden.out_features
        meta = bundle.spec.meta
        # the width the config asks for: a fine-tune of a pruned version keeps the record
        configured = meta.get(PRUNED_HIDDEN, {}).get("from", bundle.pipeline.hidden)
        recorded = {**settings.model_dump(mode="json"), "recover_loss": losses}
        spec = replace(
            bundle.spec,
            pipeline={**bundle.spec.pipeline, "hidden": width},
            meta={
                **meta,
                "compression": [
                    *meta.get("compression", []),
                    {"method": self.name, "options": recorded},
                ],
                PRUNED_HIDDEN: {"from": configured, "to": width},
            },
        )
        return ModelBundle(spec, module, bundle.featurizer, bundle.replay)


METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Quantize("int8"),
        Quantize("int4"),
        Quantize("fp16"),
        Prune(),
        PruneNeurons(),
    )
}
