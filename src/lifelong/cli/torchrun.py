"""``lifelong train --nproc N``: run the same command again as N local torchrun workers.

The command re-launches itself under ``python -m torch.distributed.run`` (torchrun) with a
standalone rendezvous on this machine; each worker sees torchrun's ``RANK`` / ``WORLD_SIZE``
variables and trains its shard (see :mod:`lifelong.training.distributed`). Several machines
skip this module: run ``torchrun ... -m lifelong.cli.main train`` on each (README).
"""

from __future__ import annotations

import os
import subprocess
import sys

from lifelong.cli.common import GlobalOptions


def worker_args(options: GlobalOptions, command: list[str]) -> list[str]:
    """The ``lifelong`` arguments each worker runs: the global options, then ``command``.

    >>> worker_args(GlobalOptions(None, ["training.epochs=2"]), ["train", "--json"])
    ['--set', 'training.epochs=2', 'train', '--json']
    """
    project = [] if options.project_dir is None else ["--project", str(options.project_dir)]
    overrides = [arg for item in options.overrides for arg in ("--set", item)]
    return [*project, *overrides, *command]


def launch(nproc: int, max_restarts: int, args: list[str]) -> int:
    """Run ``lifelong ARGS`` as ``nproc`` torchrun workers here; torchrun's exit code.

    One intra-op thread per worker (``OMP_NUM_THREADS=1`` unless set): N workers on N cores,
    not N x cores threads fighting over them. Python's fault handler is on in every worker
    (``PYTHONFAULTHANDLER=1`` unless set): a worker killed by a signal (a segmentation fault
    in a native library, say) prints where each of its threads was, where torchrun alone
    reports only the signal.
    """
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        f"--max-restarts={max_restarts}",
        "--module",
        "lifelong.cli.main",
        *args,
    ]
    env = {"OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1", **os.environ}
    return subprocess.run(command, env=env, check=False).returncode
