"""Compact n-gram tables: only stored rows, in fp16, int8 or int4 with a scale per row.

The ``fast`` pipeline's table (262,144 x 128 float32, 134 MB) is mostly rows no training text
ever touched. A :class:`CompactBag` stands in for the ``nn.EmbeddingBag`` of an
:class:`~lifelong.models.IntentClassifier`: it keeps the rows it stores (all of them, or a
sorted list of bucket ids) as codes and, on each call, dequantizes only the rows the batch's
n-grams touch, then sums them as the bag did. Buckets it does not store read as zero.

A bundle names its weights format (``bundle.json``'s ``weights_format``); this module builds
the network of any format from the saved tensors, so neither serving nor evaluation needs to
know how a table was made smaller. :func:`trainable_copy` turns a compact network back into
the parent's full fp32 shape, so a compressed version can be fine-tuned.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from lifelong.core.errors import IncompatibleModel
from lifelong.models.onnx_transformer import ONNX_INT8, OnnxTransformer

CodeType = Literal["fp32", "fp16", "int8", "int4"]
CODE_TYPES: tuple[CodeType, ...] = ("fp32", "fp16", "int8", "int4")
LEVELS: dict[CodeType, int] = {"int8": 127, "int4": 7}
"""Largest code magnitude of a symmetric integer code (a row's scale is its max / this)."""
DENSE = "fp32"
UNIQUE_FROM = 1024
"""Below this many n-grams in a call (a few texts) rows are dequantized per n-gram: cheaper
than the ``torch.unique`` that finds each touched row once."""
SPARSE_PREFIX = "sparse-"


@dataclass(frozen=True)
class WeightsFormat:
    """How a bundle stores its n-gram table: every row or only some, and in which code.

    ``fp32`` (every row, float32) is the format of a plain ``nn.EmbeddingBag``; the others
    are ``fp16`` / ``int8`` / ``int4`` (every row) and ``sparse-<code>`` (listed rows only).

    >>> WeightsFormat.parse("sparse-int8")
    WeightsFormat(sparse=True, code='int8')
    >>> WeightsFormat(sparse=False, code="int4").name
    'int4'
    """

    sparse: bool
    code: CodeType

    @property
    def name(self) -> str:
        return f"{SPARSE_PREFIX}{self.code}" if self.sparse else self.code

    @property
    def quantized(self) -> bool:
        return self.code in LEVELS

    @classmethod
    def parse(cls, name: str) -> WeightsFormat:
        """The format called ``name``; ``ValueError`` naming the known ones otherwise."""
        sparse = name.startswith(SPARSE_PREFIX)
        code = name.removeprefix(SPARSE_PREFIX)
        if code not in CODE_TYPES:
            known = ", ".join([*CODE_TYPES, *(SPARSE_PREFIX + c for c in CODE_TYPES)])
            raise ValueError(f"unknown weights format {name!r} (known: {known})")
        return cls(sparse, code)


def pack_int4(codes: torch.Tensor) -> torch.Tensor:
    """Signed 4-bit codes in ``[-7, 7]`` of shape ``(n, d)`` as ``(n, ceil(d / 2))`` bytes."""
    if codes.shape[1] % 2:
        codes = F.pad(codes, (0, 1))
    biased = (codes.to(torch.int16) + 8).to(torch.uint8)
    return biased[:, 0::2] | (biased[:, 1::2] << 4)


def unpack_int4(packed: torch.Tensor, dim: int) -> torch.Tensor:
    """Inverse of :func:`pack_int4`: int8 codes of shape ``(n, dim)``."""
    low = (packed & 15).to(torch.int8) - 8
    high = (packed >> 4).to(torch.int8) - 8
    return torch.stack([low, high], dim=2).reshape(len(packed), -1)[:, :dim]


class CompactBag(nn.Module):
    """A summing ``EmbeddingBag`` over stored, possibly quantized rows.

    Parameters
    ----------
    buckets, dim
        Shape of the full table it stands for.
    fmt
        Which rows are stored and in which code.
    codes
        The stored rows: float32/float16 ``(n, dim)``, int8 ``(n, dim)``, or int4 packed two
        to a byte, uint8 ``(n, ceil(dim / 2))``.
    scales
        float32 ``(n,)``: row ``i`` is ``codes[i] * scales[i]`` (integer codes only).
    row_ids
        int64 ``(n,)``, sorted: the buckets of the stored rows (sparse formats only).
    """

    codes: torch.Tensor
    scales: torch.Tensor
    row_ids: torch.Tensor
    position: torch.Tensor

    def __init__(
        self,
        buckets: int,
        dim: int,
        fmt: WeightsFormat,
        codes: torch.Tensor,
        scales: torch.Tensor | None = None,
        row_ids: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.buckets, self.dim, self.fmt = buckets, dim, fmt
        self.register_buffer("codes", codes)
        if fmt.quantized:
            assert scales is not None, f"{fmt.name} needs per-row scales"
            self.register_buffer("scales", scales.to(torch.float32))
        if fmt.sparse:
            assert row_ids is not None, f"{fmt.name} needs the stored rows' bucket ids"
            self.register_buffer("row_ids", row_ids.to(torch.int64))
            position = torch.full((buckets,), -1, dtype=torch.int64)
            position[self.row_ids] = torch.arange(len(row_ids))
            self.register_buffer("position", position, persistent=False)

    @property
    def n_rows(self) -> int:
        return len(self.codes)

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        """Stored rows ``index`` (positions, not buckets) as float32.

        ``index_select``, not ``codes[index]``: torch's advanced indexing of an int8 matrix
        takes 16 ms for a hundred rows of this table where ``index_select`` takes 8 µs.
        """
        codes = self.codes.index_select(0, index)
        if self.fmt.code == "int4":
            codes = unpack_int4(codes, self.dim)
        values = codes.to(torch.float32)
        if self.fmt.quantized:
            values = values * self.scales.index_select(0, index).unsqueeze(1)
        return values

    def forward(
        self,
        indices: torch.Tensor,
        offsets: torch.Tensor,
        per_sample_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Weighted sums of the rows of ``indices`` per bag, as ``nn.EmbeddingBag(mode="sum")``."""
        weights = torch.ones(len(indices)) if per_sample_weights is None else per_sample_weights
        if self.fmt.sparse:
            positions = self.position[indices]
            stored = positions >= 0
            weights = weights * stored
            indices = positions.clamp(min=0)
        if len(indices) <= UNIQUE_FROM:
            local, rows = torch.arange(len(indices)), self.rows(indices)
        else:  # a batch: dequantize each touched row once
            touched, local = torch.unique(indices, return_inverse=True)
            rows = self.rows(touched)
        return F.embedding_bag(local, rows, offsets, mode="sum", per_sample_weights=weights)

    def dense(self) -> nn.EmbeddingBag:
        """The full ``(buckets, dim)`` float32 table (rows not stored are zero), trainable.

        Built on zeros: the constructor's random init of the whole table (0.3 s for the
        default 262,144 x 128) would be overwritten anyway.
        """
        every = torch.arange(self.n_rows)
        target = self.row_ids if self.fmt.sparse else every
        weight = torch.zeros(self.buckets, self.dim)
        with torch.no_grad():
            weight[target] = self.rows(every)
        return nn.EmbeddingBag.from_pretrained(weight, freeze=False, mode="sum", sparse=True)


def compact_bag(
    buckets: int, dim: int, fmt: WeightsFormat, tensors: dict[str, torch.Tensor], prefix: str
) -> CompactBag:
    """The :class:`CompactBag` saved under ``prefix`` (``"bag."``) in ``tensors``."""
    return CompactBag(
        buckets,
        dim,
        fmt,
        tensors[f"{prefix}codes"],
        tensors.get(f"{prefix}scales"),
        tensors.get(f"{prefix}row_ids"),
    )


def table(module: nn.Module) -> nn.Module | None:
    """The n-gram table (``bag``) of a fast-pipeline network, ``None`` for other networks."""
    bag = getattr(module, "bag", None)
    return bag if isinstance(bag, nn.Module) else None


def with_bag(module: nn.Module, bag: nn.Module) -> nn.Module:
    """A deep copy of ``module`` with ``bag`` as its n-gram table (the old one is not copied)."""
    old = module.bag
    module.bag = nn.Identity()
    try:
        copied = copy.deepcopy(module)
    finally:
        module.bag = old
    copied.bag = bag
    return copied


def trainable_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` whose n-gram table, if compact, is full fp32 again.

    Fine-tuning needs the parent's shape: the copy's table is the dequantized stored rows,
    zeros elsewhere (rows no training text touched read as zero in the compact parent too,
    so the copy predicts as the parent does, up to float rounding). An int8 ONNX Runtime
    transformer has no trainable form, and a structurally pruned one no full-size form: both
    are refused (fine-tune the version they were made from).
    """
    if isinstance(module, OnnxTransformer):
        raise IncompatibleModel(
            "an int8 (ONNX Runtime) transformer model cannot be fine-tuned",
            hint="fine-tune the fp32 version it was compressed from instead (`lifelong models "
            "show VERSION` names it as the parent)",
        )
    if getattr(module, "structure", None) is not None:
        raise IncompatibleModel(
            "a structurally pruned transformer model (fewer heads and FFN neurons) cannot be "
            "fine-tuned: an update rebuilds the full-size network",
            hint="fine-tune the unpruned version it was compressed from instead (`lifelong "
            "models show VERSION` names it as the parent), then prune the result",
        )
    bag = table(module)
    if not isinstance(bag, CompactBag):
        return copy.deepcopy(module)
    return with_bag(module, bag.dense())


def stored_row_count(module: nn.Module) -> int:
    """Rows the n-gram table stores (0 for a network without one)."""
    bag = table(module)
    if isinstance(bag, CompactBag):
        return bag.n_rows
    return bag.num_embeddings if isinstance(bag, nn.EmbeddingBag) else 0


def weights_format(module: nn.Module) -> str:
    """The weights format of a network's n-gram table (``onnx-int8`` for an int8 ONNX Runtime
    transformer, ``fp32`` for any other network)."""
    if isinstance(module, OnnxTransformer):
        return ONNX_INT8
    bag = table(module)
    return bag.fmt.name if isinstance(bag, CompactBag) else DENSE
