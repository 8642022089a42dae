"""Decision records: what the optimizer decided for one alert on one target, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Result = Literal[
    "executed",
    "dry_run",
    "duplicate",
    "cooldown",
    "budget",
    "stale",
    "conflict",
    "resolved",
    "rejected",
    "failed",
    "no_rule",
]
ActionStatus = Literal["running", "succeeded", "failed", "reverted", "superseded", "revert_failed"]

# Results that count as acting, for duplicates, cooldowns and budgets.
ACTED: frozenset[Result] = frozenset({"executed", "dry_run"})


@dataclass(slots=True)
class Decision:
    """One row of the audit.

    ``received_at`` is when the notification arrived and ``recorded_at`` when the
    decision was made, so their difference is the time spent deciding. A ``failed``
    row written after an action failed points at its decision through ``parent_id``.
    """

    result: Result
    reason: str
    received_at: datetime
    recorded_at: datetime
    rule: str = ""
    action: str = ""
    knob: str = ""
    target: str = ""
    alertname: str = ""
    fingerprint: str = ""
    starts_at: datetime | None = None
    alert_status: str = ""
    receiver: str = ""
    group_key: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    parent_id: int | None = None
    duration_seconds: float | None = None
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "result": self.result,
            "reason": self.reason,
            "rule": self.rule or None,
            "action": self.action or None,
            "knob": self.knob or None,
            "target": self.target or None,
            "alertname": self.alertname or None,
            "fingerprint": self.fingerprint or None,
            "starts_at": None if self.starts_at is None else self.starts_at.isoformat(),
            "alert_status": self.alert_status or None,
            "receiver": self.receiver or None,
            "group_key": self.group_key or None,
            "labels": self.labels,
            "parent_id": self.parent_id,
            "received_at": self.received_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "duration_seconds": self.duration_seconds,
        }


@dataclass(slots=True)
class ActionRecord:
    """The state of one executed action: its change, its outcome and its verification."""

    rule: str
    kind: str
    knob: str
    target: str
    fingerprint: str
    starts_at: datetime
    started_at: datetime
    # Set when the decision is written to the audit.
    decision_id: int = 0
    status: ActionStatus = "running"
    change_id: str | None = None
    value: float | None = None
    previous: float | None = None
    expires_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    error: str | None = None
    verification: Literal["improved", "not_improved", "error"] | None = None
    verified_at: datetime | None = None
    reverted_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "status": self.status,
            "change_id": self.change_id,
            "value": self.value,
            "previous": self.previous,
            "expires_at": iso(self.expires_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "duration_seconds": self.duration_seconds,
            "error": self.error,
            "verification": self.verification,
            "verified_at": iso(self.verified_at),
            "reverted_at": iso(self.reverted_at),
        }
