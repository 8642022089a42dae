"""The generated dashboards: current, well-formed, and written for any provisioned Prometheus."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leitstand.dashboards.__main__ import main as dashboards_main
from leitstand.dashboards.render import DASHBOARDS_DIR, render_dashboards, stale_dashboards
from leitstand.rules import DEFAULT_THRESHOLDS
from leitstand.thresholds import load_thresholds

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PATHS = sorted(DASHBOARDS_DIR.glob("*.json"))

# Ways to make a query return something when its series are missing. They hide
# exactly the failures the dashboards are there to show.
PADDING = re.compile(r"\bvector\s*\(|\bor\b|\babsent(_over_time)?\s*\(|\bclamp_min\s*\(")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return (panel for panel in dashboard["panels"] if panel["type"] != "row")


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in panels(dashboard):
        for target in panel["targets"]:
            yield f"{dashboard['title']}: {panel['title']} {target['refId']}", target["expr"]
    for annotation in dashboard["annotations"]["list"]:
        if "expr" in annotation:
            yield f"{dashboard['title']}: annotation {annotation['name']}", annotation["expr"]


def test_generated_files_current() -> None:
    texts = render_dashboards(load_thresholds(DEFAULT_THRESHOLDS))
    assert stale_dashboards(texts, DASHBOARDS_DIR) == [], "run python -m leitstand.dashboards"
    assert sorted(texts) == [path.name for path in PATHS]


def test_check_flag_reports_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dashboards_main(["--out", str(tmp_path)]) == 0
    assert dashboards_main(["--out", str(tmp_path), "--check"]) == 0

    (tmp_path / "leitstand-host.json").write_text("{}\n", encoding="utf-8")
    assert dashboards_main(["--out", str(tmp_path), "--check"]) == 1
    assert "leitstand-host.json is not current" in capsys.readouterr().err


def test_uids_unique_and_valid() -> None:
    dashboards = [load(path) for path in PATHS]
    uids = [dashboard["uid"] for dashboard in dashboards]
    titles = [dashboard["title"] for dashboard in dashboards]

    assert len(dashboards) == 4
    assert len(set(uids)) == len(uids)
    assert len(set(titles)) == len(titles)
    for dashboard in dashboards:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dashboard["uid"]), dashboard["uid"]
        assert dashboard["id"] is None


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_variables_present(path: Path) -> None:
    variables = {item["name"]: item for item in load(path)["templating"]["list"]}

    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("job", "instance"):
        assert variables[name]["type"] == "query"
        assert variables[name]["datasource"] == DATASOURCE
        assert variables[name]["definition"].startswith("label_values(")
    assert "$job" in variables["instance"]["definition"]


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_panels_have_unit_and_datasource(path: Path) -> None:
    dashboard = load(path)
    ids = [panel["id"] for panel in dashboard["panels"]]

    assert len(set(ids)) == len(ids)
    for panel in panels(dashboard):
        assert panel["fieldConfig"]["defaults"]["unit"], f"{panel['title']}: no unit"
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']}: no query"
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
        x, width = panel["gridPos"]["x"], panel["gridPos"]["w"]
        assert x + width <= 24, f"{panel['title']}: wider than the grid"


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_no_fixed_datasource(path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    assert "${DS_" not in text
    assert "__inputs" not in load(path)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_queries_filter_and_use_rate_interval(path: Path) -> None:
    for where, expr in queries(load(path)):
        assert PADDING.search(expr) is None, f"{where}: padded query {expr}"
        for window in re.findall(r"\[([^\]]*)\]", expr):
            assert window == "$__rate_interval", f"{where}: range [{window}] in {expr}"
        for metric in re.findall(r"\b([a-zA-Z_][a-zA-Z0-9_]*)\{", expr):
            if ":" not in metric:
                assert 'job=~"$job' in expr or "$alertmanager" in expr, f"{where}: {expr}"
        for aggregation in re.findall(r"histogram_quantile\([^,]+,\s*sum by \(([^)]*)\)", expr):
            assert "le" in [label.strip() for label in aggregation.split(",")], where


def test_padding_pattern_catches_known_forms() -> None:
    for padded in (
        "rate(x[1m]) or vector(0)",
        "sum(x) or on () vector(0)",
        "x or absent(x)",
    ):
        assert PADDING.search(padded), padded
    assert PADDING.search("sum by (job) (rate(errors_total[$__rate_interval]))") is None


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_links_between_dashboards(path: Path) -> None:
    dashboard = load(path)

    assert "leitstand" in dashboard["tags"]
    assert {"type": "dashboards", "tags": ["leitstand"]}.items() <= dashboard["links"][0].items()


def test_optimizer_actions_annotated() -> None:
    for name in ("leitstand-overview.json", "leitstand-service.json"):
        annotations = load(DASHBOARDS_DIR / name)["annotations"]["list"]
        exprs = [annotation.get("expr", "") for annotation in annotations]
        assert any("erp_control_changes_total" in expr for expr in exprs), name
        assert annotations[0]["builtIn"] == 1
