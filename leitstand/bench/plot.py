"""``leitstand bench plot``: PNG plots and a Markdown summary of run reports.

For each report: latency percentiles over time and throughput over time, from
the per-interval histograms. For all reports together: the percentile spectrum
(latency against percentile on a scale that stretches the tail, as
HdrHistogram's plots do), per endpoint for one report, per report for several.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.ticker import FixedLocator, FuncFormatter

from leitstand.bench import histograms
from leitstand.bench.report import format_summary

OVER_TIME_PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "max": 100.0}


def latency_over_time(report: dict[str, Any], path: Path, title: str) -> None:
    """Plot p50, p90, p99 and max of each interval, all endpoints together."""
    starts: list[float] = []
    series: dict[str, list[float]] = {label: [] for label in OVER_TIME_PERCENTILES}
    for interval in report["intervals"]:
        histogram = histograms.decode(interval["response"])
        if histogram.get_total_count() == 0:
            continue
        starts.append(interval["start_s"])
        values = histograms.percentiles(histogram, OVER_TIME_PERCENTILES.values())
        for label, percentile in OVER_TIME_PERCENTILES.items():
            series[label].append(values[percentile] / 1000.0)

    figure, axes = plt.subplots(figsize=(9, 4.5))
    for label, points in series.items():
        axes.plot(starts, points, label=label, linewidth=1.2)
    axes.set_yscale("log")
    axes.set_xlabel("seconds since the window started")
    axes.set_ylabel("latency (ms)")
    axes.set_title(f"{title}: latency per {report['interval_s']:g} s interval")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def throughput_over_time(report: dict[str, Any], path: Path, title: str) -> None:
    """Plot requests and errors per second of each interval, per endpoint and in total."""
    interval_s = float(report["interval_s"])
    starts = [interval["start_s"] for interval in report["intervals"]]
    endpoints = sorted(report["endpoints"])
    figure, axes = plt.subplots(figsize=(9, 4.5))
    if len(endpoints) > 1:
        for name in endpoints:
            rates = [i["counts"].get(name, 0) / interval_s for i in report["intervals"]]
            axes.plot(starts, rates, label=name, linewidth=1.0)
    totals = [sum(i["counts"].values()) / interval_s for i in report["intervals"]]
    errors = [sum(i["errors"].values()) / interval_s for i in report["intervals"]]
    axes.plot(starts, totals, label="total", linewidth=1.8, color="black")
    if any(errors):
        axes.plot(starts, errors, label="errors", linewidth=1.2, color="red")
    target = report["rate"].get("target_rps")
    if target:
        axes.axhline(target, linestyle="--", color="grey", label="target rate")
    axes.set_xlabel("seconds since the window started")
    axes.set_ylabel("requests per second")
    axes.set_title(f"{title}: throughput per {interval_s:g} s interval")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _tail_position(percentile: float) -> float:
    # 1 / (1 - p): 90 % -> 10, 99 % -> 100, 99.9 % -> 1000.
    return 1.0 / max(1.0 - percentile / 100.0, 1e-7)


def percentile_spectrum(curves: dict[str, str], path: Path, title: str) -> None:
    """Plot latency against percentile for each named, encoded histogram."""
    figure, axes = plt.subplots(figsize=(9, 4.5))
    for label, encoded in curves.items():
        points = histograms.spectrum(histograms.decode(encoded))
        if not points:
            continue
        axes.plot(
            [_tail_position(p) for p, _ in points],
            [value / 1000.0 for _, value in points],
            label=label,
            linewidth=1.2,
        )
    low, high = axes.get_ylim()
    if low > 0 and high / low > 100:
        axes.set_yscale("log")
    ticks = [1.0, 2.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0]
    names = ["0 %", "50 %", "90 %", "99 %", "99.9 %", "99.99 %", "99.999 %"]
    axes.set_xscale("log")
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: names[ticks.index(x)]))
    axes.set_xlabel("percentile")
    axes.set_ylabel("latency (ms)")
    axes.set_title(f"{title}: percentile spectrum")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _basis(report: dict[str, Any]) -> str:
    return "response_time" if report["load_model"]["kind"] == "open" else "service_time"


def plot_reports(paths: list[Path], output_dir: Path) -> Path:
    """Write the plots and ``summary.md`` for ``paths`` into ``output_dir``; return the summary."""
    output_dir.mkdir(parents=True, exist_ok=True)
    reports = {path.stem: json.loads(path.read_text()) for path in paths}
    lines = ["# Benchmark summary", ""]

    for stem, report in reports.items():
        latency_png = output_dir / f"{stem}-latency.png"
        throughput_png = output_dir / f"{stem}-throughput.png"
        latency_over_time(report, latency_png, stem)
        throughput_over_time(report, throughput_png, stem)
        window = report["window"]
        lines += [
            f"## {stem}",
            "",
            f"{report['url']}, {report['load_model']['kind']} model, window {window['start']} "
            f"to {window['end']} ({window['seconds']:.1f} s).",
            "",
            "```",
            format_summary(report),
            "```",
            "",
            f"![latency over time]({latency_png.name})",
            f"![throughput over time]({throughput_png.name})",
            "",
        ]

    if len(reports) == 1:
        report = next(iter(reports.values()))
        kind = _basis(report)
        curves = {name: e["histograms"][kind] for name, e in sorted(report["endpoints"].items())}
        title = next(iter(reports))
    else:
        curves = {stem: r["total"]["histograms"][_basis(r)] for stem, r in reports.items()}
        title = "all reports"
    spectrum_png = output_dir / "spectrum.png"
    percentile_spectrum(curves, spectrum_png, title)
    lines += ["## Percentile spectrum", "", f"![percentile spectrum]({spectrum_png.name})", ""]

    summary = output_dir / "summary.md"
    summary.write_text("\n".join(lines))
    return summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="leitstand bench plot",
        description="Write PNG plots (latency percentiles and throughput over time, "
        "percentile spectrum) and a Markdown summary of one or more run reports.",
    )
    parser.add_argument("reports", nargs="+", type=Path, help="report files of 'bench run'")
    parser.add_argument(
        "--output-dir", type=Path, default=Path("bench-plots"), help="folder for the files"
    )
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.reports if not p.is_file()]
    if missing:
        print(f"leitstand bench plot: report not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    summary = plot_reports(args.reports, args.output_dir)
    print(f"wrote {summary} and its plots")
    return 0
