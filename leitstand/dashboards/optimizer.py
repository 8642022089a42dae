"""Optimizer: decisions by action and result, verifications, and webhook and action latency."""

from __future__ import annotations

from leitstand.dashboards.colors import steps_for
from leitstand.dashboards.model import (
    Json,
    Query,
    Row,
    dashboard,
    query_variable,
    stat,
    timeseries,
)
from leitstand.dashboards.shared import TARGET, UIDS
from leitstand.thresholds import Thresholds

# Alertmanager's side of the webhook: the jobs chosen in the `alertmanager` variable.
WEBHOOK = 'job=~"$alertmanager", integration="webhook"'

DRY_RUN_MAPPINGS = [
    {
        "options": {
            "0": {"color": "green", "index": 0, "text": "acting"},
            "1": {"color": "blue", "index": 1, "text": "dry run"},
        },
        "type": "value",
    }
]


def per_minute(counter: str, by: str) -> str:
    """Return PromQL for the events per minute of ``counter``, summed by the labels ``by``."""
    return f"sum by ({by}) (rate({counter}{{{TARGET}}}[$__rate_interval])) * 60"


def build(thresholds: Thresholds) -> Json:
    return dashboard(
        uid=UIDS["optimizer"],
        title="Leitstand / Optimizer",
        description="What the optimizer decided on each alert, whether its actions helped, "
        "and how fast webhooks and actions were.",
        variables=[
            query_variable("job", "Job", "label_values(leitstand_optimizer_webhooks_total, job)"),
            query_variable(
                "instance",
                "Instance",
                'label_values(leitstand_optimizer_webhooks_total{job=~"$job"}, instance)',
            ),
            query_variable(
                "alertmanager", "Alertmanager job", "label_values(alertmanager_build_info, job)"
            ),
        ],
        items=[
            Row("Status"),
            stat(
                "Failures in the alert window",
                Query(
                    f"instance:leitstand_optimizer_failures:increase5m{{{TARGET}}}",
                    "{{instance}}",
                ),
                "short",
                steps=steps_for(thresholds, "LeitstandOptimizerFailing"),
                decimals=0,
                width=6,
                description="Failed actions and verifications that found the alert still "
                "firing; LeitstandOptimizerFailing fires above the threshold and goes to "
                "people, never back to the optimizer.",
            ),
            stat(
                "Background work",
                Query(f"leitstand_optimizer_pending_actions{{{TARGET}}}", "{{instance}}"),
                "short",
                decimals=0,
                width=6,
                description="Actions, verifications and reverts waiting or running; webhooks "
                "get 503 once LEITSTAND_OPTIMIZER_MAX_PENDING is reached.",
            ),
            stat(
                "Mode",
                Query(f"leitstand_optimizer_dry_run{{{TARGET}}}", "{{instance}}"),
                "none",
                mappings=DRY_RUN_MAPPINGS,
                width=6,
                description="In dry run the optimizer records its decisions without calling "
                "the app.",
            ),
            stat(
                "Webhooks accepted",
                Query(
                    "sum by (instance) (rate(leitstand_optimizer_webhooks_total"
                    f'{{{TARGET}, code="200"}}[$__rate_interval])) * 60',
                    "{{instance}}",
                ),
                "opm",
                width=6,
            ),
            Row("Decisions"),
            timeseries(
                "Decisions by action and result",
                [
                    Query(
                        per_minute("leitstand_optimizer_decisions_total", "action, result"),
                        "{{action}} {{result}}",
                    )
                ],
                "opm",
                bars=True,
                stacked=True,
                description="executed and dry_run acted; duplicate, cooldown, budget, stale "
                "and conflict were held back by a guard; failed actions add a failed "
                "decision to their executed one. action is none where no rule matched.",
            ),
            timeseries(
                "Decisions by rule",
                [
                    Query(
                        per_minute("leitstand_optimizer_decisions_total", "rule, result"),
                        "{{rule}} {{result}}",
                    )
                ],
                "opm",
                bars=True,
                stacked=True,
            ),
            timeseries(
                "Verification outcomes",
                [
                    Query(
                        per_minute("leitstand_optimizer_verifications_total", "result"),
                        "{{result}}",
                    )
                ],
                "opm",
                bars=True,
                stacked=True,
                description="Some time after a successful action the optimizer asks "
                "Prometheus whether the alert's condition still holds: improved, "
                "not_improved, or error when the query failed.",
            ),
            timeseries(
                "Webhook requests by status",
                [Query(per_minute("leitstand_optimizer_webhooks_total", "code"), "{{code}}")],
                "opm",
                bars=True,
                stacked=True,
                description="401 is a wrong or missing token, 400 an invalid notification, "
                "503 an overloaded optimizer; Alertmanager retries only the 503.",
            ),
            Row("Latency"),
            timeseries(
                "Webhook delivery latency",
                [
                    Query(
                        "sum by (job) (rate(alertmanager_notification_latency_seconds_sum"
                        f"{{{WEBHOOK}}}[$__rate_interval]))"
                        " / sum by (job) (rate(alertmanager_notification_latency_seconds_count"
                        f"{{{WEBHOOK}}}[$__rate_interval]))",
                        "{{job}} average",
                    )
                ],
                "s",
                minimum=0,
                width=8,
                description="Average time Alertmanager took to deliver a notification to "
                "the optimizer's webhook, retries included.",
            ),
            timeseries(
                "Webhook notifications",
                [
                    Query(
                        "sum by (job) (rate(alertmanager_notifications_total"
                        f"{{{WEBHOOK}}}[$__rate_interval])) * 60",
                        "{{job}} sent",
                    ),
                    Query(
                        "sum by (job) (rate(alertmanager_notifications_failed_total"
                        f"{{{WEBHOOK}}}[$__rate_interval])) * 60",
                        "{{job}} failed",
                    ),
                ],
                "opm",
                minimum=0,
                width=8,
                description="Notifications Alertmanager sent to webhooks, and those that "
                "failed after its retries.",
            ),
            timeseries(
                "Action latency",
                [
                    Query(
                        "histogram_quantile(0.95, sum by (action, le) (rate("
                        "leitstand_optimizer_action_duration_seconds_bucket"
                        f"{{{TARGET}}}[$__rate_interval])))",
                        "{{action}} p95",
                    )
                ],
                "s",
                minimum=0,
                width=8,
                description="From the start of an action to the app's last answer, retries "
                "included, by action kind.",
            ),
        ],
    )
