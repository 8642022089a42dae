"""The thresholds file (``prometheus/thresholds.yml``) that the alert rules are rendered from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from leitstand.durations import parse_duration

# Bucket boundaries of http_request_duration_seconds; the latency SLO counts requests
# through the bucket at its threshold, so the threshold has to be one of them.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


# Latency quantiles that the recording rules compute.
RECORDED_QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.95, 0.99)


def _milliseconds(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


# A duration written as in Prometheus (``5m``), held in milliseconds.
Duration = Annotated[int, BeforeValidator(_milliseconds), Field(ge=0)]
Percent = Annotated[float, Field(ge=0, le=100)]
Severity = Literal["warning", "critical"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Alert(_Strict):
    severity: Severity
    for_: Duration = Field(alias="for")


class PercentAlert(Alert):
    threshold_percent: Percent


class LatencyAlert(Alert):
    quantile: float
    threshold_seconds: float = Field(gt=0)

    @model_validator(mode="after")
    def _recorded_quantile(self) -> LatencyAlert:
        if self.quantile not in RECORDED_QUANTILES:
            raise ValueError(
                f"quantile {self.quantile} is not recorded; use one of {list(RECORDED_QUANTILES)}"
            )
        return self


class SaturationAlert(PercentAlert):
    in_flight_per_worker: int = Field(ge=1)


class RateAlert(Alert):
    threshold_per_second: float = Field(ge=0)


class CacheHitRatioAlert(PercentAlert):
    min_lookups_per_second: float = Field(ge=0)


class CacheEvictingAlert(RateAlert):
    full_percent: Percent


class CountAlert(Alert):
    threshold_count: float = Field(ge=0)


class Alerts(_Strict):
    LeitstandTargetDown: Alert
    LeitstandTargetAbsent: Alert
    LeitstandHighErrorRatio: PercentAlert
    LeitstandHighLatency: LatencyAlert
    LeitstandSaturation: SaturationAlert
    LeitstandRequestsShed: RateAlert
    LeitstandHostHighCpu: PercentAlert
    LeitstandHostHighMemory: PercentAlert
    LeitstandHostLowDisk: PercentAlert
    LeitstandCacheHitRatioLow: CacheHitRatioAlert
    LeitstandCacheEvicting: CacheEvictingAlert
    LeitstandOptimizerFailing: CountAlert


class BurnRateTier(_Strict):
    """One window pair of a multi-window burn-rate alert."""

    severity: Severity
    long: Duration
    short: Duration
    factor: float = Field(gt=0)
    for_: Duration = Field(alias="for")

    @model_validator(mode="after")
    def _short_within_long(self) -> BurnRateTier:
        if not 0 < self.short < self.long:
            raise ValueError("the short window must be shorter than the long window")
        return self


class Slos(_Strict):
    period: Duration
    availability_objective_percent: float = Field(gt=0, lt=100)
    latency_objective_percent: float = Field(gt=0, lt=100)
    latency_threshold_seconds: float
    burn_rate_tiers: list[BurnRateTier] = Field(min_length=1)

    @model_validator(mode="after")
    def _reachable(self) -> Slos:
        if self.latency_threshold_seconds not in LATENCY_BUCKETS:
            raise ValueError(
                f"latency_threshold_seconds {self.latency_threshold_seconds} is not a bucket "
                f"boundary of http_request_duration_seconds; use one of {list(LATENCY_BUCKETS)}"
            )
        # A burn rate whose error ratio exceeds 100 % can never be reached.
        for objective in (self.availability_objective_percent, self.latency_objective_percent):
            for tier in self.burn_rate_tiers:
                if tier.factor * (100 - objective) / 100 >= 1:
                    raise ValueError(
                        f"burn-rate factor {tier.factor} can never fire with objective "
                        f"{objective} %: factor x (1 - objective) must stay below 1"
                    )
        return self

    @property
    def availability_budget(self) -> float:
        """The share of requests that may fail, e.g. 0.005 for 99.5 %."""
        return round(1 - self.availability_objective_percent / 100, 12)

    @property
    def latency_budget(self) -> float:
        """The share of requests that may be slower than the latency threshold."""
        return round(1 - self.latency_objective_percent / 100, 12)


class Jobs(_Strict):
    """Scrape job names of the three parts, as the Prometheus configuration names them."""

    erp: str = "erp"
    node: str = "node"
    optimizer: str = "optimizer"


class Thresholds(_Strict):
    scrape_interval: Duration = Field(gt=0)
    runbook_base_url: str
    jobs: Jobs = Jobs()
    min_request_rate: float = Field(ge=0)
    alerts: Alerts
    slos: Slos


def load_thresholds(path: Path) -> Thresholds:
    """Read and validate a thresholds file; errors name the file and the offending key."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ThresholdsError(f"{path}: cannot read the thresholds file: {error}") from error
    except yaml.YAMLError as error:
        raise ThresholdsError(f"{path}: invalid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ThresholdsError(f"{path}: expected a mapping at the top level")
    try:
        return Thresholds.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{path}: {'.'.join(str(part) for part in item['loc']) or '(top level)'}: {item['msg']}"
            for item in error.errors()
        ]
        raise ThresholdsError("\n".join(problems)) from None


class ThresholdsError(ValueError):
    """An invalid thresholds file, with one line per problem."""
