"""Measure the load generator itself: its top rate, and what recording costs.

Starts ``leitstand.bench.target`` under uvicorn (uvloop, one process) pinned to
one core, and runs the closed model with no wait time from the other core
against its fixed-response route, alternating runs with recording on and off
(``--no-record``: Locust's own statistics only). Prints the median and range of
each side's rate, and of its rate per second of generator CPU time (which a busy
machine distorts less), with the ratios of recorded to bare, as Markdown.

Usage: ``python -m leitstand.bench.selfbench [--repeats 5] [--duration 10]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from leitstand.bench.report import build_report
from leitstand.bench.runner import run_generator
from leitstand.bench.spec import RunSpec, check_spec


def _start_target(port: int, cpu: int) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "leitstand.bench.target:app",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(argv, preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the target on port {port} did not start within 30 s")


def _one_run(spec: RunSpec) -> dict[str, Any]:
    report = build_report(run_generator(spec))
    return {
        "rate": report["rate"]["achieved_rps"],
        "limited": report["generator"]["limited"],
        "cpu": report["generator"]["cpu_percent"],
        # Requests per second of generator CPU time: the rate one whole core would give.
        "per_cpu_second": report["rate"]["achieved_rps"]
        / max(report["generator"]["cpu_percent"] / 100.0, 1e-9),
        "p50_us": report["total"]["service_time_us"].get("p50"),
    }


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f} to {max(values):,.0f})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m leitstand.bench.selfbench")
    parser.add_argument("--port", type=int, default=8990)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--generator-cpu", type=int, default=1)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    server = _start_target(args.port, args.server_cpu)
    runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    try:
        for _ in range(args.repeats):
            for record in (True, False):
                spec = check_spec(
                    RunSpec(
                        url=f"http://127.0.0.1:{args.port}",
                        endpoints=["/fixed"],
                        users=args.users,
                        spawn_rate=float(args.users),
                        warmup_s=2.0,
                        duration_s=args.duration,
                        generator_cpu=args.generator_cpu,
                        record=record,
                    )
                )
                runs[record].append(_one_run(spec))
    finally:
        server.terminate()
        server.wait(10)

    print(
        "| generator | requests/s | requests per generator CPU-second | generator CPU % | limited |"
    )
    print("| --- | ---: | ---: | ---: | --- |")
    for label, record in (("recording (HDR, per request)", True), ("bare Locust", False)):
        side = runs[record]
        print(
            f"| {label} | {_spread([r['rate'] for r in side])} | "
            f"{_spread([r['per_cpu_second'] for r in side])} | "
            f"{statistics.median(r['cpu'] for r in side):.0f} | "
            f"{sum(r['limited'] for r in side)} of {len(side)} runs |"
        )
    print()
    for key, label in (("rate", "rate"), ("per_cpu_second", "requests per CPU-second")):
        ratios = [
            r[key] / b[key] for r, b in zip(runs[True], runs[False], strict=True) if b[key] > 0
        ]
        print(
            f"recorded / bare {label}, per interleaved pair: median "
            f"{statistics.median(ratios):.3f} (range {min(ratios):.3f} to {max(ratios):.3f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
