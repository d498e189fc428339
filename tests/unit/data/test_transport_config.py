"""Kafka and NATS source settings: secrets only from the environment, keys lifelong owns
refused, and a missing credential is an error naming the variable."""

from __future__ import annotations

import pytest

from lifelong.config import SourceSpec
from lifelong.core.errors import ConfigError
from lifelong.data.sources import KafkaSource, NatsSource
from lifelong.data.sources.factory import build_transport


def test_a_secret_in_the_kafka_config_is_refused() -> None:
    with pytest.raises(ValueError, match=r"sasl.password is a secret.*secrets_env"):
        SourceSpec.model_validate({"kafka": {"config": {"sasl.password": "hunter2"}}})


@pytest.mark.parametrize("key", ["enable.auto.commit", "group.id", "bootstrap.servers"])
def test_keys_lifelong_sets_itself_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match=f"{key} is set by lifelong"):
        SourceSpec.model_validate({"kafka": {"config": {key: "x"}}})


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SourceSpec.model_validate(
        {
            "kafka": {
                "config": {"security.protocol": "SASL_SSL", "sasl.username": "me"},
                "secrets_env": {"sasl.password": "TEST_KAFKA_PASSWORD"},
            }
        }
    )
    monkeypatch.delenv("TEST_KAFKA_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="environment variable TEST_KAFKA_PASSWORD is not set"):
        build_transport(spec, "sources.1")
    monkeypatch.setenv("TEST_KAFKA_PASSWORD", "s3cret")
    source = build_transport(spec, "sources.1")
    assert isinstance(source, KafkaSource)
    assert source.config["sasl.password"] == "s3cret"
    assert source.config["sasl.username"] == "me"


def test_a_nats_password_env_that_is_unset_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SourceSpec.model_validate({"nats": {"user": "me", "password_env": "TEST_NATS_PW"}})
    monkeypatch.delenv("TEST_NATS_PW", raising=False)
    with pytest.raises(ConfigError, match=r"sources.2.nats.password_env: .*TEST_NATS_PW"):
        build_transport(spec, "sources.2")
    monkeypatch.setenv("TEST_NATS_PW", "pw")
    source = build_transport(spec, "sources.2")
    assert isinstance(source, NatsSource)
    assert source.connect_options == {"user": "me", "password": "pw"}


def test_a_source_is_exactly_one_kind() -> None:
    with pytest.raises(ValueError, match="got \\['redis', 'kafka'\\]"):
        SourceSpec.model_validate({"redis": {}, "kafka": {}})
