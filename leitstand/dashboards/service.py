"""Service: the ERP app per route: traffic, errors, latency, load, database and cache."""

from __future__ import annotations

from leitstand.dashboards.colors import steps_for
from leitstand.dashboards.model import (
    Json,
    Query,
    Row,
    dashboard,
    heatmap,
    query_variable,
    timeseries,
)
from leitstand.dashboards.shared import CONTROL_CHANGES, FIRING_ALERTS, TARGET, UIDS
from leitstand.thresholds import RECORDED_QUANTILES, Thresholds

BUCKETS = f"http_request_duration_seconds_bucket{{{TARGET}}}"


def build(thresholds: Thresholds) -> Json:
    latency = thresholds.alerts.LeitstandHighLatency
    return dashboard(
        uid=UIDS["service"],
        title="Leitstand / Service",
        description="The ERP app per route: rate, errors, latency, load, database and cache.",
        variables=[
            query_variable("job", "Job", "label_values(http_requests_total, job)"),
            query_variable(
                "instance", "Instance", 'label_values(http_requests_total{job=~"$job"}, instance)'
            ),
        ],
        annotations=[CONTROL_CHANGES, FIRING_ALERTS],
        items=[
            Row("Traffic"),
            timeseries(
                "Requests by route",
                [
                    Query(
                        f"sum by (handler) (rate(http_requests_total{{{TARGET}}}"
                        "[$__rate_interval]))",
                        "{{handler}}",
                    )
                ],
                "reqps",
                stacked=True,
                width=8,
                description="Routes are templates such as /api/v1/kunden/{kunde_id}; `none` "
                "counts requests that matched no route.",
            ),
            timeseries(
                "Responses by status",
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
                "Error ratio by route",
                [
                    Query(
                        f"instance_handler:http_requests_errors:ratio_rate5m{{{TARGET}}}",
                        "{{handler}} {{instance}}",
                    )
                ],
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHighErrorRatio"),
                minimum=0,
                width=8,
                description="Share of 5xx responses per route over the alert's window. The "
                "dashed line is the LeitstandHighErrorRatio threshold, which applies to the "
                "whole instance.",
            ),
            Row("Latency"),
            timeseries(
                "Latency percentiles",
                [
                    Query(
                        f"histogram_quantile({quantile:g}, sum by (le) "
                        f"(rate({BUCKETS}[$__rate_interval])))",
                        f"p{quantile * 100:g}",
                    )
                    for quantile in RECORDED_QUANTILES
                ],
                "s",
                steps=steps_for(thresholds, "LeitstandHighLatency"),
                minimum=0,
                width=8,
                description="Estimated from the histogram buckets, so a value is only as "
                "precise as the bucket it falls into. The dashed line is the "
                "LeitstandHighLatency threshold.",
            ),
            timeseries(
                f"p{latency.quantile * 100:g} latency by route",
                [
                    Query(
                        "instance_handler_quantile:http_request_duration_seconds"
                        f':histogram_quantile{{quantile="{latency.quantile:g}", {TARGET}}}',
                        "{{handler}} {{instance}}",
                    )
                ],
                "s",
                minimum=0,
                width=8,
                description="Recorded per route over the alert's window, because a quantile "
                "over every bucket of every route was the most expensive query of this "
                "dashboard.",
            ),
            heatmap(
                "Latency distribution",
                Query(
                    f"sum by (le) (rate({BUCKETS}[$__rate_interval]))",
                    "{{le}}",
                    format="heatmap",
                ),
                "s",
                width=8,
                description="Requests per second in each latency bucket of the histogram.",
            ),
            timeseries(
                "Slow requests",
                [
                    Query(
                        f"instance:http_requests_slow:ratio_rate5m{{{TARGET}}}",
                        "{{instance}}",
                    )
                ],
                "percentunit",
                minimum=0,
                width=8,
                description=f"Share of requests slower than the latency objective's threshold "
                f"({thresholds.slos.latency_threshold_seconds:g} s); the latency budget burn "
                "alerts watch it.",
            ),
            Row("Load"),
            timeseries(
                "Requests in flight",
                [
                    Query(
                        f"sum by (instance) (http_requests_in_flight{{{TARGET}}})", "{{instance}}"
                    ),
                    Query(
                        f"instance:erp_in_flight_capacity:sum{{{TARGET}}}",
                        "limit {{instance}}",
                    ),
                ],
                "short",
                minimum=0,
                width=8,
                description="Requests whose response is not complete, summed over workers, and "
                "the in-flight limit the saturation alert divides by.",
            ),
            timeseries(
                "Saturation",
                [Query(f"instance:erp_saturation:ratio{{{TARGET}}}", "{{instance}}")],
                "percentunit",
                steps=steps_for(thresholds, "LeitstandSaturation"),
                minimum=0,
                width=8,
                description="Average requests in flight per in-flight limit; the dashed line is "
                "the LeitstandSaturation threshold.",
            ),
            timeseries(
                "Shed requests and workers",
                [
                    Query(
                        f"sum by (instance) (rate(erp_shed_requests_total{{{TARGET}}}"
                        "[$__rate_interval]))",
                        "shed {{instance}}",
                    ),
                    Query(f"erp_workers{{{TARGET}}}", "workers {{instance}}"),
                ],
                "reqps",
                minimum=0,
                width=8,
                overrides=[
                    {
                        "matcher": {"id": "byRegexp", "options": "workers.*"},
                        "properties": [
                            {"id": "unit", "value": "short"},
                            {"id": "custom.axisPlacement", "value": "right"},
                            {"id": "custom.drawStyle", "value": "line"},
                        ],
                    }
                ],
                description="Requests answered with 503 at once because the worker had "
                "shed.max_in_flight requests in flight (right axis: worker processes).",
            ),
            Row("Database and cache"),
            timeseries(
                "Database queries per request",
                [
                    Query(
                        f"instance_handler:erp_db_queries_per_request:avg_rate5m{{{TARGET}}}",
                        "{{handler}}",
                    )
                ],
                "short",
                minimum=0,
                width=8,
                description="Average statements one request sends, BEGIN included; a count "
                "that grows with the page size points to an N+1 query.",
            ),
            timeseries(
                "Database query latency (p95)",
                [
                    Query(
                        "histogram_quantile(0.95, sum by (operation, le) (rate("
                        f"erp_db_query_duration_seconds_bucket{{{TARGET}}}[$__rate_interval])))",
                        "{{operation}}",
                    )
                ],
                "s",
                minimum=0,
                width=8,
            ),
            timeseries(
                "Cache hit ratio",
                [
                    Query(
                        f"instance_cache:erp_cache_hits:ratio_rate5m{{{TARGET}}}",
                        "{{cache}} {{instance}}",
                    )
                ],
                "percentunit",
                steps=steps_for(thresholds, "LeitstandCacheHitRatioLow"),
                minimum=0,
                maximum=1,
                width=8,
                description="Hits per lookup of each cache; the dashed line is the "
                "LeitstandCacheHitRatioLow threshold (the alert also needs a minimum lookup "
                "rate).",
            ),
            timeseries(
                "Cache lookups and evictions",
                [
                    Query(
                        f"sum by (cache) (rate(erp_cache_hits_total{{{TARGET}}}"
                        "[$__rate_interval]))",
                        "hits {{cache}}",
                    ),
                    Query(
                        f"sum by (cache) (rate(erp_cache_misses_total{{{TARGET}}}"
                        "[$__rate_interval]))",
                        "misses {{cache}}",
                    ),
                    Query(
                        f"sum by (cache) (rate(erp_cache_evictions_total{{{TARGET}}}"
                        "[$__rate_interval]))",
                        "evictions {{cache}}",
                    ),
                ],
                "ops",
                minimum=0,
                width=8,
            ),
            timeseries(
                "Cache fill",
                [
                    Query(
                        f"instance_cache:erp_cache_fill:ratio{{{TARGET}}}", "{{cache}} {{instance}}"
                    )
                ],
                "percentunit",
                steps=steps_for(thresholds, "LeitstandCacheEvicting"),
                minimum=0,
                maximum=1,
                width=8,
                description="Entries per capacity of each cache. LeitstandCacheEvicting fires "
                "from the dashed line on while the cache also evicts.",
            ),
        ],
    )
