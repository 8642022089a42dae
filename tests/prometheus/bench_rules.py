"""Measure how long a real Prometheus takes to evaluate the rule groups over days of data.

The SLO rules look back up to three days, so their cost grows with the data
inside those windows. This script backfills synthetic app metrics for
``--days`` at a ``--step`` (the scrape interval) with ``promtool tsdb
create-blocks-from openmetrics``: the raw counters and histogram, and the 5m
series the recording rules would have written over the same time. It then
starts Prometheus on that storage for each rule set in turn, ``--rounds``
times, and reads each group's evaluation time from ``/api/v1/rules``.

    .venv/bin/python -m tests.prometheus.bench_rules --days 3 --step 15s --handlers 5 \\
        --rule-set old=/tmp/old/recording.yml,/tmp/old/alerts.yml
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import httpx

from leitstand.durations import parse_duration
from leitstand.promconfig import render_prometheus_config
from tests.prometheus.conftest import RULE_FILES
from tests.support.processes import free_port, running

STATUSES = {"200": 0.95, "404": 0.03, "500": 0.02}
# Bucket bounds as prometheus_client writes them, and the share of requests at or under each.
BUCKETS = {
    "0.005": 0.05, "0.01": 0.2, "0.025": 0.5, "0.05": 0.7, "0.1": 0.85,
    "0.25": 0.97, "0.5": 0.99, "1.0": 0.995, "2.5": 0.999, "+Inf": 1.0,
}  # fmt: skip
REQUESTS_PER_SECOND = 20.0


class SeriesWriter:
    """Writes OpenMetrics samples one series at a time, as the backfill expects."""

    def __init__(self, out: TextIO, times: Sequence[float]) -> None:
        self.out = out
        self.times = times
        self.samples = 0

    def family(self, name: str, kind: str) -> None:
        self.out.write(f"# TYPE {name} {kind}\n")

    def counter(self, series: str, per_second: float, step_s: float) -> None:
        for index, stamp in enumerate(self.times):
            self.out.write(f"{series} {index * step_s * per_second} {stamp:.3f}\n")
        self.samples += len(self.times)

    def gauge(self, series: str, value: float) -> None:
        for stamp in self.times:
            self.out.write(f"{series} {value} {stamp:.3f}\n")
        self.samples += len(self.times)


def write_openmetrics(
    out: TextIO, *, instances: int, handlers: int, days: float, step_s: float
) -> int:
    """Write the app's series for every instance and route; return the number of samples."""
    count = int(days * 86_400 / step_s)
    end = time.time()
    writer = SeriesWriter(out, [end - (count - index) * step_s for index in range(count + 1)])
    rate = REQUESTS_PER_SECOND

    writer.family("http_requests", "counter")
    for instance in range(instances):
        for handler in range(handlers):
            for status, share in STATUSES.items():
                writer.counter(
                    f'http_requests_total{{job="erp",instance="app{instance}:8003",'
                    f'handler="/api/v1/h{handler}",method="GET",status="{status}"}}',
                    rate * share,
                    step_s,
                )

    writer.family("http_request_duration_seconds", "histogram")
    for instance in range(instances):
        for handler in range(handlers):
            labels = (
                f'job="erp",instance="app{instance}:8003",handler="/api/v1/h{handler}",method="GET"'
            )
            for bound, share in BUCKETS.items():
                writer.counter(
                    f'http_request_duration_seconds_bucket{{{labels},le="{bound}"}}',
                    rate * share,
                    step_s,
                )
            writer.counter(f"http_request_duration_seconds_count{{{labels}}}", rate, step_s)
            writer.counter(f"http_request_duration_seconds_sum{{{labels}}}", rate * 0.08, step_s)

    # What the 5m recording rules would have written per instance meanwhile.
    total = rate * handlers
    recorded = {
        "instance:http_requests:rate5m": {"": total},
        "instance:http_requests_errors:rate5m": {"": total * STATUSES["500"]},
        "instance:http_request_duration_seconds_count:rate5m": {"": total},
        "instance_le:http_request_duration_seconds_bucket:rate5m": {
            f',le="{bound}"': total * share for bound, share in BUCKETS.items()
        },
    }
    for name, values in recorded.items():
        writer.family(name, "gauge")
        for instance in range(instances):
            for extra, value in values.items():
                writer.gauge(f'{name}{{job="erp",instance="app{instance}:8003"{extra}}}', value)

    out.write("# EOF\n")
    return writer.samples


def group_times(base_url: str) -> dict[str, tuple[float, str]]:
    """Return each group's last evaluation time in seconds and the time of that evaluation."""
    groups = httpx.get(f"{base_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    return {group["name"]: (group["evaluationTime"], group["lastEvaluation"]) for group in groups}


def measure(
    folder: Path, data: Path, rule_files: Sequence[Path], evaluations: int
) -> dict[str, list[float]]:
    """Start Prometheus on ``data`` with ``rule_files``; return evaluation times per group."""
    port = free_port()
    config = folder / "prometheus.yml"
    config.write_text(
        render_prometheus_config(
            ports={"prometheus": port}, evaluation_interval="5s", rule_files=rule_files
        )
    )
    base_url = f"http://127.0.0.1:{port}"
    argv = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=30d",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    measured: dict[str, list[float]] = {}
    with running("prometheus", argv, folder, ready_url=f"{base_url}/-/ready", timeout=120):
        seen: dict[str, str] = {}
        deadline = time.monotonic() + 10 * evaluations + 60
        while time.monotonic() < deadline:
            for name, (seconds, stamp) in group_times(base_url).items():
                # The first evaluation after start-up also loads blocks from disk: skip it.
                if name in seen and stamp != seen[name]:
                    measured.setdefault(name, []).append(seconds)
                seen[name] = stamp
            if measured and min(len(times) for times in measured.values()) >= evaluations:
                break
            time.sleep(1)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=3.0, help="days of data to backfill")
    parser.add_argument("--step", default="15s", help="spacing of the samples (scrape interval)")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--handlers", type=int, default=5, help="routes per instance")
    parser.add_argument("--evaluations", type=int, default=7, help="evaluations to measure")
    parser.add_argument(
        "--rounds", type=int, default=2, help="Prometheus starts per rule set, alternating"
    )
    parser.add_argument(
        "--rule-set",
        action="append",
        default=[],
        metavar="NAME=FILE[,FILE]",
        help="another set of rule files to measure on the same data (repeatable)",
    )
    args = parser.parse_args()
    step_s = parse_duration(args.step) / 1000
    rule_sets = {"checked-in": list(RULE_FILES)}
    for option in args.rule_set:
        name, _, files = option.partition("=")
        rule_sets[name] = [Path(path) for path in files.split(",")]

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        blocks = folder / "blocks"
        source = folder / "input.om"

        started = time.monotonic()
        with source.open("w") as out:
            samples = write_openmetrics(
                out, instances=args.instances, handlers=args.handlers, days=args.days, step_s=step_s
            )
        command = ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet"]
        subprocess.run([*command, str(source), str(blocks)], check=True)
        source.unlink()
        print(f"backfilled {samples:,} samples in {time.monotonic() - started:.0f} s")

        results: dict[str, dict[str, list[float]]] = {name: {} for name in rule_sets}
        for _ in range(args.rounds):
            for name, rule_files in rule_sets.items():
                # Each run gets fresh storage: Prometheus writes its own series into it.
                data = folder / f"data-{name}"
                shutil.copytree(blocks, data)
                for group, times in measure(folder, data, rule_files, args.evaluations).items():
                    results[name].setdefault(group, []).extend(times)
                shutil.rmtree(data)

    print(
        f"{args.instances} instance(s), {args.handlers} routes, {args.days:g} days at {args.step}"
    )
    for name, measured in results.items():
        print(f"\n{name}\n")
        print("| group | median ms | max ms | evaluations |")
        print("| --- | --- | --- | --- |")
        for group, times in sorted(measured.items(), key=lambda item: -statistics.median(item[1])):
            print(
                f"| {group} | {statistics.median(times) * 1000:.1f} "
                f"| {max(times) * 1000:.1f} | {len(times)} |"
            )


if __name__ == "__main__":
    main()
