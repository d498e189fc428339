"""A streamed training that runs out of memory fails with the keys to change, not torch's text.

A stream holds a bounded amount whatever the data's size: the shuffle buffer
(``training.stream_buffer`` examples), the valid and test samples, the model, and one batch's
features and activations (``training.batch_size``). Under a memory limit too small for those
(``ulimit -v``, a container's cap), an allocation fails somewhere in numpy or torch: numpy
raises :class:`MemoryError`, torch a :class:`RuntimeError` naming its allocator. Both are turned
here into a :class:`~lifelong.core.errors.ConfigError` naming the keys that bound the memory
and the limit in force. The error propagates before the registration, so nothing is registered.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from contextlib import contextmanager

from lifelong.config import Training
from lifelong.core.errors import ConfigError

ALLOCATION_FAILURES = ("DefaultCPUAllocator", "can't allocate memory", "not enough memory")
"""What torch's ``RuntimeError`` says when an allocation fails (CPU allocator, mmap)."""


def is_allocation_failure(error: BaseException) -> bool:
    """Whether ``error`` is a failed allocation (and not any other runtime error)."""
    if isinstance(error, MemoryError):
        return True
    return isinstance(error, RuntimeError) and any(
        text in str(error) for text in ALLOCATION_FAILURES
    )


def memory_limit_mb() -> int | None:
    """The process's address-space limit (``RLIMIT_AS``) in MB; ``None`` when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft >> 20


@contextmanager
def streamed_memory(training: Training) -> Iterator[None]:
    """Run a streamed training's passes; a failed allocation becomes a clear error."""
    try:
        yield
    except (MemoryError, RuntimeError) as error:
        if not is_allocation_failure(error):
            raise
        limit = memory_limit_mb()
        where = "the memory available" if limit is None else f"the memory limit ({limit:,} MB)"
        raise ConfigError(
            f"out of memory: the streamed training's buffers, model and one batch do not fit "
            f"in {where} (training.batch_size is {training.batch_size}, "
            f"training.stream_buffer {training.stream_buffer:,} examples); nothing was "
            "registered",
            hint="lower training.batch_size or training.stream_buffer in config.yml (or "
            "pipeline.ngrams.buckets / dim, the size of the model), or raise the limit",
        ) from None
