"""Builders for Grafana's classic dashboard JSON model.

Each function returns plain dictionaries in the shape Grafana exports, so
the generated files can be read and diffed like hand-written ones. Every
panel and query refers to the datasource through the ``${datasource}``
variable, never through a fixed name or an ``__inputs`` placeholder, so the
same file works provisioned and imported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# The JSON model version the files are written in; Grafana migrates older ones on load.
SCHEMA_VERSION = 39

DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}

# Grafana's grid is 24 columns wide.
GRID_WIDTH = 24

Json = dict[str, Any]
Severity = Literal["warning", "critical"]
SEVERITY_COLORS: dict[str, str] = {"warning": "orange", "critical": "red"}
OK_COLOR = "green"


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel and the legend of its series."""

    expr: str
    legend: str = "__auto"
    format: Literal["time_series", "heatmap"] = "time_series"

    def target(self, ref_id: str) -> Json:
        return {
            "datasource": DATASOURCE,
            "editorMode": "code",
            "expr": self.expr,
            "format": self.format,
            "legendFormat": self.legend,
            "range": True,
            "refId": ref_id,
        }


def base_steps(color: str = OK_COLOR) -> list[Json]:
    """Threshold steps with a single colour, for panels no alert watches."""
    return [{"color": color, "value": None}]


def alert_steps(
    threshold: float, fires: Literal["above", "at_or_above", "below"], severity: Severity
) -> list[Json]:
    """Threshold steps that colour a value exactly as the alert on it judges it.

    Grafana gives a value the colour of the highest step at or below it. So an
    alert that fires above the threshold (``>``) changes colour at the next
    float after it. Alerts that fire at or above it (``>=``) or below it (``<``)
    change colour at the threshold itself.
    """
    alert_color = SEVERITY_COLORS[severity]
    if fires == "below":
        return [{"color": alert_color, "value": None}, {"color": OK_COLOR, "value": threshold}]
    start = math.nextafter(threshold, math.inf) if fires == "above" else threshold
    return [{"color": OK_COLOR, "value": None}, {"color": alert_color, "value": start}]


@dataclass
class Panel:
    """A panel before layout: its kind, queries, unit and options."""

    kind: Literal["stat", "timeseries", "heatmap"]
    title: str
    queries: Sequence[Query]
    unit: str
    width: int
    height: int
    description: str = ""
    steps: list[Json] = field(default_factory=base_steps)
    defaults: Json = field(default_factory=dict)
    options: Json = field(default_factory=dict)
    overrides: list[Json] = field(default_factory=list)

    def to_json(self, panel_id: int, x: int, y: int) -> Json:
        panel: Json = {
            "datasource": DATASOURCE,
            "description": self.description,
            "fieldConfig": {
                "defaults": {
                    "unit": self.unit,
                    "thresholds": {"mode": "absolute", "steps": self.steps},
                    **self.defaults,
                },
                "overrides": self.overrides,
            },
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "id": panel_id,
            "options": self.options,
            "targets": [
                query.target(chr(ord("A") + index)) for index, query in enumerate(self.queries)
            ],
            "title": self.title,
            "type": self.kind,
        }
        if not self.description:
            del panel["description"]
        return panel


def stat(
    title: str,
    query: Query,
    unit: str,
    *,
    steps: list[Json] | None = None,
    description: str = "",
    width: int = 4,
    mappings: list[Json] | None = None,
    decimals: int | None = None,
) -> Panel:
    """Build a single-value panel coloured by its thresholds (the last value of the range)."""
    defaults: Json = {"color": {"mode": "thresholds"}}
    if mappings:
        defaults["mappings"] = mappings
    if decimals is not None:
        defaults["decimals"] = decimals
    return Panel(
        kind="stat",
        title=title,
        queries=[query],
        unit=unit,
        width=width,
        height=4,
        description=description,
        steps=steps or base_steps(),
        defaults=defaults,
        options={
            "colorMode": "background" if steps else "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "value_and_name",
        },
    )


def timeseries(
    title: str,
    queries: Sequence[Query],
    unit: str,
    *,
    steps: list[Json] | None = None,
    description: str = "",
    width: int = 12,
    height: int = 8,
    stacked: bool = False,
    bars: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    overrides: list[Json] | None = None,
) -> Panel:
    """Build a graph over time, with alert thresholds (when given) drawn as dashed lines."""
    fill_opacity = 10
    if stacked:
        fill_opacity = 25
    if bars:
        fill_opacity = 60
    custom: Json = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": fill_opacity,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stacked else "none"},
        "thresholdsStyle": {"mode": "dashed" if steps else "off"},
    }
    defaults: Json = {"color": {"mode": "palette-classic"}, "custom": custom}
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    return Panel(
        kind="timeseries",
        title=title,
        queries=queries,
        unit=unit,
        width=width,
        height=height,
        description=description,
        steps=steps or base_steps(),
        defaults=defaults,
        options={
            "legend": {"calcs": ["mean", "max"], "displayMode": "table", "placement": "bottom"},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        overrides=overrides or [],
    )


def heatmap(
    title: str, query: Query, y_unit: str, *, description: str = "", width: int = 12
) -> Panel:
    """Build a heatmap of histogram buckets whose cells are observations per second."""
    return Panel(
        kind="heatmap",
        title=title,
        queries=[query],
        unit="reqps",
        width=width,
        height=8,
        description=description,
        options={
            "calculate": False,
            "cellGap": 1,
            "color": {
                "mode": "scheme",
                "scheme": "Oranges",
                "scale": "exponential",
                "exponent": 0.5,
            },
            "rowsFrame": {"layout": "le"},
            "tooltip": {"show": True, "yHistogram": True},
            "yAxis": {"axisPlacement": "left", "unit": y_unit},
        },
    )


def negative_y(pattern: str) -> Json:
    """Build an override that draws the series whose name matches ``pattern`` below the axis."""
    return {
        "matcher": {"id": "byRegexp", "options": pattern},
        "properties": [{"id": "custom.transform", "value": "negative-Y"}],
    }


@dataclass
class Row:
    """A full-width row header that groups the panels after it."""

    title: str


def layout(items: Iterable[Panel | Row]) -> list[Json]:
    """Place rows and panels on the grid, left to right, wrapping at the grid width."""
    panels: list[Json] = []
    x = y = line_height = 0
    for panel_id, item in enumerate(items, start=1):
        if isinstance(item, Row):
            y += line_height
            x = line_height = 0
            panels.append(
                {
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
                    "id": panel_id,
                    "panels": [],
                    "title": item.title,
                    "type": "row",
                }
            )
            y += 1
            continue
        if x + item.width > GRID_WIDTH:
            y += line_height
            x = line_height = 0
        panels.append(item.to_json(panel_id, x, y))
        x += item.width
        line_height = max(line_height, item.height)
    return panels


def datasource_variable() -> Json:
    return {
        "current": {},
        "hide": 0,
        "includeAll": False,
        "label": "Data source",
        "multi": False,
        "name": "datasource",
        "options": [],
        "query": "prometheus",
        "refresh": 1,
        "regex": "",
        "type": "datasource",
    }


def query_variable(name: str, label: str, query: str) -> Json:
    """Build a multi-value label variable, refreshed when the time range changes."""
    return {
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": DATASOURCE,
        "definition": query,
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": {
            "qryType": 1,
            "query": query,
            "refId": "PrometheusVariableQueryEditor-VariableQuery",
        },
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "type": "query",
    }


# Step of annotation queries: the provisioned scrape interval. An annotation on
# increase(...[$__rate_interval]) finds every change as long as its step is not longer
# than $__rate_interval, which is at least four scrape intervals.
ANNOTATION_STEP = "15s"


@dataclass(frozen=True)
class Annotation:
    """A Prometheus query whose points Grafana marks on every graph of the dashboard."""

    name: str
    expr: str
    title: str
    tag_keys: str
    color: str

    def to_json(self) -> Json:
        return {
            "datasource": DATASOURCE,
            "enable": True,
            "expr": self.expr,
            "iconColor": self.color,
            "name": self.name,
            "step": ANNOTATION_STEP,
            "tagKeys": self.tag_keys,
            "textFormat": "",
            "titleFormat": self.title,
            "useValueForTime": False,
        }


def built_in_annotation() -> Json:
    """Grafana's own "Annotations & Alerts" entry, kept so manual annotations still show."""
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


# Every Leitstand dashboard carries this tag; the dashboard links list them by it.
TAG = "leitstand"


def dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    variables: Sequence[Json],
    items: Iterable[Panel | Row],
    annotations: Sequence[Annotation] = (),
) -> Json:
    """Assemble a dashboard with the datasource variable first and links to its siblings."""
    return {
        "annotations": {
            "list": [built_in_annotation(), *(annotation.to_json() for annotation in annotations)]
        },
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "asDropdown": False,
                "icon": "external link",
                # Job and instance values differ between dashboards, so only the time carries over.
                "includeVars": False,
                "keepTime": True,
                "tags": [TAG],
                "targetBlank": False,
                "title": "Leitstand",
                "type": "dashboards",
            }
        ],
        "panels": layout(items),
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": [TAG],
        "templating": {"list": [datasource_variable(), *variables]},
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }
