"""Creating a new project folder: config.yml, data/, models/, inbox/ and sample data."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from lifelong.config import CONFIG_FILE, new_salt, parse_config, read_config_mapping
from lifelong.core.atomic import atomic_write_text
from lifelong.core.errors import ConfigError

TEMPLATE_PACKAGE = "lifelong.project_template"
SAMPLE_FOLDERS = ("data", "batches")


def _copy_tree(source: resources.abc.Traversable, target: Path) -> int:
    copied = 0
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name.startswith("__"):
            continue
        if item.is_dir():
            copied += _copy_tree(item, target / item.name)
        else:
            (target / item.name).write_bytes(item.read_bytes())
            copied += 1
    return copied


def init_project(root: Path, *, sample_data: bool = True, task: str = "text") -> list[Path]:
    """Create a project in ``root`` (created if missing) and return the paths created.

    Refuses a folder that already holds a ``config.yml``, so an existing project is never
    overwritten. ``sample_data=False`` leaves ``data/`` empty. ``task="tabular"`` writes the
    tabular template: a config predicting a column, and a sample table.
    """
    if (root / CONFIG_FILE).exists():
        raise ConfigError(
            f"{root / CONFIG_FILE} exists already; not overwriting a project",
            hint="choose another folder, or remove it first",
        )
    common = resources.files(TEMPLATE_PACKAGE)
    template = common / "tabular" if task == "tabular" else common
    root.mkdir(parents=True, exist_ok=True)
    created = []
    for folder in ("data", "models", "inbox"):
        (root / folder).mkdir(exist_ok=True)
        created.append(root / folder)
    if sample_data:
        for folder in SAMPLE_FOLDERS:
            _copy_tree(template / folder, root / folder)
            created.append(root / folder)
    (root / ".gitignore").write_bytes((common / "gitignore").read_bytes())
    text = (template / "config.yml.tmpl").read_text(encoding="utf-8")
    config_path = root / CONFIG_FILE
    atomic_write_text(config_path, text.replace("{salt}", new_salt()))
    parse_config(read_config_mapping(config_path), where=str(config_path))
    created.append(config_path)
    return created
