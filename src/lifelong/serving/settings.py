"""What a server needs to know, gathered once: store, artifacts, feedback log, limits, token.

:class:`ServeSettings` is built from a project (``config.yml``'s ``server:`` section, the
environment, CLI flags) by :meth:`ServeSettings.from_project`, or directly in tests. The admin
and feedback tokens are read from the environment variables ``server.admin_token_env`` and
``server.feedback_token_env`` name, so they never have to be written into a config file; the
key of the logged text hashes comes from the project's state folder or ``LIFELONG_HASH_SECRET``
(:func:`~lifelong.core.secret.hash_secret`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lifelong.config import Server
from lifelong.core.secret import hash_secret
from lifelong.data.sources import feedback_log
from lifelong.project import Project
from lifelong.registry import CHAMPION


@dataclass(frozen=True)
class ServeSettings:
    """Settings of one server process.

    Parameters
    ----------
    store_url, artifacts_dir
        The registry to serve from.
    server
        The ``server:`` config section (limits, polling, logging, shadow alias).
    feedback_log
        The JSON Lines file ``/feedback`` appends to; ``None`` turns feedback off.
    admin_token
        The bearer token of the admin endpoints; ``None`` turns them off.
    feedback_token
        The bearer token ``/feedback`` requires; ``None`` makes it refuse every correction.
    alias
        The alias served (``champion``).
    hash_secret
        The key of the text hashes in the prediction log. Settings built directly get a fresh
        random one: their hashes match only within the process.
    """

    store_url: str
    artifacts_dir: Path
    server: Server = field(default_factory=Server)
    feedback_log: Path | None = None
    admin_token: str | None = None
    feedback_token: str | None = None
    alias: str = CHAMPION
    task: Literal["text", "tabular"] = "text"
    hash_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    @classmethod
    def from_project(
        cls,
        project: Project,
        *,
        host: str | None = None,
        port: int | None = None,
        shadow: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ServeSettings:
        """Settings of ``project``; ``host``, ``port`` and ``shadow`` override the config."""
        env = os.environ if env is None else env
        changes = {"host": host, "port": port, "shadow": shadow}
        server = project.config.server.model_copy(
            update={k: v for k, v in changes.items() if v is not None}
        )
        return cls(
            store_url=project.store_url,
            artifacts_dir=project.artifacts_dir,
            server=server,
            feedback_log=feedback_log(project),
            admin_token=env.get(server.admin_token_env) or None,
            feedback_token=env.get(server.feedback_token_env) or None,
            hash_secret=hash_secret(project.state_dir, env),
            task=project.config.task,
        )
