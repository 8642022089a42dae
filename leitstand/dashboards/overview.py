"""Overview: every target's health at a glance, coloured like the alerts, and the trends."""

from __future__ import annotations

from leitstand.dashboards.colors import steps_for
from leitstand.dashboards.model import Json, Query, Row, dashboard, query_variable, stat, timeseries
from leitstand.dashboards.shared import CONTROL_CHANGES, FIRING_ALERTS, TARGET, UIDS
from leitstand.thresholds import Thresholds

UP_MAPPINGS = [
    {
        "options": {
            "0": {"color": "red", "index": 0, "text": "down"},
            "1": {"color": "green", "index": 1, "text": "up"},
        },
        "type": "value",
    }
]


def build(thresholds: Thresholds) -> Json:
    latency = thresholds.alerts.LeitstandHighLatency
    quantile = f'quantile="{latency.quantile:g}"'
    percentile = f"p{latency.quantile * 100:g}"
    return dashboard(
        uid=UIDS["overview"],
        title="Leitstand / Overview",
        description="Health of the app, the host and the optimizer; colours follow the alerts.",
        variables=[
            query_variable("job", "Job", "label_values(up, job)"),
            query_variable("instance", "Instance", 'label_values(up{job=~"$job"}, instance)'),
        ],
        annotations=[CONTROL_CHANGES, FIRING_ALERTS],
        items=[
            Row("Status"),
            stat(
                "Targets",
                Query(f"up{{{TARGET}}}", "{{job}} {{instance}}"),
                "none",
                steps=steps_for(thresholds, "LeitstandTargetDown"),
                mappings=UP_MAPPINGS,
                width=6,
                description="Whether Prometheus's last scrape of each target succeeded.",
            ),
            stat(
                "Error ratio",
                Query(f"instance:http_requests_errors:ratio_rate5m{{{TARGET}}}", "{{instance}}"),
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHighErrorRatio"),
                width=3,
                description="Share of requests answered with a 5xx status over the alert's "
                "window. Red where LeitstandHighErrorRatio fires (it also needs a minimum "
                "request rate).",
            ),
            stat(
                f"{percentile} latency",
                Query(
                    "instance_quantile:http_request_duration_seconds:histogram_quantile"
                    f"{{{quantile}, {TARGET}}}",
                    "{{instance}}",
                ),
                "s",
                steps=steps_for(thresholds, "LeitstandHighLatency"),
                width=3,
                description=f"The {percentile} request latency the LeitstandHighLatency alert "
                "watches, estimated from the histogram buckets.",
            ),
            stat(
                "Requests",
                Query(f"instance:http_requests:rate5m{{{TARGET}}}", "{{instance}}"),
                "reqps",
                width=3,
            ),
            stat(
                "Saturation",
                Query(f"instance:erp_saturation:ratio{{{TARGET}}}", "{{instance}}"),
                "percentunit",
                steps=steps_for(thresholds, "LeitstandSaturation"),
                width=3,
                description="Average requests in flight per in-flight limit: the shedding "
                "limit times the workers, or the default per-worker limit while shedding is off.",
            ),
            stat(
                "Host CPU",
                Query(f"instance:node_cpu_utilisation:rate5m{{{TARGET}}}", "{{instance}}"),
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHostHighCpu"),
                width=3,
                description="Share of CPU time not idle, waiting for I/O or stolen.",
            ),
            stat(
                "Host memory",
                Query(f"instance:node_memory_utilisation:ratio{{{TARGET}}}", "{{instance}}"),
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHostHighMemory"),
                width=3,
                description="Memory in use: total minus available.",
            ),
            Row("Trends"),
            timeseries(
                "Requests by status",
                [
                    Query(
                        f"sum by (status) (rate(http_requests_total{{{TARGET}}}"
                        "[$__rate_interval]))",
                        "{{status}}",
                    )
                ],
                "reqps",
                stacked=True,
                width=8,
            ),
            timeseries(
                "Error ratio",
                [Query(f"instance:http_requests_errors:ratio_rate5m{{{TARGET}}}", "{{instance}}")],
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHighErrorRatio"),
                minimum=0,
                width=8,
                description="The dashed line is the LeitstandHighErrorRatio threshold.",
            ),
            timeseries(
                "Latency",
                [
                    Query(
                        "instance_quantile:http_request_duration_seconds:histogram_quantile"
                        f"{{{TARGET}}}",
                        "p{{quantile}} {{instance}}",
                    )
                ],
                "s",
                steps=steps_for(thresholds, "LeitstandHighLatency"),
                minimum=0,
                width=8,
                description=f"Recorded latency quantiles; the dashed line is the "
                f"LeitstandHighLatency threshold on the {percentile}.",
            ),
            timeseries(
                "Host CPU",
                [Query(f"instance:node_cpu_utilisation:rate5m{{{TARGET}}}", "{{instance}}")],
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHostHighCpu"),
                minimum=0,
                maximum=1,
            ),
            timeseries(
                "Host memory",
                [Query(f"instance:node_memory_utilisation:ratio{{{TARGET}}}", "{{instance}}")],
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHostHighMemory"),
                minimum=0,
                maximum=1,
            ),
        ],
    )
