"""``leitstand demo``: start the stack, drive load, run a drill, show the loop close."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import httpx

from leitstand.demo.drill import ALERT
from leitstand.demo.timeline import Event, Timeline
from leitstand.stack.config import StackConfig


def build_parser() -> argparse.ArgumentParser:
    from leitstand.stack.cli import build_parser as stack_parser

    parser = stack_parser()
    parser.prog = "leitstand demo"
    parser.description = (
        "Start the stack with short intervals, drive forecast load with Locust, make "
        "forecast computations slow through fault injection, and print the timeline of "
        "what Prometheus, Alertmanager, the optimizer and the app did about it."
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for timeline.json, drill.png and report.md (default: HOME/report)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds the loop may take to close before the demo gives up",
    )
    parser.add_argument(
        "--fault-latency",
        type=float,
        default=2.0,
        help="seconds added to every forecast computation during the drill",
    )
    parser.set_defaults(
        home=Path(".leitstand/demo"),
        scrape_interval=1.0,
        alert_for="5s",
        group_wait="1s",
        group_interval="5s",
        fault_injection=True,
        seed_size="small",
        no_locust=True,
        # Start-up and cache warm-up compute forecasts too; a threshold well above
        # their latency and a fault well above the threshold keep them apart.
        threshold_latency=1.0,
    )
    return parser


def latency_threshold(config: StackConfig) -> float:
    """Return the LeitstandHighLatency threshold the stack's rules were rendered with."""
    from leitstand.rules import DEFAULT_THRESHOLDS
    from leitstand.thresholds import load_thresholds

    override = config.threshold_overrides.get(ALERT, {}).get("threshold_seconds")
    if override is not None:
        return override
    thresholds = load_thresholds(config.thresholds or DEFAULT_THRESHOLDS)
    return float(thresholds.alerts.LeitstandHighLatency.threshold_seconds)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")

    from leitstand.demo.drill import Drill, DrillError, DrillSettings, Endpoints
    from leitstand.demo.load import Load
    from leitstand.demo.plot import plot_drill
    from leitstand.stack.cli import config_from_args
    from leitstand.stack.launcher import StackError, run

    config = config_from_args(args)
    out: Path = args.out or config.home / "report"
    out.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    # The parts' output goes to a file, so that the console shows the timeline.
    config.home.mkdir(parents=True, exist_ok=True)
    stack_log = (config.home / "stack.log").open("w")
    ready = threading.Event()
    status: list[int] = []

    def run_stack() -> None:
        try:
            status.append(run(config, stop, console=stack_log, ready=ready))
        except StackError as error:
            print(f"leitstand demo: {error}", file=sys.stderr)
            status.append(2)
        ready.set()

    print(f"starting the stack (parts' output: {config.home / 'stack.log'}) ...")
    stack = threading.Thread(target=run_stack, name="stack")
    stack.start()
    ready.wait()
    if status:
        stop.set()
        stack.join()
        print(f"the stack did not start; see {config.home / 'stack.log'}", file=sys.stderr)
        return status[0] or 1

    endpoints = Endpoints(
        app=config.url(config.ports.app),
        prometheus=config.url(config.ports.prometheus),
        optimizer=config.url(config.ports.optimizer),
        control_token=config.control_token_file.read_text().strip(),
    )
    timeline = Timeline()

    def show(timeline: Timeline, event: Event) -> None:
        print(timeline.line(event), flush=True)

    load = Load(endpoints.app, config.home / "locust.log", run_time=args.timeout + 180)
    drill = Drill(
        endpoints,
        DrillSettings(
            fault_latency_seconds=args.fault_latency,
            latency_threshold_seconds=latency_threshold(config),
            timeout=args.timeout,
        ),
        timeline,
        on_event=show,
    )
    exit_status = 0
    try:
        drill.warm_cache(load.articles)
        load.start()
        drill.record("load_started", f"Locust: 20 users asking for forecasts at {endpoints.app}")
        drill.run(stop)
    except DrillError as error:
        print(f"leitstand demo: {error}", file=sys.stderr)
        exit_status = 1
    finally:
        load.stop()
        timeline.write_json(out / "timeline.json")
        try:
            plot_drill(
                timeline,
                endpoints.prometheus,
                endpoints.instance,
                drill.settings.latency_threshold_seconds,
                out / "drill.png",
            )
            plot_name: str | None = "drill.png"
        except (httpx.HTTPError, OSError, ValueError) as error:
            print(f"leitstand demo: the plot failed: {error}", file=sys.stderr)
            plot_name = None
        (out / "report.md").write_text(timeline.to_markdown(plot_name), encoding="utf-8")
        stop.set()
        stack.join()
        stack_log.close()

    print(f"\noutcome: {timeline.outcome}")
    print(
        f"timeline: {out / 'timeline.json'}\nplot:     {out / 'drill.png'}\n"
        f"report:   {out / 'report.md'}"
    )
    return exit_status
