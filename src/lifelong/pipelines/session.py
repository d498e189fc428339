"""Loading a project's models from its registry."""

from __future__ import annotations

from pathlib import Path

from lifelong.core.errors import NotFound
from lifelong.models import ModelBundle
from lifelong.project import Project
from lifelong.registry import ModelVersion, Registry


def embedding_cache(project: Project) -> Path:
    """Where sentence embeddings are cached: once per text, across all versions."""
    return project.state_dir / "cache"


def load_bundle(project: Project, registry: Registry, ref: str) -> ModelBundle:
    """Load a version (label or alias) after the registry checked its artifact's sha256."""
    return ModelBundle.load(registry.artifact_path(ref), cache_dir=embedding_cache(project))


def resolve_model(registry: Registry, ref: str) -> ModelVersion:
    """The version ``ref`` names, or an error that says what to do when there is none yet.

    A registry without any version gets "no model yet: run `lifelong train` first" rather
    than the alias lookup's "neither a version nor an alias"; one with versions but no
    champion says how to promote one.
    """
    if not registry.versions():
        raise NotFound(
            "no model yet: run `lifelong train` first",
            hint="`lifelong train` trains one and makes it the champion when it clears the gate",
        )
    if ref == "champion" and ref not in registry.store.aliases():
        raise NotFound(
            "no champion yet: no version has been promoted",
            hint="`lifelong models list` shows the versions; pass one, or promote one with "
            "`lifelong models promote VERSION`",
        )
    return registry.resolve(ref)
