"""Building the combined trigger of ``policy.triggers`` in ``config.yml``."""

from __future__ import annotations

from lifelong import config
from lifelong.monitoring.triggers import (
    Combined,
    DriftTrigger,
    PerformanceTrigger,
    TimeTrigger,
    Trigger,
    VolumeTrigger,
)


def build_trigger(settings: config.Triggers) -> Combined:
    """The enabled triggers (null sections are off), combined by ``settings.mode``.

    >>> build_trigger(config.Triggers(drift=None, performance=None)).name
    'any_of(time, volume)'
    """
    triggers: list[Trigger] = []
    if settings.time is not None:
        triggers.append(TimeTrigger(settings.time.every))
    if settings.volume is not None:
        triggers.append(VolumeTrigger(settings.volume.min_fraction, settings.volume.min_count))
    if (performance := settings.performance) is not None:
        triggers.append(
            PerformanceTrigger(
                performance.floor,
                performance.min_feedback,
                performance.window,
                performance.delta,
                performance.max_mae_ratio,
            )
        )
    if (drift := settings.drift) is not None:
        triggers.append(
            DriftTrigger(drift.psi, drift.ks_alpha, drift.chi2_alpha, drift.min_samples, drift.bins)
        )
    return Combined(settings.mode, triggers)
