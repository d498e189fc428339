"""A test hook: die by ``SIGKILL`` at a named point of a cycle, as a killed process would.

Crash tests run ``lifelong update`` as a subprocess with ``LIFELONG_CRASH_AT=<point>``; the
process kills itself when it reaches that point, with no cleanup (no ``finally``, no ``atexit``,
no socket closed politely), then the test checks that the next cycle loses and doubles nothing.
The points (``POINTS``) are the boundaries of the two-phase contract of the sources: after the
sources were read, after the ingested file was written, after the snapshot was committed, inside
a source's commit, after the sources were acknowledged. The trainer adds one point per
optimizer step, ``step:<n>`` (after step ``n`` and its checkpoint, if one is due), for the
resume tests of :mod:`lifelong.training.checkpoint`. Unset (always, outside tests) it costs one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import sys

CRASH_ENV = "LIFELONG_CRASH_AT"
POINTS = ("read", "written", "snapshot", "source-commit", "committed")


def crash_point(name: str) -> None:
    """Kill this process with ``SIGKILL`` if ``LIFELONG_CRASH_AT`` names this point."""
    if os.environ.get(CRASH_ENV) == name:
        sys.stderr.write(f"lifelong: killed at crash point {name!r} ({CRASH_ENV})\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
