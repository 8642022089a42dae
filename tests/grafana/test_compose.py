"""The Compose file, its Prometheus and Alertmanager configurations, and Grafana's provisioning."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from leitstand.promconfig import ALERTMANAGER_YML, PROMETHEUS_YML, render_alertmanager_config
from tests.conftest import require_binary

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROVISIONING = ROOT / "grafana" / "provisioning"

# scrape job -> the Compose service that is its target
JOB_SERVICES = {
    "erp": "app",
    "node": "exporter",
    "optimizer": "optimizer",
    "prometheus": "prometheus",
    "alertmanager": "alertmanager",
}


def load_yaml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


def container_port(service: dict[str, Any]) -> int:
    """Return the container port of a service's first published port."""
    return int(str(service["ports"][0]).rsplit(":", 1)[1])


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Return container path -> source of a service's volumes."""
    found = {}
    for volume in service["volumes"]:
        source, target = str(volume).split(":")[:2]
        found[target] = source
    return found


def test_compose_file_valid() -> None:
    docker_compose = require_binary("docker-compose")
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_compose_has_every_part() -> None:
    assert set(compose()["services"]) == {
        "app",
        "exporter",
        "optimizer",
        "mail",
        "prometheus",
        "alertmanager",
        "grafana",
    }


def test_prometheus_config_differs_only_in_targets() -> None:
    services = compose()["services"]
    checked_in = load_yaml(PROMETHEUS_YML)
    in_compose = load_yaml(ROOT / "compose" / "prometheus.yml")

    for job in in_compose["scrape_configs"]:
        service = JOB_SERVICES[job["job_name"]]
        assert job["static_configs"] == [
            {"targets": [f"{service}:{container_port(services[service])}"]}
        ]
    for config in (checked_in, in_compose):
        for job in config["scrape_configs"]:
            del job["static_configs"]
        del config["alerting"]
    assert in_compose == checked_in


def test_prometheus_mounts_config_and_rules() -> None:
    prometheus = mounts(compose()["services"]["prometheus"])

    assert prometheus["/etc/prometheus/prometheus.yml"] == "./compose/prometheus.yml"
    assert prometheus["/etc/prometheus/rules"] == "./prometheus/rules"
    for rule_file in load_yaml(ROOT / "compose" / "prometheus.yml")["rule_files"]:
        assert (ROOT / "prometheus" / rule_file).is_file(), rule_file


def test_alertmanager_config_rendered_from_checked_in() -> None:
    expected = render_alertmanager_config(
        smtp_smarthost="mail:1025",
        webhook_url="http://optimizer:9095/webhook",
        webhook_credentials_file="/run/leitstand/webhook.token",
        source=ALERTMANAGER_YML,
    )
    assert load_yaml(ROOT / "compose" / "alertmanager.yml") == yaml.safe_load(expected)


def test_tokens_shared_through_volume() -> None:
    services = compose()["services"]
    optimizer = services["optimizer"]["environment"]
    app = services["app"]["environment"]

    assert mounts(services["optimizer"])["/run/leitstand"] == "tokens"
    assert mounts(services["app"])["/run/leitstand"] == "tokens"
    assert mounts(services["alertmanager"])["/run/leitstand"] == "tokens"
    assert app["LEITSTAND_CONTROL_TOKEN_FILE"] == optimizer["LEITSTAND_CONTROL_TOKEN_FILE"]
    webhook_token_file = "/run/leitstand/webhook.token"  # noqa: S105 (a path, not a secret)
    assert optimizer["LEITSTAND_WEBHOOK_TOKEN_FILE"] == webhook_token_file


def test_datasource_matches_prometheus() -> None:
    [datasource] = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    scrape_interval = load_yaml(ROOT / "compose" / "prometheus.yml")["global"]["scrape_interval"]

    assert datasource["uid"] == "leitstand-prometheus"
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert datasource["jsonData"]["timeInterval"] == scrape_interval
    assert load_yaml(PROMETHEUS_YML)["global"]["scrape_interval"] == scrape_interval


def test_grafana_loads_provisioned_dashboards() -> None:
    grafana = compose()["services"]["grafana"]
    [provider] = load_yaml(PROVISIONING / "dashboards" / "leitstand.yml")["providers"]
    volumes = mounts(grafana)

    assert volumes["/etc/grafana/provisioning"] == "./grafana/provisioning"
    assert volumes[provider["options"]["path"]] == "./grafana/dashboards"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (ROOT / "grafana" / "dashboards" / Path(home).name).is_file()


def test_ports_published_on_loopback() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_annotation_step_is_scrape_interval() -> None:
    [datasource] = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json")):
        for annotation in json.loads(path.read_text(encoding="utf-8"))["annotations"]["list"]:
            if "expr" in annotation:
                assert annotation["step"] == datasource["jsonData"]["timeInterval"], path.name
