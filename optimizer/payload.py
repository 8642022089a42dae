"""Alertmanager's webhook payload, version 4.

Alertmanager sends ``endsAt`` as ``0001-01-01T00:00:00Z`` for firing alerts; it
parses as ``datetime.min`` in UTC and means "no end known", never "ended".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

ZERO_TIME = datetime.min.replace(tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    # datetime.UTC instead of pydantic's own tzinfo: arithmetic, hashing and formatting
    # then stay in C, which the decision loop does several times per alert.
    if value.utcoffset() == _NO_OFFSET:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"the time {value.isoformat()} is out of range in UTC") from None


_NO_OFFSET = timedelta(0)
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class Alert(BaseModel):
    """One alert of a notification, with its own status."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: UtcDatetime = Field(alias="startsAt")
    ends_at: UtcDatetime = Field(default=ZERO_TIME, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(min_length=1)

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


class Notification(BaseModel):
    """The body of one webhook request: a snapshot of an alert group."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    version: Literal["4"]
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[Alert]
