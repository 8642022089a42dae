"""The rendered configuration in a real Prometheus 2.42 that scrapes prometheus_client output."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from leitstand.promconfig import render_prometheus_config
from leitstand.rules import render_rules
from tests.conftest import require_binary
from tests.support.processes import free_port, running, wait_until

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class FakeApp:
    """Metrics of the app's contract; every scrape adds ten requests, two failed, two slow."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests", "Requests.", ["handler", "method", "status"], registry=self.registry
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Request duration.",
            ["handler", "method"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.hits = Counter("erp_cache_hits", "Hits.", ["cache"], registry=self.registry)
        self.misses = Counter("erp_cache_misses", "Misses.", ["cache"], registry=self.registry)
        Gauge("erp_workers", "Workers.", registry=self.registry).set(2)
        Gauge("http_requests_in_flight", "In flight.", registry=self.registry).set(3)
        knob = Gauge("erp_control_value", "Knobs.", ["knob"], registry=self.registry)
        knob.labels("shed.max_in_flight").set(0)
        self.lock = threading.Lock()

    def scrape(self) -> bytes:
        with self.lock:
            for number in range(10):
                status = "500" if number < 2 else "200"
                self.requests.labels("/api/v1/kunden", "GET", status).inc()
                self.duration.labels("/api/v1/kunden", "GET").observe(0.3 if number < 2 else 0.02)
            self.hits.labels("kunden").inc(3)
            # The artikel cache has misses only, so its hit counter has no series.
            self.misses.labels("artikel").inc(5)
            return generate_latest(self.registry)


@pytest.fixture
def fake_app() -> Iterator[str]:
    app = FakeApp()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = app.scrape()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def query(base: str, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def test_rules_evaluate_on_real_scrapes(tmp_path: Path, fake_app: str) -> None:
    binary = require_binary("prometheus")
    rule_files = render_rules(tmp_path, scrape_interval="1s", max_for="2s")
    port = free_port()
    app_port = int(fake_app.rpartition(":")[2])
    config = tmp_path / "prometheus.yml"
    config.write_text(
        render_prometheus_config(
            ports={"erp": app_port, "prometheus": port},
            scrape_interval="1s",
            evaluation_interval="1s",
            rule_files=rule_files,
        )
    )
    base = f"http://127.0.0.1:{port}"

    with running(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        tmp_path,
        ready_url=f"{base}/-/ready",
    ):
        # 20% of the requests are 5xx and 20% are slower than 0.25 s.
        wait_until(
            lambda: bool(query(base, "instance:http_requests_slow:ratio_rate1h")),
            timeout=30,
            what="the slow-request ratio",
        )
        wait_until(
            lambda: bool(query(base, 'ALERTS{alertname="LeitstandHighErrorRatio"}')),
            timeout=30,
            what="LeitstandHighErrorRatio",
        )
        groups = httpx.get(f"{base}/api/v1/rules", timeout=5).json()["data"]["groups"]
        errors = query(base, "instance:http_requests_errors:ratio_rate5m")
        slow = query(base, "instance:http_requests_slow:ratio_rate5m")
        artikel = query(base, 'instance_cache:erp_cache_hits:ratio_rate5m{cache="artikel"}')
        capacity = query(base, "instance:erp_in_flight_capacity:sum")

    unhealthy = [
        (rule["name"], rule.get("lastError"))
        for group in groups
        for rule in group["rules"]
        if rule["health"] != "ok"
    ]
    assert unhealthy == []
    assert float(errors[0]["value"][1]) == pytest.approx(0.2)
    # prometheus_client writes the bucket as le="0.25", which the SLO rules match.
    assert float(slow[0]["value"][1]) == pytest.approx(0.2)
    assert errors[0]["metric"] == {
        "__name__": "instance:http_requests_errors:ratio_rate5m",
        "job": "erp",
        "instance": fake_app,
    }
    assert float(artikel[0]["value"][1]) == 0
    assert float(capacity[0]["value"][1]) == 128
