"""Structured pruning of the ``transformer`` pipeline: attention heads and FFN neurons go.

Unlike zeroed weights, removed heads and neurons make every matrix product smaller, so the
network computes less (how much faster that is on a CPU is measured in ``bench/compress.py
--transformer``: the embeddings, layer norms and per-operator overhead do not shrink).

1. Importance (Michel et al. 2019, "Are Sixteen Heads Really Better than One?"): on a sample of
   the training examples, the first-order Taylor estimate of the loss change when a head's
   output (or an FFN neuron's activation) is removed, ``|sum(x * dL/dx)|`` over that slice of
   the input of the layer that reads it, summed over batches. The loss is the cross-entropy
   against the examples' true labels: a unit that only helps the parent's mistakes is not
   what the labels need.
2. Cut: in every layer the same fraction of heads (``heads``, at least one kept) and of FFN
   neurons (``ffn``), least important first, so each layer shrinks alike and the speed-up is
   predictable (:func:`lifelong.models.transformer.restructure`).
3. Recovery: ``recovery`` epochs (a fraction is fine) over the training texts, distilling the
   unpruned parent's softened predictions (T=2) into the pruned network; labels are not needed
   and the parent's behaviour, not just its top class, is what is restored. Its dropout draws
   from torch's generator seeded with :data:`SEED` and restored after (the caller's draws are
   unchanged), so the same parent, options and examples give the same weights.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lifelong.core.errors import ConfigError
from lifelong.core.types import Example
from lifelong.features import Featurizer
from lifelong.models import ModelBundle, TransformerClassifier
from lifelong.models.onnx_transformer import OnnxTransformer
from lifelong.models.transformer import STRUCTURE, restructure, token_inputs

BATCH = 32
TEMPERATURE = 2.0
SEED = 0


def refusal(bundle: ModelBundle, already: bool) -> str | None:
    """Why a transformer bundle cannot be pruned structurally (``None``: it can)."""
    if isinstance(bundle.module, OnnxTransformer):
        return (
            "it is an int8 ONNX Runtime graph: prune its fp32 parent, then apply int8 to the "
            "pruned version"
        )
    if not isinstance(bundle.module, TransformerClassifier):
        return f"its network is a {type(bundle.module).__name__}, not a TransformerClassifier"
    if already or bundle.module.structure is not None:
        return "it is pruned already"
    return None


def _batches(texts: Sequence[str]) -> list[Sequence[str]]:
    return [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]


def _tensors(featurizer: Featurizer, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    ids, mask = token_inputs(featurizer.transform(texts))
    return torch.from_numpy(ids), torch.from_numpy(mask)


def importance(
    classifier: TransformerClassifier,
    featurizer: Featurizer,
    texts: Sequence[str],
    labels: Sequence[int],
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer, the importance of each attention head and of each FFN neuron on ``texts``
    labelled ``labels`` (class ids, in the classifier's order)."""
    layers = classifier.encoder.encoder.layer
    readers = [layer.attention.output.dense for layer in layers]
    readers += [layer.output.dense for layer in layers]
    seen: dict[nn.Module, torch.Tensor] = {}
    scores = [torch.zeros(reader.in_features) for reader in readers]

    def keep_input(reader: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        args[0].retain_grad()
        seen[reader] = args[0]

    hooks = [reader.register_forward_pre_hook(keep_input) for reader in readers]
    frozen = [p for p in classifier.parameters() if not p.requires_grad]
    for parameter in frozen:  # frozen layers' activations need gradients too
        parameter.requires_grad_(True)
    classifier.eval()  # dropout off: the estimate is of the network as it predicts
    try:
        for start in range(0, len(texts), BATCH):
            ids, mask = _tensors(featurizer, texts[start : start + BATCH])
            seen.clear()
            target = torch.tensor(labels[start : start + BATCH], dtype=torch.long)
            loss = F.cross_entropy(classifier.logits(ids, mask), target, reduction="sum")
            loss.backward()  # type: ignore[no-untyped-call]
            for score, reader in zip(scores, readers, strict=True):
                x = seen[reader]
                assert x.grad is not None
                score += (x * x.grad).sum(dim=(0, 1)).detach().abs()
            classifier.zero_grad(set_to_none=True)
    finally:
        for hook in hooks:
            hook.remove()
        for parameter in frozen:
            parameter.requires_grad_(False)
        classifier.zero_grad(set_to_none=True)
    size = int(layers[0].attention.self.attention_head_size)
    heads = [score.view(-1, size).sum(dim=1) for score in scores[: len(layers)]]
    return heads, scores[len(layers) :]


def _kept(scores: torch.Tensor, fraction: float) -> list[int]:
    """Ids of the ``1 - fraction`` most important units (at least one), in their order."""
    n_keep = max(1, len(scores) - math.floor(fraction * len(scores)))
    return sorted(int(i) for i in torch.topk(scores, n_keep).indices)


def recover(
    student: TransformerClassifier,
    teacher: TransformerClassifier,
    featurizer: Featurizer,
    texts: Sequence[str],
    lr: float,
) -> None:
    """Fine-tune ``student`` to the ``teacher``'s softened predictions on ``texts``, in order."""
    trainable = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr)
    teacher.eval()
    student.train()
    for batch in _batches(texts):
        ids, mask = _tensors(featurizer, batch)
        with torch.no_grad():
            target = F.softmax(teacher.logits(ids, mask) / TEMPERATURE, dim=1)
        log_p = F.log_softmax(student.logits(ids, mask) / TEMPERATURE, dim=1)
        loss = F.kl_div(log_p, target, reduction="batchmean") * TEMPERATURE**2
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    student.eval()


def _recovery_texts(texts: Sequence[str], epochs: float) -> list[str]:
    """``epochs`` passes over ``texts``, each shuffled (a fraction: the start of one)."""
    rng = random.Random(SEED)
    order: list[str] = []
    while len(order) < epochs * len(texts):
        order += rng.sample(list(texts), len(texts))
    return order[: round(epochs * len(texts))]


def prune_transformer(
    bundle: ModelBundle,
    options: dict[str, Any],
    examples: Sequence[Example],
) -> ModelBundle:
    """``bundle`` with ``options["heads"]`` of each layer's heads and ``options["ffn"]`` of its
    FFN neurons removed, ranked on a sample of ``examples`` (the version's training examples)
    and their labels, then recovered on their texts (the original is unchanged).

    Raises
    ------
    ConfigError
        ``keep`` set (it prunes the fast pipeline's table), or no training texts to rank on.
    """
    parent = bundle.module
    assert isinstance(parent, TransformerClassifier), "refusal() lets only these through"
    if float(options.get("keep", 1.0)) != 1.0:
        raise ConfigError(
            "method prune: option keep prunes the fast pipeline's n-gram table",
            hint="a transformer version takes heads, ffn, recovery and importance_texts "
            "(e.g. -o heads=0.5 -o ffn=0.5)",
        )
    ids = {label: i for i, label in enumerate(bundle.labels)}
    known = [e for e in examples if e.label in ids]  # a label the version never learned: no loss
    if not known:
        raise ConfigError(
            "method prune: none of the version's training texts are in the data any more",
            hint="the importance of heads and neurons is measured on them; restore the data",
        )
    sample = random.Random(SEED).sample(known, min(len(known), int(options["importance_texts"])))
    head_scores, neuron_scores = importance(
        parent, bundle.featurizer, [e.text for e in sample], [ids[e.label] for e in sample]
    )
    pruned = copy.deepcopy(parent)
    recovery = _recovery_texts([e.text for e in examples], float(options["recovery"]))
    with torch.random.fork_rng(devices=[]):  # the caller's generator is left as it was
        restructure(  # its new layers' random init is overwritten by the kept weights
            pruned,
            [_kept(s, float(options["heads"])) for s in head_scores],
            [_kept(s, float(options["ffn"])) for s in neuron_scores],
        )
        torch.manual_seed(SEED)  # the recovery's dropout
        recover(pruned, parent, bundle.featurizer, recovery, bundle.pipeline.transformer.lr)
    steps = [*bundle.spec.meta.get("compression", []), {"method": "prune", "options": options}]
    meta = {**bundle.spec.meta, "compression": steps, STRUCTURE: pruned.structure}
    spec = replace(bundle.spec, meta=meta)
    return ModelBundle(spec, pruned, bundle.featurizer, bundle.replay)
