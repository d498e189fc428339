"""A ``Project``: a root folder and its validated config, passed explicitly everywhere.

There is no global state: commands find the project (the nearest folder upwards holding
``config.yml``) and hand it to library calls, which resolve every relative path against its root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lifelong.config import CONFIG_FILE, Config, load_config
from lifelong.core.errors import ConfigError

STATE_DIR = ".lifelong"
STORE_URL_ENV = "LIFELONG_STORE_URL"


@dataclass(frozen=True)
class Project:
    """A lifelong project on disk."""

    root: Path
    config: Config

    @classmethod
    def load(cls, start: Path | None = None, overrides: list[str] | None = None) -> Project:
        """Find ``config.yml`` in ``start`` or its parents and load it."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_FILE).is_file():
                return cls(root=folder, config=load_config(folder / CONFIG_FILE, overrides))
        raise ConfigError(
            f"no {CONFIG_FILE} in {here} or any parent folder",
            hint="run `lifelong init DIR` to create a project, or pass --project DIR",
        )

    def path(self, value: str | Path) -> Path:
        """Resolve a config path against the project root (absolute paths stay)."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.root / path

    @property
    def data_paths(self) -> list[Path]:
        return [self.path(p) for p in self.config.data]

    @property
    def test_paths(self) -> list[Path]:
        return [self.path(p) for p in self.config.test]

    @property
    def trusted_paths(self) -> list[Path]:
        return [self.path(p) for p in self.config.trusted]

    @property
    def inbox(self) -> Path:
        return self.path(self.config.inbox)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def artifacts_dir(self) -> Path:
        return self.path(self.config.store.artifacts)

    @property
    def store_url(self) -> str:
        """The registry URL: ``LIFELONG_STORE_URL`` if set, else config; a relative SQLite
        path is taken relative to the project root, not the working directory."""
        url = os.environ.get(STORE_URL_ENV) or self.config.store.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix:
            return prefix + str(self.path(url[len(prefix) :]))
        return url
