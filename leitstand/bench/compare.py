"""``leitstand bench compare BASE NEW``: per-endpoint deltas between two sets of runs.

Each side is several repeats of the same run (three at least). For every
endpoint and metric the change is the ratio of the medians across repeats. A
bootstrap over the repeats gives its 95 % interval, and the verdict follows
from that interval and ``--threshold``:

- ``worse`` / ``better``: the interval lies wholly on one side of zero and the
  change is larger than the threshold;
- ``same within noise``: otherwise.

The Mann-Whitney U test's p-value is listed beside it. With three repeats a
side its smallest two-sided value is 0.1, which is why the verdict rests on
the interval.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import math
import shutil
import sys
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger("leitstand.bench")

BOOTSTRAP_RESAMPLES = 4000
# Exact Mann-Whitney p-values enumerate every split; above this many, use the normal approximation.
EXACT_SPLITS_LIMIT = 5_000

# metric -> (label, True when a higher value is better)
METRICS: dict[str, tuple[str, bool]] = {
    "p50": ("p50 latency", False),
    "p90": ("p90 latency", False),
    "p99": ("p99 latency", False),
    "mean": ("mean latency", False),
    "throughput": ("throughput", True),
    "error_ratio": ("error ratio", False),
}


class CompareError(ValueError):
    """Reports that cannot be compared; the message gives the reason and what to pass instead."""


@dataclass
class Delta:
    """The change of one metric of one endpoint from BASE to NEW."""

    endpoint: str
    metric: str
    base: float
    new: float
    change: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str


def find_reports(location: str) -> list[Path]:
    """Return the report files of a folder, a glob pattern or a single file."""
    path = Path(location)
    if path.is_dir():
        return sorted(path.glob("*.json"))
    if path.is_file():
        return [path]
    return sorted(Path(p) for p in glob.glob(location) if Path(p).is_file())


def load_report(path: Path) -> dict[str, Any]:
    try:
        report: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CompareError(f"cannot read report {path}: {exc}") from exc
    if "endpoints" not in report or "load_model" not in report:
        raise CompareError(f"{path} is not a report of 'leitstand bench run'")
    return report


def metric_value(report: dict[str, Any], endpoint: str, metric: str) -> float | None:
    """Return one metric of one endpoint of a report (latencies in µs), or None if absent."""
    entry = report["endpoints"].get(endpoint)
    if entry is None:
        return None
    if metric == "throughput":
        return float(entry["throughput_rps"])
    if metric == "error_ratio":
        return float(entry["error_ratio"])
    basis = "response_time_us" if report["load_model"]["kind"] == "open" else "service_time_us"
    value = entry[basis].get(metric)
    return None if value is None else float(value)


def bootstrap_interval(
    base: np.ndarray, new: np.ndarray, rng: np.random.Generator, confidence: float = 0.95
) -> tuple[float, float]:
    """Return the bootstrap interval of median(new) / median(base) - 1, resampling repeats."""
    base_resamples = rng.choice(base, size=(BOOTSTRAP_RESAMPLES, base.size), replace=True)
    new_resamples = rng.choice(new, size=(BOOTSTRAP_RESAMPLES, new.size), replace=True)
    base_medians = np.median(base_resamples, axis=1)
    new_medians = np.median(new_resamples, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = new_medians / base_medians - 1.0
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(ratios, [tail, 100.0 - tail])
    return float(low), float(high)


def _u_statistic(first: np.ndarray, second: np.ndarray) -> float:
    # Pairs where first > second count 1, ties count 1/2.
    greater = (first[:, None] > second[None, :]).sum()
    ties = (first[:, None] == second[None, :]).sum()
    return float(greater + 0.5 * ties)


def mann_whitney_p(base: np.ndarray, new: np.ndarray) -> float:
    """Return the two-sided p-value of the Mann-Whitney U test of ``base`` against ``new``."""
    n1, n2 = base.size, new.size
    observed = _u_statistic(base, new)
    centre = n1 * n2 / 2.0
    if math.comb(n1 + n2, n1) <= EXACT_SPLITS_LIMIT:
        # Exact: the share of all splits of the pooled values whose U is as extreme.
        pooled = np.concatenate([base, new])
        extreme = 0
        total = 0
        for chosen in combinations(range(n1 + n2), n1):
            mask = np.zeros(n1 + n2, dtype=bool)
            mask[list(chosen)] = True
            u = _u_statistic(pooled[mask], pooled[~mask])
            total += 1
            if abs(u - centre) >= abs(observed - centre) - 1e-9:
                extreme += 1
        return extreme / total

    # Normal approximation with the tie correction of the variance.
    pooled = np.concatenate([base, new])
    _, tie_counts = np.unique(pooled, return_counts=True)
    n = n1 + n2
    tie_term = float(((tie_counts**3) - tie_counts).sum()) / (n * (n - 1))
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term)
    if variance <= 0:
        return 1.0
    z = (abs(observed - centre) - 0.5) / math.sqrt(variance)
    return float(math.erfc(max(z, 0.0) / math.sqrt(2.0)))


def compare_metric(
    endpoint: str,
    metric: str,
    base_values: list[float],
    new_values: list[float],
    threshold: float,
    rng: np.random.Generator,
) -> Delta:
    """Compare one metric of one endpoint across the repeats of both sides."""
    base = np.asarray(base_values, dtype=float)
    new = np.asarray(new_values, dtype=float)
    base_median = float(np.median(base))
    new_median = float(np.median(new))
    if base_median == 0.0:
        verdict = "same within noise" if new_median == 0.0 else "not comparable (base is 0)"
        return Delta(endpoint, metric, base_median, new_median, None, None, None, None, verdict)

    change = new_median / base_median - 1.0
    low, high = bootstrap_interval(base, new, rng)
    p_value = mann_whitney_p(base, new)
    higher_is_better = METRICS[metric][1]
    increased = low > 0 and change > threshold
    decreased = high < 0 and change < -threshold
    if increased:
        verdict = "better" if higher_is_better else "worse"
    elif decreased:
        verdict = "worse" if higher_is_better else "better"
    else:
        verdict = "same within noise"
    return Delta(endpoint, metric, base_median, new_median, change, low, high, p_value, verdict)


def compare_reports(
    base_reports: list[dict[str, Any]],
    new_reports: list[dict[str, Any]],
    metrics: list[str],
    threshold: float,
    seed: int = 0,
) -> list[Delta]:
    """Compare every endpoint present on both sides, metric by metric."""
    rng = np.random.default_rng(seed)
    base_endpoints = set().union(*(r["endpoints"] for r in base_reports))
    new_endpoints = set().union(*(r["endpoints"] for r in new_reports))
    deltas: list[Delta] = []
    for endpoint in sorted(base_endpoints | new_endpoints):
        if endpoint not in new_endpoints or endpoint not in base_endpoints:
            side = "NEW" if endpoint not in new_endpoints else "BASE"
            deltas.append(
                Delta(endpoint, "-", math.nan, math.nan, None, None, None, None, f"not in {side}")
            )
            continue
        for metric in metrics:
            base_values = [metric_value(r, endpoint, metric) for r in base_reports]
            new_values = [metric_value(r, endpoint, metric) for r in new_reports]
            base_known = [v for v in base_values if v is not None]
            new_known = [v for v in new_values if v is not None]
            if not base_known or not new_known:
                continue
            deltas.append(compare_metric(endpoint, metric, base_known, new_known, threshold, rng))
    return deltas


def _format_value(metric: str, value: float) -> str:
    if math.isnan(value):
        return "-"
    if metric == "throughput":
        return f"{value:.1f}/s"
    if metric == "error_ratio":
        return f"{100 * value:.2f} %"
    return f"{value / 1000:.3f} ms"


def _format_share(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:+.1f} %"


def format_markdown(deltas: list[Delta], base_count: int, new_count: int, threshold: float) -> str:
    lines = [
        f"Comparison of {new_count} NEW runs against {base_count} BASE runs "
        f"(threshold {100 * threshold:g} %, 95 % bootstrap interval over repeats).",
        "",
        "| endpoint | metric | base | new | change | 95 % interval | p (Mann-Whitney) | verdict |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for d in deltas:
        label = METRICS[d.metric][0] if d.metric in METRICS else d.metric
        interval = (
            "-"
            if d.ci_low is None or d.ci_high is None
            else f"{_format_share(d.ci_low)} to {_format_share(d.ci_high)}"
        )
        p_value = "-" if d.p_value is None else f"{d.p_value:.3f}"
        lines.append(
            f"| `{d.endpoint}` | {label} | {_format_value(d.metric, d.base)} | "
            f"{_format_value(d.metric, d.new)} | {_format_share(d.change)} | {interval} | "
            f"{p_value} | {d.verdict} |"
        )
    return "\n".join(lines)


def save_baseline(base: str, new_paths: list[Path]) -> list[Path]:
    """Copy the NEW reports to ``base``: a folder, or a single ``.json`` file for one report."""
    target = Path(base)
    if target.suffix == ".json":
        if len(new_paths) != 1:
            raise CompareError(
                f"cannot save {len(new_paths)} reports as the single file {base}; "
                "give a folder as BASE"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(new_paths[0], target)
        return [target]
    target.mkdir(parents=True, exist_ok=True)
    saved = []
    for path in new_paths:
        destination = target / path.name
        shutil.copyfile(path, destination)
        saved.append(destination)
    return saved


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leitstand bench compare",
        description="Compare NEW runs with BASE runs per endpoint; exit 1 on a regression "
        "beyond --threshold. Without a baseline, save NEW as the baseline and pass.",
    )
    parser.add_argument("base", help="baseline reports: a folder, a glob pattern or a file")
    parser.add_argument("new", help="new reports: a folder, a glob pattern or a file")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.05,
        help="relative change that counts as a regression (default 0.05, that is 5 %%)",
    )
    parser.add_argument(
        "--metrics",
        default="p50,p99,throughput",
        help=f"comma-separated metrics to judge, of {', '.join(METRICS)} "
        "(default p50,p99,throughput)",
    )
    parser.add_argument(
        "--min-repeats",
        type=int,
        default=3,
        help="repeats each side needs for a verdict (default 3)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    parser.add_argument("--output", type=Path, help="write the deltas as JSON to this file")
    parser.add_argument("--markdown", type=Path, help="write the table to this Markdown file")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        print(
            f"leitstand bench compare: invalid --metrics {args.metrics!r}; "
            f"choose from {', '.join(METRICS)}",
            file=sys.stderr,
        )
        return 2

    new_paths = find_reports(args.new)
    if not new_paths:
        print(f"leitstand bench compare: no reports found at {args.new}", file=sys.stderr)
        return 2
    try:
        new_reports = [load_report(p) for p in new_paths]
        base_paths = find_reports(args.base)
        if not base_paths:
            saved = save_baseline(args.base, new_paths)
            print(
                f"No baseline at {args.base}: saved {len(saved)} report(s) as the baseline. "
                "Nothing to compare yet; passed."
            )
            return 0
        base_reports = [load_report(p) for p in base_paths]
    except CompareError as exc:
        print(f"leitstand bench compare: {exc}", file=sys.stderr)
        return 2

    for side, count in (("BASE", len(base_reports)), ("NEW", len(new_reports))):
        if count < args.min_repeats:
            print(
                f"leitstand bench compare: {side} has {count} report(s), {args.min_repeats} "
                "repeats needed for a verdict; run 'leitstand bench run' more times "
                "or lower --min-repeats",
                file=sys.stderr,
            )
            return 2

    deltas = compare_reports(base_reports, new_reports, metrics, args.threshold, args.seed)
    table = format_markdown(deltas, len(base_reports), len(new_reports), args.threshold)
    print(table)
    if args.markdown is not None:
        args.markdown.write_text(table + "\n")
    if args.output is not None:
        args.output.write_text(json.dumps([asdict(d) for d in deltas], indent=2) + "\n")

    regressions = [d for d in deltas if d.verdict == "worse"]
    if regressions:
        names = ", ".join(f"{d.endpoint} {d.metric}" for d in regressions)
        print(f"regression beyond {100 * args.threshold:g} %: {names}", file=sys.stderr)
        return 1
    return 0
