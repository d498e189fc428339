"""A failed allocation in a streamed training becomes an error naming the keys to change."""

from __future__ import annotations

import pytest

from lifelong.config import Training
from lifelong.core.errors import ConfigError
from lifelong.pipelines.memory_cap import is_allocation_failure, streamed_memory

TORCH_OOM = (
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you "
    "tried to allocate 268435456 bytes."
)


@pytest.mark.parametrize(
    ("error", "allocation"),
    [
        (MemoryError(), True),
        (RuntimeError(TORCH_OOM), True),
        (RuntimeError("mat1 and mat2 shapes cannot be multiplied (64x32 and 16x8)"), False),
        (ValueError("not enough memory"), False),
    ],
)
def test_only_allocation_failures_are_recognised(error: BaseException, allocation: bool) -> None:
    assert is_allocation_failure(error) is allocation


def test_an_allocation_failure_names_both_keys_with_their_values() -> None:
    training = Training(batch_size=512, stream_buffer=1234)
    with pytest.raises(ConfigError) as raised, streamed_memory(training):
        raise MemoryError
    assert "training.batch_size is 512" in raised.value.message
    assert "training.stream_buffer 1,234 examples" in raised.value.message
    assert raised.value.hint is not None
    assert "training.batch_size or training.stream_buffer" in raised.value.hint


def test_other_errors_pass_through_unchanged() -> None:
    shapes = RuntimeError("mat1 and mat2 shapes cannot be multiplied")
    with pytest.raises(RuntimeError) as raised, streamed_memory(Training()):
        raise shapes
    assert raised.value is shapes
