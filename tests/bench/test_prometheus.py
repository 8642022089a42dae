"""Server-side figures of a window, read from a real Prometheus."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from leitstand.bench.prometheus import PrometheusClient, server_side
from tests.conftest import require_binary
from tests.support.processes import free_port, running, wait_until


class SteadyApp(Collector):
    """Counters of an app that does the same every second, from its start time."""

    def __init__(self) -> None:
        self.started = time.time()

    def collect(self) -> Iterator[Metric]:
        elapsed = time.time() - self.started
        cpu = CounterMetricFamily(
            "namedprocess_namegroup_cpu_seconds", "", labels=["groupname", "mode"]
        )
        cpu.add_metric(["leitstand", "user"], 0.4 * elapsed)
        cpu.add_metric(["leitstand", "system"], 0.1 * elapsed)
        cpu.add_metric(["other", "user"], 5.0 * elapsed)
        yield cpu
        memory = GaugeMetricFamily(
            "namedprocess_namegroup_memory_bytes", "", labels=["groupname", "memtype"]
        )
        memory.add_metric(["leitstand", "resident"], 100 * 2**20)
        memory.add_metric(["leitstand", "virtual"], 900 * 2**20)
        yield memory
        requests = 10.0 * elapsed
        yield HistogramMetricFamily(
            "erp_db_queries_per_request",
            "",
            buckets=[("5", requests), ("+Inf", requests)],
            sum_value=3.0 * requests,
        )
        # 90 % of requests within 100 ms, the rest within 250 ms.
        yield HistogramMetricFamily(
            "http_request_duration_seconds",
            "",
            buckets=[("0.1", 0.9 * requests), ("0.25", requests), ("+Inf", requests)],
            sum_value=0.05 * requests,
        )
        yield CounterMetricFamily("http_requests", "", value=requests)
        yield CounterMetricFamily("erp_cache_hits", "", value=0.8 * requests)
        yield CounterMetricFamily("erp_cache_misses", "", value=0.2 * requests)


@pytest.fixture
def prometheus_url(tmp_path: Path) -> Iterator[str]:
    binary = require_binary("prometheus")
    registry = CollectorRegistry()
    registry.register(SteadyApp())
    app_port = free_port()
    server, thread = start_http_server(app_port, addr="127.0.0.1", registry=registry)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n"
        f"  - job_name: erp\n    static_configs:\n      - targets: ['127.0.0.1:{app_port}']\n"
    )
    port = free_port()
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        with running("prometheus", argv, tmp_path, ready_url=f"{url}/-/ready"):
            yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


@pytest.mark.slow
def test_server_side_of_window(prometheus_url: str) -> None:
    client = PrometheusClient(prometheus_url)
    wait_until(lambda: client.query("count(up)", time.time()) is not None, what="a first scrape")
    start = time.time()
    end = start + 4.0
    time.sleep(max(end - time.time(), 0) + 1.0)

    figures = server_side(prometheus_url, "leitstand", _iso(start), _iso(end))

    assert figures["cpu_cores"] == pytest.approx(0.5, rel=0.15)
    assert figures["memory_resident_bytes_max"] == 100 * 2**20
    assert figures["memory_resident_bytes_avg"] == 100 * 2**20
    assert figures["db_queries_per_request"] == pytest.approx(3.0, rel=0.01)
    assert figures["cache_hit_ratio"] == pytest.approx(0.8, rel=0.01)
    assert figures["request_rate_rps"] == pytest.approx(10.0, rel=0.15)
    # p99 falls 90 % of the way through the 0.1 to 0.25 s bucket.
    assert figures["latency_p99_seconds"] == pytest.approx(0.235, rel=0.01)
    assert "namedprocess_namegroup_cpu_seconds_total" in figures["queries"]["cpu_cores"]
