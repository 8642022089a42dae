"""Measure how long Prometheus takes to run every query of each dashboard.

Starts a stack (``leitstand up``, 1 s scrape interval), drives the traffic of
the live dashboard test, keeps light traffic going for ``--minutes``, then
runs every panel and annotation query of each dashboard as a range query over
that time at a 1 s step (what Grafana sends for a panel about 600 points
wide), one query after the other, ``--rounds`` times. Prints a Markdown table
of the total time per dashboard (median, minimum and maximum over the rounds)
and the ``--slowest`` queries by their median time.

    .venv/bin/python -m tests.grafana.bench_dashboards --minutes 5 --rounds 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.live import test_dashboards as dashboards
from tests.live.stack import LiveStack, start_stack, wait_for_targets


def time_queries(stack: LiveStack, path: Path, start: float) -> dict[str, float]:
    """Run every query of one dashboard once and return the seconds each took, by place."""
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    variables = dashboards.resolve_variables(stack, dashboard, start)
    end = time.time()
    took = {}
    with httpx.Client(base_url=stack.url("prometheus"), timeout=60) as client:
        for where, expr in dashboards.dashboard_queries(dashboard):
            began = time.perf_counter()
            answer = client.get(
                "/api/v1/query_range",
                params={
                    "query": dashboards.substitute(expr, variables),
                    "start": start,
                    "end": end,
                    "step": 1,
                },
            )
            answer.raise_for_status()
            # Two panels may share a title, as a stat and the graph of the same value do.
            took[f"{path.stem}: {where} #{len(took) + 1}"] = time.perf_counter() - began
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes", type=float, default=5, help="minutes of traffic before measuring"
    )
    parser.add_argument("--rounds", type=int, default=7, help="measurements of each dashboard")
    parser.add_argument("--slowest", type=int, default=5, help="number of slowest queries to list")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        stack = start_stack(Path(home), "--fault-injection", "--no-locust")
        try:
            wait_for_targets(stack)
            fixture = dashboards.window.__wrapped__(stack)  # type: ignore[attr-defined]
            window: dashboards.Window = next(fixture)
            with dashboards.Traffic(stack.url("app")):
                time.sleep(max(0.0, args.minutes * 60 - (time.time() - window.start)))

            range_seconds = time.time() - window.start
            print(f"range {range_seconds:.0f} s at a 1 s step, {args.rounds} rounds\n")
            print("| dashboard | queries | median | min - max |")
            print("| --- | --- | --- | --- |")
            per_query: dict[str, list[float]] = {}
            for path in sorted(dashboards.DASHBOARDS_DIR.glob("*.json")):
                totals = []
                for _ in range(args.rounds):
                    took = time_queries(stack, path, window.start)
                    totals.append(sum(took.values()) * 1000)
                    for where, elapsed in took.items():
                        per_query.setdefault(where, []).append(elapsed * 1000)
                print(
                    f"| {path.stem} | {len(took)} | {statistics.median(totals):.0f} ms "
                    f"| {min(totals):.0f} - {max(totals):.0f} ms |"
                )

            print("\n| slowest query | median |\n| --- | --- |")
            medians = {where: statistics.median(times) for where, times in per_query.items()}
            for where in sorted(medians, key=medians.__getitem__, reverse=True)[: args.slowest]:
                print(f"| {where} | {medians[where]:.0f} ms |")
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
