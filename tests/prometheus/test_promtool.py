"""The rule files and the Prometheus configuration, checked and unit-tested by promtool 2.42."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from leitstand.promconfig import render_prometheus_config
from leitstand.rules import render_rules
from tests.prometheus.conftest import (
    PROMETHEUS_DIR,
    RULE_FILES,
    assert_succeeds,
    load_yaml,
    run_tool,
)

UNIT_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.name)
def test_check_rules(promtool: str, path: Path) -> None:
    output = assert_succeeds([promtool, "check", "rules", "--lint=all", "--lint-fatal", path])
    assert "SUCCESS" in output


def test_check_prometheusrule_spec(promtool: str, tmp_path: Path) -> None:
    resource = load_yaml(PROMETHEUS_DIR / "kubernetes/prometheusrule.yaml")
    spec = tmp_path / "spec.yml"
    spec.write_text(yaml.safe_dump({"groups": resource["spec"]["groups"]}))
    assert_succeeds([promtool, "check", "rules", "--lint=all", "--lint-fatal", spec])


def test_check_config(promtool: str) -> None:
    output = assert_succeeds([promtool, "check", "config", PROMETHEUS_DIR / "prometheus.yml"])
    assert "2 rule files found" in output


@pytest.mark.parametrize("path", UNIT_TESTS, ids=lambda path: path.name)
def test_rule_unit_tests(promtool: str, path: Path) -> None:
    output = assert_succeeds([promtool, "test", "rules", path.name], cwd=path.parent)
    assert "SUCCESS" in output


def test_unit_test_can_fail(promtool: str, tmp_path: Path) -> None:
    # An alert expected where none fires must fail promtool, or the suite proves nothing.
    (tmp_path / "wrong_test.yml").write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(path) for path in RULE_FILES],
                "evaluation_interval": "1m",
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": [
                            {"series": 'up{job="erp",instance="app:8003"}', "values": "1x10"}
                        ],
                        "alert_rule_test": [
                            {
                                "eval_time": "10m",
                                "alertname": "LeitstandTargetDown",
                                "exp_alerts": [{"exp_labels": {"job": "erp"}}],
                            }
                        ],
                    }
                ],
            }
        )
    )
    result = run_tool([promtool, "test", "rules", "wrong_test.yml"], cwd=tmp_path)
    assert result.returncode == 1
    assert "FAILED" in result.stdout + result.stderr


def test_variant_for_test_stack_checks(promtool: str, tmp_path: Path) -> None:
    rule_files = render_rules(
        tmp_path,
        scrape_interval="1s",
        max_for="10s",
        overrides={"LeitstandHostHighCpu": {"threshold_percent": 70}},
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        render_prometheus_config(
            ports={"erp": 18003, "alertmanager": 19093},
            scrape_interval="1s",
            evaluation_interval="1s",
            rule_files=rule_files,
        )
    )
    output = assert_succeeds([promtool, "check", "config", config])
    assert "2 rule files found" in output
    for path in rule_files:
        assert_succeeds([promtool, "check", "rules", "--lint=all", "--lint-fatal", path])


# Requests to one instance at a 1 s scrape interval: 100 per second, 20 of them
# failing and 20 slower than 0.25 s.
_BUSY_FAILING_SLOW = [
    {
        "series": 'http_requests_total{job="erp",instance="app:8003",handler="/h",'
        'method="GET",status="200"}',
        "values": "0+80x60",
    },
    {
        "series": 'http_requests_total{job="erp",instance="app:8003",handler="/h",'
        'method="GET",status="500"}',
        "values": "0+20x60",
    },
    {
        "series": 'http_request_duration_seconds_bucket{job="erp",instance="app:8003",'
        'handler="/h",method="GET",le="0.25"}',
        "values": "0+80x60",
    },
    {
        "series": 'http_request_duration_seconds_bucket{job="erp",instance="app:8003",'
        'handler="/h",method="GET",le="0.5"}',
        "values": "0+100x60",
    },
    {
        "series": 'http_request_duration_seconds_bucket{job="erp",instance="app:8003",'
        'handler="/h",method="GET",le="+Inf"}',
        "values": "0+100x60",
    },
    {
        "series": 'http_request_duration_seconds_count{job="erp",instance="app:8003",'
        'handler="/h",method="GET"}',
        "values": "0+100x60",
    },
]


def test_variant_alerts_fire_within_30_seconds(promtool: str, tmp_path: Path) -> None:
    render_rules(tmp_path, scrape_interval="1s", max_for="10s")
    firing = 'count by (alertname) (ALERTS{alertstate="firing"})'

    def counts(**by_name: int) -> list[dict[str, object]]:
        return [{"labels": f'{{alertname="{name}"}}', "value": n} for name, n in by_name.items()]

    test = {
        "rule_files": ["rules/recording.yml", "rules/alerts.yml"],
        "evaluation_interval": "1s",
        "tests": [
            {
                "interval": "1s",
                "input_series": _BUSY_FAILING_SLOW,
                "promql_expr_test": [
                    {"expr": firing, "eval_time": "5s", "exp_samples": []},
                    {
                        "expr": firing,
                        "eval_time": "30s",
                        # Every burn-rate tier fires; no job has an `up` series here.
                        "exp_samples": counts(
                            LeitstandHighErrorRatio=1,
                            LeitstandHighLatency=1,
                            LeitstandErrorBudgetBurn=4,
                            LeitstandLatencyBudgetBurn=4,
                            LeitstandTargetAbsent=3,
                        ),
                    },
                ],
            }
        ],
    }
    (tmp_path / "variant_test.yml").write_text(yaml.safe_dump(test))
    assert_succeeds([promtool, "test", "rules", "variant_test.yml"], cwd=tmp_path)
