"""Per-row quantization of the n-gram table: fp16, or symmetric int8 / int4 codes with a scale
per row.

A row's scale is its largest magnitude over the code's top level (127 for int8, 7 for int4),
so each value is off by at most half a scale after dequantization, and a row of rare n-grams
with small values keeps its own precision instead of sharing a table-wide scale.
"""

from __future__ import annotations

import torch
from torch import nn

from lifelong.models import LEVELS, CompactBag, WeightsFormat, pack_int4
from lifelong.models.compact import CodeType

FLOAT32_TINY = torch.finfo(torch.float32).tiny
"""The smallest normal float32: no scale is allowed below it."""


def quantize_rows(rows: torch.Tensor, code: CodeType) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Codes (and per-row scales for integer codes) of float32 ``rows`` of shape ``(n, d)``.

    int4 codes come packed two to a byte (:func:`~lifelong.models.pack_int4`). An all-zero row
    gets scale 0 and zero codes, which dequantize to exactly zero; so does a row whose largest
    magnitude is below ``level`` times the smallest normal float32 (~1e-36): its scale would be
    subnormal (a few bits of precision) or underflow to 0, and its values are zero to any model.

    >>> codes, scales = quantize_rows(torch.tensor([[0.5, -1.0, 0.25]]), "int8")
    >>> codes.tolist(), round(float(scales[0]) * 127, 6)
    ([[64, -127, 32]], 1.0)
    """
    if code == "fp32":
        return rows.to(torch.float32).contiguous(), None
    if code == "fp16":
        return rows.to(torch.float16).contiguous(), None
    level = LEVELS[code]
    largest = rows.abs().amax(dim=1)
    scales = torch.where(
        largest >= level * FLOAT32_TINY, largest / level, torch.zeros_like(largest)
    )
    safe = torch.where(scales > 0, scales, torch.ones_like(scales))
    codes = torch.round(rows / safe.unsqueeze(1)).clamp(-level, level).to(torch.int8)
    if code == "int4":
        codes = pack_int4(codes)
    return codes.contiguous(), scales.to(torch.float32)


def stored_rows(bag: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The float32 rows a table stores and their bucket ids (``None``: every bucket, in order)."""
    if isinstance(bag, CompactBag):
        rows = bag.rows(torch.arange(bag.n_rows))
        return rows, bag.row_ids if bag.fmt.sparse else None
    assert isinstance(bag, nn.EmbeddingBag), f"not an n-gram table: {type(bag).__name__}"
    return bag.weight.detach(), None


def quantize_bag(bag: nn.Module, code: CodeType) -> CompactBag:
    """``bag`` (a plain or compact table) with its stored rows in ``code`` (the same rows)."""
    rows, row_ids = stored_rows(bag)
    codes, scales = quantize_rows(rows, code)
    buckets, dim = _shape(bag)
    return CompactBag(
        buckets, dim, WeightsFormat(row_ids is not None, code), codes, scales, row_ids
    )


def _shape(bag: nn.Module) -> tuple[int, int]:
    if isinstance(bag, CompactBag):
        return bag.buckets, bag.dim
    assert isinstance(bag, nn.EmbeddingBag)
    return bag.num_embeddings, bag.embedding_dim
