"""``policy.triggers`` in config.yml and the trigger built from it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from lifelong.config import parse_config
from lifelong.core.errors import ConfigError
from lifelong.monitoring import TriggerContext, build_trigger


def triggers(raw: dict[str, Any]) -> Any:
    return parse_config({"policy": {"triggers": raw}}).policy.triggers


def test_defaults_enable_every_trigger_in_any_mode() -> None:
    assert build_trigger(triggers({})).name == "any_of(time, volume, performance, drift)"


def test_null_disables_a_section_and_durations_parse(now: datetime) -> None:
    settings = triggers(
        {"time": {"every": "30m"}, "volume": None, "performance": None, "drift": None}
    )
    assert settings.time.every == timedelta(minutes=30)
    trigger = build_trigger(settings)
    assert trigger.name == "any_of(time)"
    context = TriggerContext(now=now, last_trained_at=now - timedelta(minutes=31))
    assert trigger.evaluate(context).fired


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("24h", timedelta(days=1)),
        ("7d", timedelta(weeks=1)),
        ("1.5h", timedelta(minutes=90)),
        ("PT2H", timedelta(hours=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert triggers({"time": {"every": text}}).time.every == expected


def test_all_mode_and_settings_reach_the_triggers() -> None:
    settings = triggers(
        {"mode": "all", "volume": {"min_fraction": None, "min_count": 50}, "drift": {"psi": 0.3}}
    )
    trigger = build_trigger(settings)
    assert trigger.name.startswith("all_of(")
    volume, drift = trigger.triggers[1], trigger.triggers[3]
    assert (volume.min_count, volume.min_fraction) == (50, None)
    assert drift.psi_threshold == 0.3


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"volume": {"min_fract": 0.1}}, r"policy\.triggers\.volume\.min_fract: unknown key"),
        ({"timer": {"every": "1h"}}, r"policy\.triggers\.timer: unknown key"),
        ({"time": {"every": "soon"}}, r"policy\.triggers\.time\.every: .*such as 30m, 24h or 7d"),
        ({"time": {"every": "0s"}}, r"every must be a positive duration"),
        ({"volume": {"min_fraction": None}}, r"set min_fraction or min_count"),
        ({"performance": {"floor": 1.5}}, r"policy\.triggers\.performance\.floor"),
        ({"mode": "most"}, r"policy\.triggers\.mode"),
    ],
)
def test_bad_trigger_settings_name_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        triggers(raw)


def test_a_dumped_config_reads_back_unchanged() -> None:
    config = parse_config({"policy": {"triggers": {"time": {"every": "36h"}}}})
    assert parse_config(config.model_dump(mode="json")) == config
