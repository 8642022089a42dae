"""prometheus/prometheus-kubernetes.yml: promtool accepts it and its relabelling finds the pods."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_binary
from tests.kubernetes.conftest import ROOT
from tests.kubernetes.kustomize import Resource

CONFIG = ROOT / "prometheus" / "prometheus-kubernetes.yml"
POD_IP = "10.244.1.7"


def relabel(labels: dict[str, str], rules: list[dict[str, Any]]) -> dict[str, str] | None:
    """Apply relabel rules (keep, drop, replace); return ``None`` when one drops the target."""
    labels = dict(labels)
    for rule in rules:
        action = rule.get("action", "replace")
        separator = rule.get("separator", ";")
        value = separator.join(labels.get(name, "") for name in rule.get("source_labels", []))
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        if action == "keep" and match is None:
            return None
        if action == "drop" and match is not None:
            return None
        if action == "replace" and match is not None:
            replacement = re.sub(r"\$(\d+)", r"\\\1", rule.get("replacement", "$1"))
            result = match.expand(replacement)
            if result:
                labels[rule["target_label"]] = result
            else:
                labels.pop(rule["target_label"], None)
        elif action not in ("keep", "drop", "replace"):
            raise ValueError(f"relabel action {action!r} is not simulated")
    return labels


def discovered(template: dict[str, Any], port: dict[str, Any]) -> dict[str, str]:
    """The labels kubernetes_sd_configs (role pod) gives one container port of a pod."""
    metadata = template["metadata"]
    labels = {
        "__address__": f"{POD_IP}:{port['containerPort']}",
        "__metrics_path__": "/metrics",
        "__meta_kubernetes_namespace": "leitstand",
        "__meta_kubernetes_pod_name": f"{metadata['labels']['app.kubernetes.io/name']}-0",
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_container_port_number": str(port["containerPort"]),
    }
    for key, value in metadata["labels"].items():
        labels["__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)] = value
    for key, value in metadata.get("annotations", {}).items():
        labels["__meta_kubernetes_pod_annotation_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)] = value
    return labels


def scrape_rules() -> list[dict[str, Any]]:
    config = yaml.safe_load(CONFIG.read_text())
    (job,) = [job for job in config["scrape_configs"] if "kubernetes_sd_configs" in job]
    rules: list[dict[str, Any]] = job["relabel_configs"]
    return rules


def test_annotated_pods_are_scraped_as_annotated(overlay: list[Resource]) -> None:
    rules = scrape_rules()
    annotated = 0
    for workload in overlay:
        template = workload.get("spec", {}).get("template")
        if template is None:
            continue
        annotations = template["metadata"].get("annotations", {})
        ports = [p for c in template["spec"]["containers"] for p in c.get("ports", [])]
        relabelled = [relabel(discovered(template, port), rules) for port in ports]
        targets = [target for target in relabelled if target is not None]
        if annotations.get("prometheus.io/scrape") != "true":
            assert targets == [], workload["metadata"]["name"]
            continue
        annotated += 1
        port = annotations["prometheus.io/port"]
        assert port in {str(p["containerPort"]) for p in ports}
        for target in targets:
            assert target["__address__"] == f"{POD_IP}:{port}"
            assert target["__metrics_path__"] == annotations["prometheus.io/path"]
            assert target["job"] == annotations["prometheus.io/job"]
    assert annotated == 3


def test_relabelling_defaults_without_optional_annotations() -> None:
    template = {
        "metadata": {
            "labels": {"app.kubernetes.io/name": "other"},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9100"},
        }
    }
    target = relabel(discovered(template, {"containerPort": 8080}), scrape_rules())

    assert target is not None
    assert target["__address__"] == f"{POD_IP}:9100"
    assert target["__metrics_path__"] == "/metrics"
    assert target["job"] == "other"


def check_config(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("promtool"), "check", "config", str(folder / CONFIG.name)],
        capture_output=True,
        text=True,
    )


def config_folder(tmp_path: Path, text: str) -> Path:
    (tmp_path / CONFIG.name).write_text(text)
    shutil.copytree(ROOT / "prometheus" / "rules", tmp_path / "rules")
    return tmp_path


def test_promtool_accepts_config(tmp_path: Path) -> None:
    result = check_config(config_folder(tmp_path, CONFIG.read_text()))
    if "field kubernetes_sd_configs not found" in result.stdout + result.stderr:
        pytest.skip(
            "this promtool is built without Kubernetes service discovery (Debian's "
            "prometheus package); test_promtool_accepts_everything_else covers the rest"
        )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_everything_else(tmp_path: Path) -> None:
    # The same file with each kubernetes_sd_configs swapped for an empty static
    # target list, so a promtool without Kubernetes discovery checks the rest:
    # relabel regexes, actions, target labels and the rule files.
    config = yaml.safe_load(CONFIG.read_text())
    sections = [*config["scrape_configs"], *config["alerting"]["alertmanagers"]]
    swapped = 0
    for section in sections:
        if section.pop("kubernetes_sd_configs", None) is not None:
            section["static_configs"] = [{"targets": []}]
            swapped += 1
    assert swapped == 2

    result = check_config(config_folder(tmp_path, yaml.safe_dump(config)))

    assert result.returncode == 0, result.stdout + result.stderr
