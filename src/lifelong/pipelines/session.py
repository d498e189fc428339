"""Loading a project's models from its registry."""

from __future__ import annotations

from pathlib import Path

from lifelong.models import ModelBundle
from lifelong.project import Project
from lifelong.registry import Registry


def embedding_cache(project: Project) -> Path:
    """Where sentence embeddings are cached: once per text, across all versions."""
    return project.state_dir / "cache"


def load_bundle(project: Project, registry: Registry, ref: str) -> ModelBundle:
    """Load a version (label or alias) after the registry checked its artifact's sha256."""
    return ModelBundle.load(registry.artifact_path(ref), cache_dir=embedding_cache(project))
