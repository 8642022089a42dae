"""render_prometheus_config(): targets, intervals and rule files of a run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from leitstand.durations import parse_duration
from leitstand.promconfig import render_prometheus_config
from leitstand.thresholds import load_thresholds
from tests.prometheus.conftest import PROMETHEUS_DIR, assert_succeeds


def targets(config: dict[str, object], job: str) -> list[str]:
    for scrape in config["scrape_configs"]:  # type: ignore[attr-defined]
        if scrape["job_name"] == job:
            return [t for static in scrape["static_configs"] for t in static["targets"]]
    raise AssertionError(f"no job {job}")


def test_defaults_are_the_design_ports() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    assert targets(config, "erp") == ["127.0.0.1:8003"]
    assert targets(config, "node") == ["127.0.0.1:9105"]
    assert targets(config, "optimizer") == ["127.0.0.1:9095"]
    assert targets(config, "prometheus") == ["127.0.0.1:9090"]
    assert targets(config, "alertmanager") == ["127.0.0.1:9093"]
    assert config["global"]["scrape_interval"] == "15s"
    assert config["rule_files"] == ["rules/recording.yml", "rules/alerts.yml"]


def test_render_rewrites_ports_intervals_and_rule_files(promtool: str, tmp_path: Path) -> None:
    text = render_prometheus_config(
        ports={"erp": 18003, "alertmanager": 19093},
        scrape_interval="2s",
        evaluation_interval="2s",
        rule_files=[PROMETHEUS_DIR / "rules/alerts.yml"],
    )
    config = yaml.safe_load(text)

    assert targets(config, "erp") == ["127.0.0.1:18003"]
    assert targets(config, "node") == ["127.0.0.1:9105"]
    assert targets(config, "alertmanager") == ["127.0.0.1:19093"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:19093"
    ]
    # A 10s timeout cannot exceed a 2s interval.
    assert config["global"]["scrape_interval"] == "2s"
    assert config["global"]["scrape_timeout"] == "2s"
    assert config["global"]["evaluation_interval"] == "2s"
    assert config["rule_files"] == [str(PROMETHEUS_DIR / "rules/alerts.yml")]

    path = tmp_path / "prometheus.yml"
    path.write_text(text)
    assert "1 rule files found" in assert_succeeds([promtool, "check", "config", path])


def test_unknown_job_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown scrape job 'app' in ports"):
        render_prometheus_config(ports={"app": 18003})


def test_invalid_port_is_rejected() -> None:
    with pytest.raises(ValueError, match="invalid port 70000 for job 'erp'"):
        render_prometheus_config(ports={"erp": 70000})


def test_thresholds_are_meant_for_the_configured_intervals() -> None:
    # The rule ranges are sized for the thresholds file's scrape interval; a
    # Prometheus that scrapes or evaluates less often would leave them too short.
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    thresholds = load_thresholds(PROMETHEUS_DIR / "thresholds.yml")
    assert parse_duration(config["global"]["scrape_interval"]) == thresholds.scrape_interval
    assert parse_duration(config["global"]["evaluation_interval"]) == thresholds.scrape_interval
