"""Alert rules of Leitstand, built from the thresholds file.

Every alert carries the labels ``severity`` and ``service`` and the
annotations ``summary``, ``description`` (with the value) and
``runbook_url``. App alerts keep ``job`` and ``instance``, because the
optimizer acts on the target they name. Expressions read the recorded series
of :mod:`leitstand.recording_rules`, which have no sample at zero traffic, so
no alert fires on a NaN.
"""

from __future__ import annotations

from leitstand.durations import format_duration
from leitstand.recording_rules import RATE_WINDOW_MS, Group, Rule
from leitstand.rule_timing import RuleTiming
from leitstand.thresholds import Alert, BurnRateTier, Thresholds


def _number(value: float) -> str:
    """Return a threshold as PromQL and humans read it: ``80`` rather than ``80.0``."""
    return f"{value:g}"


def _ratio(percent: float) -> str:
    return _number(round(percent / 100, 12))


class AlertBuilder:
    """Builds alert rules that share the runbook base URL and the timing."""

    def __init__(self, thresholds: Thresholds, timing: RuleTiming) -> None:
        self.thresholds = thresholds
        self.timing = timing
        self.window = timing.range(RATE_WINDOW_MS)

    def rule(
        self,
        name: str,
        settings: Alert | BurnRateTier,
        service: str,
        expr: str,
        summary: str,
        description: str,
        labels: dict[str, str] | None = None,
    ) -> Rule:
        anchor = name.lower()
        rule: Rule = {
            "alert": name,
            "expr": expr,
            "for": self.timing.for_(settings.for_),
            "labels": {"severity": settings.severity, "service": service, **(labels or {})},
            "annotations": {
                "summary": summary,
                "description": description,
                "runbook_url": f"{self.thresholds.runbook_base_url}#{anchor}",
            },
        }
        return rule

    def busy(self, ratio_expr: str) -> str:
        """Restrict a ratio to instances with at least the minimum request rate."""
        rate = _number(self.thresholds.min_request_rate)
        return f"{ratio_expr}\nand on (job, instance) instance:http_requests:rate5m >= {rate}\n"


def target_rules(builder: AlertBuilder) -> Group:
    thresholds = builder.thresholds
    down = thresholds.alerts.LeitstandTargetDown
    absent = thresholds.alerts.LeitstandTargetAbsent
    rules: list[Rule] = []
    for job, service in (
        (thresholds.jobs.erp, "erp"),
        (thresholds.jobs.node, "host"),
        (thresholds.jobs.optimizer, "optimizer"),
    ):
        rules.append(
            builder.rule(
                "LeitstandTargetDown",
                down,
                service,
                f'up{{job="{job}"}} == 0',
                "Prometheus cannot scrape {{ $labels.instance }} (job {{ $labels.job }}).",
                "Every scrape of {{ $labels.instance }} in job {{ $labels.job }} failed for "
                f"{builder.timing.for_(down.for_)}; its metrics and alerts are missing.",
            )
        )
        rules.append(
            builder.rule(
                "LeitstandTargetAbsent",
                absent,
                service,
                f'absent(up{{job="{job}"}})',
                "Job {{ $labels.job }} has no scrape targets.",
                "Prometheus has had no target in job {{ $labels.job }} for "
                f"{builder.timing.for_(absent.for_)}; check the scrape configuration "
                "and service discovery.",
            )
        )
    return {"name": "leitstand-targets.alerts", "rules": rules}


def erp_rules(builder: AlertBuilder) -> Group:
    alerts = builder.thresholds.alerts
    window = builder.window
    errors = alerts.LeitstandHighErrorRatio
    latency = alerts.LeitstandHighLatency
    saturation = alerts.LeitstandSaturation
    shed = alerts.LeitstandRequestsShed
    rules = [
        builder.rule(
            "LeitstandHighErrorRatio",
            errors,
            "erp",
            builder.busy(
                f"instance:http_requests_errors:ratio_rate5m > {_ratio(errors.threshold_percent)}"
            ),
            "{{ $labels.instance }} answers too many requests with a 5xx status.",
            "{{ $value | humanizePercentage }} of the requests to {{ $labels.instance }} "
            f"failed with a 5xx status over the last {window} "
            f"(threshold {_number(errors.threshold_percent)}%).",
        ),
        builder.rule(
            "LeitstandHighLatency",
            latency,
            "erp",
            builder.busy(
                "instance_quantile:http_request_duration_seconds:histogram_quantile"
                f'{{quantile="{latency.quantile}"}}\n'
                f"> {_number(latency.threshold_seconds)}"
            ),
            "{{ $labels.instance }} answers slowly.",
            f"The {_number(latency.quantile * 100)}th percentile latency of "
            "{{ $labels.instance }} is {{ $value | humanizeDuration }} over the last "
            f"{window} (threshold {_number(latency.threshold_seconds)}s).",
        ),
        builder.rule(
            "LeitstandSaturation",
            saturation,
            "erp",
            f"instance:erp_saturation:ratio > {_ratio(saturation.threshold_percent)}",
            "{{ $labels.instance }} is close to its limit of requests in flight.",
            "{{ $labels.instance }} had {{ $value | humanizePercentage }} of its in-flight "
            f"limit in use on average over the last {window} "
            f"(threshold {_number(saturation.threshold_percent)}%).",
        ),
        builder.rule(
            "LeitstandRequestsShed",
            shed,
            "erp",
            f"instance:erp_shed_requests:rate5m > {_number(shed.threshold_per_second)}",
            "{{ $labels.instance }} is shedding load.",
            "{{ $labels.instance }} rejected "
            '{{ $value | printf "%.2f" }} requests per second '
            f"with 503 over the last {window} because of its in-flight limit.",
        ),
    ]
    return {"name": "leitstand-erp.alerts", "rules": rules}


def slo_rules(builder: AlertBuilder) -> Group:
    slos = builder.thresholds.slos
    rules: list[Rule] = []
    for name, ratio, budget, objective, budget_name in (
        (
            "LeitstandErrorBudgetBurn",
            "http_requests_errors",
            slos.availability_budget,
            slos.availability_objective_percent,
            "error budget",
        ),
        (
            "LeitstandLatencyBudgetBurn",
            "http_requests_slow",
            slos.latency_budget,
            slos.latency_objective_percent,
            "latency budget",
        ),
    ):
        objective_text = (
            f"{_number(objective)}% availability"
            if ratio == "http_requests_errors"
            else f"{_number(objective)}% of requests within "
            f"{_number(slos.latency_threshold_seconds)}s"
        )
        for tier in slos.burn_rate_tiers:
            long, short = format_duration(tier.long), format_duration(tier.short)
            expr = (
                f"instance:{ratio}:ratio_rate{long} / {_number(budget)} > {_number(tier.factor)}\n"
                f"and on (job, instance)\n"
                f"instance:{ratio}:ratio_rate{short} / {_number(budget)} > {_number(tier.factor)}\n"
                "and on (job, instance)\n"
                # The current rate: a long window understates it while it fills.
                "instance:http_requests:rate5m >= "
                f"{_number(builder.thresholds.min_request_rate)}\n"
            )
            rules.append(
                builder.rule(
                    name,
                    tier,
                    "erp",
                    expr,
                    f"{{{{ $labels.instance }}}} is burning its {budget_name} too fast.",
                    "Over the last "
                    f"{builder.timing.range(tier.long)} {{{{ $labels.instance }}}} burned its "
                    f"{format_duration(slos.period)} {budget_name} "
                    '{{ $value | printf "%.1f" }} times as fast as the objective of '
                    f"{objective_text} allows (threshold {_number(tier.factor)}).",
                    labels={"long_window": long, "short_window": short},
                )
            )
    return {"name": "leitstand-slo.alerts", "rules": rules}


def host_rules(builder: AlertBuilder) -> Group:
    alerts = builder.thresholds.alerts
    window = builder.window
    cpu = alerts.LeitstandHostHighCpu
    memory = alerts.LeitstandHostHighMemory
    disk = alerts.LeitstandHostLowDisk
    rules = [
        builder.rule(
            "LeitstandHostHighCpu",
            cpu,
            "host",
            f"instance:node_cpu_utilisation:rate5m > {_ratio(cpu.threshold_percent)}",
            "{{ $labels.instance }} has little CPU time left.",
            "The CPUs of {{ $labels.instance }} were busy {{ $value | humanizePercentage }} "
            f"of the time over the last {window} (threshold {_number(cpu.threshold_percent)}%).",
        ),
        builder.rule(
            "LeitstandHostHighMemory",
            memory,
            "host",
            f"instance:node_memory_utilisation:ratio > {_ratio(memory.threshold_percent)}",
            "{{ $labels.instance }} is running out of memory.",
            "{{ $value | humanizePercentage }} of the memory of {{ $labels.instance }} is in "
            f"use (threshold {_number(memory.threshold_percent)}%).",
        ),
        builder.rule(
            "LeitstandHostLowDisk",
            disk,
            "host",
            "instance_mountpoint:node_filesystem_avail_bytes:ratio < "
            f"{_ratio(disk.threshold_percent)}",
            "{{ $labels.mountpoint }} on {{ $labels.instance }} is running out of space.",
            "Only {{ $value | humanizePercentage }} of {{ $labels.mountpoint }} "
            "({{ $labels.device }}) on {{ $labels.instance }} is free "
            f"(threshold {_number(disk.threshold_percent)}%).",
        ),
    ]
    return {"name": "leitstand-host.alerts", "rules": rules}


def cache_rules(builder: AlertBuilder) -> Group:
    alerts = builder.thresholds.alerts
    window = builder.window
    hits = alerts.LeitstandCacheHitRatioLow
    evicting = alerts.LeitstandCacheEvicting
    keep = "job, instance, cache"
    rules = [
        builder.rule(
            "LeitstandCacheHitRatioLow",
            hits,
            "erp",
            f"instance_cache:erp_cache_hits:ratio_rate5m < {_ratio(hits.threshold_percent)}\n"
            f"and on ({keep})\n"
            "instance_cache:erp_cache_lookups:rate5m >= "
            f"{_number(hits.min_lookups_per_second)}\n",
            "Cache {{ $labels.cache }} on {{ $labels.instance }} misses too often.",
            "Only {{ $value | humanizePercentage }} of the lookups in cache "
            "{{ $labels.cache }} on {{ $labels.instance }} were hits over the last "
            f"{window} (threshold {_number(hits.threshold_percent)}%).",
        ),
        builder.rule(
            "LeitstandCacheEvicting",
            evicting,
            "erp",
            "instance_cache:erp_cache_evictions:rate5m > "
            f"{_number(evicting.threshold_per_second)}\n"
            f"and on ({keep})\n"
            f"instance_cache:erp_cache_fill:ratio >= {_ratio(evicting.full_percent)}\n",
            "Cache {{ $labels.cache }} on {{ $labels.instance }} is full and evicting.",
            "Cache {{ $labels.cache }} on {{ $labels.instance }} is full and evicted "
            '{{ $value | printf "%.2f" }} entries per second over the last '
            f"{window}.",
        ),
    ]
    return {"name": "leitstand-cache.alerts", "rules": rules}


def optimizer_rules(builder: AlertBuilder) -> Group:
    failing = builder.thresholds.alerts.LeitstandOptimizerFailing
    rule = builder.rule(
        "LeitstandOptimizerFailing",
        failing,
        "optimizer",
        f"instance:leitstand_optimizer_failures:increase5m > {_number(failing.threshold_count)}",
        "The optimizer at {{ $labels.instance }} fails to act or to improve.",
        "Failed actions and unsuccessful verifications of the optimizer at "
        f"{{{{ $labels.instance }}}} over the last {builder.window}: "
        '{{ $value | printf "%.0f" }}.',
    )
    return {"name": "leitstand-optimizer.alerts", "rules": [rule]}


def alert_groups(thresholds: Thresholds, timing: RuleTiming) -> list[Group]:
    builder = AlertBuilder(thresholds, timing)
    return [
        build(builder)
        for build in (target_rules, erp_rules, slo_rules, host_rules, cache_rules, optimizer_rules)
    ]
