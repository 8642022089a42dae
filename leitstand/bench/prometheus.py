"""The server side of a run's window, read from Prometheus.

CPU and resident memory of the app's processes come from the exporter's
process groups (``namedprocess_namegroup_*``). Database queries per request
and the cache hit ratio come from the app's own metrics. Every query covers exactly
the measured window.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import httpx

logger = logging.getLogger("leitstand.bench")


class PrometheusError(RuntimeError):
    """A failed query; the message names the query and Prometheus's error."""


def server_queries(group: str, window_s: int) -> dict[str, str]:
    """Return the PromQL expression for each server-side figure of a report."""
    w = f"{window_s}s"
    proc = f'groupname=~"{group}"'
    return {
        "cpu_cores": f"sum(rate(namedprocess_namegroup_cpu_seconds_total{{{proc}}}[{w}]))",
        # Per group first, then summed: a subquery would need a resolution that
        # matches the scrape interval, which this module does not know.
        "memory_resident_bytes_max": (
            "sum(max_over_time(namedprocess_namegroup_memory_bytes"
            f'{{{proc},memtype="resident"}}[{w}]))'
        ),
        "memory_resident_bytes_avg": (
            "sum(avg_over_time(namedprocess_namegroup_memory_bytes"
            f'{{{proc},memtype="resident"}}[{w}]))'
        ),
        "db_queries_per_request": (
            f"sum(increase(erp_db_queries_per_request_sum[{w}])) / "
            f"sum(increase(erp_db_queries_per_request_count[{w}]))"
        ),
        "cache_hit_ratio": (
            f"sum(increase(erp_cache_hits_total[{w}])) / "
            f"(sum(increase(erp_cache_hits_total[{w}])) "
            f"+ sum(increase(erp_cache_misses_total[{w}])))"
        ),
        "request_rate_rps": f"sum(rate(http_requests_total[{w}]))",
        "latency_p99_seconds": (
            "histogram_quantile(0.99, sum by (le) "
            f"(rate(http_request_duration_seconds_bucket[{w}])))"
        ),
    }


class PrometheusClient:
    """Instant queries against the HTTP API of one Prometheus server."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def query(self, expression: str, at: float) -> float | None:
        """Return the single value of ``expression`` at ``at`` (epoch seconds), or None."""
        try:
            response = httpx.get(
                f"{self.url}/api/v1/query",
                params={"query": expression, "time": f"{at:.3f}"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise PrometheusError(f"query {expression!r} to {self.url} failed: {exc}") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise PrometheusError(
                f"query {expression!r} to {self.url} returned HTTP {response.status_code} "
                f"without JSON; is {self.url} a Prometheus server?"
            ) from exc
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(
                f"query {expression!r} to {self.url} failed: HTTP {response.status_code} "
                f"{body.get('error', '')}"
            )
        result = body["data"]["result"]
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if value != value else value  # NaN: no data in the window

    def wait_for_scrapes(self, after: float, timeout: float = 120.0) -> bool:
        """Wait until every target has been scraped at or after ``after`` (epoch seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            oldest = self.query("min(timestamp(up))", time.time())
            if oldest is not None and oldest >= after:
                return True
            time.sleep(0.5)
        return False


def server_side(prometheus_url: str, group: str, start: str, end: str) -> dict[str, Any]:
    """Query the server-side figures of the window from ``start`` to ``end`` (ISO 8601)."""
    start_s = datetime.fromisoformat(start).timestamp()
    end_s = datetime.fromisoformat(end).timestamp()
    window_s = max(round(end_s - start_s), 1)
    client = PrometheusClient(prometheus_url)
    if not client.wait_for_scrapes(end_s):
        logger.warning(
            "Prometheus at %s has not scraped every target since the run ended; "
            "the server-side figures may miss the last seconds",
            prometheus_url,
        )
    figures: dict[str, Any] = {"prometheus_url": prometheus_url, "process_group": group}
    for name, expression in server_queries(group, window_s).items():
        figures[name] = client.query(expression, end_s)
    figures["queries"] = server_queries(group, window_s)
    return figures
