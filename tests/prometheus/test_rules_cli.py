"""``leitstand rules``: rendering, drift of the checked-in files, variants and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leitstand.rules import ALERTS_FILE, PROMETHEUS_RULE_FILE, RECORDING_FILE, main, render_rules
from leitstand.thresholds import ThresholdsError, load_thresholds
from tests.prometheus.conftest import PROMETHEUS_DIR, load_yaml

RENDERED = [RECORDING_FILE, ALERTS_FILE, PROMETHEUS_RULE_FILE]


def alert(path: Path, name: str) -> dict[str, object]:
    for group in load_yaml(path)["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == name:
                return dict(rule)
    raise AssertionError(f"no alert {name} in {path}")


@pytest.mark.parametrize("relative", RENDERED, ids=str)
def test_checked_in_files_match_rendering(tmp_path: Path, relative: Path) -> None:
    render_rules(tmp_path)
    assert (PROMETHEUS_DIR / relative).read_text() == (tmp_path / relative).read_text(), (
        f"prometheus/{relative} is stale: run `leitstand rules` and commit the result"
    )


def test_check_flag_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    render_rules(tmp_path)
    assert main(["--out", str(tmp_path), "--check"]) == 0

    edited = tmp_path / ALERTS_FILE
    edited.write_text(edited.read_text().replace("> 0.8", "> 0.9"))
    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert f"{edited} differs from a fresh rendering" in capsys.readouterr().err


def test_threshold_flags_render_a_variant(tmp_path: Path) -> None:
    exit_code = main(
        ["--out", str(tmp_path), "--threshold-cpu", "90", "--threshold-memory", "75",
         "--threshold-disk", "5", "--threshold-latency", "0.5", "--threshold-error-ratio", "2"]
    )  # fmt: skip

    alerts = tmp_path / ALERTS_FILE
    assert exit_code == 0
    assert "instance:node_cpu_utilisation:rate5m > 0.9" in str(
        alert(alerts, "LeitstandHostHighCpu")["expr"]
    )
    assert "> 0.75" in str(alert(alerts, "LeitstandHostHighMemory")["expr"])
    assert "< 0.05" in str(alert(alerts, "LeitstandHostLowDisk")["expr"])
    assert "> 0.5\n" in str(alert(alerts, "LeitstandHighLatency")["expr"])
    assert "ratio_rate5m > 0.02\n" in str(alert(alerts, "LeitstandHighErrorRatio")["expr"])
    assert "--threshold" not in alerts.read_text().splitlines()[0]
    assert "LeitstandHostHighCpu.threshold_percent=90" in alerts.read_text().splitlines()[0]


def test_scrape_interval_scales_ranges_and_for(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path), "--scrape-interval", "2s", "--for", "30s"]) == 0

    alerts = tmp_path / ALERTS_FILE
    recording = (tmp_path / RECORDING_FILE).read_text()
    # 5m at 15s is twenty scrapes: 40s at 2s. `for: 10m` scales to 80s, capped at 30s.
    assert 'rate(http_requests_total{job="erp"}[40s])' in recording
    assert alert(alerts, "LeitstandHostHighCpu")["for"] == "30s"
    # `for: 2m` scales to 16s, under the cap.
    assert alert(alerts, "LeitstandTargetDown")["for"] == "16s"
    assert "over the last 40s" in str(alert(alerts, "LeitstandHostHighCpu")["annotations"])


def test_variant_into_checked_in_folder_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    before = (PROMETHEUS_DIR / ALERTS_FILE).read_text()

    assert main(["--threshold-cpu", "95"]) == 2

    assert "pass --out DIR" in capsys.readouterr().err
    assert (PROMETHEUS_DIR / ALERTS_FILE).read_text() == before


def test_invalid_threshold_flag_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--threshold-cpu", "150"]) == 2

    error = capsys.readouterr().err
    assert "invalid --threshold-cpu 150.0: Input should be less than or equal to 100" in error
    assert "alerts.LeitstandHostHighCpu.threshold_percent" in error
    assert "errors.pydantic.dev" not in error
    assert not (tmp_path / ALERTS_FILE).exists()


def test_invalid_thresholds_name_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    thresholds = tmp_path / "thresholds.yml"
    text = (PROMETHEUS_DIR / "thresholds.yml").read_text()
    thresholds.write_text(
        text.replace("threshold_percent: 80           # busy", "threshold_percent: 180  #")
    )

    assert main(["--thresholds", str(thresholds), "--out", str(tmp_path / "out")]) == 2

    error = capsys.readouterr().err
    assert f"{thresholds}: alerts.LeitstandHostHighCpu.threshold_percent" in error
    assert "less than or equal to 100" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("latency_threshold_seconds: 0.25", "latency_threshold_seconds: 0.3", "not a bucket"),
        ("factor: 14.4", "factor: 250", "can never fire"),
        ("quantile: 0.95", "quantile: 0.97", "is not recorded"),
        ("for: 2m}", "for: 2 minutes}", "invalid duration '2 minutes'"),
        ("    for: 5m\n", "    for: 5m\n    forr: 1m\n", "Extra inputs are not permitted"),
    ],
    ids=["latency-bucket", "burn-factor", "quantile", "duration", "unknown-key"],
)
def test_thresholds_validation(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "thresholds.yml"
    text = (PROMETHEUS_DIR / "thresholds.yml").read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))

    with pytest.raises(ThresholdsError, match=message):
        load_thresholds(path)


def test_thresholds_file_copy_renders_like_the_original(tmp_path: Path) -> None:
    copy = tmp_path / "mine.yml"
    shutil.copy(PROMETHEUS_DIR / "thresholds.yml", copy)

    render_rules(tmp_path / "out", thresholds_path=copy)

    rendered = (tmp_path / "out" / ALERTS_FILE).read_text().splitlines()
    original = (PROMETHEUS_DIR / ALERTS_FILE).read_text().splitlines()
    assert rendered[0] == "# Rendered by `leitstand rules --thresholds mine.yml` from mine.yml."
    assert rendered[1:] == original[1:]
