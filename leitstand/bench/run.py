"""``leitstand bench run``: one load run against a URL, written as a JSON report."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from leitstand.bench import appinfo, prometheus
from leitstand.bench.progress import ProgressBar
from leitstand.bench.report import build_report, format_summary
from leitstand.bench.runner import GeneratorError, Progress, run_generator
from leitstand.bench.spec import RunSpec, SpecError, check_spec

logger = logging.getLogger("leitstand.bench")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``bench run`` (``bench profile`` reuses the load options)."""
    load = parser.add_argument_group("load")
    load.add_argument(
        "--endpoints",
        default="",
        help="comma-separated endpoint names (health, kunden-list, kunde-detail, artikel-list, "
        "artikel-detail, prognose, auftraege-list, rechnung-detail, place-order) or paths "
        "starting with '/'; default: the ERP user mix",
    )
    load.add_argument("--model", choices=["closed", "open"], default="closed", help="load model")
    load.add_argument(
        "--users",
        "--concurrency",
        dest="users",
        type=int,
        default=10,
        help="closed model: number of users (concurrent requests)",
    )
    load.add_argument(
        "--spawn-rate",
        type=float,
        help="closed model: users started per second (default: all users in 1 s)",
    )
    load.add_argument(
        "--rate",
        type=float,
        help="target requests per second of the whole run; open model: the send schedule, "
        "closed model: each user paced at RATE/USERS",
    )
    load.add_argument(
        "--arrival",
        choices=["constant", "poisson"],
        default="constant",
        help="open model: evenly spaced sends or Poisson arrivals",
    )
    timing = parser.add_argument_group("phases")
    timing.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds after spawning whose requests are recorded apart and not counted",
    )
    timing.add_argument(
        "--duration", type=float, help="seconds of the measured window (default 30)"
    )
    timing.add_argument(
        "--run-time",
        type=float,
        help="total seconds including spawning and warm-up, as Locust counts them; "
        "the window is what is left",
    )
    timing.add_argument("--requests", type=int, help="stop after this many measured requests")
    timing.add_argument(
        "--interval", type=float, default=1.0, help="seconds per interval of the time series"
    )
    timing.add_argument(
        "--timeout", type=float, default=30.0, help="seconds before a request counts as failed"
    )


def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    gate = parser.add_argument_group("gate")
    gate.add_argument(
        "--max-error-ratio",
        type=float,
        default=0.01,
        help="share of failed requests above which the run fails (default 0.01)",
    )
    gate.add_argument(
        "--rate-tolerance",
        type=float,
        default=0.05,
        help="share by which the achieved rate may fall short of --rate (default 0.05)",
    )
    gate.add_argument(
        "--max-send-lag",
        type=float,
        default=10.0,
        help="open model: p99 milliseconds a send may run late before the generator "
        "counts as the limit (default 10)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leitstand bench run",
        description="Run Locust against --url and write a report with exact latency "
        "percentiles (HDR histograms), the load model, the generator's load and a gate.",
    )
    parser.add_argument("--url", default="http://127.0.0.1:8003", help="base URL of the app")
    add_arguments(parser)
    add_gate_arguments(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--output", type=Path, help="write the JSON report to this file")
    output.add_argument("--samples", type=Path, help="write every request's timings to this CSV")
    output.add_argument(
        "--prometheus-url", help="read the server side of the window from this Prometheus"
    )
    output.add_argument(
        "--process-group",
        default="leitstand",
        help="regular expression of the exporter's process group(s) of the app "
        "(default: leitstand)",
    )
    output.add_argument("--no-progress", action="store_true", help="draw no progress bar")
    other = parser.add_argument_group("generator")
    other.add_argument("--generator-cpu", type=int, help="pin the generator to this CPU core")
    other.add_argument("--seed", type=int, help="seed of the request mix and Poisson arrivals")
    other.add_argument(
        "--no-record",
        action="store_true",
        help="record nothing (Locust's own statistics only), to measure the recording's cost",
    )
    return parser


def spec_from_args(args: argparse.Namespace, url: str | None = None) -> RunSpec:
    """Build and check the run described by parsed options; raise SpecError if invalid.

    ``url`` replaces ``args.url`` (``bench profile`` starts the app on its own port).
    """
    endpoints = [name.strip() for name in args.endpoints.split(",") if name.strip()]
    spawn_rate = args.spawn_rate if args.spawn_rate is not None else float(max(args.users, 1))
    spec = RunSpec(
        url=(url or args.url).rstrip("/"),
        endpoints=endpoints,
        model=args.model,
        users=args.users,
        spawn_rate=spawn_rate,
        rate=args.rate,
        arrival=args.arrival,
        warmup_s=args.warmup,
        duration_s=args.duration,
        requests=args.requests,
        interval_s=args.interval,
        timeout_s=args.timeout,
        rate_tolerance=args.rate_tolerance,
        max_send_lag_s=args.max_send_lag / 1000.0,
        generator_cpu=getattr(args, "generator_cpu", None),
        record=not getattr(args, "no_record", False),
        samples_path=str(args.samples) if getattr(args, "samples", None) else None,
        seed=getattr(args, "seed", None),
    )
    if args.run_time is not None and args.duration is not None:
        raise SpecError("give either --run-time or --duration, not both")
    return check_spec(spec, run_time_s=args.run_time)


def execute(
    spec: RunSpec,
    max_error_ratio: float = 0.01,
    prometheus_url: str | None = None,
    process_group: str = "leitstand",
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the generator for ``spec`` and return the finished report."""
    before = appinfo.fetch_metrics(spec.url)
    result = run_generator(spec, on_progress)
    after = appinfo.fetch_metrics(spec.url)

    server = None
    if prometheus_url is not None:
        window = result["window"]
        try:
            server = prometheus.server_side(
                prometheus_url, process_group, window["start"], window["end"]
            )
        except prometheus.PrometheusError as exc:
            logger.error("the server-side figures are missing: %s", exc)
            server = {"prometheus_url": prometheus_url, "error": str(exc)}
    return build_report(
        result,
        max_error_ratio=max_error_ratio,
        app=appinfo.describe_run(before, after),
        server=server,
    )


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        spec = spec_from_args(args)
    except (SpecError, ValueError) as exc:
        print(f"leitstand bench run: {exc}", file=sys.stderr)
        return 2

    progress = ProgressBar(enabled=False if args.no_progress else None)
    try:
        report = execute(
            spec,
            max_error_ratio=args.max_error_ratio,
            prometheus_url=args.prometheus_url,
            process_group=args.process_group,
            on_progress=progress,
        )
    except GeneratorError as exc:
        progress.close()
        print(f"leitstand bench run: {exc}", file=sys.stderr)
        return 1
    progress.close()

    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(format_summary(report))
    return 0 if report["gate"]["passed"] else 1
