"""Shared fixtures: a registry URL on every back end, model bundles to register, and a tiny,
easy synthetic intent data set with a small fast pipeline.

``store_url`` runs a test once on SQLite (a file in the test's tmp folder) and once on
PostgreSQL (a fresh database created for the test and dropped after). When PostgreSQL does not
answer, its runs are skipped with the reason, except under CI (``CI`` set), where they fail:
a CI run that silently skipped the shared-store tests would prove nothing.

``transport`` runs a source test once per transport: a real Redis, librdkafka's mock Kafka
cluster, a real NATS server with JetStream (skipped when missing, failed in CI, likewise).

Hypothesis runs without its per-example deadline: the suite runs on shared 2-core machines where
one example of a property test that trains or hashes can take seconds under load, and speed is
measured in ``bench/``, never asserted by a test.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from lifelong import scaffold
from lifelong.config import NGrams, Pipeline, Training
from lifelong.core.types import Example
from lifelong.registry import Registry, open_registry
from lifelong.testing.transports import (
    KafkaMock,
    KafkaTransport,
    NatsTransport,
    RedisTransport,
    Transport,
)

settings.register_profile("lifelong", deadline=None)
settings.load_profile("lifelong")

_MINILM_INSTALLED = scaffold.minilm_installed


@pytest.fixture(scope="session", autouse=True)
def _ngram_projects() -> Iterator[None]:
    """``lifelong init`` adds MiniLM when the encoder is installed; the suite's projects train
    hashed n-grams alone (MiniLM costs seconds a project). Session-wide, so module fixtures
    that init a project see it too; tests marked ``encoder`` get the real check back, and a
    subprocess that runs ``lifelong init`` itself (the quickstart's test) is not patched."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scaffold, "minilm_installed", lambda: False)
        yield


@pytest.fixture(autouse=True)
def _encoder_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("encoder") is not None:
        monkeypatch.setattr(scaffold, "minilm_installed", _MINILM_INSTALLED)


PG_ADMIN_URL = os.environ.get(
    "LIFELONG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

BundleFactory = Callable[..., Path]


def _pg_unreachable_reason() -> str | None:
    engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except OperationalError as error:
        return f"PostgreSQL server missing at {PG_ADMIN_URL}: {error.orig}"
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The maintenance database URL; skips (or fails under CI) without a server."""
    reason = _pg_unreachable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database, dropped after the test."""
    name = f"lifelong_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A registry URL, once per back end."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'registry.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def registry(store_url: str, tmp_path: Path) -> Iterator[Registry]:
    """An open registry (fresh store, empty artifacts folder), closed after the test."""
    with open_registry(store_url, tmp_path / "artifacts") as opened:
        yield opened


@pytest.fixture
def make_bundle(tmp_path: Path) -> BundleFactory:
    """Write a model-bundle folder; ``make_bundle(seed)`` gives distinct content per seed."""
    counter = iter(range(1_000_000))

    def make(seed: object = 0, files: dict[str, bytes] | None = None) -> Path:
        folder = tmp_path / "bundles" / f"b{next(counter)}"
        folder.mkdir(parents=True)
        contents = files or {
            "weights.safetensors": f"weights {seed}".encode() * 100,
            "spec.json": f'{{"seed": "{seed}"}}'.encode(),
        }
        for name, data in contents.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        return folder

    return make


@pytest.fixture
def examples() -> list[Example]:
    """A small labeled data set."""
    return [
        Example.make("Book a table for two", "restaurant", source="nlu.yml", line=3),
        Example.make("I want to eat sushi", "restaurant", source="nlu.yml", line=4),
        Example.make("What's the weather", "weather", timestamp="2024-05-01T10:00:00Z"),
        Example.make("Will it rain tomorrow?", "weather", meta={"lang": "en"}),
        Example.make("hello", "greet"),
    ]


KEYWORDS = {
    "weather": ["weather", "rain", "sunny", "forecast", "temperature"],
    "music": ["play", "song", "music", "album", "playlist"],
    "booking": ["book", "table", "reservation", "restaurant", "dinner"],
    "alarm": ["alarm", "wake", "clock", "morning", "snooze"],
    "balance": ["balance", "account", "money", "bank", "savings"],
}
FILLER = ["please", "can", "you", "the", "my", "a", "for", "me", "now", "today", "i", "want"]


def _make_examples(labels: list[str], per_label: int, seed: int) -> list[Example]:
    """``per_label`` texts per label: two of its keywords among three filler words."""
    rng = random.Random(seed)
    examples = []
    for label in labels:
        for _ in range(per_label):
            words = rng.sample(KEYWORDS[label], 2) + rng.sample(FILLER, 3)
            rng.shuffle(words)
            examples.append(Example.make(" ".join(words), label))
    return examples


MakeExamples = Callable[[list[str], int, int], list[Example]]


@pytest.fixture
def make_examples() -> MakeExamples:
    """Builder of synthetic examples: ``make_examples(labels, per_label, seed)``."""
    return _make_examples


@pytest.fixture
def old_labels() -> list[str]:
    return ["alarm", "booking", "music", "weather"]


@pytest.fixture
def small_pipeline() -> Pipeline:
    return Pipeline(ngrams=NGrams(buckets=1024, dim=16), hidden=32, dropout=0.1)


@pytest.fixture
def small_training() -> Training:
    return Training(epochs=8, batch_size=16, lr=0.01, sparse_lr=0.1, seed=0, patience=3)


# -- serving: trained models in a registry ---------------------------------------------------

SERVED_LABELS = ["alarm", "booking", "music", "weather"]


@pytest.fixture(scope="session")
def trained_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny trained model bundles (different seeds, so different weights): session-wide."""
    from lifelong.training import train

    pipeline = Pipeline(ngrams=NGrams(buckets=4096, dim=16), hidden=32)
    folders = []
    for seed in (0, 1):
        outcome = train(
            _make_examples(SERVED_LABELS, 30, seed),
            _make_examples(SERVED_LABELS, 5, seed + 100),
            pipeline=pipeline,
            training=Training(epochs=3, batch_size=16, lr=0.01, sparse_lr=0.1, seed=seed),
            progress=False,
        )
        folder = tmp_path_factory.mktemp("bundles") / f"model{seed}"
        outcome.bundle.save(folder)
        folders.append(folder)
    return folders


ServedRegistry = Callable[[str, Path], Registry]


@pytest.fixture(scope="session")
def served_registry(trained_bundles: list[Path]) -> ServedRegistry:
    """``served_registry(url, artifacts)``: a registry holding versions 1.0 and 2.0 (the two
    trained bundles) and 1.1 (a fine-tune edge of 1.0, same weights), champion -> 1.0. The
    caller closes it."""

    def make(url: str, artifacts: Path) -> Registry:
        registry = open_registry(url, artifacts)
        snap = registry.put_snapshot(_make_examples(SERVED_LABELS, 2, 7)).id
        registry.register(trained_bundles[0], snapshot_id=snap, config={})
        registry.register(trained_bundles[1], snapshot_id=snap, config={})
        registry.register(
            trained_bundles[1], snapshot_id=snap, config={}, parent="1.0", edge="finetune"
        )
        registry.set_alias("champion", "1.0", reason="first model", command="test")
        return registry

    return make


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask of 0, under which anything not made private explicitly is world-readable."""
    previous = os.umask(0)
    yield
    os.umask(previous)


TRANSPORT_REDIS_URL = os.environ.get(
    "LIFELONG_TEST_TRANSPORT_REDIS_URL", "redis://127.0.0.1:6379/0"
)
NATS_URL = os.environ.get("LIFELONG_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _unreachable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def kafka_mock() -> KafkaMock:
    pytest.importorskip("confluent_kafka")
    return KafkaMock()


@pytest.fixture(params=["redis", "kafka", "nats"])
def transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    harness: Transport
    if request.param == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(TRANSPORT_REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as error:
            _unreachable(f"Redis unreachable at {TRANSPORT_REDIS_URL}: {error}")
        harness = RedisTransport(TRANSPORT_REDIS_URL)
    elif request.param == "kafka":
        harness = KafkaTransport(request.getfixturevalue("kafka_mock"))
    else:
        pytest.importorskip("nats")
        host, port = NATS_URL.removeprefix("nats://").split(":")
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
        except OSError as error:
            _unreachable(f"NATS unreachable at {NATS_URL}: {error}")
        harness = NatsTransport(NATS_URL)
    yield harness
    harness.cleanup()
