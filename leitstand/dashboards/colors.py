"""Panel colours taken from the alert thresholds, so a panel turns red when its alert would fire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias

from leitstand.dashboards.model import Json, alert_steps
from leitstand.thresholds import Thresholds

Fires: TypeAlias = Literal["above", "at_or_above", "below"]

# alert -> (the threshold in the unit the panel shows, the side on which the alert fires)
ALERT_LIMITS: dict[str, tuple[Callable[[Thresholds], float], Fires]] = {
    "LeitstandTargetDown": (lambda t: 1.0, "below"),  # up == 0 fires; 1 is healthy
    "LeitstandHighErrorRatio": (
        lambda t: t.alerts.LeitstandHighErrorRatio.threshold_percent / 100,
        "above",
    ),
    "LeitstandHighLatency": (lambda t: t.alerts.LeitstandHighLatency.threshold_seconds, "above"),
    "LeitstandSaturation": (
        lambda t: t.alerts.LeitstandSaturation.threshold_percent / 100,
        "above",
    ),
    "LeitstandRequestsShed": (
        lambda t: t.alerts.LeitstandRequestsShed.threshold_per_second,
        "above",
    ),
    "LeitstandHostHighCpu": (
        lambda t: t.alerts.LeitstandHostHighCpu.threshold_percent / 100,
        "above",
    ),
    "LeitstandHostHighMemory": (
        lambda t: t.alerts.LeitstandHostHighMemory.threshold_percent / 100,
        "above",
    ),
    "LeitstandHostLowDisk": (
        lambda t: t.alerts.LeitstandHostLowDisk.threshold_percent / 100,
        "below",
    ),
    "LeitstandCacheHitRatioLow": (
        lambda t: t.alerts.LeitstandCacheHitRatioLow.threshold_percent / 100,
        "below",
    ),
    "LeitstandCacheEvicting": (
        lambda t: t.alerts.LeitstandCacheEvicting.full_percent / 100,
        "at_or_above",
    ),
    "LeitstandOptimizerFailing": (
        lambda t: t.alerts.LeitstandOptimizerFailing.threshold_count,
        "above",
    ),
}


def steps_for(thresholds: Thresholds, alert: str) -> list[Json]:
    """Threshold steps that match ``alert``'s threshold, side and severity."""
    limit, fires = ALERT_LIMITS[alert]
    severity = getattr(thresholds.alerts, alert).severity
    return alert_steps(limit(thresholds), fires, severity)
