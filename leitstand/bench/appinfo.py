"""The app's own description of itself and its counters, read from ``/metrics``.

Read before and after a run: the build (``erp_build_info``), the worker count,
the control knobs in force, and the counters whose difference gives database
queries per request and the cache hit ratio of the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

logger = logging.getLogger("leitstand.bench")


@dataclass
class MetricsSnapshot:
    """The app's self-description and the counters a run is measured by."""

    build: dict[str, str] | None = None
    workers: float | None = None
    knobs: dict[str, float] = field(default_factory=dict)
    db_queries_sum: float = 0.0
    db_queries_count: float = 0.0
    cache_hits: float = 0.0
    cache_misses: float = 0.0


def parse_metrics(text: str) -> MetricsSnapshot:
    """Pick the figures a report needs out of a Prometheus text exposition."""
    snapshot = MetricsSnapshot()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "erp_build_info":
                snapshot.build = dict(labels)
            elif name == "erp_workers":
                snapshot.workers = value
            elif name == "erp_control_value" and "knob" in labels:
                snapshot.knobs[labels["knob"]] = value
            elif name == "erp_db_queries_per_request_sum":
                snapshot.db_queries_sum += value
            elif name == "erp_db_queries_per_request_count":
                snapshot.db_queries_count += value
            elif name == "erp_cache_hits_total":
                snapshot.cache_hits += value
            elif name == "erp_cache_misses_total":
                snapshot.cache_misses += value
    return snapshot


def fetch_metrics(url: str, timeout: float = 5.0) -> MetricsSnapshot | None:
    """Scrape ``{url}/metrics``; None (with a log line) when the target has no such page."""
    try:
        response = httpx.get(url.rstrip("/") + "/metrics", timeout=timeout)
    except httpx.HTTPError as exc:
        logger.info("no app metrics from %s/metrics: %s", url, exc)
        return None
    if response.status_code != 200:
        logger.info("no app metrics from %s/metrics: HTTP %d", url, response.status_code)
        return None
    try:
        return parse_metrics(response.text)
    except ValueError as exc:
        logger.warning("invalid metrics text at %s/metrics: %s", url, exc)
        return None


def describe_run(before: MetricsSnapshot | None, after: MetricsSnapshot | None) -> dict[str, Any]:
    """Return the app's configuration and the run's per-request figures from two scrapes.

    The counters cover every request the app served between the scrapes,
    including any traffic besides the benchmark's.
    """
    if after is None:
        return {"available": False}
    info: dict[str, Any] = {
        "available": True,
        "build": after.build,
        "workers": after.workers,
        "knobs": after.knobs,
    }
    if before is None:
        return info
    queries = after.db_queries_sum - before.db_queries_sum
    requests = after.db_queries_count - before.db_queries_count
    hits = after.cache_hits - before.cache_hits
    misses = after.cache_misses - before.cache_misses
    info["db_queries_per_request"] = queries / requests if requests > 0 else None
    info["cache_hit_ratio"] = hits / (hits + misses) if hits + misses > 0 else None
    return info
