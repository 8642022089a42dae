"""Panel colours agree with the rendered alert rules and follow the thresholds file."""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from leitstand.dashboards.model import OK_COLOR, SEVERITY_COLORS
from leitstand.dashboards.render import DASHBOARDS_DIR, render_dashboards
from leitstand.rules import DEFAULT_THRESHOLDS
from leitstand.thresholds import load_thresholds

ALERTS_FILE = DEFAULT_THRESHOLDS.parent / "rules" / "alerts.yml"

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}

# Panels that draw an instance alert's threshold over a finer or raw series:
# the series they show -> the series the alert compares.
SHOWN_FOR = {
    "instance_handler:http_requests_errors:ratio_rate5m": (
        "instance:http_requests_errors:ratio_rate5m"
    ),
    "http_request_duration_seconds_bucket": (
        "instance_quantile:http_request_duration_seconds:histogram_quantile"
    ),
}


def alert_comparisons() -> dict[str, tuple[str, float, str]]:
    """Return series -> (operator, threshold, severity) of the first alert comparing the series.

    Both the main condition and the guards joined with ``and`` count, as in
    LeitstandCacheEvicting, which compares the eviction rate and the cache fill.
    """
    comparison = re.compile(
        r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s*(>=|<=|==|>|<)\s*([0-9.e+-]+)"
    )
    found: dict[str, tuple[str, float, str]] = {}
    for group in yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8"))["groups"]:
        for rule in group["rules"]:
            for series, operation, value in comparison.findall(rule.get("expr", "")):
                found.setdefault(series, (operation, float(value), rule["labels"]["severity"]))
    return found


def color_of(steps: list[dict[str, Any]], value: float) -> str:
    """Return the colour Grafana gives ``value``: the highest step at or below it."""
    color = steps[0]["color"]
    for step in steps[1:]:
        if value >= step["value"]:
            color = step["color"]
    return str(color)


def coloured_panels() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            if (
                len(
                    panel.get("fieldConfig", {})
                    .get("defaults", {})
                    .get("thresholds", {})
                    .get("steps", [])
                )
                > 1
            ):
                found.append((f"{dashboard['title']}: {panel['title']}", panel))
    return found


def shown_series(panel: dict[str, Any]) -> str:
    expr: str = panel["targets"][0]["expr"]
    names: list[str] = re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", expr)
    series = next(name for name in names if name not in {"sum", "rate", "min"})
    return SHOWN_FOR.get(series, series)


@pytest.mark.parametrize(
    ("where", "panel"), coloured_panels(), ids=[where for where, _ in coloured_panels()]
)
def test_colour_changes_where_alert_fires(where: str, panel: dict[str, Any]) -> None:
    series = shown_series(panel)
    comparisons = alert_comparisons()
    assert series in comparisons, f"{where}: no alert compares {series}"
    comparison, threshold, severity = comparisons[series]
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]

    around = [threshold - 1, math.nextafter(threshold, -math.inf), threshold]
    around += [math.nextafter(threshold, math.inf), threshold + 1]
    if comparison == "==":
        around = [threshold, threshold + 1]  # up is 0 or 1
    for value in around:
        fires = COMPARISONS[comparison](value, threshold)
        expected = SEVERITY_COLORS[severity] if fires else OK_COLOR
        assert color_of(steps, value) == expected, f"{where} at {value}: {comparison} {threshold}"


def test_alerts_coloured_on_overview() -> None:
    overview = json.loads((DASHBOARDS_DIR / "leitstand-overview.json").read_text())
    coloured = {
        panel["title"]
        for panel in overview["panels"]
        if panel["type"] == "stat"
        and len(panel["fieldConfig"]["defaults"]["thresholds"]["steps"]) > 1
    }
    assert coloured == {
        "Targets",
        "Error ratio",
        "p95 latency",
        "Saturation",
        "Host CPU",
        "Host memory",
    }


def test_colours_follow_thresholds_file(tmp_path: Path) -> None:
    text = DEFAULT_THRESHOLDS.read_text(encoding="utf-8")
    changed = text.replace(
        "threshold_percent: 80           # busy CPU time", "threshold_percent: 70"
    )
    assert changed != text
    path = tmp_path / "thresholds.yml"
    path.write_text(changed, encoding="utf-8")

    host = json.loads(render_dashboards(load_thresholds(path))["leitstand-host.json"])
    cpu = next(panel for panel in host["panels"] if panel["title"] == "CPU busy")
    steps = cpu["fieldConfig"]["defaults"]["thresholds"]["steps"]

    assert color_of(steps, 0.7) == OK_COLOR
    assert color_of(steps, 0.71) == SEVERITY_COLORS["warning"]
