"""The manifests fit together: selectors, ports, Secrets, rules and Alertmanager routes."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import yaml

from app.control.access import parse_networks
from tests.conftest import require_binary
from tests.kubernetes.conftest import KUBERNETES, ROOT, find, of_kind
from tests.kubernetes.kustomize import Resource, build

WORKLOADS = ("Deployment", "DaemonSet", "StatefulSet")
# The Secrets the production overlay expects to exist; docs/kubernetes.md lists them.
EXTERNAL_SECRETS = {"leitstand-tokens", "leitstand-postgres", "leitstand-redis"}


def pod_templates(resources: list[Resource]) -> list[tuple[Resource, dict[str, Any]]]:
    return [(workload, workload["spec"]["template"]) for workload in of_kind(resources, *WORKLOADS)]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def container_ports(template: dict[str, Any]) -> dict[str, int]:
    return {
        port["name"]: port["containerPort"]
        for container in template["spec"]["containers"]
        for port in container.get("ports", [])
    }


def relabelled_job(endpoint: dict[str, Any]) -> str:
    jobs = [rule["replacement"] for rule in endpoint["relabelings"] if rule["targetLabel"] == "job"]
    assert len(jobs) == 1
    return str(jobs[0])


def test_services_select_pods_with_their_ports(overlay: list[Resource]) -> None:
    templates = pod_templates(overlay)
    for service in of_kind(overlay, "Service"):
        name = service["metadata"]["name"]
        matched = [
            t for _, t in templates if selects(service["spec"]["selector"], t["metadata"]["labels"])
        ]
        assert len(matched) == 1, name
        for port in service["spec"]["ports"]:
            assert port["name"], name
            assert port["targetPort"] in container_ports(matched[0]), name


def test_service_monitors_match_their_services(overlay: list[Resource]) -> None:
    services = of_kind(overlay, "Service")
    for monitor in of_kind(overlay, "ServiceMonitor"):
        selector = monitor["spec"]["selector"]["matchLabels"]
        matched = [s for s in services if selects(selector, s["metadata"].get("labels", {}))]
        assert len(matched) == 1, monitor["metadata"]["name"]
        port_names = {port["name"] for port in matched[0]["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in port_names


def test_pod_monitor_matches_exporter_pods(overlay: list[Resource]) -> None:
    monitor = find(overlay, "PodMonitor", "leitstand-exporter")
    selector = monitor["spec"]["selector"]["matchLabels"]
    matched = [
        (workload, template)
        for workload, template in pod_templates(overlay)
        if selects(selector, template["metadata"]["labels"])
    ]
    assert [workload["kind"] for workload, _ in matched] == ["DaemonSet"]
    for endpoint in monitor["spec"]["podMetricsEndpoints"]:
        assert endpoint["port"] in container_ports(matched[0][1])


def test_monitor_jobs_match_rules_and_annotations(overlay: list[Resource]) -> None:
    annotated = {
        template["metadata"]["labels"]["app.kubernetes.io/name"]: template["metadata"][
            "annotations"
        ]
        for _, template in pod_templates(overlay)
        if "annotations" in template["metadata"]
    }
    rules = (ROOT / "prometheus" / "kubernetes" / "prometheusrule.yaml").read_text()
    jobs = {}
    for monitor in of_kind(overlay, "ServiceMonitor", "PodMonitor"):
        endpoints = monitor["spec"].get("endpoints") or monitor["spec"]["podMetricsEndpoints"]
        name = monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        jobs[name] = {relabelled_job(endpoint) for endpoint in endpoints}

    assert jobs == {
        "leitstand-app": {"erp"},
        "leitstand-exporter": {"node"},
        "leitstand-optimizer": {"optimizer"},
    }
    for name, (job,) in jobs.items():
        assert f'job="{job}"' in rules
        assert annotated[name]["prometheus.io/job"] == job


def test_prometheus_rule_is_the_rendered_file() -> None:
    copy = KUBERNETES / "base" / "prometheusrule.yaml"
    rendered = ROOT / "prometheus" / "kubernetes" / "prometheusrule.yaml"
    assert copy.read_text() == rendered.read_text(), (
        f"{copy} differs from {rendered}: copy the rendered file after `leitstand rules`"
    )


def alertmanager_config(resources: list[Resource]) -> dict[str, Any]:
    secret = find(resources, "Secret", "alertmanager-leitstand")
    config: dict[str, Any] = yaml.safe_load(secret["stringData"]["alertmanager.yaml"])
    return config


def test_alertmanager_config_follows_local_file(overlay: list[Resource]) -> None:
    cluster = alertmanager_config(overlay)
    local = yaml.safe_load((ROOT / "prometheus" / "alertmanager.yml").read_text())

    assert cluster["route"] == local["route"]
    assert cluster["inhibit_rules"] == local["inhibit_rules"]
    assert [r["name"] for r in cluster["receivers"]] == [r["name"] for r in local["receivers"]]
    for ours, theirs in zip(cluster["receivers"], local["receivers"], strict=True):
        assert set(ours) == set(theirs)
        assert (ours.get("webhook_configs") is None) == (theirs.get("webhook_configs") is None)
    assert cluster["global"].keys() == local["global"].keys()


def test_alertmanager_webhook_reaches_optimizer(overlay: list[Resource]) -> None:
    (receiver,) = [r for r in alertmanager_config(overlay)["receivers"] if r["name"] == "optimizer"]
    (webhook,) = receiver["webhook_configs"]
    service = find(overlay, "Service", "leitstand-optimizer")
    namespace = service["metadata"]["namespace"]
    (port,) = service["spec"]["ports"]
    assert webhook["url"] == f"http://leitstand-optimizer.{namespace}.svc:{port['port']}/webhook"

    # The Operator mounts each Secret named in the Alertmanager's `secrets` list
    # under /etc/alertmanager/secrets/<name>/.
    credentials = Path(webhook["http_config"]["authorization"]["credentials_file"])
    assert credentials.parent == Path("/etc/alertmanager/secrets/leitstand-tokens")
    optimizer = find(overlay, "Deployment", "leitstand-optimizer")
    env = {
        e["name"]: e.get("value")
        for e in optimizer["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert Path(env["LEITSTAND_WEBHOOK_TOKEN_FILE"]).name == credentials.name


def test_alertmanager_config_passes_amtool(overlay: list[Resource], tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(alertmanager_config(overlay)))
    result = subprocess.run(
        [require_binary("amtool"), "check-config", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_referenced_secrets_and_config_maps_exist() -> None:
    dev = build(KUBERNETES / "overlays" / "dev")
    production = build(KUBERNETES / "overlays" / "production")
    for resources, expected_missing in ((dev, set()), (production, EXTERNAL_SECRETS)):
        names = {(r["kind"], r["metadata"]["name"]) for r in resources}
        referenced = set()
        for _, template in pod_templates(resources):
            for container in template["spec"]["containers"]:
                for source in container.get("envFrom", []):
                    assert ("ConfigMap", source["configMapRef"]["name"]) in names
                for variable in container.get("env", []):
                    secret = variable.get("valueFrom", {}).get("secretKeyRef")
                    if secret:
                        referenced.add(secret["name"])
            for volume in template["spec"].get("volumes", []):
                if "secret" in volume:
                    referenced.add(volume["secret"]["secretName"])
        missing = {name for name in referenced if ("Secret", name) not in names}
        assert missing == expected_missing


def test_dev_secrets_hold_the_keys_pods_read() -> None:
    resources = build(KUBERNETES / "overlays" / "dev")
    tokens = find(resources, "Secret", "leitstand-tokens")
    assert set(tokens["data"]) == {"control-token", "webhook-token"}
    for name in ("leitstand-postgres", "leitstand-redis"):
        password = base64.b64decode(find(resources, "Secret", name)["data"]["password"])
        assert password


def test_control_api_allows_pod_network(overlay: list[Resource]) -> None:
    config = find(overlay, "ConfigMap", "leitstand-app")["data"]
    networks = parse_networks(config["LEITSTAND_CONTROL_ALLOWED_NETWORKS"])
    assert networks
    assert all(not network.is_loopback for network in networks)
    assert all(network.is_private for network in networks)


def test_autoscaler_targets_app_with_cpu_requests(overlay: list[Resource]) -> None:
    autoscaler = find(overlay, "HorizontalPodAutoscaler", "leitstand-app")
    target = autoscaler["spec"]["scaleTargetRef"]
    deployment = find(overlay, target["kind"], target["name"])
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"]["cpu"]
    assert autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
    assert "--workers=1" in container["args"]
