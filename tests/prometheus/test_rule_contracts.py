"""Static checks of the rendered rules: alert contract, ranges, quantiles, runbooks, coverage."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from leitstand.durations import parse_duration
from leitstand.rules import render_rules
from tests.prometheus.conftest import PROMETHEUS_DIR, ROOT, RULE_FILES, load_yaml

# The alert names that the optimizer's rules, the dashboards and the demo use.
ALERT_NAMES = {
    "LeitstandTargetDown",
    "LeitstandTargetAbsent",
    "LeitstandHighErrorRatio",
    "LeitstandHighLatency",
    "LeitstandSaturation",
    "LeitstandRequestsShed",
    "LeitstandErrorBudgetBurn",
    "LeitstandLatencyBudgetBurn",
    "LeitstandHostHighCpu",
    "LeitstandHostHighMemory",
    "LeitstandHostLowDisk",
    "LeitstandCacheHitRatioLow",
    "LeitstandCacheEvicting",
    "LeitstandOptimizerFailing",
}
# Their value is a constant (0 for `up`, 1 for absent()), so the text does not show it.
ALERTS_WITHOUT_VALUE = {"LeitstandTargetDown", "LeitstandTargetAbsent"}

RANGE = re.compile(r"\[(\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)\]")


def load_rules(paths: list[Path]) -> list[dict[str, Any]]:
    return [
        rule for path in paths for group in load_yaml(path)["groups"] for rule in group["rules"]
    ]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in load_rules(RULE_FILES) if "alert" in rule]


def test_alert_names_are_the_shared_list() -> None:
    assert {rule["alert"] for rule in alert_rules()} == ALERT_NAMES


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_alert_labels_and_annotations(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["labels"]["service"] in {"erp", "host", "optimizer"}
    assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
    if rule["alert"] not in ALERTS_WITHOUT_VALUE:
        assert "$value" in rule["annotations"]["description"]


def github_anchors(markdown: str) -> set[str]:
    """Return the anchors GitHub makes of the headings of a Markdown page."""
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return anchors


def test_runbook_sections_exist() -> None:
    anchors = github_anchors((ROOT / "docs/runbooks.md").read_text())
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("docs/runbooks.md#"), url
        assert url.partition("#")[2] in anchors, f"no section for {url} in docs/runbooks.md"


def unit_test_alerts() -> tuple[set[str], set[str], set[str]]:
    """Return the alert names that unit tests expect firing, quiet, and firing across a gap.

    A gap is a missed scrape: an input series with a staleness marker.
    """
    firing: set[str] = set()
    quiet: set[str] = set()
    across_gap: set[str] = set()
    for path in (PROMETHEUS_DIR / "tests").glob("*.yml"):
        for test in load_yaml(path)["tests"]:
            gap = any("stale" in series["values"] for series in test["input_series"])
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
                if gap and case.get("exp_alerts"):
                    across_gap.add(case["alertname"])
    return firing, quiet, across_gap


def test_every_alert_has_firing_and_quiet_unit_tests() -> None:
    firing, quiet, across_gap = unit_test_alerts()
    assert ALERT_NAMES - firing == set()
    assert ALERT_NAMES - quiet == set()
    # A target that vanishes fires TargetAbsent; a down target's failed scrape is its signal.
    assert ALERT_NAMES - across_gap == {"LeitstandTargetDown"}


def test_every_recording_rule_is_used_or_tested() -> None:
    # A recorded series that no rule reads and no test checks is dead weight,
    # unless a dashboard reads it.
    tested = "\n".join(path.read_text() for path in (PROMETHEUS_DIR / "tests").glob("*.yml"))
    expressions = "\n".join(rule["expr"] for rule in load_rules(RULE_FILES))
    names = {rule["record"] for rule in load_rules(RULE_FILES) if "record" in rule}
    unused = {name for name in names if name not in tested and name not in expressions}
    # Recorded for the dashboards only; their inputs are tested through neighbours.
    dashboards_only = {
        "instance_handler:http_requests_errors:ratio_rate5m",
        "job:http_requests_errors:ratio_rate5m",
        "instance_handler:erp_db_queries_per_request:avg_rate5m",
        "instance_cache:erp_cache_errors:rate5m",
        "instance:node_load1_per_cpu:ratio",
    }
    assert unused <= dashboards_only


@pytest.mark.parametrize("scrape_interval", ["15s", "2s", "1s"])
def test_every_range_covers_four_scrapes(tmp_path: Path, scrape_interval: str) -> None:
    if scrape_interval == "15s":
        paths = RULE_FILES
    else:
        paths = render_rules(tmp_path, scrape_interval=scrape_interval, max_for="10s")
    minimum = 4 * parse_duration(scrape_interval)
    ranges = [
        (rule.get("record") or rule.get("alert"), text)
        for rule in load_rules(paths)
        for text in RANGE.findall(rule["expr"])
    ]
    assert ranges
    short = [(name, text) for name, text in ranges if parse_duration(text) < minimum]
    assert short == []


def histogram_quantile_arguments(expr: str) -> list[str]:
    """Return the second argument of every histogram_quantile() call in an expression."""
    arguments = []
    for match in re.finditer(r"histogram_quantile\s*\(", expr):
        depth, start = 1, match.end()
        position = start
        while depth:
            depth += {"(": 1, ")": -1}.get(expr[position], 0)
            position += 1
        inner = expr[start : position - 1]
        arguments.append(inner.split(",", 1)[1].strip())
    return arguments


def keeps_le(argument: str) -> bool:
    if re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", argument):
        return "le" in argument.split(":")[0].split("_")
    groupings = re.findall(r"\b(by|without)\s*\(([^)]*)\)", argument)
    return bool(groupings) and all(
        ("le" in [label.strip() for label in labels.split(",")]) == (kind == "by")
        for kind, labels in groupings
    )


def test_histogram_quantile_keeps_le() -> None:
    arguments = [
        argument
        for rule in load_rules(RULE_FILES)
        for argument in histogram_quantile_arguments(rule["expr"])
    ]
    assert arguments
    assert [argument for argument in arguments if not keeps_le(argument)] == []


def test_le_check_catches_a_lost_le() -> None:
    assert keeps_le("sum by (job, le) (rate(x_bucket[5m]))")
    assert keeps_le("instance_le:x_bucket:rate5m")
    assert not keeps_le("sum by (job) (rate(x_bucket[5m]))")
    assert not keeps_le("sum without (le) (rate(x_bucket[5m]))")
    assert not keeps_le("instance:x_bucket:rate5m")


def test_no_irate_and_no_integer_le_matchers() -> None:
    for rule in load_rules(RULE_FILES):
        assert "irate(" not in rule["expr"]
        # prometheus_client writes bucket bounds as floats: le="1.0", never le="1".
        assert not re.search(r'le="\d+"', rule["expr"])


def test_prometheusrule_holds_the_rule_file_groups() -> None:
    resource = load_yaml(PROMETHEUS_DIR / "kubernetes/prometheusrule.yaml")
    groups = [group for path in RULE_FILES for group in load_yaml(path)["groups"]]
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["kind"] == "PrometheusRule"
    assert resource["spec"]["groups"] == groups
