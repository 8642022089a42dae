"""The optimizer's own metrics, in a registry of their own."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class OptimizerMetrics:
    """Counters and histograms of webhooks, decisions, actions, verifications and escalations."""

    def start_rules(self, rules: Iterable[tuple[str, str]]) -> None:
        """Create the ``failed`` decision series of each (rule, action kind) at 0.

        ``increase()`` ignores a series' first sample, so an alert on failures
        would miss a failure that first appears as a series with the value 1.
        """
        for rule, action in rules:
            self.decisions.labels(rule=rule, action=action, result="failed")

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            "leitstand_optimizer_webhooks_total",
            "Webhook requests received, by the HTTP status code of the answer.",
            ["code"],
            registry=self.registry,
        )
        for code in ("200", "400", "401", "503"):
            self.webhooks.labels(code=code)
        self.decisions = Counter(
            "leitstand_optimizer_decisions_total",
            "Decisions made, by rule, action kind and result.",
            ["rule", "action", "result"],
            registry=self.registry,
        )
        self.action_duration = Histogram(
            "leitstand_optimizer_action_duration_seconds",
            "Time from the start of an action to the app's last answer, retries included.",
            ["action"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.verifications = Counter(
            "leitstand_optimizer_verifications_total",
            "Checks after an action of whether the alert's condition went away.",
            ["result"],
            registry=self.registry,
        )
        for result in ("improved", "not_improved", "error"):
            self.verifications.labels(result=result)
        self.escalations = Counter(
            "leitstand_optimizer_escalations_total",
            "Targets on which the optimizer stopped acting and called people instead.",
            ["rule"],
            registry=self.registry,
        )
        self.pending_actions = Gauge(
            "leitstand_optimizer_pending_actions",
            "Actions, verifications and reverts waiting or running in the background.",
            registry=self.registry,
        )
        self.dry_run = Gauge(
            "leitstand_optimizer_dry_run",
            "1 when the optimizer records decisions without calling the app.",
            registry=self.registry,
        )
