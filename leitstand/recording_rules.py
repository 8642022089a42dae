"""Recording rules shared by the alerts and the dashboards.

Names follow ``level:metric:operations``. A window in a name (``rate5m``,
``ratio_rate1h``) is the nominal one of the thresholds file. A file rendered
for a shorter scrape interval keeps the names and scales the ranges. Ratios
divide by a denominator filtered with ``> 0``, so an instance without traffic
has no ratio at all instead of NaN.
"""

from __future__ import annotations

from typing import Any

from leitstand.durations import format_duration, parse_duration
from leitstand.rule_timing import RuleTiming
from leitstand.thresholds import RECORDED_QUANTILES, Thresholds

Rule = dict[str, Any]
Group = dict[str, Any]

RATE_WINDOW_MS = parse_duration("5m")

# Filesystems that are read-only by design or report no size.
IGNORED_FSTYPES = "ramfs|squashfs|iso9660"


def record(name: str, expr: str, labels: dict[str, str] | None = None) -> Rule:
    rule: Rule = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = labels
    return rule


def slo_windows(thresholds: Thresholds) -> list[int]:
    """Return the windows of the SLO ratios, shortest first: 5m and every burn-rate window."""
    windows = {RATE_WINDOW_MS}
    for tier in thresholds.slos.burn_rate_tiers:
        windows.update((tier.long, tier.short))
    return sorted(windows)


def latency_bucket(thresholds: Thresholds) -> str:
    """Return the ``le`` label value of the latency SLO bucket as prometheus_client writes it."""
    return repr(float(thresholds.slos.latency_threshold_seconds))


def _request_rules(erp: str, window: str) -> list[Rule]:
    """Request rates and error ratios per route, instance and job."""
    rules: list[Rule] = [
        record(
            "instance_handler:http_requests:rate5m",
            f"sum by (job, instance, handler) (rate(http_requests_total{{{erp}}}[{window}]))",
        ),
        record(
            "instance:http_requests:rate5m",
            "sum by (job, instance) (instance_handler:http_requests:rate5m)",
        ),
        record("job:http_requests:rate5m", "sum by (job) (instance:http_requests:rate5m)"),
        # Zero rather than no series while a route has not failed yet.
        record(
            "instance_handler:http_requests_errors:rate5m",
            "sum by (job, instance, handler) (\n"
            f'  rate(http_requests_total{{{erp},status=~"5.."}}[{window}])\n'
            ")\n"
            "or 0 * instance_handler:http_requests:rate5m\n",
        ),
        record(
            "instance:http_requests_errors:rate5m",
            "sum by (job, instance) (instance_handler:http_requests_errors:rate5m)",
        ),
        record(
            "job:http_requests_errors:rate5m",
            "sum by (job) (instance:http_requests_errors:rate5m)",
        ),
    ]
    for level in ("instance_handler", "instance", "job"):
        rules.append(
            record(
                f"{level}:http_requests_errors:ratio_rate5m",
                f"{level}:http_requests_errors:rate5m\n/ ({level}:http_requests:rate5m > 0)\n",
            )
        )
    return rules


def _latency_rules(erp: str, window: str, le: str) -> list[Rule]:
    """Latency buckets, quantiles and the share of slow requests per route, instance and job."""
    rules: list[Rule] = [
        record(
            "instance_handler_le:http_request_duration_seconds_bucket:rate5m",
            "sum by (job, instance, handler, le) (\n"
            f"  rate(http_request_duration_seconds_bucket{{{erp}}}[{window}])\n"
            ")\n",
        ),
        record(
            "instance_le:http_request_duration_seconds_bucket:rate5m",
            "sum by (job, instance, le) (\n"
            "  instance_handler_le:http_request_duration_seconds_bucket:rate5m\n"
            ")\n",
        ),
        record(
            "job_le:http_request_duration_seconds_bucket:rate5m",
            "sum by (job, le) (instance_le:http_request_duration_seconds_bucket:rate5m)",
        ),
        record(
            "instance:http_request_duration_seconds_count:rate5m",
            "sum by (job, instance) (\n"
            f"  rate(http_request_duration_seconds_count{{{erp}}}[{window}])\n"
            ")\n",
        ),
        # Requests slower than the latency objective's threshold, per request.
        record(
            "instance:http_requests_slow:ratio_rate5m",
            "1 - (\n"
            "  sum by (job, instance) (\n"
            f'    instance_le:http_request_duration_seconds_bucket:rate5m{{le="{le}"}}\n'
            "  )\n"
            "  / (instance:http_request_duration_seconds_count:rate5m > 0)\n"
            ")\n",
        ),
    ]
    for level, keep, requests in (
        ("instance_handler", "job, instance, handler", "instance_handler:http_requests:rate5m"),
        ("instance", "job, instance", "instance:http_requests:rate5m"),
        ("job", "job", "job:http_requests:rate5m"),
    ):
        for quantile in RECORDED_QUANTILES:
            rules.append(
                record(
                    f"{level}_quantile:http_request_duration_seconds:histogram_quantile",
                    f"histogram_quantile({quantile}, "
                    f"{level}_le:http_request_duration_seconds_bucket:rate5m)\n"
                    f"and on ({keep}) ({requests} > 0)\n",
                    {"quantile": str(quantile)},
                )
            )
    return rules


def _capacity_rules(thresholds: Thresholds, erp: str, window: str) -> list[Rule]:
    """Database work per request, requests in flight against their limit, and shedding."""
    shed_limit = f'last_over_time(erp_control_value{{{erp},knob="shed.max_in_flight"}}[{window}])'
    workers = f"last_over_time(erp_workers{{{erp}}}[{window}])"
    return [
        record(
            "instance_handler:erp_db_queries_per_request:avg_rate5m",
            "sum by (job, instance, handler) (\n"
            f"  rate(erp_db_queries_per_request_sum{{{erp}}}[{window}])\n"
            ")\n"
            "/ (\n"
            "  sum by (job, instance, handler) (\n"
            f"    rate(erp_db_queries_per_request_count{{{erp}}}[{window}])\n"
            "  ) > 0\n"
            ")\n",
        ),
        record(
            "instance:http_requests_in_flight:avg_over_time5m",
            f"sum by (job, instance) (avg_over_time(http_requests_in_flight{{{erp}}}[{window}]))",
        ),
        # The in-flight limit of an instance: the shedding limit per worker while
        # shedding is on, else the configured capacity per worker, times the workers.
        record(
            "instance:erp_in_flight_capacity:sum",
            "(\n"
            f"  (max by (job, instance) ({shed_limit}) > 0)\n"
            "  or on (job, instance)\n"
            f"  0 * max by (job, instance) ({workers})\n"
            f"  + {thresholds.alerts.LeitstandSaturation.in_flight_per_worker}\n"
            ")\n"
            f"* on (job, instance) max by (job, instance) ({workers})\n",
        ),
        record(
            "instance:erp_saturation:ratio",
            "instance:http_requests_in_flight:avg_over_time5m\n"
            "/ on (job, instance) (instance:erp_in_flight_capacity:sum > 0)\n",
        ),
        record(
            "instance:erp_shed_requests:rate5m",
            f"sum by (job, instance) (rate(erp_shed_requests_total{{{erp}}}[{window}]))",
        ),
    ]


def erp_rules(thresholds: Thresholds, timing: RuleTiming) -> Group:
    """The app's 5m series: requests, latency and capacity per route, instance and job."""
    erp = f'job="{thresholds.jobs.erp}"'
    window = timing.range(RATE_WINDOW_MS)
    rules = [
        *_request_rules(erp, window),
        *_latency_rules(erp, window, latency_bucket(thresholds)),
        *_capacity_rules(thresholds, erp, window),
    ]
    return {"name": "leitstand-erp.rules", "rules": rules}


def slo_rules(thresholds: Thresholds, timing: RuleTiming) -> Group:
    """Error ratios and slow-request ratios per instance over the SLO windows.

    Each window longer than 5m sums the recorded 5m rates instead of reading
    the raw counters: one series per instance instead of one per route, status
    and bucket, which keeps a 3-day window cheap to evaluate.
    """
    le = latency_bucket(thresholds)
    fast = f'instance_le:http_request_duration_seconds_bucket:rate5m{{le="{le}"}}'
    observations = "instance:http_request_duration_seconds_count:rate5m"
    rules: list[Rule] = []
    for nominal in slo_windows(thresholds):
        if nominal == RATE_WINDOW_MS:
            continue  # recorded from the raw counters with the other 5m series
        name = format_duration(nominal)
        window = timing.range(nominal)
        rules += [
            record(
                f"instance:http_requests_errors:ratio_rate{name}",
                f"sum_over_time(instance:http_requests_errors:rate5m[{window}])\n"
                f"/ (sum_over_time(instance:http_requests:rate5m[{window}]) > 0)\n",
            ),
            record(
                f"instance:http_requests_slow:ratio_rate{name}",
                "1 - (\n"
                f"  sum by (job, instance) (\n    sum_over_time({fast}[{window}])\n  )\n"
                f"  / (sum_over_time({observations}[{window}]) > 0)\n"
                ")\n",
            ),
        ]
    return {"name": "leitstand-slo.rules", "rules": rules}


def cache_rules(thresholds: Thresholds, timing: RuleTiming) -> Group:
    erp = f'job="{thresholds.jobs.erp}"'
    window = timing.range(RATE_WINDOW_MS)
    by = "sum by (job, instance, cache)"
    hits = f"{by} (rate(erp_cache_hits_total{{{erp}}}[{window}]))"
    misses = f"{by} (rate(erp_cache_misses_total{{{erp}}}[{window}]))"
    rules = [
        # Hits plus misses, or either one while the other has no series yet.
        record(
            "instance_cache:erp_cache_lookups:rate5m",
            f"{hits}\n+ {misses}\nor {misses}\nor {hits}\n",
        ),
        record(
            "instance_cache:erp_cache_hits:ratio_rate5m",
            "(\n"
            f"  {hits}\n"
            "  or 0 * instance_cache:erp_cache_lookups:rate5m\n"
            ")\n"
            "/ (instance_cache:erp_cache_lookups:rate5m > 0)\n",
        ),
        record(
            "instance_cache:erp_cache_evictions:rate5m",
            f"{by} (rate(erp_cache_evictions_total{{{erp}}}[{window}]))",
        ),
        record(
            "instance_cache:erp_cache_errors:rate5m",
            f"{by} (rate(erp_cache_errors_total{{{erp}}}[{window}]))",
        ),
        record(
            "instance_cache:erp_cache_fill:ratio",
            f"{by} (last_over_time(erp_cache_entries{{{erp}}}[{window}]))\n"
            f"/ ({by} (last_over_time(erp_cache_capacity_entries{{{erp}}}[{window}])) > 0)\n",
        ),
    ]
    return {"name": "leitstand-cache.rules", "rules": rules}


def host_rules(thresholds: Thresholds, timing: RuleTiming) -> Group:
    node = f'job="{thresholds.jobs.node}"'
    window = timing.range(RATE_WINDOW_MS)
    rules = [
        record(
            "instance:node_num_cpu:sum",
            f'count by (job, instance) (node_cpu_seconds_total{{{node},mode="idle"}})',
        ),
        record(
            "instance:node_cpu_utilisation:rate5m",
            "1 - avg by (job, instance) (\n"
            "  sum by (job, instance, cpu) (\n"
            f'    rate(node_cpu_seconds_total{{{node},mode=~"idle|iowait|steal"}}[{window}])\n'
            "  )\n"
            ")\n",
        ),
        record(
            "instance:node_load1_per_cpu:ratio",
            f"node_load1{{{node}}} / on (job, instance) instance:node_num_cpu:sum",
        ),
        record(
            "instance:node_memory_utilisation:ratio",
            "1 - (\n"
            f"  last_over_time(node_memory_MemAvailable_bytes{{{node}}}[{window}])\n"
            f"  / (last_over_time(node_memory_MemTotal_bytes{{{node}}}[{window}]) > 0)\n"
            ")\n",
        ),
        record(
            "instance_mountpoint:node_filesystem_avail_bytes:ratio",
            f'last_over_time(node_filesystem_avail_bytes{{{node},fstype!~"{IGNORED_FSTYPES}"}}'
            f"[{window}])\n"
            f'/ (last_over_time(node_filesystem_size_bytes{{{node},fstype!~"{IGNORED_FSTYPES}"}}'
            f"[{window}]) > 0)\n",
        ),
        record(
            "instance_groupname:namedprocess_namegroup_cpu_seconds:rate5m",
            "sum by (job, instance, groupname) (\n"
            f"  rate(namedprocess_namegroup_cpu_seconds_total{{{node}}}[{window}])\n"
            ")\n",
        ),
        record(
            "instance_groupname:namedprocess_namegroup_resident_memory_bytes:sum",
            "sum by (job, instance, groupname) (\n"
            f'  last_over_time(namedprocess_namegroup_memory_bytes{{{node},memtype="resident"}}'
            f"[{window}])\n"
            ")\n",
        ),
    ]
    return {"name": "leitstand-host.rules", "rules": rules}


def optimizer_rules(thresholds: Thresholds, timing: RuleTiming) -> Group:
    optimizer = f'job="{thresholds.jobs.optimizer}"'
    window = timing.range(RATE_WINDOW_MS)
    # Failed actions, and verifications that found no improvement or could not run.
    failures = record(
        "instance:leitstand_optimizer_failures:increase5m",
        "sum by (job, instance) (\n"
        "  increase(\n"
        f'    leitstand_optimizer_decisions_total{{{optimizer},result="failed"}}[{window}]\n'
        "  )\n"
        "  or\n"
        "  increase(\n"
        f'    leitstand_optimizer_verifications_total{{{optimizer},result=~"not_improved|error"}}'
        f"[{window}]\n"
        "  )\n"
        ")\n",
    )
    return {"name": "leitstand-optimizer.rules", "rules": [failures]}


def recording_groups(thresholds: Thresholds, timing: RuleTiming) -> list[Group]:
    return [
        builder(thresholds, timing)
        for builder in (erp_rules, slo_rules, cache_rules, host_rules, optimizer_rules)
    ]
