"""The Alertmanager configuration: amtool checks, the route table, inhibition, a real start."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from leitstand.promconfig import render_alertmanager_config
from tests.conftest import require_binary
from tests.prometheus.conftest import PROMETHEUS_DIR, assert_succeeds, run_tool
from tests.support.processes import free_port, running, wait_until

CONFIG = PROMETHEUS_DIR / "alertmanager.yml"

# labels of an alert -> the receivers it must reach, in routing order
ROUTES = [
    ({"alertname": "LeitstandHighLatency", "service": "erp", "severity": "warning"},
     "optimizer,email-warning"),
    ({"alertname": "LeitstandErrorBudgetBurn", "service": "erp", "severity": "critical"},
     "optimizer,email-critical"),
    ({"alertname": "LeitstandHostHighCpu", "service": "host", "severity": "warning"},
     "optimizer,email-warning"),
    ({"alertname": "LeitstandHostLowDisk", "service": "host", "severity": "critical"},
     "optimizer,email-critical"),
    ({"alertname": "LeitstandOptimizerFailing", "service": "optimizer", "severity": "warning"},
     "email-warning"),
    ({"alertname": "LeitstandTargetDown", "service": "optimizer", "severity": "critical"},
     "email-critical"),
    # An alert of an unknown service reaches people, never the optimizer.
    ({"alertname": "Watchdog", "severity": "warning"}, "email-warning"),
    ({"alertname": "SomethingElse", "service": "billing", "severity": "critical"},
     "email-critical"),
]  # fmt: skip


def load(text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_check_config(amtool: str) -> None:
    output = assert_succeeds([amtool, "check-config", CONFIG])
    assert "SUCCESS" in output
    assert "3 receivers" in output


@pytest.mark.parametrize(
    ("labels", "receivers"), ROUTES, ids=[labels["alertname"] for labels, _ in ROUTES]
)
def test_routes(amtool: str, labels: dict[str, str], receivers: str) -> None:
    pairs = [f"{name}={value}" for name, value in labels.items()]
    assert_succeeds(
        [amtool, "config", "routes", "test", f"--config.file={CONFIG}",
         f"--verify.receivers={receivers}", *pairs]
    )  # fmt: skip


def test_route_check_can_fail(amtool: str) -> None:
    result = run_tool(
        [amtool, "config", "routes", "test", f"--config.file={CONFIG}",
         "--verify.receivers=optimizer", "service=optimizer", "severity=critical"]
    )  # fmt: skip
    assert result.returncode != 0


def test_every_receiver_is_reached() -> None:
    receivers = {receiver["name"] for receiver in load(CONFIG.read_text())["receivers"]}
    reached = {name for _, names in ROUTES for name in names.split(",")}
    assert receivers == reached


def test_optimizer_webhook_settings() -> None:
    config = load(CONFIG.read_text())
    (optimizer,) = [r for r in config["receivers"] if r["name"] == "optimizer"]
    (webhook,) = optimizer["webhook_configs"]
    assert webhook["url"] == "http://127.0.0.1:9095/webhook"
    assert webhook["send_resolved"] is True
    assert webhook["http_config"]["authorization"]["credentials_file"] == "webhook-token"
    # Alertmanager 0.25 has no webhook timeout; the key would fail to load.
    assert "timeout" not in webhook


def test_grouping_and_timing() -> None:
    route = load(CONFIG.read_text())["route"]
    assert route["group_by"] == ["alertname", "instance"]
    assert route["group_wait"] == "10s"
    assert route["group_interval"] == "1m"
    assert route["repeat_interval"] == "4h"
    assert load(CONFIG.read_text())["global"]["smtp_require_tls"] is False


def test_inhibit_rules_name_equal_labels() -> None:
    rules = load(CONFIG.read_text())["inhibit_rules"]
    assert rules
    for rule in rules:
        assert rule["equal"], rule
        assert rule["source_matchers"], rule
        assert rule["target_matchers"], rule
    critical_over_warning = rules[0]
    assert critical_over_warning["source_matchers"] == ['severity="critical"']
    assert critical_over_warning["target_matchers"] == ['severity="warning"']
    assert critical_over_warning["equal"] == ["alertname", "instance"]


def test_rendered_config(amtool: str, tmp_path: Path) -> None:
    text = render_alertmanager_config(
        smtp_smarthost="127.0.0.1:2525",
        smtp_from="am@example.test",
        email_to="team@example.test",
        email_to_critical="pager@example.test",
        webhook_url="http://127.0.0.1:19095/webhook",
        webhook_credentials_file=tmp_path / "token",
        group_wait="1s",
        group_interval="2s",
        repeat_interval="10m",
    )
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    assert_succeeds([amtool, "check-config", path])

    config = load(text)
    receivers = {r["name"]: r for r in config["receivers"]}
    assert config["global"]["smtp_smarthost"] == "127.0.0.1:2525"
    assert receivers["email-critical"]["email_configs"][0]["to"] == "pager@example.test"
    assert receivers["email-warning"]["email_configs"][0]["to"] == "team@example.test"
    webhook = receivers["optimizer"]["webhook_configs"][0]
    assert webhook["url"] == "http://127.0.0.1:19095/webhook"
    assert webhook["http_config"]["authorization"]["credentials_file"] == str(tmp_path / "token")
    assert config["route"]["group_wait"] == "1s"
    assert config["route"]["repeat_interval"] == "10m"
    assert config["route"]["routes"][2]["repeat_interval"] == "10m"
    assert "repeat_interval" not in config["route"]["routes"][1]


class _WebhookCapture(BaseHTTPRequestHandler):
    """Stores each POST body with its Authorization header on the server object."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.headers.get("Authorization"), json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[str | None, dict[str, Any]]]]]:
    server = HTTPServer(("127.0.0.1", 0), _WebhookCapture)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/webhook", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_alertmanager_delivers_to_the_optimizer_with_the_token(
    tmp_path: Path, webhook: tuple[str, list[tuple[str | None, dict[str, Any]]]]
) -> None:
    binary = require_binary("prometheus-alertmanager")
    url, received = webhook
    # The credentials file stays relative: Alertmanager reads it next to its config.
    (tmp_path / "webhook-token").write_text("test-token\n")
    config = tmp_path / "alertmanager.yml"
    config.write_text(render_alertmanager_config(webhook_url=url, group_wait="1s"))
    port = free_port()

    with running(
        "alertmanager",
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        tmp_path,
        ready_url=f"http://127.0.0.1:{port}/-/ready",
    ):
        alert = {
            "labels": {
                "alertname": "LeitstandHighLatency",
                "service": "erp",
                "severity": "warning",
                "job": "erp",
                "instance": "127.0.0.1:8003",
            },
            "annotations": {"summary": "127.0.0.1:8003 answers slowly."},
        }
        response = httpx.post(f"http://127.0.0.1:{port}/api/v2/alerts", json=[alert], timeout=5)
        assert response.status_code == 200
        wait_until(lambda: bool(received), timeout=20, what="a webhook notification")

    authorization, payload = received[0]
    assert authorization == "Bearer test-token"
    assert payload["version"] == "4"
    assert payload["status"] == "firing"
    assert payload["groupLabels"] == {
        "alertname": "LeitstandHighLatency",
        "instance": "127.0.0.1:8003",
    }
    assert payload["alerts"][0]["labels"]["job"] == "erp"


def test_critical_inhibits_warning_of_same_alert_and_instance(tmp_path: Path) -> None:
    binary = require_binary("prometheus-alertmanager")
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG.read_text())
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def alert(severity: str, instance: str, alertname: str = "LeitstandErrorBudgetBurn") -> Any:
        labels = {"alertname": alertname, "service": "erp", "severity": severity}
        return {"labels": {**labels, "job": "erp", "instance": instance}}

    def states() -> dict[tuple[str, str, str], str]:
        alerts = httpx.get(f"{base}/api/v2/alerts", timeout=5).json()
        return {
            (a["labels"]["alertname"], a["labels"]["severity"], a["labels"]["instance"]): a[
                "status"
            ]["state"]
            for a in alerts
        }

    with running(
        "alertmanager",
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        tmp_path,
        ready_url=f"{base}/-/ready",
    ):
        posted = [
            alert("critical", "a:8003"),
            alert("warning", "a:8003"),
            alert("warning", "b:8003"),
            alert("critical", "c:8003", "LeitstandTargetDown"),
            alert("warning", "c:8003", "LeitstandHighLatency"),
        ]
        response = httpx.post(f"{base}/api/v2/alerts", json=posted, timeout=5)
        assert response.status_code == 200
        wait_until(lambda: len(states()) == len(posted), timeout=10, what="the posted alerts")
        result = states()

    assert result[("LeitstandErrorBudgetBurn", "critical", "a:8003")] == "active"
    assert result[("LeitstandErrorBudgetBurn", "warning", "a:8003")] == "suppressed"
    # Another instance keeps its warning.
    assert result[("LeitstandErrorBudgetBurn", "warning", "b:8003")] == "active"
    # A target that is down silences the other alerts about it.
    assert result[("LeitstandTargetDown", "critical", "c:8003")] == "active"
    assert result[("LeitstandHighLatency", "warning", "c:8003")] == "suppressed"
