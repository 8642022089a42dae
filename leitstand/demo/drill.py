"""A drill on a live stack: slow forecasts, and the loop that should cure them.

The drill makes every forecast computation slow through the app's fault
injection and lets the forecast cache churn (a short TTL), so most forecast
requests compute. Prometheus records the 95th percentile latency rise and fires
``LeitstandHighLatency``; Alertmanager sends it to the optimizer, which turns on
degraded mode; the app serves the last computed forecasts instead of computing;
latency falls, the alert resolves, and the optimizer reverts degraded mode.
Every step is read from the parts themselves, never assumed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from leitstand.demo.timeline import Event, Timeline

logger = logging.getLogger("leitstand.demo")

ALERT = "LeitstandHighLatency"
P95 = 'instance_quantile:http_request_duration_seconds:histogram_quantile{{quantile="0.95",instance="{instance}"}}'  # noqa: E501
RATE = 'instance:http_requests:rate5m{{instance="{instance}"}}'


@dataclass
class Endpoints:
    """URLs of the stack's parts, and the control token."""

    app: str
    prometheus: str
    optimizer: str
    control_token: str

    @property
    def instance(self) -> str:
        """The app's scrape target, as Prometheus labels its series."""
        return self.app.removeprefix("http://").removeprefix("https://").rstrip("/")


@dataclass
class DrillSettings:
    fault_latency_seconds: float = 0.5
    cache_ttl_seconds: float = 2.0
    latency_threshold_seconds: float = 0.25
    # Load runs this long before the baseline counts, so that the rate windows of
    # the rules (20 s at a 1 s scrape interval) have filled.
    warmup_seconds: float = 25.0
    baseline_timeout: float = 150.0
    timeout: float = 300.0
    poll_interval: float = 0.5


class DrillError(RuntimeError):
    """The drill could not run or its loop did not close in time."""


class Drill:
    """Run one drill and record what every part did in a ``Timeline``."""

    def __init__(
        self,
        endpoints: Endpoints,
        settings: DrillSettings | None = None,
        timeline: Timeline | None = None,
        on_event: Callable[[Timeline, Event], None] | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.settings = settings or DrillSettings()
        self.timeline = timeline or Timeline()
        self.on_event = on_event
        self.client = httpx.Client(timeout=10.0)
        self.fault_changes: list[str] = []

    def record(self, kind: str, detail: str, **data: Any) -> None:
        event = self.timeline.add(kind, detail, **data)
        logger.info("%s: %s", kind, detail)
        if self.on_event is not None:
            self.on_event(self.timeline, event)

    # Reads from the parts.

    def query(self, promql: str) -> float | None:
        answer = self.client.get(
            self.endpoints.prometheus + "/api/v1/query", params={"query": promql}
        )
        answer.raise_for_status()
        result = answer.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def alert_state(self) -> str | None:
        """Return ``pending``, ``firing`` or None for the drill's alert on the app."""
        answer = self.client.get(self.endpoints.prometheus + "/api/v1/alerts")
        answer.raise_for_status()
        states = {
            alert["state"]
            for alert in answer.json()["data"]["alerts"]
            if alert["labels"].get("alertname") == ALERT
            and alert["labels"].get("instance") == self.endpoints.instance
        }
        for state in ("firing", "pending"):
            if state in states:
                return state
        return None

    def decisions(self) -> list[dict[str, Any]]:
        """Return the optimizer's decisions on the drill's alert since the drill started."""
        started = self.timeline.first("drill_started")
        params: dict[str, str | int] = {
            "alertname": ALERT,
            "target": self.endpoints.instance,
            "limit": 100,
        }
        if started is not None:
            params["since"] = started.at.isoformat()
        answer = self.client.get(self.endpoints.optimizer + "/decisions", params=params)
        answer.raise_for_status()
        decisions: list[dict[str, Any]] = answer.json()["decisions"]
        return decisions

    def knob(self, name: str) -> float:
        answer = self.client.get(self.endpoints.app + "/control", headers=self._auth())
        answer.raise_for_status()
        return float(answer.json()["knobs"][name]["value"])

    # Changes to the app.

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.endpoints.control_token}"}

    def set_knob(self, name: str, value: float, reason: str) -> str:
        body = {
            "value": value,
            "reason": reason,
            "requested_by": "leitstand demo",
            # The drill ends by itself even if this process dies.
            "ttl_seconds": round(self.settings.timeout + 60),
        }
        answer = self.client.put(
            f"{self.endpoints.app}/control/knobs/{name}", json=body, headers=self._auth()
        )
        if answer.status_code != 200:
            raise DrillError(f"setting {name}={value} failed: {answer.status_code} {answer.text}")
        change_id: str = answer.json()["change_id"]
        return change_id

    def revert(self, change_id: str) -> None:
        self.client.post(
            f"{self.endpoints.app}/control/changes/{change_id}/revert",
            json={"reason": "drill ended"},
            headers=self._auth(),
        )

    # The drill.

    def warm_cache(self, articles: int) -> None:
        """Compute the forecasts the load requests once, so that start-up is not a drill."""
        for artikel_id in range(1, articles + 1):
            self.client.get(f"{self.endpoints.app}/api/v1/artikel/{artikel_id}/prognose")

    def wait_for_baseline(self, stop: threading.Event) -> None:
        p95: float | None = None
        rate: float | None = None
        began = time.monotonic()
        deadline = began + self.settings.baseline_timeout
        while time.monotonic() < deadline and not stop.is_set():
            if time.monotonic() - began < self.settings.warmup_seconds:
                time.sleep(1.0)
                continue
            rate = self.query(RATE.format(instance=self.endpoints.instance))
            p95 = self.query(P95.format(instance=self.endpoints.instance))
            loaded = rate is not None and rate > 1
            healthy = p95 is not None and p95 < self.settings.latency_threshold_seconds
            if loaded and healthy and p95 is not None and self.alert_state() is None:
                self.record(
                    "baseline",
                    f"{rate:.1f} requests/s, p95 {p95 * 1000:.0f} ms, {ALERT} quiet",
                    rate=rate,
                    p95_seconds=p95,
                )
                return
            time.sleep(1.0)
        raise DrillError(
            f"no healthy baseline within {self.settings.baseline_timeout:.0f} s "
            f"(rate {rate}, p95 {p95}); is load running against {self.endpoints.app}?"
        )

    def start_fault(self) -> None:
        reason = "drill: slow forecast computations with a churning forecast cache"
        self.fault_changes.append(
            self.set_knob("cache.prognose.ttl_seconds", self.settings.cache_ttl_seconds, reason)
        )
        self.fault_changes.append(
            self.set_knob("fault.latency_seconds", self.settings.fault_latency_seconds, reason)
        )
        self.record(
            "drill_started",
            f"forecast computations +{self.settings.fault_latency_seconds:g} s, forecast "
            f"cache TTL {self.settings.cache_ttl_seconds:g} s",
            change_ids=list(self.fault_changes),
        )

    def end_fault(self) -> None:
        for change_id in reversed(self.fault_changes):
            self.revert(change_id)
        if self.fault_changes:
            self.record("drill_ended", "fault and cache TTL changes reverted")
        self.fault_changes.clear()

    def watch(self, stop: threading.Event) -> None:
        """Poll the parts until the loop has closed (the revert applied) or time runs out."""
        deadline = time.monotonic() + self.settings.timeout
        instance = self.endpoints.instance
        while time.monotonic() < deadline and not stop.is_set():
            self.observe(instance)
            if self.timeline.has("change_reverted"):
                self.timeline.outcome = "closed"
                return
            time.sleep(self.settings.poll_interval)
        missing = [
            kind
            for kind in (
                "alert_firing",
                "action_executed",
                "condition_recovered",
                "alert_resolved",
                "change_reverted",
            )
            if not self.timeline.has(kind)
        ]
        self.timeline.outcome = "stopped" if stop.is_set() else "timed out"
        if not stop.is_set():
            raise DrillError(
                f"the loop did not close within {self.settings.timeout:.0f} s; "
                f"never seen: {', '.join(missing)}"
            )

    def observe(self, instance: str) -> None:
        """Record every step of the loop that has newly become visible."""
        state = self.alert_state()
        if state == "pending" and not self.timeline.has("alert_pending"):
            self.record("alert_pending", f"{ALERT} pending on {instance}")
        if state == "firing" and not self.timeline.has("alert_firing"):
            if not self.timeline.has("alert_pending"):
                self.record("alert_pending", f"{ALERT} pending on {instance}")
            self.record("alert_firing", f"{ALERT} firing on {instance}")

        decisions = self.decisions()
        executed = [d for d in decisions if d["result"] == "executed"]
        if executed and not self.timeline.has("action_executed"):
            first = executed[-1]
            action = first.get("action_state") or {}
            self.record(
                "action_executed",
                f"optimizer rule {first['rule']}: {first['knob']} "
                f"{action.get('previous')} -> {action.get('value')} "
                f"(change {action.get('change_id')})",
                decision_id=first["id"],
                change_id=action.get("change_id"),
            )

        firing_seen = self.timeline.has("alert_firing")
        if self.timeline.has("action_executed") and not self.timeline.has("condition_recovered"):
            p95 = self.query(P95.format(instance=instance))
            if p95 is not None and p95 < self.settings.latency_threshold_seconds:
                self.record(
                    "condition_recovered",
                    f"p95 {p95 * 1000:.0f} ms, under {self.settings.latency_threshold_seconds:g} s "
                    "(Prometheus)",
                    p95_seconds=p95,
                )
        if firing_seen and state is None and not self.timeline.has("alert_resolved"):
            self.record("alert_resolved", f"{ALERT} no longer firing on {instance} (Prometheus)")

        reverted = [
            d for d in executed if (d.get("action_state") or {}).get("status") == "reverted"
        ]
        if reverted and not self.timeline.has("change_reverted"):
            action = reverted[-1]["action_state"]
            self.record(
                "change_reverted",
                f"optimizer reverted change {action.get('change_id')} on resolved; "
                f"degraded is {self.knob('degraded'):g} again",
                change_id=action.get("change_id"),
            )

    def run(self, stop: threading.Event) -> Timeline:
        """Run the drill: baseline, fault, watch the loop close, end the fault."""
        try:
            self.wait_for_baseline(stop)
            self.start_fault()
            self.watch(stop)
        finally:
            try:
                self.end_fault()
            finally:
                self.client.close()
        return self.timeline
