"""Checkpoints of a training in progress, so a killed run resumes where it stopped.

Every ``every`` steps the trainer hands :meth:`Checkpointer.save` its whole state: the network,
both optimizers and their schedules, where it is (epoch, batches done in it, steps), the state of
the generator that ordered the epoch (as it was when the epoch began, so the same order is drawn
again), the global RNG (dropout) and what it has learned so far (history, best weights). A
resumed run loads it, redraws the epoch's order, skips the batches already trained and goes on:
each example is trained on as many times as in an uninterrupted run, and with the same seed the
final weights are the same (a test checks it bit for bit).

A checkpoint is written as two files, both atomically: ``step-<n>.pt`` (``torch.save`` of
tensors, numbers and lists only, loaded back with ``weights_only=True``: nothing is unpickled)
and then ``checkpoint.json``, which names it with its sha256. A crash between the two leaves the
previous pair intact; a payload whose hash does not match is never loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

from lifelong.core.atomic import atomic_write_bytes, atomic_write_text

POINTER = "checkpoint.json"


class Checkpointer:
    """Saves and loads the state of one training run in ``folder``.

    Parameters
    ----------
    folder
        Where this run's checkpoints live (one folder per run: the caller keys it by what the
        run trains, so a checkpoint never resumes another run).
    every
        Steps between checkpoints.
    """

    def __init__(self, folder: Path, every: int) -> None:
        if every < 1:
            raise ValueError("a checkpoint every 0 steps")
        self.folder = folder
        self.every = every

    def due(self, step: int) -> bool:
        """Whether a checkpoint is taken after global step ``step`` (1-based)."""
        return step % self.every == 0

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` as the run's latest checkpoint (see the module's docstring)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save(state, buffer)
        payload = buffer.getvalue()
        name = f"step-{state['step']}.pt"
        atomic_write_bytes(self.folder / name, payload)
        pointer = {"file": name, "sha256": hashlib.sha256(payload).hexdigest()}
        atomic_write_text(self.folder / POINTER, json.dumps(pointer))
        for old in self.folder.glob("step-*.pt"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def load(self) -> dict[str, Any] | None:
        """The latest checkpoint, or ``None`` when there is none or it fails its sha256."""
        try:
            pointer = json.loads((self.folder / POINTER).read_text())
            payload = (self.folder / pointer["file"]).read_bytes()
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if hashlib.sha256(payload).hexdigest() != pointer.get("sha256"):
            return None
        state: dict[str, Any] = torch.load(io.BytesIO(payload), weights_only=True)
        return state

    def clear(self) -> None:
        """Remove the run's checkpoints (its version is registered: nothing to resume)."""
        for path in (*self.folder.glob("step-*.pt"), self.folder / POINTER):
            path.unlink(missing_ok=True)
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()
