"""Reports and plots built from chosen timings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from leitstand.bench import histograms
from leitstand.bench.plot import main as plot_main
from leitstand.bench.progress import ProgressBar
from leitstand.bench.report import build_report
from leitstand.bench.spec import RunSpec, SpecError, check_spec
from tests.bench.reports import raw_result


def test_percentiles_match_rank_rule() -> None:
    latencies = [0.001 * (i + 1) for i in range(1000)]

    report = build_report(raw_result({"/a": latencies}))

    timings = report["endpoints"]["/a"]["service_time_us"]
    raw_us = [round(v * 1_000_000) for v in latencies]
    for label, percentile in histograms.PERCENTILES.items():
        assert timings[label] == pytest.approx(
            histograms.rank_percentile(raw_us, percentile), rel=0.001
        ), label
    assert timings["max"] == 1_000_000
    assert report["warmup"]["count"] == 1


def test_total_merges_endpoints() -> None:
    report = build_report(raw_result({"/a": [0.001] * 100, "/b": [0.100] * 100}))

    total = report["total"]
    assert total["count"] == 200
    assert total["throughput_rps"] == pytest.approx(20.0)
    assert total["service_time_us"]["p50"] == pytest.approx(1000, rel=0.001)
    assert total["service_time_us"]["p90"] == pytest.approx(100_000, rel=0.001)


def test_busy_generator_fails_gate() -> None:
    report = build_report(raw_result({"/a": [0.001] * 100}, cpu_percent=97.0))

    assert report["generator"]["limited"] is True
    assert "generator CPU 97 %" in report["generator"]["reasons"][0]
    assert report["gate"]["passed"] is False


def test_errors_fail_gate() -> None:
    report = build_report(raw_result({"/a": [0.001] * 100}, errors=5), max_error_ratio=0.01)

    assert report["endpoints"]["/a"]["errors"] == 5
    assert report["endpoints"]["/a"]["error_kinds"] == {"HTTP 500": 5}
    assert report["gate"]["passed"] is False
    assert "error ratio 5.00 %" in report["gate"]["failures"][0]


def test_healthy_run_passes_gate() -> None:
    report = build_report(raw_result({"/a": [0.001] * 100}))

    assert report["gate"] == {"passed": True, "failures": []}


def test_run_time_leaves_window() -> None:
    spec = check_spec(
        RunSpec(url="http://127.0.0.1:1", users=10, spawn_rate=5, warmup_s=2), run_time_s=20
    )

    assert spec.duration_s == pytest.approx(16.0)


def test_open_model_needs_rate() -> None:
    with pytest.raises(SpecError, match="--rate"):
        check_spec(RunSpec(url="http://127.0.0.1:1", model="open"))


def test_plot_writes_pngs_and_summary(tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    second = tmp_path / "second.json"
    first.write_text(json.dumps(build_report(raw_result({"/a": [0.001] * 50, "/b": [0.01] * 50}))))
    second.write_text(json.dumps(build_report(raw_result({"/a": [0.002] * 50}))))
    output = tmp_path / "plots"

    code = plot_main([str(first), str(second), "--output-dir", str(output)])

    assert code == 0
    names = sorted(p.name for p in output.iterdir())
    assert names == [
        "first-latency.png",
        "first-throughput.png",
        "second-latency.png",
        "second-throughput.png",
        "spectrum.png",
        "summary.md",
    ]
    for name in names[:-1]:
        assert (output / name).read_bytes().startswith(b"\x89PNG")
    summary = (output / "summary.md").read_text()
    assert "## first" in summary
    assert "![percentile spectrum](spectrum.png)" in summary


def test_progress_bar_fills_with_window() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream=stream, enabled=True)

    bar({"phase": "measure", "elapsed_s": 5.0, "window_s": 10.0, "requests": 1200, "rate": 240.0})
    bar({"phase": "done"})

    drawn = stream.getvalue()
    assert drawn.startswith("\r[" + "#" * 15 + "-" * 15 + "] measure")
    assert "1,200 requests" in drawn
    assert drawn.endswith("\n")


def test_progress_bar_silent_without_terminal() -> None:
    stream = io.StringIO()

    ProgressBar(stream=stream)({"phase": "measure", "requests": 1})

    assert stream.getvalue() == ""
