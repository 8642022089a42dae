"""Every metric and label the rules use exists in a scrape of some part of the live stack."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from tests.live.promql import usage
from tests.live.stack import LiveStack
from tests.support.processes import wait_until

# Labels every scraped series gets from Prometheus.
TARGET_LABELS = {"job", "instance"}


def rule_expressions(rules_dir: Path) -> list[tuple[str, str]]:
    expressions = []
    for path in sorted(rules_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                expressions.append((f"{path.name}: {name}", rule["expr"]))
    return expressions


def series_labels(stack: LiveStack, metric: str) -> set[str]:
    answer = httpx.get(
        stack.url("prometheus") + "/api/v1/series", params={"match[]": metric}, timeout=10
    ).json()
    labels: set[str] = set()
    for series in answer["data"]:
        labels.update(series)
    return labels - {"__name__"}


def drive_traffic(stack: LiveStack) -> None:
    app = stack.url("app")
    for path in (
        "/api/v1/kunden",
        "/api/v1/artikel/1",
        "/api/v1/artikel/1",
        "/api/v1/artikel/1/prognose",
        "/api/v1/auftraege",
        "/api/v1/rechnungen",
        "/api/v1/lager",
        "/no-such-path",
    ):
        httpx.get(app + path, timeout=30)


def test_rules_use_only_scraped_metrics(live_stack: LiveStack) -> None:
    drive_traffic(live_stack)
    expressions = rule_expressions(live_stack.run_dir / "rules")
    assert len(expressions) > 20

    wanted: dict[str, set[str]] = {}
    for _, expression in expressions:
        for metric, labels in usage(expression).metrics.items():
            wanted.setdefault(metric, set()).update(labels)

    # Wait for the scrape after the traffic, then compare.
    def scraped(metric: str) -> bool:
        return bool(series_labels(live_stack, metric))

    wait_until(lambda: scraped("http_requests_total"), timeout=30, what="http_requests_total")
    missing = sorted(metric for metric in wanted if not scraped(metric))
    assert missing == [], f"metrics used by rules but scraped by no part: {missing}"

    for metric, labels in sorted(wanted.items()):
        unknown = labels - series_labels(live_stack, metric) - TARGET_LABELS
        assert unknown == set(), f"{metric}: labels {sorted(unknown)} not on any series"


def test_rules_group_by_existing_labels(live_stack: LiveStack) -> None:
    for where, expression in rule_expressions(live_stack.run_dir / "rules"):
        found = usage(expression)
        available = set(TARGET_LABELS)
        for metric in [*found.metrics, *found.recorded]:
            available |= series_labels(live_stack, metric)
        unknown = found.grouping - available - {"le"}
        assert unknown == set(), f"{where} groups by {sorted(unknown)}: {expression}"
